"""Directed GCN in its simplified in/out-neighbour form: separate weights for messages along and against the edges.

Each layer computes, for every node ``v``,

    x'_v = relu( W_self x_v + b + W_along sum_{u -> v} x_u / sqrt(d_out(u) d_in(v))
                                + W_against sum_{v -> w} x_w / sqrt(d_out(v) d_in(w)) )

(the directed normalisation ``D_out^-1/2 A D_in^-1/2`` of Dir-GCN, Rossi et al., LoG 2023), then dropout; the
input is an embedding of the op (plus the embedded node attributes where the graphs have them) and the graph
embedding is the mean of the last layer's node embeddings.

Why not Tong et al.'s DiGCN (NeurIPS 2020) itself: its propagation matrix comes from the stationary distribution of
a PageRank walk with teleports over each graph and is *symmetric*, so on a DAG it forgets which way the data flow
(inputs -> output), the very thing FGP's flow surrogate is about; it also needs a per-graph eigenvector or power
iteration whose result depends on the teleport probability. The in/out form keeps the direction in two weight
matrices and costs two scatter-adds per layer, batched over every graph.
"""

from __future__ import annotations

import torch
from torch import nn

from fgp.batch import GraphBatch
from fgp.encoders.common import (
    attribute_embedding,
    check_inputs,
    check_probabilities,
    check_sizes,
    embedded_nodes,
    fast_dropout,
    mean_pool,
)
from fgp.encoders.registry import register_encoder


def directed_norm(batch: GraphBatch, dtype: torch.dtype) -> torch.Tensor:
    """The weight ``1 / sqrt(d_out(src) d_in(dst))`` of every edge (both degrees are at least 1 on an edge)."""
    src, dst = batch.edge_index
    d_out = torch.bincount(src, minlength=batch.num_nodes)
    d_in = torch.bincount(dst, minlength=batch.num_nodes)
    return (d_out[src] * d_in[dst]).to(dtype).rsqrt()


@register_encoder("digcn")
class DiGCN(nn.Module):
    """Directed GCN with separate along/against-edge weights (see the module docstring); ``out_dim == hidden``."""

    def __init__(self, num_ops: int, hidden: int = 64, layers: int = 4, dropout: float = 0.1, num_attrs: int = 0):
        super().__init__()
        check_sizes(num_ops=num_ops, hidden=hidden, layers=layers)
        check_probabilities(dropout=dropout)
        self.num_ops = num_ops
        self.num_attrs = num_attrs
        self.hidden = hidden
        self.p_drop = float(dropout)
        self.out_dim = hidden
        self.node_dim = hidden
        self.embed = nn.Embedding(num_ops, hidden)
        # one matmul per layer: [W_self | W_along | W_against], and the bias b of each layer
        self.convs = nn.ModuleList(nn.Linear(hidden, 3 * hidden, bias=False) for _ in range(layers))
        self.bias = nn.Parameter(torch.zeros(layers, hidden))
        self.attr_embed = attribute_embedding(num_attrs, hidden)

    def extra_repr(self) -> str:  # part of the pre-training cache key: non-parameter options must show here
        return f"dropout={self.p_drop}"

    def forward(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        check_inputs(batch, self.num_ops, self.num_attrs)
        src, dst = batch.edge_index
        x = embedded_nodes(self.embed, self.attr_embed, batch)
        norm = directed_norm(batch, x.dtype).unsqueeze(1)
        for conv, bias in zip(self.convs, self.bias):
            own, along, against = conv(x).split(self.hidden, dim=1)
            x = (own + bias).index_add(0, dst, along.index_select(0, src) * norm)
            x = x.index_add(0, src, against.index_select(0, dst) * norm)
            x = fast_dropout(torch.relu(x), self.p_drop, self.training)
        return x, mean_pool(x, batch)
