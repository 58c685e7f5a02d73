"""The NAS-Bench-Graph GNN: four computing nodes, each one GNN layer reading one earlier node.

The benchmark's model, as its parameter counts pin it down: ``num_pre`` linear pre-processing layers, the cell,
``num_post`` linear post-processing layers (ELU between consecutive pre / post layers). In the cell, node ``i``
(1..4) applies its op to node ``link[i-1]`` (0 is the cell input). Ops: ``gat`` (GATConv, ``heads`` heads of
``hidden // heads`` channels, concatenated), ``gcn``, ``gin`` (GINConv over one Linear), ``cheb`` (K=2), ``sage``,
``arma``, ``graph`` (GraphConv), ``fc`` (Linear) and ``skip`` (identity). Every op owns a batch norm that is applied
(then ReLU and dropout) to its input unless that input is still the raw input (no pre-processing, reached through
skips only, in which case the op also reads ``in_dim`` features). The leaves (nodes no other node reads) are
concatenated, passed through ReLU and a linear layer to ``hidden`` (post layers follow) or to ``out_dim``.

:data:`DATASETS` holds the setup of each benchmark dataset (feature width, classes, hidden width, pre/post
layers). It was found by matching the closed-form count (:func:`param_count`) against the shipped ``para`` of
every architecture: all 26,206 rows match exactly for arxiv, citeseer, computers, cora, cs, photo and pubmed, and
all 2,021 for proteins; for physics 1,567 of 26,206 rows match no setup (see ``benchmarks/results/proxies.md``).
Parameter counts do not depend on the number of GAT heads, so the shipped numbers cannot confirm it; the
package documents GAT with 2 heads, which is the default here. ogbn-proteins was trained on a pre-normalised
adjacency (GCN without its own normalisation); here every dataset's GCN normalises, which changes no parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fgp.graph import INPUT, OUTPUT, ArchGraph

OPS = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
NUM_NODES = 4


@dataclass(frozen=True)
class GraphSetup:
    """One benchmark dataset's model setup (widths and the number of pre/post-processing layers)."""

    in_dim: int
    out_dim: int
    hidden: int
    num_pre: int
    num_post: int


DATASETS: dict[str, GraphSetup] = {
    "arxiv": GraphSetup(128, 40, 128, 0, 1),
    "citeseer": GraphSetup(3703, 6, 256, 0, 1),
    "computers": GraphSetup(767, 10, 64, 1, 1),
    "cora": GraphSetup(1433, 7, 256, 0, 1),
    "cs": GraphSetup(6805, 15, 128, 1, 0),
    "photo": GraphSetup(745, 8, 128, 0, 0),
    "physics": GraphSetup(8415, 5, 256, 1, 0),
    "proteins": GraphSetup(8, 112, 256, 1, 1),
    "pubmed": GraphSetup(500, 3, 128, 0, 0),
}
DEFAULT_DATASET = "cora"


def setup_for(dataset: str | None) -> GraphSetup:
    name = DEFAULT_DATASET if dataset is None else dataset
    if name not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-Graph dataset {dataset!r}; choose one of {sorted(DATASETS)}")
    return DATASETS[name]


def cell_from_graph(graph: ArchGraph) -> tuple[list[int], list[str]]:
    """The benchmark's ``(link, ops)`` of a GNN graph: computing nodes in node order, ``link`` 0 = the input."""
    if not isinstance(graph, ArchGraph):
        raise ValueError(f"expected an ArchGraph for a NAS-Bench-Graph architecture, got {type(graph).__name__}")
    if len(graph.inputs) != 1:
        raise ValueError(f"a NAS-Bench-Graph architecture has one input node, this graph has {len(graph.inputs)}")
    if all(src < dst for src, dst in graph.edges):  # keep a topological numbering (the space's decode gives one)
        nodes = list(range(graph.num_nodes))
    else:
        nodes = np.argsort(graph.generations, kind="stable").tolist()
    order = [v for v in nodes if graph.ops[v] not in (INPUT, OUTPUT)]
    bad = sorted({graph.ops[v] for v in order if graph.ops[v] not in OPS})
    if bad:
        raise ValueError(f"op(s) {bad} are not NAS-Bench-Graph ops {OPS}")
    if len(order) != NUM_NODES:
        raise ValueError(f"a NAS-Bench-Graph architecture has {NUM_NODES} computing nodes, got {len(order)}")
    position = {v: i + 1 for i, v in enumerate(order)}
    position[graph.inputs[0]] = 0
    link = []
    for v in order:
        preds = graph.predecessors(v)
        if len(preds) != 1:
            raise ValueError(f"every computing node reads exactly one node; node {v} reads {len(preds)}")
        link.append(position[preds[0]])
    return link, [graph.ops[v] for v in order]


