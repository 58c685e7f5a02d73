"""GIN encoder (METHOD.md section 4): ``layers`` GINConv layers with 2-layer MLPs; the graph embedding is the
concatenation of the mean-pooled outputs of every layer (``out_dim = layers * hidden``), and so are the node
embeddings returned with it, so that mean-pooling them gives the graph embedding.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GINConv

from fgp.batch import GraphBatch
from fgp.encoders.common import check_probabilities, check_sizes, edges_for, fast_dropout, mean_pool
from fgp.encoders.registry import register_encoder


@register_encoder("gin")
class GIN(nn.Module):
    """Graph isomorphism network over the one-hot op features.

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
    ):
        super().__init__()
        check_sizes(num_ops=num_ops, hidden=hidden, layers=layers)
        check_probabilities(dropout=dropout)
        self.num_ops = num_ops
        self.undirected = undirected
        self.train_eps = bool(train_eps)
        self.out_dim = hidden * layers
        self.node_dim = hidden * layers
        dims = [num_ops] + [hidden] * layers
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
        if batch.num_ops != self.num_ops:
            raise ValueError(f"the batch has {batch.num_ops} op types but the encoder was built for {self.num_ops}")
        edge_index = edges_for(batch, self.undirected)
        x = batch.one_hot(self.convs[0].nn[0].weight.dtype)
        outs = []
        for conv in self.convs:
            x = fast_dropout(torch.relu(conv(x, edge_index)), self.p_drop, self.training)
            outs.append(x)
        nodes = torch.cat(outs, dim=1)
        return nodes, mean_pool(nodes, batch)
