"""MLP baseline: the canonical order (forward edges, one layout for every renumbering), the fixed padding, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from test_encoders import SYMMETRIC, SYNTH_VOCAB, random_dag, space_graphs  # the per-encoder tests' helpers

from fgp.batch import GraphBatch
from fgp.encoders.common import dense_adjacency
from fgp.encoders.mlp import MLPEncoder, canonical_order
from fgp.graph import ArchGraph
from fgp.spaces import list_spaces


def layout(batch: GraphBatch, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Every graph's adjacency and ops in the canonical order: ``(G, size, size)`` bool, ``(G, size)`` op (-1: none)."""
    enc = MLPEncoder(batch.num_ops, max_nodes=size)
    position, _ = canonical_order(batch, size, enc.hash_tables)
    ops = torch.full((batch.num_graphs * size,), -1, dtype=torch.long)
    ops[batch.batch * size + position] = batch.op_index
    return dense_adjacency(batch, position, size), ops.view(batch.num_graphs, size)


@pytest.mark.parametrize("space", list_spaces())
def test_positions_number_each_graph_in_a_topological_order(space):
    batch = GraphBatch.from_graphs(space_graphs(space, n=20, seed=4))
    position, _ = canonical_order(batch, 32, MLPEncoder(batch.num_ops).hash_tables)
    counts = (batch.node_ptr[1:] - batch.node_ptr[:-1]).tolist()
    for g, n in enumerate(counts):
        mine = position[batch.node_ptr[g] : batch.node_ptr[g + 1]]
        assert sorted(mine.tolist()) == list(range(n))
    src, dst = batch.edge_index
    assert bool((position[src] < position[dst]).all())  # so the strict upper triangle holds every edge
    # generation first: a node of an earlier generation always comes first
    same = batch.batch[:, None] == batch.batch[None, :]
    earlier = batch.generation[:, None] < batch.generation[None, :]
    assert bool((position[:, None] < position[None, :])[same & earlier].all())


@pytest.mark.parametrize("graph", range(len(SYMMETRIC) + 3))
def test_every_renumbering_gives_the_same_layout(graph):
    rng = np.random.default_rng(graph)
    g = SYMMETRIC[graph] if graph < len(SYMMETRIC) else random_dag(rng, 6, n_inputs=1 + graph % 2)
    perms = [np.arange(g.num_nodes)] + [rng.permutation(g.num_nodes) for _ in range(80)]
    adjacency, ops = layout(GraphBatch.from_graphs([g.relabel(p) for p in perms]))
    assert torch.equal(adjacency, adjacency[:1].expand_as(adjacency))
    assert torch.equal(ops, ops[:1].expand_as(ops))
    assert int(adjacency[0].sum()) == len(g.edges)


def renumbered(batch: GraphBatch, rng: np.random.Generator) -> GraphBatch:
    """The same graphs with the node ids of every graph shuffled (vectorised)."""
    order = np.argsort(rng.random(batch.num_nodes) + batch.batch.numpy())  # stays inside each graph's id range
    new_id = torch.empty(batch.num_nodes, dtype=torch.long)
    new_id[torch.as_tensor(order)] = torch.arange(batch.num_nodes)
    op_index, generation = torch.empty_like(batch.op_index), torch.empty_like(batch.generation)
    op_index[new_id], generation[new_id] = batch.op_index, batch.generation
    return dataclasses.replace(batch, op_index=op_index, generation=generation, edge_index=new_id[batch.edge_index])


@pytest.mark.data
@pytest.mark.parametrize("space, options", [("nb201", {"pruned": True}), ("nb101", {})])
def test_every_benchmark_cell_keeps_its_layout_under_renumbering(space, options):
    """Breaking the ties that refinement leaves by node id instead changed the layout of 42 pruned NB201 cells and 10
    NB101 cells under three such renumberings; individualisation changes none."""
    from fgp.datasets import load_benchmark

    batch = load_benchmark(space, space_options=options).batch()
    adjacency, ops = layout(batch, 8)
    again = layout(renumbered(batch, np.random.default_rng(0)), 8)
    assert torch.equal(again[0], adjacency) and torch.equal(again[1], ops)


