"""NAS-Bench-301: the DARTS cell space (normal and reduction cell), as one operation-on-node graph.

**Genotype.** Each cell is 8 ``(op, input)`` pairs. Intermediate node ``i`` (0..3) sums the two pairs ``2i`` and
``2i + 1``; an input index is 0 for ``c_{k-2}``, 1 for ``c_{k-1}`` and ``2 + j`` for intermediate node ``j``, so
node ``i`` may read 0..i+1. Ops come from the DARTS ``PRIMITIVES`` less ``none`` (:data:`OPS`); ``none`` is only
used during the supernet search and never appears in a derived genotype. The two pairs of a node must read
different inputs: DARTS derives a genotype by keeping the two strongest edges from *distinct* predecessors, and the
NB301 configuration space encodes each node's inputs as a pair of distinct predecessors (``0_1``, ``0_2``, ...).
Every intermediate node goes into the cell output (concat ``[2, 3, 4, 5]``); other concats are rejected.

**Graph** (:meth:`NB301Space.decode`). As for NB201, every op edge becomes an op node: the node of pair ``(op, k)``
reads input node ``k`` when ``k < 2``, else the two op nodes of intermediate node ``k - 2``. The cell output
concatenates all intermediate nodes, so every op node feeds the output.

**Joining the two cells.** In a DARTS network both cell types read the outputs of the two previous cells and
nothing in the genotype wires one cell into the other, so the graph has

- two input nodes, shared by both cells: node 0 = ``c_{k-2}``, node 1 = ``c_{k-1}``;
- nodes 2..9 the normal cell's pairs 0..7, with the plain op names;
- nodes 10..17 the reduction cell's pairs 0..7, with op names ending in ``@reduce``;
- node 18 the output, fed by all 16 op nodes.

That is 19 nodes and a vocabulary of 2 + 7 + 7 = 16 types (:attr:`NB301Space.vocab`). Separate types for the
reduction cell keep the two cells apart (swapping the cells changes the graph; a shared vocabulary would make
``(A, B)`` and ``(B, A)`` isomorphic although they are different networks). Shared inputs and one output keep the
graph connected with every node on an input-output path, and match the flow surrogate's "both inputs start at r".

**Not invertible in general.** The op-node graph keeps the wiring but not which two op nodes form an intermediate
node that nothing reads (they only meet at the output), nor the order of a node's two pairs. :meth:`NB301Space.encode`
therefore accepts only graphs in :meth:`~NB301Space.decode`'s node order and raises ``ValueError`` otherwise.

No NAS-Bench-301 labels are available here; this module gives sampling, mutation, decoding and validation.
"""

from __future__ import annotations

import ast
import itertools
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from fgp.graph import INPUT, OUTPUT, ArchGraph
from fgp.spaces.base import SearchSpace, register_space

PRIMITIVES: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
OPS: tuple[str, ...] = PRIMITIVES[1:]
REDUCE_SUFFIX = "@reduce"
CELLS: tuple[str, str] = ("normal", "reduce")
NUM_INTERMEDIATE = 4
PAIRS_PER_CELL = 2 * NUM_INTERMEDIATE
CONCAT: tuple[int, ...] = tuple(range(2, 2 + NUM_INTERMEDIATE))
NUM_NODES = 2 + 2 * PAIRS_PER_CELL + 1
OUTPUT_NODE = NUM_NODES - 1

Cell = tuple[tuple[str, int], ...]
Genotype = tuple[Cell, Cell]

# DARTS (second order), Liu et al. 2019, as published in the DARTS repository's genotypes.py.
DARTS_V2: Genotype = (
    (("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
     ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)),
    (("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
     ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)),
)  # fmt: skip


# validation --------------------------------------------------------------------------------------------------


MAX_ITEMS = 2 * PAIRS_PER_CELL  # longest cell or concat read: twice the longest valid one, so near misses are counted


def _at_most(values: Iterable, cap: int = MAX_ITEMS) -> list | None:
    """The items of ``values``, or None when there are more than ``cap``: ``range(999999999999)`` is refused
    after ``cap + 1`` items instead of filling the memory."""
    items = list(itertools.islice(values, cap + 1))
    return items if len(items) <= cap else None


