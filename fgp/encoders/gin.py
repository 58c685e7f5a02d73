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


# Fine-tuning of GIN on NB101: the score head alone for the first 100 epochs, then everything. It validates higher
# on average over supervised, ZC-only and FGP runs there (benchmarks/RESULTS.md); lower on NAS-Bench-Graph and on
# NB201's pruned graphs.
HEAD_FIRST = {"freeze_encoder_epochs": 100}


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

    @staticmethod
    def recommended_settings(space: str | None) -> dict[str, dict]:
        """Directed messages on NB101, where the validation Kendall tau prefers them (1%, 9 runs: 69.1 vs 68.6
        supervised, 74.2 vs 67.4 with FGP; benchmarks/RESULTS.md); both directions elsewhere (NB201: METHOD.md's
        undirected GIN reproduces the paper's supervised row; cora / citeseer validate lower directed). On NB101
        the score head is trained alone for the first 100 fine-tuning epochs (:data:`HEAD_FIRST`; validation,
        supervised / ZC-only / FGP: 74.8 / 73.9 / 74.9 vs 73.6 / 73.6 / 74.3 end to end). On NB201's pruned graphs
        end to end validates higher (79.5 / 83.9 / 83.5 vs 80.6 / 81.8 / 81.7 head first)."""
        if space == "nb101":
            return {"encoder": {"undirected": False}, "finetune": dict(HEAD_FIRST)}
        return {"encoder": {}, "finetune": {}}

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
