"""from_torch on hand-written modules with known graphs, the benchmark networks, unknown ops and bad input."""

import copy
import warnings
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fgp.graph import wl_fingerprint
from fgp.models import ATTRIBUTES, VOCAB, UnknownOpWarning, from_torch
from fgp.networks import build_network
from fgp.spaces import get_space

METHODS = ("fx", "export")


def described(graph):
    """Every node as (op, {attribute: value} for the attributes that are set)."""
    return [(op, {a: float(v) for a, v in zip(ATTRIBUTES, row) if v}) for op, row in zip(graph.ops, graph.attrs)]


def conv_attrs(kernel, ratio, stride=1, groups=1):
    return {"kernel": kernel, "stride": stride, "dilation": 1, "groups": groups, "channel_ratio": ratio}


class ResidualBlock(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


class DepthwiseSeparable(nn.Module):
    def __init__(self, c_in=8, c_out=16):
        super().__init__()
        self.dw = nn.Conv2d(c_in, c_in, 3, stride=2, padding=1, groups=c_in, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.act = nn.ReLU6()

    def forward(self, x):
        return self.act(self.bn2(self.pw(F.relu(self.bn1(self.dw(x))))))


class EncoderLayer(nn.Module):
    """A post-norm Transformer encoder layer, as nn.TransformerEncoderLayer computes it."""

    def __init__(self, d=16, heads=4, ff=32):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)
        self.norm2 = nn.LayerNorm(d)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        a, _ = self.attn(x, x, x, need_weights=False)
        x = self.norm1(x + self.drop(a))
        return self.norm2(x + self.drop(self.ff2(self.drop(F.relu(self.ff1(x))))))


class SelfAttention(nn.Module):
    def __init__(self, d=16, heads=4):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.heads = heads

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.meta = nn.Linear(4, 8)
        self.head = nn.Linear(16, 10)

    def forward(self, image, meta):
        a = self.pool(F.relu(self.conv(image))).flatten(1)
        b = torch.sigmoid(self.meta(meta))
        return self.head(torch.cat([a, b], dim=1)), b


ENCODER_NODES = [("input", {}), ("attention", {"heads": 4}), ("add", {}), ("layer_norm", {}),
                 ("linear", {"channel_ratio": 2}), ("relu", {}), ("linear", {"channel_ratio": 0.5}), ("add", {}),
                 ("layer_norm", {}), ("output", {})]
ENCODER_EDGES = ((0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (3, 7), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9))

KNOWN = {
    "residual block": (
        ResidualBlock, [(2, 8, 6, 6)],
        [("input", {}), ("conv_3x3", conv_attrs(3, 1)), ("batch_norm", {}), ("relu", {}),
         ("conv_3x3", conv_attrs(3, 1)), ("batch_norm", {}), ("add", {}), ("relu", {}), ("output", {})],
        ((0, 1), (0, 6), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8)),
    ),
    "depthwise-separable block": (
        DepthwiseSeparable, [(2, 8, 6, 6)],
        [("input", {}), ("dwconv_3x3", conv_attrs(3, 1, stride=2, groups=8)), ("batch_norm", {}), ("relu", {}),
         ("conv_1x1", conv_attrs(1, 2)), ("batch_norm", {}), ("relu6", {}), ("output", {})],
        ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)),
    ),
    "transformer encoder layer": (EncoderLayer, [(2, 5, 16)], ENCODER_NODES, ENCODER_EDGES),
    "self-attention with F.scaled_dot_product_attention": (
        SelfAttention, [(2, 5, 16)],
        [("input", {}), ("linear", {"channel_ratio": 3}), ("split", {}), ("attention", {"heads": 4}),
         ("linear", {"channel_ratio": 1}), ("output", {})],
        ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5)),
    ),
    "two inputs, two outputs": (
        TwoInputs, [(2, 3, 8, 8), (2, 4)],
        [("input", {}), ("input", {}), ("conv_3x3", conv_attrs(3, 8 / 3)), ("relu", {}), ("global_avg_pool", {}),
         ("linear", {"channel_ratio": 2}), ("sigmoid", {}), ("concat", {}), ("linear", {"channel_ratio": 10 / 16}),
         ("output", {})],
        ((0, 2), (1, 5), (2, 3), (3, 4), (4, 7), (5, 6), (6, 7), (6, 9), (7, 8), (8, 9)),
    ),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(KNOWN))
def test_known_modules_give_exactly_their_graph(name, method):
    cls, shapes, nodes, edges = KNOWN[name]
    torch.manual_seed(0)
    g = from_torch(cls(), shapes, method=method)
    assert described(g) == nodes
    assert g.edges == edges
    assert g.vocab == VOCAB