def _is_pair(x: Any) -> bool:
    return isinstance(x, (tuple, list)) and len(x) == 2 and isinstance(x[0], str)


def _check_cell(cell: Any, name: str) -> Cell:
    """A cell as 8 ``(op, input)`` pairs, or a ValueError naming the cell, node and problem."""
    if isinstance(cell, (str, bytes)) or not isinstance(cell, Sequence):
        raise ValueError(f"{name} cell must be a list of {PAIRS_PER_CELL} (op, input) pairs, got {cell!r}")
    items = _at_most(cell)
    if items is None:
        raise ValueError(
            f"{name} cell must have {PAIRS_PER_CELL} (op, input) pairs (2 per intermediate node), got more than "
            f"{MAX_ITEMS}"
        )
    cell = items
    if len(cell) == NUM_INTERMEDIATE and all(
        isinstance(g, (tuple, list)) and len(g) == 2 and all(_is_pair(p) for p in g) for g in cell
    ):
        cell = [p for group in cell for p in group]  # grouped per node: [[pair, pair], ...]
    if len(cell) != PAIRS_PER_CELL:
        raise ValueError(
            f"{name} cell must have {PAIRS_PER_CELL} (op, input) pairs (2 per intermediate node), got {len(cell)}"
        )
    out = []
    for p, pair in enumerate(cell):
        node = p // 2
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{name} cell, pair {p}: expected (op, input), got {pair!r}")
        op, inp = pair
        if op == "none":
            raise ValueError(
                f"{name} cell, pair {p}: op 'none' is a DARTS search-time primitive and never part of a valid "
                f"genotype; use one of {list(OPS)}"
            )
        if op not in OPS:
            raise ValueError(f"{name} cell, pair {p}: unknown op {op!r}; choose from {list(OPS)}")
        if isinstance(inp, bool):
            raise ValueError(f"{name} cell, pair {p}: input index must be an int, got {inp!r}")
        try:
            inp = operator.index(inp)
        except TypeError:
            raise ValueError(f"{name} cell, pair {p}: input index must be an int, got {inp!r}") from None
        if not 0 <= inp <= node + 1:
            raise ValueError(
                f"{name} cell, pair {p}: intermediate node {node} can read inputs 0..{node + 1} "
                f"(0 = c_{{k-2}}, 1 = c_{{k-1}}, 2+j = node j), got input {inp}"
            )
        out.append((str(op), int(inp)))
    for node in range(NUM_INTERMEDIATE):
        a, b = out[2 * node][1], out[2 * node + 1][1]
        if a == b:
            raise ValueError(
                f"{name} cell, intermediate node {node} (pairs {2 * node}, {2 * node + 1}): both read input {a}; "
                "DARTS/NB301 genotypes take two distinct inputs per node"
            )
    return tuple(out)


def _check_concat(concat: Any, name: str) -> None:
    if concat is None:
        return
    try:
        items = _at_most(concat)
        values = None if items is None else [operator.index(c) for c in items]
    except TypeError:
        raise ValueError(f"{name}_concat must be a list of ints, got {concat!r}") from None
    if values is None:
        raise ValueError(
            f"{name}_concat must be {list(CONCAT)} (NB301 concatenates every intermediate node), got more than "
            f"{MAX_ITEMS} values"
        )
    if values != list(CONCAT):
        raise ValueError(
            f"{name}_concat must be {list(CONCAT)} (NB301 concatenates every intermediate node), got {values}"
        )


def as_genotype(native: Any) -> Genotype:
    """Normalise a genotype to ``(normal, reduce)`` tuples of 8 ``(op, input)`` pairs, validating it.

    Accepts that tuple (lists too), a dict or DARTS ``Genotype`` namedtuple with ``normal`` and ``reduce`` (and
    optional ``normal_concat`` / ``reduce_concat``), or the genotype string (:func:`parse_genotype`).
    """
    if isinstance(native, str):
        return parse_genotype(native)
    if isinstance(native, Mapping):
        missing = [c for c in CELLS if c not in native]
        if missing:
            raise ValueError(f"genotype dict lacks {missing}; it needs 'normal' and 'reduce'")
        extra = sorted(set(native) - {"normal", "reduce", "normal_concat", "reduce_concat"})
        if extra:
            raise ValueError(f"genotype dict has unknown keys {extra}")
        cells = (native["normal"], native["reduce"])
        concats = (native.get("normal_concat"), native.get("reduce_concat"))
    elif hasattr(native, "normal") and hasattr(native, "reduce"):
        cells = (native.normal, native.reduce)
        concats = (getattr(native, "normal_concat", None), getattr(native, "reduce_concat", None))
    elif isinstance(native, Sequence) and not isinstance(native, bytes) and len(native) == 2:
        cells, concats = (native[0], native[1]), (None, None)
    else:
        raise ValueError(
            "an NB301 genotype is (normal, reduce), a dict / Genotype with 'normal' and 'reduce', or a genotype "
            f"string; got {native!r}"
        )
    for name, concat in zip(CELLS, concats):
        _check_concat(concat, name)
    return _check_cell(cells[0], "normal"), _check_cell(cells[1], "reduce")


