"""From a traced program (a list of operations on named values) to an :class:`~fgp.graph.ArchGraph`.

Both importers walk their program in order and tell a :class:`DagBuilder` what each value is: a model input, an
operation of the vocabulary (a node), an identity-like operation (no node: its first operand passes through), or a
value that carries no model data (no node, no edges). The builder tracks which graph nodes feed every value, so
that a chain of collapsed operations wires its producers straight to its consumers, and an operation none of whose
operands depends on a model input is itself constant (a parameter, a buffer, ``zeros_like(x)`` or an embedding of
``arange(n)``) and becomes no node either.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from fgp.graph import INPUT, OUTPUT, ArchGraph, induced_subgraph, nodes_on_io_paths
from fgp.models.ops import (
    ATTRIBUTES,
    BIAS_HOSTS,
    COLLAPSE,
    NO_DATA,
    OTHER_PREFIX,
    VOCAB,
    Classified,
    Op,
    UnknownOpWarning,
)

_NO_SOURCES: frozenset[int] = frozenset()


class DagBuilder:
    """Collects the nodes and edges of one traced model; :meth:`build` turns them into an ArchGraph."""

    def __init__(self, what: str):
        self.what = what  # names the model in errors and warnings
        self.ops: list[str] = []
        self.rows: list[list[float]] = []
        self.edges: set[tuple[int, int]] = set()
        self._sources: dict[Hashable, frozenset[int]] = {}

    def _node(self, op: Op) -> int:
        self.ops.append(op.name)
        self.rows.append(op.row())
        return len(self.ops) - 1

    def sources(self, keys: Iterable[Hashable]) -> frozenset[int]:
        """The graph nodes whose data reaches the given values (unknown keys are constants: none)."""
        return _NO_SOURCES.union(*(self._sources.get(k, _NO_SOURCES) for k in keys))

    def add_input(self, key: Hashable) -> None:
        self._sources[key] = frozenset((self._node(Op(INPUT)),))

    def add(self, key: Hashable, what: Classified, operands: Sequence[Hashable]) -> None:
        """Record value ``key`` computed by ``what`` from ``operands`` (the keys of its tensor operands, in order;
        a collapsed operation passes its first operand on)."""
        if what is NO_DATA:
            self._sources[key] = _NO_SOURCES
        elif what is COLLAPSE:
            self._sources[key] = self.sources(operands[:1])
        else:
            assert isinstance(what, Op)
            self._sources[key] = self._op_sources(what, operands)

    def alias(self, key: Hashable, of: Hashable) -> None:
        """Value ``key`` is produced by the same node(s) as ``of`` (a group's outputs, a multi-output op's parts)."""
        self._sources[key] = self._sources.get(of, _NO_SOURCES)

    def _op_sources(self, op: Op, operands: Sequence[Hashable]) -> frozenset[int]:
        per_operand = [self.sources([k]) for k in operands]
        data = [s for s in per_operand if s]
        if not data:
            return _NO_SOURCES  # computed from constants only: a constant
        if op.name == "add" and len(data) == 1 and len(data[0]) == 1 and self.ops[next(iter(data[0]))] in BIAS_HOSTS:
            return data[0]  # the bias of the linear layer or convolution that produced the other operand
        v = self._node(op)
        self.edges.update((u, v) for u in _NO_SOURCES.union(*data))
        return frozenset((v,))

    def build(self, outputs: Iterable[Hashable]) -> ArchGraph:
        """The graph whose output node reads every value in ``outputs``; nodes on no input-to-output path (dead code,
        unused inputs) are dropped. Warns :class:`UnknownOpWarning` with a count per ``other:`` op. Outputs that
        depend on no input give ``input -> zero -> output`` (with a warning)."""
        inputs = [v for v, op in enumerate(self.ops) if op == INPUT]
        feeding = self.sources(outputs)
        if not feeding:
            warnings.warn(f"{self.what}: the outputs do not depend on any input; its graph is input -> zero -> output",
                          stacklevel=3)
            zero = self._node(Op("zero"))
            self.edges.update((v, zero) for v in inputs)
            feeding = frozenset((zero,))
        out = self._node(Op(OUTPUT))
        self.edges.update((u, out) for u in feeding)
        keep = nodes_on_io_paths(len(self.ops), sorted(self.edges), inputs, out)
        ops, edges = induced_subgraph(self.ops, sorted(self.edges), keep)
        unknown = Counter(op for op in ops if op.startswith(OTHER_PREFIX))
        if unknown:
            listed = ", ".join(f"{op[len(OTHER_PREFIX):]} x{n}" for op, n in sorted(unknown.items()))
            warnings.warn(f"{self.what}: {sum(unknown.values())} operation(s) outside fgp.models.VOCAB became "
                          f"'{OTHER_PREFIX}<name>' nodes: {listed}", UnknownOpWarning, stacklevel=3)
        attrs = np.array(self.rows, dtype=np.float64).reshape(-1, len(ATTRIBUTES))[keep]
        return ArchGraph(ops, edges, VOCAB + tuple(sorted(unknown)), attrs)


def unify_vocab(graphs: Sequence[ArchGraph]) -> list[ArchGraph]:
    """The graphs over one vocabulary (:data:`~fgp.models.VOCAB` plus every ``other:`` op any of them holds), so
    that :class:`~fgp.batch.GraphBatch` can batch traced models whose unknown ops differ."""
    for g in graphs:
        if not isinstance(g, ArchGraph):
            raise ValueError(f"unify_vocab needs ArchGraphs, got {type(g).__name__}")
        foreign = sorted(set(g.vocab) - set(VOCAB) - {op for op in g.vocab if op.startswith(OTHER_PREFIX)})
        if foreign:
            raise ValueError(f"unify_vocab joins traced-model graphs only; this graph's vocabulary has {foreign}")
    vocab = VOCAB + tuple(sorted({op for g in graphs for op in g.vocab if op.startswith(OTHER_PREFIX)}))
    return [g if g.vocab == vocab else ArchGraph(g.ops, g.edges, vocab, g.attrs) for g in graphs]
