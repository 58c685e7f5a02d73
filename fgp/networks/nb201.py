"""The NAS-Bench-201 network: the benchmark's macro skeleton around a cell given as an op-node graph.

Skeleton (as trained for the benchmark): a 3x3 stem convolution to ``C`` channels with batch norm, three stages
of ``N`` cells with ``C``, ``2C`` and ``4C`` channels, a residual reduction block (stride 2) between stages, a
final BN-ReLU, global average pooling and a linear classifier. Defaults ``C=16, N=5`` are the benchmark's.

The cell is executed straight from the op-node graph (every NB201 edge-op is a node): a node's input is the sum
of its predecessors' outputs, so op nodes on the edges into a cell node ``j`` feed every op node on the edges out
of ``j``, exactly as the edge-based cell sums into ``j`` and reads from it. ``none`` contributes nothing (the
benchmark's ``Zero`` op multiplies by zero), so such cells compute the same function with less work.

The parameter count depends only on how many 1x1 and 3x3 convolutions the cell holds; :func:`param_counts` and
:func:`flop_counts` give both in closed form for many cells at once (the benchmark ships ``params_mb`` =
count / 1e6, which they reproduce for all 15,625 cells).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fgp.graph import INPUT, OUTPUT, ArchGraph

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
CELL_OPS = frozenset(OPS)
NUM_CELL_OPS = 6  # edges per NB201 cell


def _bn(channels: int, bn: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if bn else nn.Identity()


class ReLUConvBN(nn.Sequential):
    """NB201's ``nor_conv_kxk``: ReLU, convolution without bias, batch norm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, bn: bool = True):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            _bn(c_out, bn),
        )


class ResNetBasicBlock(nn.Module):
    """The reduction block between stages: two ReLU-conv-BN (first with stride 2) plus an avgpool + 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, bn: bool = True):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2, bn=bn)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, stride=1, bn=bn)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def _make_op(op: str, channels: int, bn: bool) -> nn.Module | None:
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, bn=bn)
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, bn=bn)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if op == "skip_connect":
        return nn.Identity()
    if op == "none":
        return None
    raise ValueError(f"unknown NB201 op {op!r}; expected one of {OPS}")


class Cell(nn.Module):
    """One NB201 cell executed on its op-node graph (see the module docstring)."""

    def __init__(self, graph: ArchGraph, channels: int, bn: bool = True):
        super().__init__()
        order = np.argsort(graph.generations, kind="stable")
        self._order = [int(v) for v in order]
        self._preds = [graph.predecessors(v) for v in range(graph.num_nodes)]
        self._ops = list(graph.ops)
        self.nodes = nn.ModuleDict()
        for v in self._order:
            op = graph.ops[v]
            if op in (INPUT, OUTPUT):
                continue
            module = _make_op(op, channels, bn)
            if module is not None:
                self.nodes[str(v)] = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[int, torch.Tensor | None] = {}
        for v in self._order:
            op = self._ops[v]
            if op == INPUT:
                values[v] = x
                continue
            terms = [values[u] for u in self._preds[v] if values[u] is not None]
            inp = sum(terms[1:], terms[0]) if terms else None
            if op == OUTPUT:
                return inp if inp is not None else torch.zeros_like(x)
            if op == "none":
                values[v] = None  # contributes zero to every sum
                continue
            values[v] = self.nodes[str(v)](inp if inp is not None else torch.zeros_like(x))
        raise AssertionError("the cell graph has no output node")


class NB201Network(nn.Module):
    """The NAS-Bench-201 network for one cell; ``bn=False`` drops every batch norm (for data-free proxies)."""

    def __init__(self, graph: ArchGraph, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5,
                 bn: bool = True):
        super().__init__()
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), _bn(c, bn))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, 2 * c, bn=bn))
                c *= 2
            layers.extend(Cell(graph, c, bn=bn) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(_bn(c, bn), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.pool(x), 1))


def check_graph(graph: ArchGraph) -> ArchGraph:
    """Reject graphs that cannot be an NB201 cell (unknown op, more than one input)."""
    if not isinstance(graph, ArchGraph):
        raise ValueError(f"expected an ArchGraph for an NB201 cell, got {type(graph).__name__}")
    bad = sorted({op for op in graph.ops if op not in CELL_OPS and op not in (INPUT, OUTPUT)})
    if bad:
        raise ValueError(f"op(s) {bad} are not NB201 cell ops {OPS}")
    if len(graph.inputs) != 1:
        raise ValueError(f"an NB201 cell has one input node, this graph has {len(graph.inputs)}")
    return graph


def build(graph: ArchGraph, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5,
          bn: bool = True) -> NB201Network:
    return NB201Network(check_graph(graph), num_classes, channels, cells_per_stage, bn)


# closed forms ---------------------------------------------------------------------------------------------------


def conv_counts(graphs: Sequence[ArchGraph]) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of ``nor_conv_1x1`` and ``nor_conv_3x3`` nodes per cell (all that the parameter count depends on)."""
    n1 = np.fromiter((g.ops.count("nor_conv_1x1") for g in graphs), dtype=np.int64, count=len(graphs))
    n3 = np.fromiter((g.ops.count("nor_conv_3x3") for g in graphs), dtype=np.int64, count=len(graphs))
    return n1, n3


