"""The NAS-Bench-101 network: stem, three stacks of three cells with max-pool downsampling, classifier.

Follows the benchmark's model: a 3x3 conv-BN-ReLU stem with 128 channels; stacks of 3 cells; between stacks a
2x2 max pool and the channel count doubles (128, 256, 512); global average pooling; a dense classifier.

Inside a cell the channels are split as NB101 does it. The output concatenates the interior vertices that feed
it, so their channels are the output channels divided among them (the remainder going one each to the first
ones, in vertex order); every other interior vertex takes the largest channel count among its interior
successors, computed backwards. A vertex sums its interior inputs, each truncated to its own channel count, and
a 1x1 conv-BN-ReLU projection of the cell input when the input feeds it; a cell-input-to-output edge adds a
projection of the input to the concatenation (or is the whole output when no interior vertex feeds it).

Vertex order matters (the remainder goes to the earliest vertices): cells are taken in their own node order,
which must be topological with the input first and the output last, as NB101 stores them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fgp.graph import INPUT, OUTPUT, ArchGraph

OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3


def cell_from_graph(graph: ArchGraph) -> tuple[np.ndarray, list[str]]:
    """The NB101 ``(adjacency, ops)`` of a cell graph, checking that its node order is NB101's."""
    if not isinstance(graph, ArchGraph):
        raise ValueError(f"expected an ArchGraph for an NB101 cell, got {type(graph).__name__}")
    ops = list(graph.ops)
    n = len(ops)
    if len(graph.inputs) != 1 or ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ValueError("an NB101 cell has one input as node 0 and the output as its last node")
    bad = sorted({op for op in ops[1:-1] if op not in OPS})
    if bad:
        raise ValueError(f"op(s) {bad} are not NB101 cell ops {OPS}")
    adj = graph.adjacency()
    if np.tril(adj).any():
        raise ValueError("NB101 cells must list their nodes in topological order (upper-triangular adjacency)")
    if n > 7 or int(adj.sum()) > 9:
        raise ValueError(f"an NB101 cell has at most 7 nodes and 9 edges, got {n} and {int(adj.sum())}")
    return adj, ops


def vertex_channels(c_in: int, c_out: int, adj: np.ndarray) -> list[int]:
    """Channels of every vertex of a cell (input ``c_in``, output ``c_out``), NB101's rule (module docstring)."""
    n = adj.shape[0]
    ch = [0] * n
    ch[0], ch[n - 1] = c_in, c_out
    if n == 2:
        return ch
    feeders = [v for v in range(1, n - 1) if adj[v, n - 1]]
    base, extra = divmod(c_out, len(feeders))
    for k, v in enumerate(feeders):
        ch[v] = base + (1 if k < extra else 0)
    for v in range(n - 3, 0, -1):
        if not adj[v, n - 1]:
            ch[v] = max(ch[w] for w in range(v + 1, n - 1) if adj[v, w])
    return ch


def _bn(channels: int, bn: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if bn else nn.Identity()


class ConvBNReLU(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, bn: bool = True):
        super().__init__(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), _bn(c_out, bn), nn.ReLU())