def test_modules_fx_cannot_trace_are_read_with_torch_export():
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True)
    with pytest.raises(ValueError, match="torch.fx cannot trace TransformerEncoderLayer"):
        from_torch(layer, (2, 5, 16), method="fx")
    g = from_torch(layer, (2, 5, 16))  # auto: falls back to torch.export
    assert described(g) == ENCODER_NODES
    assert g.edges == ENCODER_EDGES


def test_example_inputs_may_be_tensors_or_shapes():
    shapes = from_torch(TwoInputs(), [(2, 3, 8, 8), (2, 4)])
    tensors = from_torch(TwoInputs(), [torch.empty(2, 3, 8, 8), torch.empty(2, 4, device="meta")])
    assert shapes == tensors
    assert from_torch(ResidualBlock(), torch.Size([1, 8, 4, 4])) == from_torch(ResidualBlock(), [(1, 8, 4, 4)])


class Clamp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clamp(0, 1)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Mystery(nn.Module):
    def forward(self, x):
        return x * 2


class WithUnknownOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.mystery = Mystery()
        self.bilinear = nn.Bilinear(4, 4, 4)

    def forward(self, x):
        y = Clamp.apply(Clamp.apply(self.lin(x)))
        return self.bilinear(self.mystery(y), x)


def test_unknown_ops_become_other_nodes_and_are_reported():
    with pytest.warns(UnknownOpWarning, match=r"WithUnknownOps: 4 operation\(s\).*Bilinear x1, Clamp x2, Mystery x1"):
        g = from_torch(WithUnknownOps(), (3, 4), leaf_modules=[Mystery])
    assert g.ops == ("input", "linear", "other:Clamp", "other:Clamp", "other:Mystery", "other:Bilinear", "output")
    assert g.edges == ((0, 1), (0, 5), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6))
    assert g.vocab == VOCAB + ("other:Bilinear", "other:Clamp", "other:Mystery")
    # a module of an unknown class is traced into unless it is named a leaf
    with pytest.warns(UnknownOpWarning, match=r"3 operation\(s\).*Bilinear x1, Clamp x2$"):
        g = from_torch(WithUnknownOps(), (3, 4))
    assert g.ops[4] == "mul"