def param_counts(n_conv1x1: np.ndarray, n_conv3x3: np.ndarray, num_classes: int = 10, channels: int = 16,
                 cells_per_stage: int = 5) -> np.ndarray:
    """Trainable parameters of :class:`NB201Network` (with batch norm) from each cell's convolution counts."""
    n1 = np.asarray(n_conv1x1, dtype=np.int64)
    n3 = np.asarray(n_conv3x3, dtype=np.int64)
    c = channels
    widths = (c, 2 * c, 4 * c)
    fixed = 3 * c * 9 + 2 * c  # stem conv + BN
    for c_in, c_out in zip(widths[:-1], widths[1:]):  # reduction blocks
        fixed += c_in * c_out * 9 + 2 * c_out + c_out * c_out * 9 + 2 * c_out + c_in * c_out
    fixed += 2 * widths[-1] + widths[-1] * num_classes + num_classes  # last BN + classifier
    per1 = sum(cells_per_stage * (w * w + 2 * w) for w in widths)
    per3 = sum(cells_per_stage * (9 * w * w + 2 * w) for w in widths)
    return fixed + n1 * per1 + n3 * per3


def flop_counts(n_conv1x1: np.ndarray, n_conv3x3: np.ndarray, num_classes: int = 10, channels: int = 16,
                cells_per_stage: int = 5, resolution: int = 32) -> np.ndarray:
    """Multiply-accumulates of every convolution and linear layer for one ``resolution``-square image.

    This is the usual "FLOPs" of NAS papers (pooling, batch norm and additions are not counted); it depends
    only on the convolution counts, like the parameter count.
    """
    n1 = np.asarray(n_conv1x1, dtype=np.int64)
    n3 = np.asarray(n_conv3x3, dtype=np.int64)
    c = channels
    widths = (c, 2 * c, 4 * c)
    sizes = (resolution, resolution // 2, resolution // 4)
    fixed = sizes[0] ** 2 * 3 * c * 9
    for i in range(2):
        c_in, c_out, hw = widths[i], widths[i + 1], sizes[i + 1] ** 2
        fixed += hw * (c_in * c_out * 9 + c_out * c_out * 9 + c_in * c_out)
    fixed += widths[-1] * num_classes
    per1 = sum(cells_per_stage * hw * hw * w * w for w, hw in zip(widths, sizes))
    per3 = sum(cells_per_stage * hw * hw * 9 * w * w for w, hw in zip(widths, sizes))
    return fixed + n1 * per1 + n3 * per3
