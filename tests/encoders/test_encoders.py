"""Every registered encoder on every search space: shapes, gradients, invariances; plus ResGatedGCN/GIN specifics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.encoders import ENCODERS, create_encoder, list_encoders
from fgp.encoders.gatedgcn import ResGatedGCN
from fgp.encoders.gin import GIN
from fgp.graph import ArchGraph
from fgp.spaces import get_space, list_spaces

SPACES = ("nb101", "nb201", "nbgraph", "nb301")
SYNTH_VOCAB = ("input", "output", "a", "b", "c", "d")


def random_dag(rng: np.random.Generator, n_mid: int, n_inputs: int = 1) -> ArchGraph:
    """A random valid op DAG: every middle node has an earlier predecessor and a later successor."""
    ops = ["input"] * n_inputs + [str(rng.choice(SYNTH_VOCAB[2:])) for _ in range(n_mid)] + ["output"]
    out = len(ops) - 1
    edges = set()
    for v in range(n_inputs, out):
        edges.add((int(rng.integers(0, v)), v))  # from an input or an earlier middle node
        edges.add((v, int(rng.integers(v + 1, out + 1))))  # to a later middle node or the output
        if rng.random() < 0.4:
            edges.add((int(rng.integers(0, v)), v))
    for i in range(n_inputs):
        edges.add((i, int(rng.integers(n_inputs, out + 1))))
    return ArchGraph(ops, edges, SYNTH_VOCAB)


def space_graphs(space: str, n: int = 12, seed: int = 0) -> list[ArchGraph]:
    """Sampled graphs of a space, or synthetic graphs of the same flavour while the space module is missing."""
    rng = np.random.default_rng(seed)
    if space in list_spaces():
        sp = get_space(space)
        try:
            return [sp.decode(sp.sample(rng)) for _ in range(n)]
        except NotImplementedError:
            pass
    n_inputs = 2 if space in ("nb301", "nbgraph") else 1
    return [random_dag(rng, int(rng.integers(1, 7)), n_inputs) for _ in range(n)]


def source_graphs(source: str, n: int, seed: int = 0) -> list[ArchGraph]:
    """A space's graphs, or (``"synthetic"``) random DAGs of mixed sizes with one or two inputs, the smallest legal
    graph (input -> output) first."""
    if source != "synthetic":
        return space_graphs(source, n, seed)
    rng = np.random.default_rng(seed)
    smallest = ArchGraph(["input", "output"], [(0, 1)], SYNTH_VOCAB)
    return [smallest] + [random_dag(rng, int(rng.integers(0, 7)), int(rng.integers(1, 3))) for _ in range(n - 1)]


SOURCES = (*SPACES, "synthetic")


def build(name: str, num_ops: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_encoder(name, num_ops)


def randomise_norms(model: torch.nn.Module, seed: int = 1) -> None:
    """Give every batch norm non-trivial running statistics and affine parameters (eval mode uses them)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def close(a: torch.Tensor, b: torch.Tensor) -> None:
    """float64 agreement up to summation order (deep encoders amplify it; scaled by the largest value)."""
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9 * max(1.0, float(b.abs().max())))


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("name", list_encoders())
def test_forward_backward_every_space(name, space):
    graphs = space_graphs(space)
    batch = GraphBatch.from_graphs(graphs)
    if space == "nb301":
        assert all(len(g.inputs) == 2 for g in graphs)  # the two-input DARTS cells
    enc = build(name, batch.num_ops).train()
    nodes, emb = enc(batch)
    assert emb.shape == (len(graphs), enc.out_dim)
    assert nodes.shape[0] == batch.num_nodes
    assert torch.isfinite(nodes).all() and torch.isfinite(emb).all()
    weights = torch.randn(emb.shape, generator=torch.Generator().manual_seed(1))
    (emb * weights).sum().backward()
    for pname, p in enc.named_parameters():
        assert p.grad is not None, f"{name}/{space}: no gradient on {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}/{space}: non-finite gradient on {pname}"
        assert p.grad.abs().sum() > 0, f"{name}/{space}: zero gradient on {pname}"
    # different architectures get different embeddings
    enc.eval()
    with torch.no_grad():
        emb = enc(batch)[1]
    keys = [g.canonical_hash() for g in graphs]
    assert len(set(keys)) > len(graphs) // 2
    for i in range(len(graphs)):
        for j in range(i):
            if keys[i] != keys[j]:
                assert not torch.allclose(emb[i], emb[j], rtol=0, atol=1e-5), (i, j)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", list_encoders())
