"""MLP baseline: each graph as one flat vector (padded adjacency + one-hot ops) in a canonical node order.

**Canonical order** (:func:`canonical_order`, batched, no per-graph loop). Nodes are ranked within their graph by
(topological generation, op), then the ranks are refined as in 1-dimensional Weisfeiler-Lehman colour refinement
over in- and out-neighbours (a node's new rank sorts by its old rank first, then by a hash of the multisets of its
predecessors' and successors' ranks) until no class splits. Nodes still tied then are split by individualisation:
in every graph with ties, one node of its lowest tied class is given the smaller rank and refinement resumes, until
every node has its own rank, which is its position. Edges then only go from lower to higher positions, so the
strict upper triangle holds the whole adjacency.

*Limits.* The order, hence the embedding, does not depend on the node numbering whenever each tied class met by
individualisation is an orbit of the graph's automorphisms (then every choice gives the same layout). That holds for
trees and for graphs that refinement alone orders; it can fail where colour refinement is blind (e.g. regular
subgraphs that are not alike). On every NB201 cell (pruned or not), every NB101 protocol cell, every NAS-Bench-Graph
cell and 5,000 sampled NB301 and TransNAS macro cells, three random renumberings left every layout unchanged
(breaking the ties by node id instead changed 42 pruned NB201, 10 NB101 and 4 NB301 layouts). The neighbour hash is a
sum of random residues modulo 2**31 - 1: two different multisets collide with probability about 5e-10, and would
then be treated as tied.

**Model.** ``layers`` Linear-ReLU layers map the flat layout of a graph (``max_nodes * (max_nodes - 1) / 2``
adjacency bits, then ``max_nodes`` one-hot op rows with the node attributes appended where the graphs have them,
zero past the graph's last node) to a graph vector ``h``.
The layout is padded to the fixed ``max_nodes``, not to the largest graph of a batch, so a trained model applies
to any batch; a larger graph is a ``ValueError``. The pretext tasks need node embeddings too: node ``v``'s is
``relu(P row_v + Q h)``, where ``row_v`` is its row of the layout (one-hot op, out- and in-adjacency over the
positions, one-hot position), averaged over the nodes that colour refinement cannot tell apart (so automorphic
nodes, whose positions depend on the individualisation choice, get equal embeddings and rows move with a
renumbering). The graph embedding is the mean of the node embeddings, as for every other encoder.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import scatter

from fgp.batch import GraphBatch
from fgp.encoders.common import (
    check_inputs,
    check_probabilities,
    check_sizes,
    dense_adjacency,
    fast_dropout,
    mean_pool,
    node_features,
)
from fgp.encoders.registry import register_encoder

_PRIME = 2**31 - 1  # the neighbour hash works modulo this prime; products of two residues fit in int64


def _dense_rank(key: torch.Tensor, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Rank of every node's key among the distinct keys of its graph (0 first), the global id of its class and the
    number of classes in the batch. ``key`` must order graph by graph (graph id as its leading part)."""
    order = torch.argsort(key, stable=True)
    sorted_key = key[order]
    starts = torch.ones_like(sorted_key, dtype=torch.bool)
    starts[1:] = sorted_key[1:] != sorted_key[:-1]
    sorted_class = torch.cumsum(starts, 0) - 1
    klass = torch.empty_like(sorted_class)
    klass[order] = sorted_class
    first = sorted_class[batch.node_ptr[:-1]]  # graph g's smallest key sits at sorted position node_ptr[g]
    return klass - first[batch.batch], klass, int(sorted_class[-1]) + 1


def _refine(rank: torch.Tensor, batch: GraphBatch, tables: torch.Tensor, size: int):
    """One colour-refinement round: sort by (graph, rank, hash of the predecessors' and successors' ranks)."""
    src, dst = batch.edge_index
    h = torch.zeros_like(rank)
    h.index_add_(0, dst, tables[0, rank[src]])  # the multiset of predecessor ranks
    h.index_add_(0, src, tables[1, rank[dst]])  # the multiset of successor ranks
    return _dense_rank((batch.batch * size + rank) * _PRIME + h % _PRIME, batch)


def _individualise(rank: torch.Tensor, batch: GraphBatch, size: int):
    """In every graph with tied nodes, the first node (lowest index) of the lowest tied class keeps the rank and the
    rest of its class moves one up."""
    key = batch.batch * size + rank
    order = torch.argsort(key, stable=True)
    sorted_key = key[order]
    tied = torch.zeros_like(sorted_key, dtype=torch.bool)
    tied[:-1] = sorted_key[:-1] == sorted_key[1:]
    first_of_class = torch.ones_like(tied)
    first_of_class[1:] = sorted_key[1:] != sorted_key[:-1]
    candidates = torch.nonzero(tied & first_of_class).squeeze(1)  # sorted positions, graph by graph, rank by rank
    graph_of = batch.batch[order[candidates]]
    lowest = torch.full((batch.num_graphs,), -1, dtype=torch.long, device=rank.device)
    lowest.scatter_reduce_(0, graph_of, candidates, "amin", include_self=False)
    chosen = order[lowest[lowest >= 0]]
    chosen_rank = torch.full_like(lowest, -1)
    chosen_rank[batch.batch[chosen]] = rank[chosen]
    moved = rank == chosen_rank[batch.batch]
    moved[chosen] = False
    return _dense_rank(batch.batch * (2 * size) + rank * 2 + moved.long(), batch)


