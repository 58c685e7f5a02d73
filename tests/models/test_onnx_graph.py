"""from_onnx: the same graph as from_torch for a model exported from PyTorch; documented differences; bad input."""

import io
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fgp.models import UnknownOpWarning, from_onnx, from_torch


@pytest.fixture
def onnx():
    return pytest.importorskip("onnx")


def exported(onnx, module, inputs, **options):
    """``module`` exported by the legacy (TorchScript) exporter in training mode, which keeps batch norm."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(inputs), buffer, dynamo=False, training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False, **options)
    return onnx.load_from_string(buffer.getvalue())


class InvertedResidual(nn.Module):
    """MobileNetV2's block: pointwise expansion, depthwise 3x3, pointwise projection, residual add."""

    def __init__(self, c=8, expand=4):
        super().__init__()
        h = c * expand
        self.expand = nn.Sequential(nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6())
        self.depthwise = nn.Sequential(nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False), nn.BatchNorm2d(h),
                                       nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.project(self.depthwise(self.expand(x)))


class ImageAndTokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.tokens = nn.Linear(8, 8)  # on a 3-D input: MatMul + Add in ONNX
        self.conv = nn.Conv2d(3, 8, 5, stride=2, padding=2)
        self.head = nn.Linear(16, 4)

    def forward(self, image, tokens):
        t = F.gelu(self.tokens(self.embed(tokens))).mean(1)
        x = F.adaptive_avg_pool2d(F.max_pool2d(torch.tanh(self.conv(image)), 3, 2, 1), 1).flatten(1)
        return self.head(torch.cat([x, t], dim=1)), t


class Resampling(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2)
        self.deconv = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.conv = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2)

    def forward(self, x):
        a, b = torch.split(self.conv(x), 4, dim=1)
        y = torch.cat([b, F.leaky_relu(a) * 2], dim=1)
        y = self.deconv(F.interpolate(y, scale_factor=0.5) - F.avg_pool2d(y, 2))
        return torch.sigmoid(self.up(y)), F.pixel_shuffle(y, 2)


MODELS = {
    "inverted residual": (InvertedResidual, [torch.zeros(2, 8, 6, 6)]),
    "image and tokens": (ImageAndTokens, [torch.zeros(2, 3, 8, 8), torch.zeros(2, 5, dtype=torch.long)]),
    "resampling": (Resampling, [torch.zeros(2, 8, 8, 8)]),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_fx_torch_export_and_onnx_give_the_same_graph(onnx, name):
    cls, inputs = MODELS[name]
    torch.manual_seed(0)
    module = cls()
    traced = from_torch(module, inputs)
    assert from_torch(module, inputs, method="export") == traced
    assert from_onnx(exported(onnx, module, inputs)) == traced
    assert traced.num_nodes > 6 and traced.attrs.any()


def test_attention_survives_onnx_only_as_a_module_function(onnx):
    attention = nn.MultiheadAttention(8, 2, batch_first=True)

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = attention

        def forward(self, x):
            return self.attention(x, x, x, need_weights=False)[0]

    module, inputs = SelfAttention(), [torch.zeros(2, 5, 8)]
    traced = from_torch(module, inputs)
    assert traced.ops == ("input", "attention", "output") and traced.attrs[1].tolist() == [0] * 6 + [2]
    plain = from_onnx(exported(onnx, module, inputs))
    assert "attention" not in plain.ops and {"matmul", "softmax"} <= set(plain.ops)
    as_function = from_onnx(exported(onnx, module, inputs, export_modules_as_functions={nn.MultiheadAttention}))
    assert as_function.ops == traced.ops and as_function.edges == traced.edges
    assert not as_function.attrs.any()  # ONNX functions keep no head count


def test_onnx_operators_outside_the_vocabulary_are_reported(onnx):
    class WithErf(nn.Module):
        def forward(self, x):
            return torch.erf(x) + x

    with pytest.warns(UnknownOpWarning, match=r"1 operation\(s\).*Erf x1"):
        g = from_onnx(exported(onnx, WithErf(), [torch.zeros(2, 3)]))
    assert g.ops == ("input", "other:Erf", "add", "output")


def test_a_path_reads_the_file(onnx, tmp_path):
    model = exported(onnx, InvertedResidual(), [torch.zeros(1, 8, 4, 4)])
    path = tmp_path / "block.onnx"
    onnx.save(model, path)
    assert from_onnx(path) == from_onnx(str(path)) == from_onnx(model)


def test_bad_input_is_a_value_error_naming_it(onnx, tmp_path):
    missing = tmp_path / "missing.onnx"
    with pytest.raises(ValueError, match=f"ONNX file {missing} does not exist"):
        from_onnx(missing)
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a protobuf\n" * 20)
    with pytest.raises(ValueError, match=f"ONNX file {text} is not .*ONNX model"):
        from_onnx(text)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=f"ONNX file {empty} is not a valid ONNX model"):
        from_onnx(empty)
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        from_onnx(onnx.ModelProto())
    with pytest.raises(ValueError, match="needs a path to an ONNX file or an onnx.ModelProto, got int"):
        from_onnx(3)


def test_without_onnx_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'fgp\[onnx\]'"):
        from_onnx(tmp_path / "model.onnx")


class TwinActivations(nn.Module):
    """Two ReLU modules and two average poolings on one tensor, each feeding its own branch."""

    def __init__(self):
        super().__init__()
        self.a = nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 1))
        self.b = nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 3, padding=1))
        self.pool_a, self.pool_b = nn.AvgPool2d(3, 1, 1), nn.AvgPool2d(3, 1, 1)

    def forward(self, x):
        return self.a(x) + self.b(x) + self.pool_a(x) + self.pool_b(x)


def test_the_exporter_merges_repeated_weight_free_operations(onnx):
    """The documented difference: ONNX's common-subexpression elimination leaves one relu and one avg_pool."""
    model = TwinActivations()
    fx = from_torch(model, (1, 3, 8, 8))
    merged = from_onnx(exported(onnx, model, [torch.zeros(1, 3, 8, 8)]))
    assert fx.ops.count("relu") == 2 and fx.ops.count("avg_pool") == 2
    assert merged.ops.count("relu") == 1 and merged.ops.count("avg_pool") == 1
    assert merged.ops.count("conv_1x1") == merged.ops.count("conv_3x3") == 1  # weights differ: never merged
