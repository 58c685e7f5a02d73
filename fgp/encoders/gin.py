"""GIN encoder (METHOD.md section 4): ``layers`` GINConv layers with 2-layer MLPs; the graph embedding is the
concatenation of the mean-pooled outputs of every layer (``out_dim = layers * hidden``), and so are the node
embeddings returned with it, so that mean-pooling them gives the graph embedding.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GINConv

from fgp.batch import GraphBatch
from fgp.encoders.common import (
    check_inputs,
    check_probabilities,
    check_sizes,
    edges_for,
    fast_dropout,
    mean_pool,
    node_features,
)
from fgp.encoders.registry import register_encoder


@register_encoder("gin")
class GIN(nn.Module):
    """Graph isomorphism network over the one-hot op features (node attributes appended where the graphs have them:
    :func:`fgp.encoders.common.node_features`).

    ``undirected`` (default) lets every node see both its predecessors and successors; in directed GIN the input
    node has no in-edges, so it receives no messages: each layer's MLP sees only its own ``(1 + eps)``-scaled
    features. ``dropout`` is applied after every layer.
    """

    def __init__(
        self,
        num_ops: int,
        hidden: int = 128,
        layers: int = 3,
        dropout: float = 0.0,
        undirected: bool = True,
        train_eps: bool = False,
        num_attrs: int = 0,
    ):
        super().__init__()
        check_sizes(num_ops=num_ops, hidden=hidden, layers=layers)
        check_probabilities(dropout=dropout)
        if num_attrs < 0:
            raise ValueError(f"num_attrs must be >= 0, got {num_attrs}")
        self.num_ops = num_ops
        self.num_attrs = num_attrs
        self.undirected = undirected
        self.train_eps = bool(train_eps)
        self.out_dim = hidden * layers
        self.node_dim = hidden * layers
        dims = [num_ops + num_attrs] + [hidden] * layers
        self.convs = nn.ModuleList(
            GINConv(
                nn.Sequential(nn.Linear(dims[i], hidden), nn.ReLU(), nn.Linear(hidden, hidden)),
                train_eps=train_eps,
            )
            for i in range(layers)
        )
        self.p_drop = float(dropout)

    def extra_repr(self) -> str:  # part of the pre-training cache key: non-parameter options must show here
        return f"dropout={self.p_drop}, undirected={self.undirected}, train_eps={self.train_eps}"

    def forward(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        check_inputs(batch, self.num_ops, self.num_attrs)
        edge_index = edges_for(batch, self.undirected)
        x = node_features(batch, self.convs[0].nn[0].weight.dtype)
        outs = []
        for conv in self.convs:
            x = fast_dropout(torch.relu(conv(x, edge_index)), self.p_drop, self.training)
            outs.append(x)
        nodes = torch.cat(outs, dim=1)
        return nodes, mean_pool(nodes, batch)
