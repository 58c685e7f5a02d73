"""The flow surrogate: hand-computed values, batched == reference, invariances, switches, CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.graph import ArchGraph
from fgp.spaces import get_space, list_spaces, space_class
from fgp.surrogate import (
    SurrogateDraws,
    flow_surrogate,
    node_flows,
    reference_node_flows,
    reference_surrogate,
    surrogate_defaults,
)

VOCAB = ("input", "output", "a", "b", "c")
SWITCHES = [
    dict(),
    dict(forward=False),
    dict(backward=False),
    dict(rounds=3),
    dict(rounds=2, forward=False),
    dict(rounds=2, backward=False),
]


def random_graph(rng: np.random.Generator, max_ops: int = 8) -> ArchGraph:
    """A random op DAG with 1-2 inputs, numbered in a random order."""
    n_in = int(rng.integers(1, 3))
    n_ops = int(rng.integers(1, max_ops + 1))
    n = n_in + n_ops + 1
    ops = ["input"] * n_in + [str(rng.choice(VOCAB[2:])) for _ in range(n_ops)] + ["output"]
    edges = set()
    for v in range(n_in, n_in + n_ops):
        preds = rng.choice(v, size=int(rng.integers(1, min(v, 3) + 1)), replace=False)
        edges |= {(int(u), v) for u in preds}
    for v in range(n_in, n_in + n_ops):  # every op without a successor (and some others) feeds the output
        if not any(s == v for s, _ in edges) or rng.random() < 0.3:
            edges.add((v, n - 1))
    for v in range(n_in):  # every input feeds something (ArchGraph rejects idle inputs)
        if not any(s == v for s, _ in edges) or rng.random() < 0.2:
            edges.add((v, int(rng.integers(n_in, n))))
    g = ArchGraph.pruned(ops, edges, VOCAB)
    return g.relabel(rng.permutation(g.num_nodes))


def assert_batched_equals_reference(graphs, draws, **switches):
    """float64 batched == reference to 1e-5 (in fact ~1e-12); the float32 default to 1e-4 relative (float32 rounding
    compounds over deep random graphs and several rounds; a real bug is off by O(1))."""
    batch = GraphBatch.from_graphs(graphs)
    ref = np.stack([reference_surrogate(g, draws, **switches) for g in graphs])
    got64, _ = flow_surrogate(batch, draws=draws, dtype=torch.float64, **switches)
    diff = np.abs(got64.numpy() - ref).max()
    assert diff < 1e-5, f"float64: max abs diff {diff} with switches {switches}"
    got32, _ = flow_surrogate(batch, draws=draws, **switches)
    assert got32.dtype == torch.float32
    rel = (np.abs(got32.double().numpy() - ref) / np.maximum(1.0, np.abs(ref))).max()
    assert rel < 1e-4, f"float32: max relative diff {rel} with switches {switches}"
    return got32.numpy(), ref


# hand-computed -----------------------------------------------------------------------------------------------

# k = 1, vocab (input, output, conv): P = [[1], [-0.5], [2]], W = [[0.5], [1]] (top row multiplies h, bottom m),
# r = 0.5, alpha = 0.5, so step(op, m) = 0.5 m + 0.5 relu(0.5 P[op] + m). Every number below is exact in binary.
HAND_VOCAB = ("input", "output", "conv")
HAND_DRAWS = SurrogateDraws(r=[0.5], P=[[1.0], [-0.5], [2.0]], W=[[0.5], [1.0]], alpha=0.5)
CHAIN = ArchGraph(["input", "conv", "output"], [(0, 1), (1, 2)], HAND_VOCAB)


def hand_chain(forward=True, backward=True, rounds=1):
    def step(p, m):
        return 0.5 * m + 0.5 * max(0.5 * p + m, 0.0)

    x, s = 0.5, None
    for _ in range(rounds):
        f_out = step(-0.5, step(2.0, x)) if forward else (0.5 if s is None else s)
        s = step(1.0, step(2.0, f_out)) if backward else f_out
        x = s
    return s


@pytest.mark.parametrize(
    "switches, expected",
    [
        # forward f = 0.5, 1.0, 0.875; backward b = 0.875, 1.375, 1.625
        (dict(), 1.625),
        (dict(backward=False), 0.875),
        # backward from b_out = r = 0.5: 1.0, then 1.25
        (dict(forward=False), 1.25),
        # round 2 starts the input at 1.625: f = 2.125, 2.0; b = 2.5, 2.75
        (dict(rounds=2), 2.75),
        # no forward pass: round 2 starts the output at round 1's surrogate 1.25: b = 1.75, 2.0
        (dict(rounds=2, forward=False), 2.0),
        # no backward pass: round 2 starts the input at round 1's f_out 0.875: f = 1.375, 1.25
        (dict(rounds=2, backward=False), 1.25),
    ],
)
def test_hand_computed_chain(switches, expected):
    assert hand_chain(**switches) == expected
    assert reference_surrogate(CHAIN, HAND_DRAWS, **switches).tolist() == [expected]
    got, _ = flow_surrogate(GraphBatch.from_graphs([CHAIN]), draws=HAND_DRAWS, **switches)
    assert got.tolist() == [[expected]]


@pytest.mark.parametrize(
    "switches, expected",
    [
        # nodes input, conv, output; columns f then b (the comments of the test above)
        (dict(), [[0.5, 1.625], [1.0, 1.375], [0.875, 0.875]]),
        (dict(backward=False), [[0.5], [1.0], [0.875]]),
        (dict(forward=False), [[1.25], [1.0], [0.5]]),
        (dict(rounds=2), [[1.625, 2.75], [2.125, 2.5], [2.0, 2.0]]),
    ],
)
def test_hand_computed_node_flows_of_the_chain(switches, expected):
    assert reference_node_flows(CHAIN, HAND_DRAWS, **switches).tolist() == expected
    surrogate, nodes = node_flows(GraphBatch.from_graphs([CHAIN]), HAND_DRAWS, **switches)
    assert nodes.tolist() == expected
    assert surrogate.tolist() == [[hand_chain(**switches)]]


def test_hand_computed_two_inputs_sum_their_backward_values():
    # both inputs start at r = 0.5: f_conv = 0.5*1 + 0.5*relu(1 + 1) = 1.5, f_out = 0.75 + 0.5*relu(-0.25 + 1.5)
    # = 1.375; b_conv = 0.6875 + 0.5*relu(1 + 1.375) = 1.875; each input 0.9375 + 0.5*relu(0.5 + 1.875) = 2.125
    g = ArchGraph(["input", "input", "conv", "output"], [(0, 2), (1, 2), (2, 3)], HAND_VOCAB)
    assert reference_surrogate(g, HAND_DRAWS).tolist() == [4.25]
    got, _ = flow_surrogate(GraphBatch.from_graphs([g]), draws=HAND_DRAWS)
    assert got.tolist() == [[4.25]]


def test_an_input_that_feeds_nothing_keeps_r():
    # ArchGraph rejects such graphs, but a dense batch can hold one: the idle input is a sink, so it keeps b = f = r
    # and adds r to the read-out: 1.625 (the chain) + 0.5
    ops = np.array([[0, 0, 2, 1]])
    adjacency = np.zeros((1, 4, 4), dtype=bool)
    adjacency[0, 0, 2] = adjacency[0, 2, 3] = True
    batch = GraphBatch.from_dense(ops, adjacency, np.array([4]), HAND_VOCAB)
    assert flow_surrogate(batch, draws=HAND_DRAWS)[0].tolist() == [[2.125]]
    assert flow_surrogate(batch, draws=HAND_DRAWS, forward=False)[0].tolist() == [[1.25 + 0.5]]


def test_hand_computed_k2_matches_written_out_formula():
    # k = 2 pins down the layout: h_v = P[op_v], concat(h, m) @ W with W of shape (2k, k)
    r = np.array([0.3, 0.8])
    P = np.array([[0.2, -0.1], [-0.9, 0.8], [1.1, 0.5]])  # rows: input, output, conv
    W = np.array([[0.6, -0.2], [-0.9, 0.3], [0.25, 0.7], [-0.4, 0.5]])
    draws = SurrogateDraws(r=r, P=P, W=W)
    r, P, W = draws.r.astype(float), draws.P.astype(float), draws.W.astype(float)  # the float32-rounded values
    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    f_in = r
    f_conv = 0.5 * f_in + 0.5 * relu(np.concatenate([P[2], f_in]) @ W)
    f_out = 0.5 * f_conv + 0.5 * relu(np.concatenate([P[1], f_conv]) @ W)
    b_conv = 0.5 * f_out + 0.5 * relu(np.concatenate([P[2], f_out]) @ W)
    b_in = 0.5 * b_conv + 0.5 * relu(np.concatenate([P[0], b_conv]) @ W)
    assert (np.concatenate([P[1], f_conv]) @ W < 0).any()  # the example exercises the relu cut
    np.testing.assert_allclose(reference_surrogate(CHAIN, draws), b_in, rtol=0, atol=1e-12)
    got, _ = flow_surrogate(GraphBatch.from_graphs([CHAIN]), draws=draws, dtype=torch.float64)
    np.testing.assert_allclose(got.numpy()[0], b_in, rtol=0, atol=1e-12)


class _TwoInTwoOut(torch.nn.Module):
    def forward(self, x, y):
        return torch.relu(x), x + y


def test_hand_computed_traced_model_with_two_inputs_and_two_outputs():
    """A model's two inputs both start at r; its two outputs both feed the graph's one output node."""
    from fgp.models import VOCAB as MODEL_VOCAB
    from fgp.models import from_torch

    g = from_torch(_TwoInTwoOut(), [(2, 3), (2, 3)])
    assert g.ops == ("input", "input", "relu", "add", "output")
    assert set(g.edges) == {(0, 2), (0, 3), (1, 3), (2, 4), (3, 4)}
    # k = 1, r = 0.5, W = [[1], [2]] (h, then m), alpha = 0.5: step(op, m) = 0.5 m + 0.5 relu(P[op] + 2 m), with
    # P = 0.25 (relu), -0.5 (add), 0.75 (output), 0 elsewhere. Every number below is exact in binary.
    P = np.zeros((len(MODEL_VOCAB), 1))
    for op, value in (("relu", 0.25), ("add", -0.5), ("output", 0.75)):
        P[MODEL_VOCAB.index(op)] = value
    draws = SurrogateDraws(r=[0.5], P=P, W=[[1.0], [2.0]], alpha=0.5)
    # forward: f_relu = 0.25 + 0.5 relu(0.25 + 1) = 0.875; f_add (m = 0.5 + 0.5) = 0.5 + 0.5 relu(-0.5 + 2) = 1.25;
    # f_out (m = 2.125) = 1.0625 + 0.5 relu(0.75 + 4.25) = 3.5625
    # backward from b_out = 3.5625: b_relu = 1.78125 + 0.5 relu(0.25 + 7.125) = 5.46875; b_add = 1.78125 +
    # 0.5 relu(-0.5 + 7.125) = 5.09375; b_x (m = 5.46875 + 5.09375) = 5.28125 + 0.5 relu(21.125) = 15.84375;
    # b_y (m = 5.09375) = 2.546875 + 0.5 relu(10.1875) = 7.640625; the surrogate is b_x + b_y = 23.484375
    assert reference_surrogate(g, draws).tolist() == [23.484375]
    got, _ = flow_surrogate(GraphBatch.from_graphs([g]), draws=draws)
    assert got.tolist() == [[23.484375]]


def test_batched_equals_reference_on_traced_models_up_to_a_thousand_nodes(traced_graphs, deep_traced_graph):
    """Traced models of 5 to 1,202 nodes (hundreds of generations deep, two inputs and outputs) in one batch, with
    the constants of your own spaces: no value vanishes or explodes along the depth. The step is a contraction, so
    a plain chain forgets its length: the 150- and 600-layer MLPs get the same surrogate."""
    from fgp.spaces import ModelSpace

    graphs = [*traced_graphs, deep_traced_graph]
    assert max(g.num_nodes for g in graphs) == 1202
    k, std = ModelSpace.surrogate
    draws = SurrogateDraws.sample(len(graphs[0].vocab), k, std, seed=0)
    got, ref = assert_batched_equals_reference(graphs, draws)
    assert np.isfinite(ref).all() and (np.abs(ref).max(axis=1) > 1e-3).all() and np.abs(ref).max() < 10
    assert len({tuple(row) for row in np.round(ref[:-1], 6)}) == len(graphs) - 1
    np.testing.assert_allclose(ref[-1], ref[-2], rtol=1e-9, atol=1e-12)


# batched == reference ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("switches", SWITCHES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
def test_batched_equals_reference_on_random_graphs(switches):
    rng = np.random.default_rng(1)
    graphs = [random_graph(rng) for _ in range(300)]
    assert any(len(g.inputs) == 2 for g in graphs) and any(len(g.inputs) == 1 for g in graphs)
    draws = SurrogateDraws.sample(len(VOCAB), k=5, std=0.7, seed=3, alpha=0.3)  # alpha != 0.5 on purpose
    got, ref = assert_batched_equals_reference(graphs, draws, **switches)
    if switches:  # every switch changes the result
        default = np.stack([reference_surrogate(g, draws) for g in graphs])
        assert np.abs(ref - default).max() > 1e-3


@pytest.mark.parametrize("switches", SWITCHES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
def test_node_flows_equal_reference_and_carry_the_surrogate(switches):
    rng = np.random.default_rng(7)
    graphs = [random_graph(rng) for _ in range(200)]
    batch = GraphBatch.from_graphs(graphs)
    draws = SurrogateDraws.sample(len(VOCAB), k=3, std=0.7, seed=2, alpha=0.3)
    surrogate, nodes = node_flows(batch, draws, dtype=torch.float64, **switches)
    ref = np.concatenate([reference_node_flows(g, draws, **switches) for g in graphs])
    passes = 2 if switches.get("forward", True) and switches.get("backward", True) else 1
    assert nodes.shape == (batch.num_nodes, 3 * passes)
    np.testing.assert_allclose(nodes.numpy(), ref, rtol=1e-9, atol=1e-9)  # values reach ~1e4 after 3 rounds
    assert torch.equal(surrogate, flow_surrogate(batch, draws=draws, dtype=torch.float64, **switches)[0])
    # renumbering a graph's nodes renumbers its rows and nothing else
    perm = rng.permutation(graphs[0].num_nodes)
    moved = reference_node_flows(graphs[0].relabel(perm), draws, **switches)
    np.testing.assert_allclose(moved[perm], ref[: graphs[0].num_nodes], rtol=1e-12, atol=1e-12)


def test_switch_semantics():
    rng = np.random.default_rng(2)
    graphs = [random_graph(rng) for _ in range(50)]
    batch = GraphBatch.from_graphs(graphs)
    draws = SurrogateDraws.sample(len(VOCAB), k=3, std=0.5, seed=0)
    run = lambda **kw: flow_surrogate(batch, draws=draws, **kw)[0]  # noqa: E731
    assert not torch.allclose(run(rounds=2), run())
    with pytest.raises(ValueError, match="at least one"):
        run(forward=False, backward=False)
    with pytest.raises(ValueError, match="rounds"):
        run(rounds=0)
    # without the forward pass no step ever runs at the output (it keeps b = r), so the output's row of P is unused
    P2 = draws.P.copy()
    P2[VOCAB.index("output")] += 5.0
    moved = SurrogateDraws(r=draws.r, P=P2, W=draws.W)
    assert torch.equal(flow_surrogate(batch, draws=moved, forward=False)[0], run(forward=False))
    assert not torch.allclose(flow_surrogate(batch, draws=moved)[0], run())


def test_batched_equals_reference_on_all_nb201():
    space = get_space("nb201")
    graphs = [space.decode(a) for a in space.enumerate()]
    assert len(graphs) == 15_625
    k, std = surrogate_defaults("nb201")
    draws = SurrogateDraws.sample(len(space.vocab), k, std, seed=0)
    got, _ = assert_batched_equals_reference(graphs, draws)
    # different architectures (almost always) get different surrogates
    distinct = len(np.unique(got, axis=0))
    assert distinct >= 0.99 * len(graphs), distinct
    # a subset with every switch
    for switches in SWITCHES[1:]:
        assert_batched_equals_reference(graphs[::50], draws, **switches)


def test_batched_equals_reference_on_random_darts_graphs():
    space = get_space("nb301")
    rng = np.random.default_rng(0)
    graphs = [space.decode(space.sample(rng)) for _ in range(200)]
    assert all(len(g.inputs) == 2 for g in graphs)
    k, std = surrogate_defaults("nb301")
    draws = SurrogateDraws.sample(len(space.vocab), k, std, seed=5)
    for switches in SWITCHES:
        assert_batched_equals_reference(graphs, draws, **switches)


@pytest.mark.data
def test_batched_equals_reference_on_10000_nb101_cells():
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nb101", dataset="space")
    assert len(bench) == 423_624
    batch = bench.batch()
    k, std = surrogate_defaults("nb101")
    draws = SurrogateDraws.sample(batch.num_ops, k, std, seed=0)
    got64, _ = flow_surrogate(batch, draws=draws, dtype=torch.float64)
    got32, _ = flow_surrogate(batch, draws=draws)
    assert got64.shape == (423_624, 4) and torch.isfinite(got32).all()
    rows = np.random.default_rng(0).choice(len(bench), size=10_000, replace=False)
    ref = np.stack([reference_surrogate(bench.graphs[int(i)], draws) for i in rows])
    assert np.abs(got64.numpy()[rows] - ref).max() < 1e-5
    # float32 (the fast default) keeps ~6 significant digits; NB101's std=1 surrogates reach ~100
    rel = np.abs(got32.double().numpy()[rows] - ref) / np.maximum(1.0, np.abs(ref))
    assert rel.max() < 1e-5
    assert len(np.unique(got32.numpy(), axis=0)) >= 0.99 * len(bench)


# invariances and draws ---------------------------------------------------------------------------------------


def test_renumbering_nodes_leaves_the_surrogate_unchanged():
    rng = np.random.default_rng(4)
    graphs = [random_graph(rng) for _ in range(100)]
    shuffled = [g.relabel(rng.permutation(g.num_nodes)) for g in graphs]
    assert any(a.edges != b.edges for a, b in zip(graphs, shuffled))
    draws = SurrogateDraws.sample(len(VOCAB), k=4, std=1.0, seed=9)
    a, _ = flow_surrogate(GraphBatch.from_graphs(graphs), draws=draws, dtype=torch.float64)
    b, _ = flow_surrogate(GraphBatch.from_graphs(shuffled), draws=draws, dtype=torch.float64)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    for g, h in zip(graphs[:20], shuffled[:20]):
        np.testing.assert_allclose(reference_surrogate(g, draws), reference_surrogate(h, draws), rtol=0, atol=1e-12)


def test_batch_order_and_composition_do_not_matter():
    rng = np.random.default_rng(5)
    graphs = [random_graph(rng) for _ in range(60)]
    batch = GraphBatch.from_graphs(graphs)
    full, draws = flow_surrogate(batch, k=4, std=0.5, seed=1)
    ids = rng.permutation(60)[:25]
    part, _ = flow_surrogate(batch.subset(ids), draws=draws)
    torch.testing.assert_close(part, full[ids], rtol=0, atol=1e-6)


def test_same_seed_same_surrogates_different_seed_different():
    rng = np.random.default_rng(6)
    batch = GraphBatch.from_graphs([random_graph(rng) for _ in range(40)])
    a, da = flow_surrogate(batch, k=6, std=0.3, seed=11)
    b, db = flow_surrogate(batch, k=6, std=0.3, seed=11)
    c, dc = flow_surrogate(batch, k=6, std=0.3, seed=12)
    assert torch.equal(a, b) and np.array_equal(da.W, db.W)
    assert not np.array_equal(da.r, dc.r) and not torch.allclose(a, c)
    # the seed acts only through the draws
    d, _ = flow_surrogate(batch, draws=da)
    assert torch.equal(a, d)


def test_draws_sample_shapes_distribution_and_validation():
    d = SurrogateDraws.sample(num_ops=7, k=5, std=0.1, seed=0)
    assert d.r.shape == (5,) and d.P.shape == (7, 5) and d.W.shape == (10, 5) and d.alpha == 0.5
    assert d.r.dtype == d.P.dtype == d.W.dtype == np.float32
    assert ((d.r >= 0) & (d.r < 1)).all()
    big = SurrogateDraws.sample(num_ops=400, k=50, std=2.0, seed=1)
    assert abs(big.P.std() - 2.0) < 0.05 and abs(big.W.mean()) < 0.1 and abs(big.r.mean() - 0.5) < 0.1
    with pytest.raises(ValueError, match="W must have shape"):
        SurrogateDraws(r=np.zeros(3), P=np.zeros((4, 3)), W=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="P must have shape"):
        SurrogateDraws(r=np.zeros(3), P=np.zeros((4, 2)), W=np.zeros((6, 3)))
    with pytest.raises(ValueError, match="alpha"):
        SurrogateDraws(r=np.zeros(1), P=np.zeros((3, 1)), W=np.zeros((2, 1)), alpha=1.5)
    with pytest.raises(ValueError, match="std"):
        SurrogateDraws.sample(3, 2, std=0.0, seed=0)
    with pytest.raises(ValueError, match="k must"):
        SurrogateDraws.sample(3, 0, std=1.0, seed=0)


def test_stacked_draws_give_the_concatenated_surrogates_and_node_flows():
    """Independent draws stacked into one: every pass (and its ablations) gives each part's own values side by side,
    because the block-structured W keeps each part's columns to itself."""
    rng = np.random.default_rng(8)
    batch = GraphBatch.from_graphs([random_graph(rng) for _ in range(30)])
    parts = [SurrogateDraws.sample(batch.num_ops, k, 0.5, seed) for k, seed in ((3, 0), (2, 1), (3, 2))]
    stacked = SurrogateDraws.stack(parts)
    assert stacked.k == 8 and stacked.W.shape == (16, 8) and stacked.num_ops == batch.num_ops
    for switches in ({}, {"forward": False}, {"backward": False}, {"rounds": 2}):
        whole = flow_surrogate(batch, draws=stacked, dtype=torch.float64, **switches)[0]
        each = torch.cat([flow_surrogate(batch, draws=p, dtype=torch.float64, **switches)[0] for p in parts], 1)
        torch.testing.assert_close(whole, each, rtol=1e-12, atol=1e-12)
    whole_nodes = node_flows(batch, stacked, dtype=torch.float64)[1]
    each_nodes = [node_flows(batch, p, dtype=torch.float64)[1] for p in parts]  # columns: f (k), then b (k)
    f = torch.cat([n[:, : p.k] for n, p in zip(each_nodes, parts)], 1)
    b = torch.cat([n[:, p.k :] for n, p in zip(each_nodes, parts)], 1)
    torch.testing.assert_close(whole_nodes, torch.cat([f, b], 1), rtol=1e-12, atol=1e-12)
    one = SurrogateDraws.stack(parts[:1])
    assert np.array_equal(one.W, parts[0].W) and np.array_equal(one.P, parts[0].P)
    seeded = SurrogateDraws.sample_stacked(batch.num_ops, 3, 0.5, seed=4, count=2)
    expected = SurrogateDraws.stack([SurrogateDraws.sample(batch.num_ops, 3, 0.5, s) for s in (4, 5)])
    assert np.array_equal(seeded.W, expected.W) and np.array_equal(seeded.r, expected.r)
    with pytest.raises(ValueError, match="at least one"):
        SurrogateDraws.stack([])
    with pytest.raises(ValueError, match="share alpha"):
        SurrogateDraws.stack([parts[0], SurrogateDraws.sample(batch.num_ops, 3, 0.5, 0, alpha=0.3)])