def check_cell(link: Sequence[int], ops: Sequence[str]) -> tuple[list[int], list[str]]:
    link, ops = [int(x) for x in link], list(ops)
    if len(link) != NUM_NODES or len(ops) != NUM_NODES:
        raise ValueError(f"link and ops must have {NUM_NODES} entries, got {len(link)} and {len(ops)}")
    for i, src in enumerate(link):
        if not 0 <= src <= i:
            raise ValueError(f"link[{i}] = {src}: node {i + 1} can only read the input (0) or nodes 1..{i}")
    bad = sorted({op for op in ops if op not in OPS})
    if bad:
        raise ValueError(f"op(s) {bad} are not NAS-Bench-Graph ops {OPS}")
    return link, ops


def _widths(link: Sequence[int], ops: Sequence[str], s: GraphSetup) -> tuple[list[int], list[bool]]:
    """Feature width of every node and whether it still is the raw input (reached through skips only)."""
    raw = [s.num_pre == 0]
    dims = [s.in_dim if s.num_pre == 0 else s.hidden]
    for src, op in zip(link, ops):
        raw.append(raw[src] and op == "skip")
        dims.append(dims[src] if op == "skip" else s.hidden)
    return dims, raw


def _leaves(link: Sequence[int]) -> list[int]:
    read = set(link)
    return [v for v in range(NUM_NODES + 1) if v not in read]


class _Linear(nn.Module):
    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class _Skip(nn.Module):
    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return x