class Cell(nn.Module):
    def __init__(self, adj: np.ndarray, ops: Sequence[str], c_in: int, c_out: int, bn: bool = True):
        super().__init__()
        n = adj.shape[0]
        self.n = n
        self.adj = adj.astype(bool)
        self.ch = vertex_channels(c_in, c_out, adj)
        self.proj = nn.ModuleDict()
        self.ops = nn.ModuleDict()
        for t in range(1, n - 1):
            if adj[0, t]:
                self.proj[str(t)] = ConvBNReLU(c_in, self.ch[t], 1, bn)
            if ops[t] == "conv3x3-bn-relu":
                self.ops[str(t)] = ConvBNReLU(self.ch[t], self.ch[t], 3, bn)
            elif ops[t] == "conv1x1-bn-relu":
                self.ops[str(t)] = ConvBNReLU(self.ch[t], self.ch[t], 1, bn)
            else:
                self.ops[str(t)] = nn.MaxPool2d(3, stride=1, padding=1)
        if adj[0, n - 1]:
            self.proj[str(n - 1)] = ConvBNReLU(c_in, c_out, 1, bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, adj, ch = self.n, self.adj, self.ch
        values: list[torch.Tensor | None] = [x] + [None] * (n - 1)
        for t in range(1, n - 1):
            terms = [values[s][:, : ch[t]] for s in range(1, t) if adj[s, t]]
            if adj[0, t]:
                terms.append(self.proj[str(t)](x))
            values[t] = self.ops[str(t)](sum(terms[1:], terms[0]))
        feeds = [values[s] for s in range(1, n - 1) if adj[s, n - 1]]
        out = torch.cat(feeds, dim=1) if feeds else None
        if adj[0, n - 1]:
            p = self.proj[str(n - 1)](x)
            out = p if out is None else out + p
        return out


class NB101Network(nn.Module):
    """The NAS-Bench-101 network for one cell; ``bn=False`` drops every batch norm (for data-free proxies)."""

    def __init__(self, adj: np.ndarray, ops: Sequence[str], num_classes: int = 10, stem_channels: int = STEM_CHANNELS,
                 num_stacks: int = NUM_STACKS, cells_per_stack: int = CELLS_PER_STACK, bn: bool = True):
        super().__init__()
        c = stem_channels
        self.stem = ConvBNReLU(3, c, 3, bn)
        layers: list[nn.Module] = []
        c_in = c
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                c *= 2
            for _ in range(cells_per_stack):
                layers.append(Cell(adj, ops, c_in, c, bn))
                c_in = c
        self.cells = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cells(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))


def build(graph: ArchGraph, num_classes: int = 10, stem_channels: int = STEM_CHANNELS, bn: bool = True,
          **kwargs) -> NB101Network:
    adj, ops = cell_from_graph(graph)
    return NB101Network(adj, ops, num_classes, stem_channels, bn=bn, **kwargs)


# closed forms ---------------------------------------------------------------------------------------------------


def _cell_costs(adj: np.ndarray, ops: Sequence[str], c_in: int, c_out: int, hw: int) -> tuple[int, int]:
    """(parameters, multiply-accumulates at ``hw`` pixels) of one cell."""
    n = adj.shape[0]
    ch = vertex_channels(c_in, c_out, adj)
    params = macs = 0
    for t in range(1, n):
        if adj[0, t]:  # 1x1 projection of the cell input (into the output too)
            c = ch[t]
            params += c_in * c + 2 * c
            macs += hw * c_in * c
        if 0 < t < n - 1:
            k2 = {"conv3x3-bn-relu": 9, "conv1x1-bn-relu": 1}.get(ops[t], 0)
            params += k2 * ch[t] * ch[t] + (2 * ch[t] if k2 else 0)
            macs += hw * k2 * ch[t] * ch[t]
    return params, macs


def costs(graph: ArchGraph, num_classes: int = 10, stem_channels: int = STEM_CHANNELS,
          resolution: int = 32) -> tuple[int, int]:
    """(trainable parameters, conv + linear multiply-accumulates per image) of :class:`NB101Network`, analytically."""
    adj, ops = cell_from_graph(graph)
    c = stem_channels
    hw = resolution * resolution
    params = 27 * c + 2 * c
    macs = hw * 27 * c
    c_in = c
    for stack in range(NUM_STACKS):
        if stack > 0:
            c *= 2
            hw //= 4
        for _ in range(CELLS_PER_STACK):
            p, m = _cell_costs(adj, ops, c_in, c, hw)
            params += p
            macs += m
            c_in = c
    params += c * num_classes + num_classes
    macs += c * num_classes
    return params, macs