def test_flow_surrogate_argument_errors():
    batch = GraphBatch.from_graphs([CHAIN])
    with pytest.raises(ValueError, match="pass k and std"):
        flow_surrogate(batch)
    with pytest.raises(ValueError, match="unknown search space 'nb999'"):
        flow_surrogate(batch, space="nb999")
    with pytest.raises(ValueError, match="op rows"):
        flow_surrogate(batch, draws=SurrogateDraws.sample(5, 2, 1.0, 0))
    with pytest.raises(ValueError, match="disagrees"):
        flow_surrogate(batch, k=3, draws=HAND_DRAWS)
    same_k = flow_surrogate(batch, k=HAND_DRAWS.k, draws=HAND_DRAWS)[0]
    assert torch.equal(same_k, flow_surrogate(batch, draws=HAND_DRAWS)[0])
    # even the defaults: with draws given they would be ignored
    for extra, named in (({"seed": 0}, "seed"), ({"alpha": 0.5}, "alpha"), ({"std": 0.1}, "std"),
                         ({"space": "nb201"}, "space"), ({"seed": 3, "alpha": 0.2}, "seed, alpha")):
        with pytest.raises(ValueError, match=f"^{named} would be unused: they only shape new draws, and draws= was"):
            flow_surrogate(batch, draws=HAND_DRAWS, **extra)
    with pytest.raises(ValueError, match="op rows"):
        reference_surrogate(CHAIN, SurrogateDraws.sample(5, 2, 1.0, 0))