def make_op(op: str, d_in: int, d_out: int, heads: int = 2) -> nn.Module:
    from torch_geometric import nn as gnn

    if op == "gat":
        if d_out % heads:
            raise ValueError(f"GAT: hidden width {d_out} is not divisible by {heads} heads")
        return gnn.GATConv(d_in, d_out // heads, heads=heads, concat=True)
    if op == "gcn":
        return gnn.GCNConv(d_in, d_out)
    if op == "gin":
        return gnn.GINConv(nn.Linear(d_in, d_out))
    if op == "cheb":
        return gnn.ChebConv(d_in, d_out, K=2)
    if op == "sage":
        return gnn.SAGEConv(d_in, d_out)
    if op == "arma":
        return gnn.ARMAConv(d_in, d_out)
    if op == "graph":
        return gnn.GraphConv(d_in, d_out)
    if op == "fc":
        return _Linear(d_in, d_out)
    if op == "skip":
        return _Skip()
    raise ValueError(f"unknown NAS-Bench-Graph op {op!r}; expected one of {OPS}")


class NBGraphNetwork(nn.Module):
    """The NAS-Bench-Graph model for one architecture; call it as ``net(x, edge_index)``."""

    def __init__(self, link: Sequence[int], ops: Sequence[str], setup: GraphSetup, heads: int = 2,
                 dropout: float = 0.0, bn: bool = True):
        super().__init__()
        link, ops = check_cell(link, ops)
        s = setup
        self.link, self.dropout = link, dropout
        self.pre = nn.ModuleList(nn.Linear(s.in_dim if i == 0 else s.hidden, s.hidden) for i in range(s.num_pre))
        dims, self._raw = _widths(link, ops, s)
        self.ops = nn.ModuleList(
            make_op(op, dims[src], s.hidden, heads) for src, op in zip(link, ops)
        )
        self.norms = nn.ModuleList((nn.BatchNorm1d(s.hidden) if bn else nn.Identity()) for _ in ops)
        self.act = nn.ReLU()
        self.leaves = _leaves(link)
        concat = sum(dims[v] for v in self.leaves)
        self.head = nn.Linear(concat, s.hidden if s.num_post else s.out_dim)
        self.post = nn.ModuleList(
            nn.Linear(s.hidden, s.out_dim if i == s.num_post - 1 else s.hidden) for i in range(s.num_post)
        )
        self.elu = nn.ELU()

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.dropout(x, self.dropout, self.training) if self.dropout else x

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = self._drop(x)
        for i, layer in enumerate(self.pre):
            x = layer(x)
            if i < len(self.pre) - 1:
                x = self.elu(x)
        states = [x]
        for src, op, norm in zip(self.link, self.ops, self.norms):
            h = states[src]
            if not self._raw[src]:
                h = self._drop(self.act(norm(h)))
            states.append(op(h, edge_index))
        x = self.head(self.act(torch.cat([states[v] for v in self.leaves], dim=1)))
        for i, layer in enumerate(self.post):
            x = layer(x)
            if i < len(self.post) - 1:
                x = self.elu(x)
        return x


def build(graph: ArchGraph, num_classes: int | None = None, dataset: str | None = None, bn: bool = True,
          heads: int = 2, dropout: float = 0.0, in_dim: int | None = None, hidden: int | None = None) -> NBGraphNetwork:
    """The model of ``graph`` with the setup of ``dataset`` (default cora); widths may be overridden."""
    link, ops = cell_from_graph(graph)
    return NBGraphNetwork(link, ops, _override(setup_for(dataset), num_classes, in_dim, hidden), heads, dropout, bn)


def _override(s: GraphSetup, num_classes: int | None, in_dim: int | None, hidden: int | None) -> GraphSetup:
    return GraphSetup(
        in_dim=s.in_dim if in_dim is None else int(in_dim),
        out_dim=s.out_dim if num_classes is None else int(num_classes),
        hidden=s.hidden if hidden is None else int(hidden),
        num_pre=s.num_pre,
        num_post=s.num_post,
    )


def example_input(num_nodes: int, generator: torch.Generator, ones: bool = False, dtype: torch.dtype = torch.float32,
                  in_dim: int = DATASETS[DEFAULT_DATASET].in_dim, degree: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """A random undirected graph with ``num_nodes`` nodes (about ``degree`` neighbours each) and node features."""
    src = torch.arange(num_nodes).repeat_interleave(degree)
    offset = torch.randint(1, max(num_nodes, 2), (num_nodes * degree,), generator=generator)
    dst = (src + offset) % num_nodes
    edge_index = torch.unique(torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1), dim=1)
    if ones:
        x = torch.ones(num_nodes, in_dim, dtype=dtype)
    else:
        x = torch.randn(num_nodes, in_dim, generator=generator, dtype=dtype)
    return x, edge_index


# closed forms ---------------------------------------------------------------------------------------------------

# per op: (weight matrices of d_in x d_out applied to every node, extra d_out x d_out matrices, bias vectors)
_OP_SHAPE = {
    "gat": (1, 0, 3),  # lin; att_src, att_dst and bias are d_out each
    "gcn": (1, 0, 1),
    "gin": (1, 0, 1),
    "cheb": (2, 0, 1),
    "sage": (2, 0, 1),
    "arma": (2, 1, 1),  # init_weight, root_weight; ARMAConv also holds an (unused with one layer) d_out x d_out
    "graph": (2, 0, 1),
    "fc": (1, 0, 1),
    "skip": (0, 0, 0),
}


def param_count(link: Sequence[int], ops: Sequence[str], setup: GraphSetup) -> int:
    """Trainable parameters of :class:`NBGraphNetwork` (with batch norm), in closed form."""
    s = setup
    dims, _ = _widths(link, ops, s)
    p = 0
    for i in range(s.num_pre):
        p += (s.in_dim if i == 0 else s.hidden) * s.hidden + s.hidden
    for src, op in zip(link, ops):
        mats, square, vecs = _OP_SHAPE[op]
        p += mats * dims[src] * s.hidden + square * s.hidden * s.hidden + vecs * s.hidden + 2 * s.hidden
    head_out = s.hidden if s.num_post else s.out_dim
    p += sum(dims[v] for v in _leaves(link)) * head_out + head_out
    for i in range(s.num_post):
        d_out = s.out_dim if i == s.num_post - 1 else s.hidden
        p += s.hidden * d_out + d_out
    return p


def flop_count(link: Sequence[int], ops: Sequence[str], setup: GraphSetup) -> int:
    """Dense multiply-accumulates per node (every weight matrix applied to a node's features).

    Message passing (neighbour aggregation, attention scores) scales with the edges of the graph the model runs
    on and is not counted: the architecture alone does not fix it.
    """
    s = setup
    dims, _ = _widths(link, ops, s)
    m = 0
    for i in range(s.num_pre):
        m += (s.in_dim if i == 0 else s.hidden) * s.hidden
    for src, op in zip(link, ops):
        m += _OP_SHAPE[op][0] * dims[src] * s.hidden
    head_out = s.hidden if s.num_post else s.out_dim
    m += sum(dims[v] for v in _leaves(link)) * head_out
    for i in range(s.num_post):
        m += s.hidden * (s.out_dim if i == s.num_post - 1 else s.hidden)
    return m