def canonical_order(batch: GraphBatch, size: int, tables: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every node's canonical position in its graph, and the global id of its colour-refinement class (see the
    module docstring). ``size`` bounds the nodes of a graph; ``tables`` (2, size) holds the hash residues."""
    n_ops = batch.num_ops
    rank, _, classes = _dense_rank((batch.batch * size + batch.generation - 1) * n_ops + batch.op_index, batch)
    refined = None
    while True:
        while True:  # every round that changes something splits a class, so this ends within size rounds
            rank, klass, count = _refine(rank, batch, tables, size)
            if count == classes:
                break
            classes = count
        if refined is None:
            refined = klass  # the colour-refinement classes, before any individualisation
        if classes == batch.num_nodes:
            return rank, refined
        rank, _, classes = _individualise(rank, batch, size)


@register_encoder("mlp")
class MLPEncoder(nn.Module):
    """MLP over the canonically ordered, padded adjacency and one-hot ops (see the module docstring);
    ``out_dim == node_dim == hidden``."""

    def __init__(self, num_ops: int, hidden: int = 128, layers: int = 3, max_nodes: int = 32, dropout: float = 0.1,
                 num_attrs: int = 0):
        super().__init__()
        check_sizes(num_ops=num_ops, hidden=hidden, layers=layers)
        check_probabilities(dropout=dropout)
        if max_nodes < 2:
            raise ValueError(f"max_nodes must be at least 2 (an input and an output), got {max_nodes}")
        if num_attrs < 0:
            raise ValueError(f"num_attrs must be >= 0, got {num_attrs}")
        self.num_ops = num_ops
        self.num_attrs = num_attrs
        self.max_nodes = max_nodes
        self.p_drop = float(dropout)
        self.out_dim = hidden
        self.node_dim = hidden
        features = num_ops + num_attrs  # a node's one-hot op and its attributes (node_features)
        flat = max_nodes * (max_nodes - 1) // 2 + max_nodes * features
        self.trunk = nn.ModuleList(nn.Linear(flat if i == 0 else hidden, hidden) for i in range(layers))
        self.row = nn.Linear(features + 3 * max_nodes, hidden)
        self.context = nn.Linear(hidden, hidden, bias=False)
        # fixed random residues of the neighbour hash: part of the order's definition, not learnt, not saved
        gen = torch.Generator().manual_seed(0)
        self.register_buffer("hash_tables", torch.randint(1, _PRIME, (2, max_nodes), generator=gen), persistent=False)

    def extra_repr(self) -> str:  # part of the pre-training cache key: non-parameter options must show here
        return f"max_nodes={self.max_nodes}, dropout={self.p_drop}"

    def _check(self, batch: GraphBatch) -> None:
        check_inputs(batch, self.num_ops, self.num_attrs)
        counts = batch.node_ptr[1:] - batch.node_ptr[:-1]
        too_big = torch.nonzero(counts > self.max_nodes).flatten()
        if too_big.numel():
            g = int(too_big[0])
            raise ValueError(
                f"graph {g} of the batch has {int(counts[g])} nodes, more than the mlp encoder's "
                f"max_nodes={self.max_nodes} ({too_big.numel()} such graphs); build it with a larger max_nodes"
            )

    def forward(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(batch)
        m, g = self.max_nodes, batch.num_graphs
        dtype = self.row.weight.dtype
        position, klass = canonical_order(batch, m, self.hash_tables)
        adjacency = dense_adjacency(batch, position, m).to(dtype)  # (G, m, m), strictly upper triangular
        upper = torch.triu_indices(m, m, 1, device=batch.device)
        features = node_features(batch, dtype)
        ops = torch.zeros(g * m, features.shape[1], dtype=dtype, device=batch.device)
        ops[batch.batch * m + position] = features
        h = torch.cat([adjacency[:, upper[0], upper[1]], ops.view(g, -1)], dim=1)
        for linear in self.trunk:
            h = fast_dropout(torch.relu(linear(h)), self.p_drop, self.training)
        rows = torch.cat(
            [
                features,
                adjacency[batch.batch, position],  # successors' positions
                adjacency[batch.batch, :, position],  # predecessors' positions
                nn.functional.one_hot(position, m).to(dtype),
            ],
            dim=1,
        )
        nodes = torch.relu(self.row(rows) + self.context(h).index_select(0, batch.batch))
        nodes = scatter(nodes, klass, dim=0, reduce="mean").index_select(0, klass)
        return nodes, mean_pool(nodes, batch)
