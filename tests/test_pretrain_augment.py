"""Graph augmentations (fgp.pretrain.augment): every view is a legal architecture graph of its space (property test
over many random architectures), each augmentation does what it says on hand-made graphs, and the dense form
round-trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fgp.batch import GraphBatch
from fgp.graph import ArchGraph
from fgp.pretrain.augment import (
    AUGMENTATIONS,
    DenseGraphs,
    augment,
    drop_nodes,
    mask_ops,
    op_nodes,
    perturb_edges,
    pick,
    share_counts,
    subgraph,
)
from fgp.spaces import get_space

VOCAB = ("input", "output", "a", "b", "c")


def graphs_of(batch: GraphBatch) -> list[ArchGraph]:
    """Every graph of ``batch`` rebuilt as an :class:`ArchGraph`, which validates it (raising on an illegal one)."""
    out = []
    for g in range(batch.num_graphs):
        n0, n1 = batch.node_ptr[g : g + 2].tolist()
        e0, e1 = batch.edge_ptr[g : g + 2].tolist()
        ops = batch.op_index[n0:n1].tolist()
        assert all(0 <= i < batch.num_ops for i in ops)
        graph = ArchGraph([batch.vocab[i] for i in ops], (batch.edge_index[:, e0:e1] - n0).T.tolist(), batch.vocab)
        np.testing.assert_array_equal(batch.generation[n0:n1].numpy(), graph.generations)
        out.append(graph)
    return out


def io_ops(graph: ArchGraph) -> list[str]:
    return [op for op in graph.ops if op in ("input", "output")]


@pytest.mark.parametrize("space, options", [("nb201", {}), ("nb201", {"pruned": True}), ("nb101", {}),
                                            ("nb301", {})])
@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0.01, 0.99), which=st.sampled_from(AUGMENTATIONS))
def test_every_view_is_a_legal_graph_of_the_space(space, options, seed, share, which):
    """Acyclic, inputs and output kept, every node on an input-output path, ops in the vocabulary, generations
    consistent with the wiring; op masking changes ops only, the other augmentations keep every op they keep."""
    sp = get_space(space, **options)
    rng = np.random.default_rng(seed)
    originals = [sp.decode(sp.sample(rng)) for _ in range(16)]
    batch = GraphBatch.from_graphs(originals)
    view = augment(batch, share, torch.Generator().manual_seed(seed), (which,))
    for before, after in zip(originals, graphs_of(view)):
        assert io_ops(after) == io_ops(before)
        if which == "mask_ops":
            assert after.edges == before.edges and after.num_nodes == before.num_nodes
        elif which == "perturb_edges":
            assert after.ops == before.ops
        else:  # the kept nodes, in their order
            left = iter(before.ops)
            assert all(op in left for op in after.ops)


def dense_of(ops: list[str], edges: list[tuple[int, int]]) -> tuple[DenseGraphs, GraphBatch]:
    batch = GraphBatch.from_graphs([ArchGraph(ops, edges, VOCAB)])
    return DenseGraphs.from_batch(batch), batch


def edges_of(dense: DenseGraphs, like: GraphBatch) -> tuple[list[str], list[tuple[int, int]]]:
    graph = graphs_of(dense.to_batch(like))[0]
    return list(graph.ops), list(graph.edges)


def test_dropping_a_chain_of_nodes_wires_its_predecessors_to_its_successors():
    # input -> a -> b -> c -> output, plus input -> c; dropping a and b leaves input -> c -> output
    dense, batch = dense_of(["input", "a", "b", "c", "output"], [(0, 1), (1, 2), (2, 3), (0, 3), (3, 4)])
    drop = torch.tensor([[False, True, True, False, False]])
    assert edges_of(drop_nodes(dense, drop), batch) == (["input", "c", "output"], [(0, 1), (1, 2)])
    # a diamond: dropping both middle nodes joins input to output once
    dense, batch = dense_of(["input", "a", "b", "output"], [(0, 1), (0, 2), (1, 3), (2, 3)])
    assert edges_of(drop_nodes(dense, torch.tensor([[False, True, True, False]])), batch) == (
        ["input", "output"], [(0, 1)])


def test_pick_draws_exact_counts_among_candidates():
    gen = torch.Generator().manual_seed(0)
    candidates = torch.tensor([[True, True, False, True], [False, True, False, False], [False] * 4])
    for _ in range(20):
        chosen = pick(candidates, torch.tensor([2, 3, 1]), gen)
        assert not (chosen & ~candidates).any()
        assert chosen.sum(1).tolist() == [2, 1, 0]  # all of them where there are fewer
    assert share_counts(candidates, 0.5).tolist() == [2, 1, 0]  # round(1.5) = 2, round(0.5) = 1
    assert share_counts(candidates, 0.1).tolist() == [0, 0, 0]
    assert share_counts(candidates, 0.1, at_least_one=True).tolist() == [1, 1, 0]


def test_masking_gives_other_ops_to_exactly_the_chosen_op_nodes():
    sp = get_space("nb201")
    batch = GraphBatch.from_graphs([sp.decode(sp.sample(np.random.default_rng(i))) for i in range(50)])
    dense = DenseGraphs.from_batch(batch)
    counts = torch.randint(0, 7, (50,), generator=torch.Generator().manual_seed(1))
    masked_dense, masked = mask_ops(dense, batch.vocab, counts, torch.Generator().manual_seed(0))
    assert masked.sum(1).tolist() == counts.clamp(max=6).tolist()  # NB201 cells have 6 op nodes
    assert not (masked & ~op_nodes(dense, batch.vocab)).any()
    changed = masked_dense.ops != dense.ops
    assert torch.equal(changed, masked)
    assert not torch.isin(masked_dense.ops[masked], torch.tensor([0, 1])).any()  # never input or output


def test_edge_perturbation_keeps_a_path_through_every_node_and_adds_only_forward_edges():
    # every middle node has one way in and one way out: no edge can go, edges can only be added
    dense, batch = dense_of(["input", "a", "b", "output"], [(0, 1), (1, 2), (2, 3)])
    for seed in range(10):
        ops, edges = edges_of(perturb_edges(dense, batch.vocab, 0.5, torch.Generator().manual_seed(seed)), batch)
        assert {(0, 1), (1, 2), (2, 3)} <= set(edges) and len(edges) == 5  # round(0.5 * 3) = 2 added
    # with spare edges some go and as many come
    dense, batch = dense_of(["input", "a", "b", "output"], [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)])
    seen = set()
    for seed in range(30):
        _, edges = edges_of(perturb_edges(dense, batch.vocab, 0.2, torch.Generator().manual_seed(seed)), batch)
        seen.add(tuple(edges))
    assert len(seen) > 1


def test_subgraph_keeps_a_connected_region_of_op_nodes():
    # two op-node chains joined only at the input and output: the region stays on one chain
    ops = ["input", "a", "a", "a", "b", "b", "b", "output"]
    edges = [(0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 7)]
    dense, batch = dense_of(ops, edges)
    for seed in range(10):
        kept, _ = edges_of(subgraph(dense, batch.vocab, 0.5, torch.Generator().manual_seed(seed)), batch)
        middle = kept[1:-1]
        assert len(middle) == 3 and len(set(middle)) == 1  # 6 op nodes, 3 dropped: one whole chain kept


def test_dense_form_round_trips_a_batch():
    sp = get_space("nb301")
    batch = GraphBatch.from_graphs([sp.decode(sp.sample(np.random.default_rng(i))) for i in range(8)])
    again = DenseGraphs.from_batch(batch).to_batch(batch)
    for name in ("op_index", "edge_index", "batch", "generation", "node_ptr", "edge_ptr"):
        assert torch.equal(getattr(again, name), getattr(batch, name)), name
    assert again.vocab == batch.vocab and again.representation == batch.representation


def test_views_depend_only_on_the_generator():
    sp = get_space("nb101")
    batch = GraphBatch.from_graphs([sp.decode(sp.sample(np.random.default_rng(i))) for i in range(40)])
    a = augment(batch, 0.3, torch.Generator().manual_seed(5))
    b = augment(batch, 0.3, torch.Generator().manual_seed(5))
    assert torch.equal(a.op_index, b.op_index) and torch.equal(a.edge_index, b.edge_index)
    with pytest.raises(ValueError, match="unknown augmentation 'shuffle'"):
        augment(batch, 0.3, torch.Generator(), ("shuffle",))