def test_tracing_leaves_the_module_as_it_was_and_runs_nothing_on_data():
    class Watched(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.attn = SelfAttention(4, 2)

        def forward(self, x):
            y = F.interpolate(self.bn(self.conv(x)), size=(8, 8))  # an attribute that needs shapes
            return self.attn(y.flatten(2).transpose(1, 2))

    module = Watched()
    before = copy.deepcopy(module.state_dict())
    seen = []
    for m in module.modules():
        m.register_forward_pre_hook(lambda m, args: seen.append(("pre", type(args[0]).__name__)))
        m.register_forward_hook(lambda m, args, out: seen.append(("post", type(args[0]).__name__)))
    g = from_torch(module, (2, 3, 4, 4), method="fx")
    assert {kind for _, kind in seen} <= {"Proxy"}  # fx traces hooks of the modules it traces into on proxies
    assert ("upsample", {"scale": 2.0}) in described(g) and ("attention", {"heads": 2}) in described(g)
    seen.clear()
    assert from_torch(module, (2, 3, 4, 4), method="export") == g
    assert seen and {kind for _, kind in seen} == {"FakeTensor"}  # torch.export runs forward on fake tensors only
    after = module.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert module.training and all(p.grad is None for p in module.parameters())


def _nb201_expected(cell):
    """The traced NB201 network (fgp.networks.nb201) for a pruned NB201 op-node cell, node by node: each op node
    sums its predecessors (a left fold of adds), skip_connect is the identity, convolutions are ReLU-conv-BN."""
    ops, attrs, edges = [], [], []

    def node(op, preds, **a):
        ops.append(op)
        attrs.append(tuple(float(a.get(k, 0)) for k in ATTRIBUTES))
        edges.extend((p, len(ops) - 1) for p in preds)
        return len(ops) - 1

    def relu_conv_bn(x, kernel, ratio=1, stride=1):
        x = node("relu", [x])
        x = node(f"conv_{kernel}x{kernel}", [x], **conv_attrs(kernel, ratio, stride))
        return node("batch_norm", [x])

    def cell_pattern(x):
        values = {}
        for v in np.argsort(cell.generations, kind="stable"):
            if cell.ops[v] == "input":
                values[v] = x
                continue
            terms = [values[u] for u in cell.predecessors(v)]
            total = terms[0]
            for t in terms[1:]:
                total = node("add", [total, t])
            op = cell.ops[v]
            if op == "output":
                return total
            if op.startswith("nor_conv"):
                total = relu_conv_bn(total, int(op[-1]))
            elif op == "avg_pool_3x3":
                total = node("avg_pool", [total], kernel=3, stride=1)
            values[v] = total

    x = node("input", [])
    x = node("batch_norm", [node("conv_3x3", [x], **conv_attrs(3, 16 / 3))])
    for stage in range(3):
        if stage:
            branch = relu_conv_bn(relu_conv_bn(x, 3, ratio=2, stride=2), 3)
            shortcut = node("conv_1x1", [node("avg_pool", [x], kernel=2, stride=2)], **conv_attrs(1, 2))
            x = node("add", [shortcut, branch])
        for _ in range(5):
            x = cell_pattern(x)
    x = node("global_avg_pool", [node("relu", [node("batch_norm", [x])])])
    node("output", [node("linear", [x], channel_ratio=10 / 64)])
    return ops, attrs, edges


@pytest.mark.parametrize("arch", [
    "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
])
def test_a_traced_nb201_network_stacks_its_cell_and_none_edges_leave_no_node(arch):
    space = get_space("nb201")  # none edges are nodes of this graph; the network skips them
    g = from_torch(build_network("nb201", space.decode(arch)), (1, 3, 32, 32))
    ops, attrs, edges = _nb201_expected(get_space("nb201", pruned=True).decode(arch))
    assert Counter(g.ops) == Counter(ops) and len(g.edges) == len(set(edges))
    labels = [(op, tuple(row)) for op, row in zip(g.ops, g.attrs.tolist())]
    assert wl_fingerprint(g.num_nodes, g.edges, labels) == wl_fingerprint(len(ops), edges, list(zip(ops, attrs)))


def test_an_nb201_network_whose_cell_is_cut_by_none_edges_is_input_zero_output():
    arch = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
    assert get_space("nb201", pruned=True).decode(arch).ops == ("input", "none", "output")
    with pytest.warns(UserWarning, match="NB201Network: the outputs do not depend on any input"):
        g = from_torch(build_network("nb201", arch), (1, 3, 32, 32))
    assert g.ops == ("input", "zero", "output") and g.edges == ((0, 1), (1, 2))


def test_a_traced_nb101_network_has_its_cells_convolutions():
    space = get_space("nb101")
    adjacency = np.array([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    cell_ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"]
    cell = space.decode((adjacency, cell_ops))
    g = from_torch(build_network("nb101", cell, stem_channels=16), (1, 3, 32, 32))
    counts = Counter(g.ops)
    assert not [op for op in g.ops if op not in VOCAB]
    # stem + 9 cells: one 3x3, one 1x1 and two input projections (1x1) each; 2 downsampling max pools
    assert (counts["conv_3x3"], counts["conv_1x1"], counts["max_pool"]) == (1 + 9, 9 * 3, 9 + 2)
    assert counts["concat"] == 9 and counts["reduce_mean"] == 1 and counts["linear"] == 1


@pytest.mark.parametrize("call, message", [
    (lambda: from_torch("a module", (1, 3)), "from_torch needs a torch.nn.Module, got str"),
    (lambda: from_torch(ResidualBlock(), "shape"), "example_inputs must be a tensor, a shape"),
    (lambda: from_torch(ResidualBlock(), [(1, -8, 4, 4)]), r"an example input must be a tensor or a shape"),
    (lambda: from_torch(ResidualBlock(), (1, 8, 4, 4), method="jit"), "unknown trace method 'jit'"),
    (lambda: from_torch(ResidualBlock(), [(1, 8, 4, 4), (1, 8, 4, 4)]), r"takes 1 input\(s\), got 2"),
    (lambda: from_torch(TwoInputs(), (1, 3, 8, 8)), r"TwoInputs.forward needs \['meta'\] too"),
    (lambda: from_torch(ResidualBlock(), (1, 8, 4, 4), leaf_modules=[3]), "leaf_modules must be nn.Module classes"),
])
def test_bad_input_is_a_value_error_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_module_neither_reader_can_trace_is_a_value_error_naming_both_failures():
    class DataDependent(nn.Module):
        def forward(self, x):
            return x.relu() if x.sum() > 0 else x.tanh()

    with pytest.raises(ValueError, match="cannot trace DataDependent with torch.export .* torch.fx failed first"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from_torch(DataDependent(), (2, 3))