def test_node_renumbering_moves_node_rows_and_keeps_graph_embeddings(name, source):
    graphs = source_graphs(source, n=8, seed=3)
    rng = np.random.default_rng(0)
    perms = [rng.permutation(g.num_nodes) for g in graphs]
    relabelled = [g.relabel(p) for g, p in zip(graphs, perms)]
    # float64: a renumbering changes float32 summation orders, which deep encoders amplify
    enc = build(name, len(graphs[0].vocab)).double()
    randomise_norms(enc)
    enc.eval()
    batch = GraphBatch.from_graphs(graphs)
    with torch.no_grad():
        nodes, a = enc(batch)
        nodes2, b = enc(GraphBatch.from_graphs(relabelled))
    assert a.dtype == torch.float64
    close(b, a)
    # node v of graph i is node perms[i][v] of its renumbered copy (both batches lay the graphs out alike)
    moved = torch.cat([torch.as_tensor(p) + int(batch.node_ptr[i]) for i, p in enumerate(perms)])
    close(nodes2[moved], nodes)
    assert not torch.allclose(nodes2, nodes)  # the renumbering did move rows


@pytest.mark.parametrize("space", sorted(set(list_spaces()) - set(SPACES)))
@pytest.mark.parametrize("name", list_encoders())
def test_forward_backward_on_the_other_spaces(name, space):
    """The spaces the test above leaves out (TransNAS-Bench-101's macro chains, where no node has two predecessors,
    so FlowerFormer's predecessor attention has nothing to weigh): shapes and finite values and gradients."""
    graphs = space_graphs(space)
    batch = GraphBatch.from_graphs(graphs)
    enc = build(name, batch.num_ops).train()
    nodes, emb = enc(batch)
    assert nodes.shape == (batch.num_nodes, enc.node_dim) and emb.shape == (len(graphs), enc.out_dim)
    emb.square().sum().backward()
    grads = [p.grad for p in enc.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


# graphs with automorphisms: nodes that only a choice can order (parallel identical branches, crossed layers)
SYMMETRIC = [
    ArchGraph(["input", "a", "a", "b", "b", "output"], [(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5)], SYNTH_VOCAB),
    ArchGraph(["input", "a", "a", "b", "b", "output"],
              [(0, 1), (0, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 5), (4, 5)], SYNTH_VOCAB),
    ArchGraph(["input", "input", "c", "c", "d", "output"],
              [(0, 2), (1, 3), (0, 4), (1, 4), (2, 5), (3, 5), (4, 5)], SYNTH_VOCAB),
    ArchGraph(["input", "a", "a", "a", "b", "b", "b", "output"],
              [(0, 1), (0, 2), (0, 3), (1, 4), (2, 5), (3, 6), (4, 7), (5, 7), (6, 7), (0, 7)], SYNTH_VOCAB),
]


@pytest.mark.parametrize("graph", range(len(SYMMETRIC)))
@pytest.mark.parametrize("name", list_encoders())
def test_symmetric_graphs_embed_alike_under_every_renumbering(name, graph):
    g = SYMMETRIC[graph]
    rng = np.random.default_rng(graph)
    perms = [np.arange(g.num_nodes)] + [rng.permutation(g.num_nodes) for _ in range(60)]
    enc = build(name, len(SYNTH_VOCAB)).double()
    randomise_norms(enc)
    enc.eval()
    with torch.no_grad():
        nodes, emb = enc(GraphBatch.from_graphs([g.relabel(p) for p in perms]))
    close(emb, emb[:1].expand_as(emb))
    moved = torch.cat([torch.as_tensor(p) + i * g.num_nodes for i, p in enumerate(perms)])
    close(nodes[moved], nodes[: g.num_nodes].repeat(len(perms), 1))


@pytest.mark.parametrize("name", list_encoders())
def test_same_seed_same_numbers(name):
    batch = GraphBatch.from_graphs(space_graphs("nb201", n=6))

    def train_step_output(seed: int) -> tuple[dict, torch.Tensor]:
        enc = build(name, batch.num_ops, seed=seed).train()
        torch.manual_seed(7)  # dropout draws
        return enc.state_dict(), enc(batch)[1]

    (state, out), (state2, out2), (state3, out3) = (train_step_output(s) for s in (0, 0, 1))
    assert state.keys() == state2.keys() and all(torch.equal(state[k], state2[k]) for k in state)
    assert torch.equal(out, out2)
    assert not torch.equal(out, out3)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", list_encoders())
def test_embedding_does_not_depend_on_batch_companions(name, source):
    graphs = source_graphs(source, n=5, seed=5)
    enc = build(name, len(graphs[0].vocab)).double()
    randomise_norms(enc)
    enc.eval()
    batch = GraphBatch.from_graphs(graphs)
    with torch.no_grad():
        nodes, together = enc(batch)
        alone = [enc(batch.subset([i])) for i in range(len(graphs))]
    close(torch.cat([emb for _, emb in alone]), together)
    close(torch.cat([n for n, _ in alone]), nodes)


@pytest.mark.parametrize("name", list_encoders())
def test_wrong_vocabulary_size_is_rejected(name):
    batch = GraphBatch.from_graphs(space_graphs("nb201", n=3))
    enc = build(name, batch.num_ops + 1)
    with pytest.raises(ValueError, match="op types"):
        enc(batch)


def test_unknown_encoder_name():
    with pytest.raises(ValueError, match="unknown encoder"):
        create_encoder("no-such-encoder", 5)


# ResGatedGCN --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("undirected", [False, True])
def test_gatedgcn_fused_path_equals_pyg_forward(undirected):
    graphs = space_graphs("nb101", n=20, seed=7) + [random_dag(np.random.default_rng(1), 5, 2)]
    graphs = [g for g in graphs if g.vocab == graphs[0].vocab]
    batch = GraphBatch.from_graphs(graphs)
    torch.manual_seed(0)
    enc = ResGatedGCN(batch.num_ops, hidden=16, layers=3, undirected=undirected).eval()
    with torch.no_grad():
        for p in enc.parameters():  # make biases non-trivial so every term is exercised
            p.add_(torch.randn_like(p) * 0.1)
        fused_nodes, fused = enc(batch)
        enc.fused = False
        ref_nodes, ref = enc(batch)
    torch.testing.assert_close(fused_nodes, ref_nodes, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fused, ref, rtol=1e-5, atol=1e-6)


def test_gatedgcn_layer_rule_by_hand():
    """One layer, no dropout, on a 3-node chain: x = 0.2 x0 + 0.8 conv(x0), ReLU, mean-pool."""
    vocab = ("input", "output", "a")
    g = ArchGraph(["input", "a", "output"], [(0, 1), (1, 2)], vocab)
    batch = GraphBatch.from_graphs([g])
    torch.manual_seed(0)
    enc = ResGatedGCN(3, hidden=4, layers=1, dropout=0.0).eval()
    x0 = enc.input(torch.eye(3)[[0, 2, 1]])  # one-hot rows of input, a, output
    conv = enc.convs[0]
    k, q, v = conv.lin_key(x0), conv.lin_query(x0), conv.lin_value(x0)
    agg = torch.zeros_like(x0)
    for s, d in [(0, 1), (1, 2)]:
        agg[d] += torch.sigmoid(k[d] + q[s]) * v[s]
    expected = torch.relu(0.2 * x0 + 0.8 * (agg + conv.lin_skip(x0) + conv.bias))
    with torch.no_grad():
        nodes, emb = enc(batch)
    torch.testing.assert_close(nodes, expected.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(emb[0], expected.detach().mean(0), rtol=1e-5, atol=1e-6)


def test_gatedgcn_direction_matters_unless_undirected():
    vocab = ("input", "output", "a", "b")
    g = ArchGraph(["input", "a", "b", "output"], [(0, 1), (1, 2), (2, 3)], vocab)
    batch = GraphBatch.from_graphs([g])
    torch.manual_seed(0)
    enc = ResGatedGCN(4, hidden=8, layers=2).eval()
    with torch.no_grad():
        nodes, _ = enc(batch)
        # the input node has no in-edge: with directed messages it never hears from the rest of the graph
        alone = enc(GraphBatch.from_graphs([ArchGraph(["input", "output"], [(0, 1)], vocab)]))[0]
        enc.undirected = True
        nodes_u, _ = enc(batch)
    torch.testing.assert_close(nodes[0], alone[0])
    assert not torch.allclose(nodes[0], nodes_u[0])
    assert not torch.allclose(nodes[1:], nodes_u[1:])


def test_gatedgcn_dropout_only_in_training():
    batch = GraphBatch.from_graphs(space_graphs("nb201", n=6))
    torch.manual_seed(0)
    enc = ResGatedGCN(batch.num_ops, hidden=32, layers=2, dropout=0.5)
    enc.eval()
    with torch.no_grad():
        a, b = enc(batch)[1], enc(batch)[1]
        enc.train()
        c = enc(batch)[1]
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("kwargs", [{"hidden": 0}, {"layers": 0}, {"dropout": 1.0}, {"residual": 1.5}])
def test_gatedgcn_rejects_bad_options(kwargs):
    with pytest.raises(ValueError):
        ResGatedGCN(5, **kwargs)


# GIN ----------------------------------------------------------------------------------------------------------


def test_gin_concatenates_mean_pooled_layers():
    graphs = space_graphs("nb201", n=5, seed=2)
    batch = GraphBatch.from_graphs(graphs)
    torch.manual_seed(0)
    enc = GIN(batch.num_ops, hidden=8, layers=3).eval()
    assert enc.out_dim == 24
    with torch.no_grad():
        nodes, emb = enc(batch)
    for g in range(len(graphs)):
        lo, hi = int(batch.node_ptr[g]), int(batch.node_ptr[g + 1])
        torch.testing.assert_close(emb[g], nodes[lo:hi].mean(0))
    # the first block is one GIN layer applied to the one-hot features, summed over the (undirected) neighbours
    x = batch.one_hot()
    ei = batch.edge_index
    agg = x.clone()
    agg.index_add_(0, ei[1], x[ei[0]])
    agg.index_add_(0, ei[0], x[ei[1]])
    with torch.no_grad():
        first = torch.relu(enc.convs[0].nn(agg))
    torch.testing.assert_close(nodes[:, :8], first, rtol=1e-5, atol=1e-6)


# traced models: graphs of model size with node attributes ------------------------------------------------------


@pytest.mark.parametrize("name", list_encoders())
def test_traced_models_of_several_sizes_in_one_batch(name, traced_graphs):
    batch = GraphBatch.from_graphs(traced_graphs)
    assert sorted(g.num_nodes for g in traced_graphs) == [5, 9, 12, 37, 302]
    torch.manual_seed(0)
    # an encoder of fixed-size layouts (mlp) is built for the largest graph
    size = {"max_nodes": 302} if "max_nodes" in ENCODERS.resolved_kwargs(name) else {}
    enc = create_encoder(name, batch.num_ops, num_attrs=batch.num_attrs, **size).train()
    nodes, emb = enc(batch)
    assert emb.shape == (len(traced_graphs), enc.out_dim) and nodes.shape[0] == batch.num_nodes
    assert torch.isfinite(nodes).all() and torch.isfinite(emb).all()
    (emb * torch.randn(emb.shape, generator=torch.Generator().manual_seed(1))).sum().backward()
    for pname, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), f"{name}: gradient on {pname}"
    # the attributes reach the embedding: the residual CNNs' stems with stride 2 instead of 1 embed differently
    enc.eval()
    strided = [ArchGraph(g.ops, g.edges, g.vocab, np.where(np.arange(g.attrs.shape[1]) == 1, 2 * g.attrs, g.attrs))
               for g in traced_graphs]
    with torch.no_grad():
        a = enc(batch)[1]
        b = enc(GraphBatch.from_graphs(strided))[1]
    assert torch.equal(a[0], b[0])  # the MLP has no strided op
    assert not torch.allclose(a[2], b[2], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", list_encoders())
def test_attribute_count_must_match_the_encoder(name, traced_graphs):
    batch = GraphBatch.from_graphs(traced_graphs[:2])
    with pytest.raises(ValueError, match=f"nodes have {batch.num_attrs} attributes but the encoder was built for "
                                         "num_attrs=0"):
        create_encoder(name, batch.num_ops)(batch)
    with pytest.raises(ValueError, match="num_attrs must be >= 0"):
        create_encoder(name, batch.num_ops, num_attrs=-1)


def test_gatedgcn_fused_path_with_attributes_equals_pyg_forward(traced_graphs):
    batch = GraphBatch.from_graphs(traced_graphs)
    torch.manual_seed(0)
    enc = ResGatedGCN(batch.num_ops, hidden=16, layers=3, num_attrs=batch.num_attrs).eval()
    with torch.no_grad():
        fused = enc(batch)
        enc.fused = False
        ref = enc(batch)
    torch.testing.assert_close(fused[0], ref[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fused[1], ref[1], rtol=1e-5, atol=1e-6)


def test_attribute_features_are_a_signed_log():
    from fgp.encoders.common import node_features

    g = ArchGraph(["input", "a", "output"], [(0, 1), (1, 2)], SYNTH_VOCAB, [[0.0, 0.0], [3.0, -0.5], [512.0, 0.0]])
    x = node_features(GraphBatch.from_graphs([g]))
    assert x.shape == (3, len(SYNTH_VOCAB) + 2)
    torch.testing.assert_close(x[:, len(SYNTH_VOCAB):], torch.tensor(
        [[0.0, 0.0], [np.log(4.0), -np.log(1.5)], [np.log(513.0), 0.0]], dtype=torch.float32))
    assert torch.equal(x[:, :len(SYNTH_VOCAB)], torch.eye(len(SYNTH_VOCAB))[[0, 2, 1]])
