import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.graph import ArchGraph

VOCAB = ("input", "output", "a", "b")


def graphs():
    return [
        ArchGraph(["input", "a", "output"], [(0, 1), (1, 2)], VOCAB),
        ArchGraph(["input", "a", "b", "output"], [(0, 1), (0, 2), (1, 2), (2, 3)], VOCAB),
        ArchGraph(["input", "input", "b", "output"], [(0, 2), (1, 2), (2, 3)], VOCAB),
    ]


def test_from_graphs_concatenates_with_offsets():
    b = GraphBatch.from_graphs(graphs())
    assert b.num_graphs == 3 and b.num_nodes == 11
    assert b.node_ptr.tolist() == [0, 3, 7, 11]
    assert b.edge_ptr.tolist() == [0, 2, 6, 9]
    assert b.edge_index[:, 2].tolist() == [3, 4]  # first edge of graph 1, shifted by 3 nodes
    assert b.batch.tolist() == [0] * 3 + [1] * 4 + [2] * 4
    assert b.generation.tolist() == [1, 2, 3, 1, 2, 3, 4, 1, 1, 2, 3]
    assert b.is_input().sum() == 4 and b.is_output().sum() == 3
    assert b.one_hot().shape == (11, 4)


def test_subset_equals_batch_of_the_chosen_graphs():
    gs = graphs()
    b = GraphBatch.from_graphs(gs)
    sub = b.subset([2, 0])
    ref = GraphBatch.from_graphs([gs[2], gs[0]])
    for name in ("op_index", "edge_index", "batch", "generation", "node_ptr", "edge_ptr"):
        assert torch.equal(getattr(sub, name), getattr(ref, name)), name
    # node_ids: where the subset's nodes sit in the whole batch (graph 2's nodes, then graph 0's)
    n0, n1, n2 = (g.num_nodes for g in gs[:3])
    expected = list(range(n0 + n1, n0 + n1 + n2)) + list(range(n0))
    assert b.node_ids([2, 0]).tolist() == expected
    assert torch.equal(b.op_index[b.node_ids([2, 0])], sub.op_index)


def test_from_dense_matches_from_graphs():
    gs = graphs()[:2]
    ops = np.full((2, 4), -1)
    adj = np.zeros((2, 4, 4), dtype=bool)
    for i, g in enumerate(gs):
        ops[i, : g.num_nodes] = g.op_index
        for s, d in g.edges:
            adj[i, s, d] = True
    dense = GraphBatch.from_dense(ops, adj, [3, 4], VOCAB)
    ref = GraphBatch.from_graphs(gs)
    for name in ("op_index", "edge_index", "batch", "generation", "node_ptr", "edge_ptr"):
        assert torch.equal(getattr(dense, name), getattr(ref, name)), name


def test_from_dense_needs_topological_order():
    adj = np.zeros((1, 3, 3), dtype=bool)
    adj[0, 2, 1] = True
    with pytest.raises(ValueError, match="topological order"):
        GraphBatch.from_dense(np.zeros((1, 3), int), adj, [3], VOCAB)


def test_from_graphs_rejects_mixed_vocabularies():
    other = ArchGraph(["input", "c", "output"], [(0, 1), (1, 2)], ("input", "output", "c"))
    with pytest.raises(ValueError, match="share one op vocabulary"):
        GraphBatch.from_graphs([graphs()[0], other])
    with pytest.raises(ValueError, match="empty"):
        GraphBatch.from_graphs([])


# node attributes (traced models) ------------------------------------------------------------------------------


def test_traced_graphs_of_several_sizes_carry_their_attributes(traced_graphs):
    b = GraphBatch.from_graphs(traced_graphs)
    assert b.num_attrs == traced_graphs[0].attrs.shape[1] and b.attrs.dtype == torch.float32
    expected = np.concatenate([g.attrs for g in traced_graphs])
    np.testing.assert_array_equal(b.attrs.numpy(), expected.astype(np.float32))
    assert b.node_ptr.tolist() == np.cumsum([0] + [g.num_nodes for g in traced_graphs]).tolist()
    # subset and concat keep every node's row with its node
    sub = b.subset([4, 1])
    np.testing.assert_array_equal(sub.attrs.numpy(),
                                  np.concatenate([traced_graphs[4].attrs, traced_graphs[1].attrs]).astype(np.float32))
    joined = b.subset([0]).concat(b.subset([3, 2]))
    ref = GraphBatch.from_graphs([traced_graphs[i] for i in (0, 3, 2)])
    for name in ("op_index", "edge_index", "generation", "node_ptr", "edge_ptr", "attrs"):
        assert torch.equal(getattr(joined, name), getattr(ref, name)), name
    assert torch.equal(b.to("cpu").attrs, b.attrs)


def test_graphs_without_attributes_keep_none():
    b = GraphBatch.from_graphs(graphs())
    assert b.attrs is None and b.num_attrs == 0
    assert b.subset([1]).attrs is None and b.concat(b).attrs is None


def test_attributes_are_part_of_a_graphs_identity():
    from fgp.batch import graph_keys, unseen_ids

    g = graphs()[0]
    stride1 = ArchGraph(g.ops, g.edges, VOCAB, np.zeros((3, 2)))
    stride2 = ArchGraph(g.ops, g.edges, VOCAB, [[0, 0], [0, 2], [0, 0]])
    b = GraphBatch.from_graphs([stride1, stride2, stride1])
    keys = graph_keys(b)
    assert keys[0] != keys[1] and keys[0] == keys[2]
    assert unseen_ids(b.subset([0]), b).tolist() == [1]


def test_mixing_graphs_with_and_without_attributes_is_an_error():
    g = graphs()[0]
    with_attrs = ArchGraph(g.ops, g.edges, VOCAB, np.ones((3, 2)))
    with pytest.raises(ValueError, match="same number of node attributes.*got none, 2"):
        GraphBatch.from_graphs([g, with_attrs])
    with pytest.raises(ValueError, match="same number of node attributes.*got 1, 2"):
        GraphBatch.from_graphs([ArchGraph(g.ops, g.edges, VOCAB, np.ones((3, 1))), with_attrs])
    with pytest.raises(ValueError, match="cannot join graphs with 0 node attributes and graphs with 2"):
        GraphBatch.from_graphs([g]).concat(GraphBatch.from_graphs([with_attrs]))