def test_ties_are_split_by_individualisation_and_refinement_classes_kept_for_node_rows():
    g = SYMMETRIC[0]  # input -> a -> b -> output twice: refinement leaves {a, a'} and {b, b'} tied
    batch = GraphBatch.from_graphs([g])
    position, klass = canonical_order(batch, 8, MLPEncoder(batch.num_ops, max_nodes=8).hash_tables)
    assert position[0] == 0 and position[5] == 5 and sorted(position[1:5].tolist()) == [1, 2, 3, 4]
    assert klass[1] == klass[2] and klass[3] == klass[4] and len(set(klass.tolist())) == 4
    # individualising one a orders its own b before the other b: the two chains are laid out alike
    a_first = 1 if position[1] < position[2] else 2
    assert position[a_first + 2] < position[3 - a_first + 2]


def test_a_model_applies_to_any_batch_of_graphs_within_max_nodes():
    torch.manual_seed(0)
    enc = MLPEncoder(len(SYNTH_VOCAB), hidden=16, max_nodes=9).eval()
    small = ArchGraph(["input", "output"], [(0, 1)], SYNTH_VOCAB)
    rng = np.random.default_rng(0)
    big = random_dag(rng, 7)  # nine nodes: exactly max_nodes
    with torch.no_grad():
        alone = enc(GraphBatch.from_graphs([small]))[1]
        together = enc(GraphBatch.from_graphs([small, big]))[1]
    torch.testing.assert_close(together[:1], alone)
    with pytest.raises(ValueError, match=r"graph 1 of the batch has 10 nodes, more than the mlp encoder's "
                                         r"max_nodes=9 \(1 such graphs\)"):
        enc(GraphBatch.from_graphs([small, random_dag(rng, 8)]))


def test_trunk_reads_the_flat_layout_and_nodes_their_rows():
    torch.manual_seed(0)
    enc = MLPEncoder(len(SYNTH_VOCAB), hidden=8, layers=1, max_nodes=4, dropout=0.0).eval()
    g = ArchGraph(["input", "a", "output"], [(0, 1), (1, 2), (0, 2)], SYNTH_VOCAB)
    # canonical order: input, a, output; upper triangle of a 4 x 4 layout: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
    flat = torch.tensor([1.0, 1, 0, 1, 0, 0] + [0.0] * 24)
    for slot, op in enumerate([0, 2, 1]):
        flat[6 + slot * len(SYNTH_VOCAB) + op] = 1.0
    h = torch.relu(enc.trunk[0](flat))
    rows = torch.zeros(3, len(SYNTH_VOCAB) + 12)
    for v, (op, succ, pred) in enumerate([(0, [1, 2], []), (2, [2], [0]), (1, [], [0, 1])]):
        rows[v, op] = 1.0
        rows[v, len(SYNTH_VOCAB) + torch.tensor(succ, dtype=torch.long)] = 1.0
        rows[v, len(SYNTH_VOCAB) + 4 + torch.tensor(pred, dtype=torch.long)] = 1.0
        rows[v, len(SYNTH_VOCAB) + 8 + v] = 1.0
    expected = torch.relu(enc.row(rows) + enc.context(h))
    with torch.no_grad():
        nodes, emb = enc(GraphBatch.from_graphs([g]))
    torch.testing.assert_close(nodes, expected.detach())
    torch.testing.assert_close(emb[0], expected.detach().mean(0))
    assert "max_nodes=4" in repr(enc) and "dropout=0.0" in repr(enc)


@pytest.mark.parametrize("kwargs, message", [
    ({"max_nodes": 1}, "max_nodes must be at least 2"),
    ({"hidden": 0}, "must be positive"),
    ({"layers": 0}, "must be positive"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
])
def test_bad_options_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLPEncoder(5, **kwargs)
