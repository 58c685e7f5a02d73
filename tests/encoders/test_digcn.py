"""Directed GCN: the layer rule against a dense reference, what the two directions mean, errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from test_encoders import SYNTH_VOCAB, space_graphs  # the per-encoder tests' helpers (same folder)

from fgp.batch import GraphBatch
from fgp.encoders.digcn import DiGCN, directed_norm
from fgp.graph import ArchGraph

DIAMOND = ArchGraph(["input", "a", "b", "c", "output"], [(0, 1), (1, 2), (2, 4), (0, 3), (3, 4), (0, 4)], SYNTH_VOCAB)


def test_edge_weights_are_the_directed_normalisation():
    batch = GraphBatch.from_graphs([DIAMOND])
    # out-degrees 3, 1, 1, 1, 0; in-degrees 0, 1, 1, 1, 3
    by_edge = {(0, 1): 3**-0.5, (1, 2): 1.0, (2, 4): 3**-0.5, (0, 3): 3**-0.5, (3, 4): 3**-0.5, (0, 4): 1 / 3}
    expected = torch.tensor([by_edge[tuple(e)] for e in batch.edge_index.T.tolist()], dtype=torch.float64)
    torch.testing.assert_close(directed_norm(batch, torch.float64), expected)


def test_layers_follow_the_rule_on_a_dense_reference():
    batch = GraphBatch.from_graphs([DIAMOND])
    torch.manual_seed(0)
    enc = DiGCN(len(SYNTH_VOCAB), hidden=6, layers=2, dropout=0.0).double().eval()
    with torch.no_grad():
        enc.bias.normal_()
    adjacency = torch.zeros(5, 5, dtype=torch.float64)
    adjacency[tuple(torch.tensor(DIAMOND.edges).T)] = 1.0
    d_out, d_in = adjacency.sum(1), adjacency.sum(0)
    scale = lambda d: torch.where(d > 0, d.clamp(min=1).rsqrt(), 0.0)  # noqa: E731
    norm = scale(d_out)[:, None] * adjacency * scale(d_in)[None, :]  # D_out^-1/2 A D_in^-1/2
    x = enc.embed.weight[batch.op_index]
    for conv, bias in zip(enc.convs, enc.bias):
        w_self, w_along, w_against = conv.weight.split(6)
        x = torch.relu(x @ w_self.T + bias + norm.T @ (x @ w_along.T) + norm @ (x @ w_against.T))
    with torch.no_grad():
        nodes, emb = enc(batch)
    torch.testing.assert_close(nodes, x.detach())
    torch.testing.assert_close(emb[0], x.detach().mean(0))


def test_reversing_every_edge_is_swapping_the_two_direction_weights():
    batch = GraphBatch.from_graphs(space_graphs("nb101", n=8, seed=2))
    reversed_batch = dataclasses.replace(batch, edge_index=batch.edge_index.flip(0))
    torch.manual_seed(0)
    enc = DiGCN(batch.num_ops, hidden=8, layers=3).eval()
    with torch.no_grad():
        nodes, emb = enc(batch)
        assert not torch.allclose(enc(reversed_batch)[1], emb)  # direction matters
        for conv in enc.convs:
            own, along, against = conv.weight.clone().split(8)
            conv.weight.copy_(torch.cat([own, against, along]))
        nodes_r, emb_r = enc(reversed_batch)
    torch.testing.assert_close(nodes_r, nodes)
    torch.testing.assert_close(emb_r, emb)


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden": 0}, "must be positive"),
    ({"layers": 0}, "must be positive"),
    ({"dropout": 1.5}, r"dropout must be in \[0, 1\)"),
])
def test_bad_options_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DiGCN(5, **kwargs)
