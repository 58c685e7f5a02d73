"""Pieces every encoder shares: node input features, which edges carry messages, dropout, the mean read-out and
argument checks."""

from __future__ import annotations

import torch
from torch_geometric.utils import scatter

from fgp.batch import GraphBatch


def attribute_features(batch: GraphBatch, dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
    """The node attributes as encoder inputs, ``sign(a) * log(1 + |a|)`` (None for graphs without attributes).

    Attributes span orders of magnitude (a kernel of 3, a depthwise convolution's 512 groups, a channel ratio of
    1/4); the log keeps every one within a few units, so none swamps the one-hot op, and it is fixed (the same for
    every batch, nothing fitted on the data)."""
    if batch.attrs is None:
        return None
    a = batch.attrs.to(dtype)
    return torch.sign(a) * torch.log1p(a.abs())


def node_features(batch: GraphBatch, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Every node's input row: its one-hot op, followed by its :func:`attribute_features` where the graphs have
    attributes (``batch.num_ops + batch.num_attrs`` columns)."""
    one_hot = batch.one_hot(dtype)
    attrs = attribute_features(batch, dtype)
    return one_hot if attrs is None else torch.cat([one_hot, attrs], dim=1)


def check_inputs(batch: GraphBatch, num_ops: int, num_attrs: int) -> None:
    """Reject a batch whose vocabulary size or number of node attributes is not what the encoder was built for."""
    if batch.num_ops != num_ops:
        raise ValueError(f"the batch has {batch.num_ops} op types ({list(batch.vocab)}) but the encoder was built for "
                         f"num_ops={num_ops}")
    if batch.num_attrs != num_attrs:
        raise ValueError(f"the batch's nodes have {batch.num_attrs} attributes but the encoder was built for "
                         f"num_attrs={num_attrs}")


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
