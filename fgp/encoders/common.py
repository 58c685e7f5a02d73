"""Pieces every encoder shares: which edges carry messages, dropout, the mean read-out and argument checks."""

from __future__ import annotations

import torch
from torch_geometric.utils import scatter

from fgp.batch import GraphBatch


def edges_for(batch: GraphBatch, undirected: bool) -> torch.Tensor:
    """The message-passing edges: as given (src -> dst), or both directions."""
    ei = batch.edge_index
    return torch.cat([ei, ei.flip(0)], dim=1) if undirected else ei


def fast_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout with a uniform-threshold mask: the same distribution as ``F.dropout``, about 2.5x faster on
    CPU (``bernoulli_`` dominates small-GNN steps)."""
    if not training or p == 0.0:
        return x
    return x * torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))  # in place: 1/(1-p) where kept, else 0


def mean_pool(x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
    """Per-graph mean of node rows (every graph has at least one node)."""
    return scatter(x, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="mean")


def check_sizes(**sizes: int) -> None:
    """Reject a non-positive width, depth or count, naming every argument checked."""
    if any(v < 1 for v in sizes.values()):
        names = ", ".join(sizes)
        values = ", ".join(str(v) for v in sizes.values())
        raise ValueError(f"{names} must be positive, got {values}")


def check_probabilities(**probabilities: float) -> None:
    """Reject a dropout probability outside [0, 1)."""
    for name, p in probabilities.items():
        if not 0.0 <= p < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {p}")