def test_defaults_cover_every_space():
    with_constants = {name for name in list_spaces() if space_class(name).surrogate is not None}
    assert with_constants == {"nb101", "nb201", "nb301", "nbgraph"}
    with pytest.raises(ValueError, match="no surrogate defaults for space 'tnb101_macro'"):
        surrogate_defaults("tnb101_macro")
    assert surrogate_defaults("nb101") == (4, 1.0)
    assert surrogate_defaults("nb201") == (7, 0.1)
    assert surrogate_defaults("nb301") == (12, 0.1)
    batch = GraphBatch.from_graphs([get_space("nb201").decode([0, 1, 2, 3, 4, 0])])
    s, d = flow_surrogate(batch, space="nb201", k=3)  # an explicit k overrides the space default
    assert s.shape == (1, 3) and d.k == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_runs_on_the_batch_device():
    rng = np.random.default_rng(7)
    batch = GraphBatch.from_graphs([random_graph(rng) for _ in range(100)])
    cpu, draws = flow_surrogate(batch, k=4, std=0.5, seed=0)
    gpu, _ = flow_surrogate(batch.to("cuda"), draws=draws)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)


# CLI ---------------------------------------------------------------------------------------------------------


@pytest.mark.data
def test_cli_writes_npz_and_refuses_to_overwrite(tmp_path, capsys):
    from fgp.cli import main

    out = tmp_path / "s.npz"
    plot = tmp_path / "s.png"
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nb201", dataset="naslib-zc")  # 725 cells: quick
    args = ["surrogate", "--space", "nb201", "--dataset", "naslib-zc"]
    assert main(args + ["--seed", "3", "--out", str(out), "--plot", str(plot)]) == 0
    z = np.load(out)
    assert {"surrogate", "r", "P", "W", "alpha", "ops", "index"} <= set(z.files)
    assert z["surrogate"].shape == (725, 7) and z["surrogate"].dtype == np.float32
    assert z["P"].shape == (7, 7) and z["W"].shape == (14, 7) and z["r"].shape == (7,)
    assert float(z["alpha"]) == 0.5 and np.array_equal(z["index"], bench.index)
    assert tuple(z["ops"]) == bench.vocab == get_space("nb201").vocab
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the file holds exactly what the library computes for the same seed, in benchmark row order
    expected, draws = flow_surrogate(bench.batch(), space="nb201", seed=3)
    np.testing.assert_array_equal(z["surrogate"], expected.numpy())
    np.testing.assert_array_equal(z["W"], draws.W)
    capsys.readouterr()

    before = out.read_bytes()
    assert main(args + ["--seed", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists" in err[0] and "--force" in err[0]
    assert out.read_bytes() == before
    assert main(args + ["--seed", "4", "--out", str(tmp_path / "t.npz"), "--plot", str(plot)]) == 2
    assert not (tmp_path / "t.npz").exists()  # refused before computing anything
    assert main(args + ["--seed", "4", "--k", "3", "--out", str(out), "--force"]) == 0
    assert np.load(out)["surrogate"].shape == (725, 3)
    # --draws: independent draws side by side, the first being --seed's own
    assert main(args + ["--seed", "3", "--draws", "2", "--out", str(out), "--force"]) == 0
    z = np.load(out)
    assert z["surrogate"].shape == (725, 14) and int(z["draws"]) == 2 and z["W"].shape == (28, 14)
    np.testing.assert_allclose(z["surrogate"][:, :7], expected.numpy(), rtol=1e-6, atol=1e-7)
    second = flow_surrogate(bench.batch(), space="nb201", seed=4)[0].numpy()
    np.testing.assert_allclose(z["surrogate"][:, 7:], second, rtol=1e-6, atol=1e-7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz", "s.png"]  # no temporary files left


def test_cli_rejects_bad_space(tmp_path, capsys):
    from fgp.cli import main

    assert main(["surrogate", "--space", "nb999", "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nb999" in err[0]
    assert not (tmp_path / "x.npz").exists()


def test_cli_rejects_bad_numbers(tmp_path, capsys):
    from fgp.cli import main

    assert main(["surrogate", "--space", "nb201", "--k", "0", "--out", str(tmp_path / "x.npz")]) == 2
    assert "k must" in capsys.readouterr().err
    assert main(["surrogate", "--space", "nb201", "--draws", "0", "--out", str(tmp_path / "x.npz")]) == 2
    assert "--draws must be a positive integer" in capsys.readouterr().err