# the string form ---------------------------------------------------------------------------------------------


def _literal(node: ast.AST, text: str) -> Any:
    """Lists/tuples of str and int constants, and ``range(a[, b])`` (kept lazy: the checks read at most
    :data:`MAX_ITEMS` of it); anything else is refused (no eval)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, text) for e in node.elts]
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return node.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and not node.keywords
        and 1 <= len(node.args) <= 2
    ):
        args = [_literal(a, text) for a in node.args]
        if all(isinstance(a, int) for a in args):
            return range(*args)
    snippet = ast.get_source_segment(text, node) or type(node).__name__
    raise ValueError(f"unsupported expression in genotype string: {snippet!r}")


def parse_genotype(text: str) -> Genotype:
    """Parse ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...],
    reduce_concat=[2, 3, 4, 5])`` (keyword or positional fields; ``range(2, 6)`` allowed) without evaluating it."""
    if not isinstance(text, str):
        raise ValueError(f"a genotype string is a str, got {type(text).__name__}")
    text = text.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"genotype string does not parse: {exc.msg}") from None
    call = tree.body
    fname = None
    if isinstance(call, ast.Call):
        fname = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
    if fname != "Genotype":
        raise ValueError(
            "a genotype string must look like Genotype(normal=[...], normal_concat=[...], reduce=[...], ...)"
        )
    fields = ("normal", "normal_concat", "reduce", "reduce_concat")
    if len(call.args) > len(fields):
        raise ValueError(f"Genotype takes at most {len(fields)} fields, got {len(call.args)} positional")
    values: dict[str, Any] = {f: _literal(a, text) for f, a in zip(fields, call.args)}
    for kw in call.keywords:
        if kw.arg not in fields:
            raise ValueError(f"unknown Genotype field {kw.arg!r}; fields are {list(fields)}")
        if kw.arg in values:
            raise ValueError(f"Genotype field {kw.arg!r} is given twice")
        values[kw.arg] = _literal(kw.value, text)
    return as_genotype(values)


def genotype_string(native: Any) -> str:
    """The DARTS string form of a genotype (what DARTS prints), readable back by :func:`parse_genotype`."""
    normal, reduce = as_genotype(native)
    concat = list(CONCAT)
    return (
        f"Genotype(normal={list(normal)!r}, normal_concat={concat!r}, "
        f"reduce={list(reduce)!r}, reduce_concat={concat!r})"
    )


# the search space --------------------------------------------------------------------------------------------


@register_space("nb301")
class NB301Space(SearchSpace):
    """NAS-Bench-301 / DARTS; native encoding ``(normal, reduce)``, each 8 ``(op, input)`` pairs (see module doc)."""

    vocab = (INPUT, OUTPUT, *OPS, *(op + REDUCE_SUFFIX for op in OPS))
    surrogate = (12, 0.1)  # METHOD.md section 2

    def decode(self, native: Any) -> ArchGraph:
        cells = as_genotype(native)
        ops = [INPUT, INPUT]
        edges: list[tuple[int, int]] = []
        for c, cell in enumerate(cells):
            base = 2 + c * PAIRS_PER_CELL
            suffix = "" if c == 0 else REDUCE_SUFFIX
            for p, (op, inp) in enumerate(cell):
                v = base + p
                ops.append(op + suffix)
                if inp < 2:
                    edges.append((inp, v))
                else:
                    j = inp - 2
                    edges += [(base + 2 * j, v), (base + 2 * j + 1, v)]
                edges.append((v, OUTPUT_NODE))
        ops.append(OUTPUT)
        return ArchGraph(ops, edges, self.vocab)

    def encode(self, graph: ArchGraph) -> Genotype:
        """The genotype of a graph in :meth:`decode`'s node order (``encode(decode(g)) == as_genotype(g)``).

        A renumbered graph raises ``ValueError``: the op-node graph does not record which op nodes pair up into an
        intermediate node that no other node reads, so it cannot be turned back into a genotype in general.
        """
        layout_hint = (
            "NB301Space.encode needs the node order of NB301Space.decode (0, 1 inputs; 2-9 normal pairs; 10-17 "
            "reduction pairs; 18 output): the op-node graph loses which op nodes form an unused intermediate node, "
            "so a renumbered graph cannot be turned back into a genotype"
        )
        if graph.num_nodes != NUM_NODES or graph.ops[:2] != (INPUT, INPUT) or graph.ops[OUTPUT_NODE] != OUTPUT:
            raise ValueError(
                f"graph is not in decode's layout ({graph.num_nodes} nodes, ops {list(graph.ops)}); {layout_hint}"
            )
        preds: list[list[int]] = [[] for _ in range(NUM_NODES)]
        for s, d in graph.edges:
            preds[d].append(s)
        cells = []
        for c in range(2):
            base = 2 + c * PAIRS_PER_CELL
            suffix = "" if c == 0 else REDUCE_SUFFIX
            cell = []
            for p in range(PAIRS_PER_CELL):
                v = base + p
                name = graph.ops[v]
                if not name.endswith(suffix) or (c == 0 and name.endswith(REDUCE_SUFFIX)):
                    raise ValueError(f"node {v} has op {name!r}, not a {CELLS[c]}-cell op; {layout_hint}")
                src = sorted(preds[v])
                if len(src) == 1 and src[0] < 2:
                    inp = src[0]
                elif len(src) == 2 and src[0] >= base and src[0] % 2 == 0 and src[1] == src[0] + 1:
                    inp = 2 + (src[0] - base) // 2
                else:
                    raise ValueError(f"node {v} reads nodes {src}, which is no DARTS input; {layout_hint}")
                cell.append((name[: len(name) - len(suffix)] if suffix else name, inp))
            cells.append(cell)
        genotype = as_genotype(cells)
        if self.decode(genotype) != graph:
            raise ValueError(
                f"graph has edges that no genotype produces (e.g. missing op -> output edges); {layout_hint}"
            )
        return genotype

    def sample(self, rng: np.random.Generator) -> Genotype:
        """DARTS-style random genotype: each intermediate node reads 2 distinct earlier nodes (uniform over the
        ordered pairs) through 2 ops drawn uniformly from the 7 :data:`OPS`."""
        cells = []
        for _ in CELLS:
            cell = []
            for node in range(NUM_INTERMEDIATE):
                inputs = rng.choice(node + 2, size=2, replace=False)
                ops = rng.integers(len(OPS), size=2)
                cell += [(OPS[int(o)], int(i)) for o, i in zip(ops, inputs)]
            cells.append(tuple(cell))
        return cells[0], cells[1]

    def mutate(self, native: Any, rng: np.random.Generator) -> Genotype:
        """One change in a uniformly chosen cell: with probability 1/2 one pair's op (to one of the 6 others),
        else one pair's input (to a legal index that neither it nor its sibling pair already reads)."""
        cells = [list(c) for c in as_genotype(native)]
        cell = cells[int(rng.integers(2))]
        if rng.random() < 0.5:
            p = int(rng.integers(PAIRS_PER_CELL))
            op, inp = cell[p]
            others = [o for o in OPS if o != op]
            cell[p] = (others[int(rng.integers(len(others)))], inp)
        else:
            # node 0 can read only {0, 1}, both already taken by its two pairs: only nodes 1..3 have free inputs
            p = int(rng.integers(2, PAIRS_PER_CELL))
            op, inp = cell[p]
            sibling = cell[p ^ 1][1]
            free = [k for k in range(p // 2 + 2) if k not in (inp, sibling)]
            cell[p] = (op, free[int(rng.integers(len(free)))])
        return tuple(cells[0]), tuple(cells[1])
