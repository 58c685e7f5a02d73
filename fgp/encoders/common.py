"""Pieces every encoder shares: node input features, which edges carry messages, dropout, the mean read-out,
argument checks and the dense (graph, node) layout."""

from __future__ import annotations

import torch
from torch import nn
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


def short_softmax(scores: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis, by hand: ``torch.softmax`` is several times slower on CPU for rows as short as an
    architecture's nodes (n ~ 8). A row may hold -inf entries but not only those."""
    weights = (scores - scores.amax(-1, keepdim=True)).exp_()
    return weights / weights.sum(-1, keepdim=True)


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


def dense_layout(batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes per graph, and every node's number within its own graph (its column in the dense layout)."""
    counts = batch.node_ptr[1:] - batch.node_ptr[:-1]
    return counts, torch.arange(batch.num_nodes, device=batch.device) - batch.node_ptr[batch.batch]


def dense_adjacency(batch: GraphBatch, position: torch.Tensor, size: int) -> torch.Tensor:
    """``(G, size, size)`` bool: ``[g, i, j]`` iff graph ``g`` has an edge from its node at ``position`` i to j."""
    g = batch.num_graphs
    src, dst = batch.edge_index
    flat = batch.batch[src] * (size * size) + position[src] * size + position[dst]
    adj = torch.zeros(g * size * size, dtype=torch.bool, device=batch.device)
    adj[flat] = True
    return adj.view(g, size, size)


def reachability(batch: GraphBatch, position: torch.Tensor, size: int) -> torch.Tensor:
    """``(G, size, size)`` bool: ``[g, u, v]`` iff graph ``g``'s node at ``position`` u reaches its node at v along the
    edges (a node reaches itself): the reflexive-transitive closure of :func:`dense_adjacency`.

    One pass over the topological generations: a node's ancestors are itself plus its predecessors' ancestors,
    complete by then. Linear in the edges (times ``size``), so a traced model hundreds of generations deep costs what
    its edges do, where repeated squaring of the adjacency would cost ``size ** 3`` per graph and squaring."""
    n = batch.num_nodes
    src, dst = batch.edge_index
    anc = torch.zeros(n, size, device=batch.device)  # row v: the positions of v's ancestors
    anc[torch.arange(n, device=batch.device), position] = 1.0
    order = torch.argsort(batch.generation[dst], stable=True)  # edges by the generation of their head
    src, dst = src[order], dst[order]
    heads = torch.bincount(batch.generation[dst], minlength=int(batch.generation.max()) + 1).tolist()
    stop = 0
    for count in heads:
        if count:
            start, stop = stop, stop + count
            # clamped: a row sums its predecessors' rows, and path counts would grow exponentially with depth
            anc.index_add_(0, dst[start:stop], anc.index_select(0, src[start:stop]).clamp_(max=1.0))
    dense = torch.zeros(batch.num_graphs * size, size, dtype=torch.bool, device=batch.device)
    dense[batch.batch * size + position] = anc > 0
    return dense.view(batch.num_graphs, size, size).transpose(1, 2)


def attribute_embedding(num_attrs: int, dim: int) -> nn.Linear | None:
    """The attribute columns of an encoder whose input is an op embedding (an embedding is a linear map of the
    one-hot): None without attributes. Build it after the encoder's other layers, so that an encoder for graphs
    without attributes gets the weights it always got from a seed."""
    if num_attrs < 0:
        raise ValueError(f"num_attrs must be >= 0, got {num_attrs}")
    return nn.Linear(num_attrs, dim, bias=False) if num_attrs else None


def embedded_nodes(embed: nn.Embedding, attributes: nn.Linear | None, batch: GraphBatch,
                   order: torch.Tensor | None = None) -> torch.Tensor:
    """Every node's input row: the embedding of its op, plus its embedded :func:`attribute_features`; the rows of
    the nodes ``order`` lists, in that order, when given."""
    ops = batch.op_index if order is None else batch.op_index[order]
    x = embed(ops)
    attrs = attribute_features(batch, x.dtype)
    if attrs is None:
        return x
    return x + attributes(attrs if order is None else attrs[order])
