"""Architectures as operation DAGs.

An :class:`ArchGraph` is the one representation every search space decodes into: nodes are operations (one-hot
over the space's vocabulary, which always contains ``input`` and ``output``), edges carry tensors. It validates
itself on construction so that everything downstream (surrogate, encoders) can trust its input.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Sequence

import numpy as np

INPUT = "input"
OUTPUT = "output"


def wl_fingerprint(num_nodes: int, edges: Iterable[tuple[int, int]], labels: Sequence[object]) -> str:
    """Iterated-MD5 (Weisfeiler-Lehman style) fingerprint of a labelled DAG, as NAS-Bench-101 computes it.

    Equal for isomorphic graphs whatever the node numbering. With NB101's integer labels (-1 input, -2 output,
    op index otherwise) and its pruned adjacency this reproduces the official NB101 model hash.
    """
    preds: list[list[int]] = [[] for _ in range(num_nodes)]
    succs: list[list[int]] = [[] for _ in range(num_nodes)]
    for src, dst in edges:
        preds[dst].append(src)
        succs[src].append(dst)
    hashes = [
        hashlib.md5(str((len(succs[v]), len(preds[v]), labels[v])).encode("utf-8")).hexdigest()
        for v in range(num_nodes)
    ]
    for _ in range(num_nodes):
        hashes = [
            hashlib.md5(
                (
                    "".join(sorted(hashes[w] for w in preds[v]))
                    + "|"
                    + "".join(sorted(hashes[w] for w in succs[v]))
                    + "|"
                    + hashes[v]
                ).encode("utf-8")
            ).hexdigest()
            for v in range(num_nodes)
        ]
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def nodes_on_io_paths(
    num_nodes: int, edges: Sequence[tuple[int, int]], inputs: Sequence[int], output: int
) -> np.ndarray:
    """Boolean mask of the nodes that lie on at least one input-to-output path."""
    succs: list[list[int]] = [[] for _ in range(num_nodes)]
    preds: list[list[int]] = [[] for _ in range(num_nodes)]
    for src, dst in edges:
        succs[src].append(dst)
        preds[dst].append(src)

    def reach(starts: Iterable[int], nbrs: list[list[int]]) -> np.ndarray:
        seen = np.zeros(num_nodes, dtype=bool)
        stack = list(starts)
        seen[stack] = True
        while stack:
            for w in nbrs[stack.pop()]:
                if not seen[w]:
                    seen[w] = True
                    stack.append(w)
        return seen

    return reach(inputs, succs) & reach([output], preds)


def _node_id(value: object, what: str) -> int:
    """A node id as an int: Python and NumPy integers pass, a float (1.7 would silently become node 1) or a bool
    is an error naming ``what``."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what}: node ids must be integers, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{what}: node ids must be integers, got {value!r}") from None


def _names(values: object, what: str) -> tuple[str, ...]:
    """``values`` as a tuple of op names, or an error naming ``what`` and the first item that is not a string."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a sequence of op names, got {type(values).__name__}")
    out = tuple(values)
    bad = [v for v in out if not isinstance(v, str)]
    if bad:
        raise ValueError(f"{what} must hold op names (strings), got {bad[0]!r}")
    return out


def _edge_list(edges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``edges`` as (int, int) pairs, or an error naming the first edge that is not a pair of integers."""
    if isinstance(edges, (str, bytes)) or not isinstance(edges, Iterable):
        raise ValueError(f"edges must be a sequence of (src, dst) pairs, got {type(edges).__name__}")
    out = []
    for edge in edges:
        try:
            src, dst = edge
        except (TypeError, ValueError):
            raise ValueError(f"an edge is a (src, dst) pair of node ids, got {edge!r}") from None
        out.append((_node_id(src, f"edge {edge!r}"), _node_id(dst, f"edge {edge!r}")))
    return out


def _attribute_rows(attrs: object, num_nodes: int) -> np.ndarray:
    """``attrs`` as a read-only float64 ``(num_nodes, k)`` array, or an error naming what is wrong with it."""
    try:
        rows = np.array(attrs, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"attrs must be a (num_nodes, k) array of numbers, got {type(attrs).__name__}") from None
    if rows.ndim != 2 or rows.shape[0] != num_nodes:
        raise ValueError(f"attrs must have one row per node, shape ({num_nodes}, k); got shape {rows.shape}")
    if not np.isfinite(rows).all():
        raise ValueError("attrs must be finite (no NaN or infinity)")
    rows.flags.writeable = False
    return rows


def induced_subgraph(
    ops: Sequence[str], edges: Iterable[tuple[int, int]], keep: np.ndarray
) -> tuple[list[str], list[tuple[int, int]]]:
    """The ops and edges among the nodes flagged in ``keep``, renumbered 0.. in their order (pruning a graph)."""
    new_id = np.cumsum(keep) - 1
    kept_edges = [(int(new_id[s]), int(new_id[d])) for s, d in edges if keep[s] and keep[d]]
    return [op for op, k in zip(ops, keep) if k], kept_edges


class ArchGraph:
    """An architecture as a validated DAG of operation nodes.

    ``ops[v]`` is the operation of node ``v`` (a name from ``vocab``); ``edges`` are ``(src, dst)`` pairs. Nodes
    whose op is ``"input"`` are the inputs (at least one, no in-edges); exactly one node is ``"output"`` (no
    out-edges). Every node must lie on an input-to-output path: use :meth:`pruned` to drop the others where a
    search space's rules allow it.

    ``attrs`` optionally gives every node numeric attributes, a finite ``(num_nodes, k)`` float array (row ``v``
    for node ``v``; what the columns mean is up to whoever builds the graph, e.g. ``fgp.models.ATTRIBUTES``). The
    search spaces leave it ``None``: their ops say everything.
    """

    __slots__ = ("ops", "edges", "vocab", "attrs", "_generations")

    def __init__(self, ops: Sequence[str], edges: Iterable[tuple[int, int]], vocab: Sequence[str],
                 attrs: np.ndarray | Sequence[Sequence[float]] | None = None):
        self.ops = _names(ops, "ops")
        self.vocab = _names(vocab, "vocab")
        self.edges = tuple(sorted(set(_edge_list(edges))))
        self.attrs = None if attrs is None else _attribute_rows(attrs, len(self.ops))
        self._generations: np.ndarray | None = None
        self._validate()

    # construction ------------------------------------------------------------------------------------------

    def _validate(self) -> None:
        n = len(self.ops)
        if INPUT not in self.vocab or OUTPUT not in self.vocab:
            raise ValueError(f"the op vocabulary must contain {INPUT!r} and {OUTPUT!r}, got {list(self.vocab)}")
        if len(set(self.vocab)) != len(self.vocab):
            repeated = sorted({op for op in self.vocab if self.vocab.count(op) > 1})
            raise ValueError(f"the op vocabulary repeats {repeated} (each op needs one one-hot position), got "
                             f"{list(self.vocab)}")
        unknown = sorted({op for op in self.ops if op not in self.vocab})
        if unknown:
            raise ValueError(f"unknown op(s) {unknown}; the vocabulary is {list(self.vocab)}")
        for src, dst in self.edges:
            if not (0 <= src < n and 0 <= dst < n):
                raise ValueError(f"edge ({src}, {dst}) refers to a missing node; the graph has {n} nodes")
            if src == dst:
                raise ValueError(f"self-loop on node {src}: an architecture graph must be acyclic")
        inputs = self.inputs
        outputs = [v for v, op in enumerate(self.ops) if op == OUTPUT]
        if not inputs:
            raise ValueError("the graph has no input node (a node with op 'input')")
        if len(outputs) != 1:
            raise ValueError(f"the graph must have exactly one output node, found {len(outputs)}")
        for src, dst in self.edges:
            if self.ops[dst] == INPUT:
                raise ValueError(f"input node {dst} has an in-edge from node {src}")
            if self.ops[src] == OUTPUT:
                raise ValueError(f"output node {src} has an out-edge to node {dst}")
        self._generations = self._topological_generations()
        on_path = nodes_on_io_paths(n, self.edges, inputs, outputs[0])
        if not on_path.all():
            off = np.flatnonzero(~on_path).tolist()
            raise ValueError(
                f"node(s) {off} lie on no input-to-output path; prune them (ArchGraph.pruned) if the search "
                "space allows it"
            )

    def _topological_generations(self) -> np.ndarray:
        """1-based generation of every node (METHOD.md section 1); raises on a cycle (Kahn's algorithm)."""
        n = len(self.ops)
        indeg = np.zeros(n, dtype=np.int64)
        succs: list[list[int]] = [[] for _ in range(n)]
        for src, dst in self.edges:
            indeg[dst] += 1
            succs[src].append(dst)
        gen = np.ones(n, dtype=np.int64)
        frontier = [v for v in range(n) if indeg[v] == 0]
        done = 0
        while frontier:
            nxt = []
            for v in frontier:
                done += 1
                for w in succs[v]:
                    gen[w] = max(gen[w], gen[v] + 1)
                    indeg[w] -= 1
                    if indeg[w] == 0:
                        nxt.append(w)
            frontier = nxt
        if done < n:
            cycle = self._nodes_on_cycles(indeg > 0)
            more = f" and {len(cycle) - 10} more" if len(cycle) > 10 else ""
            raise ValueError(f"the graph is not acyclic: node(s) {cycle[:10]}{more} lie on a cycle")
        return gen

    def _nodes_on_cycles(self, left: np.ndarray) -> list[int]:
        """The nodes that reach themselves, among the nodes Kahn's algorithm could not order (``left``, which also
        holds every node merely downstream of a cycle): the strongly connected components of more than one node
        (linear time; self-loops were rejected before)."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        n = len(self.ops)
        src, dst = (np.array(side, dtype=np.int64) for side in zip(*self.edges))
        _, label = connected_components(coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)),
                                        directed=True, connection="strong")
        sizes = np.bincount(label, minlength=n)
        return [int(v) for v in np.flatnonzero(left & (sizes[label] > 1))]

    @classmethod
    def pruned(cls, ops: Sequence[str], edges: Iterable[tuple[int, int]], vocab: Sequence[str],
               attrs: np.ndarray | Sequence[Sequence[float]] | None = None) -> ArchGraph:
        """Build the graph after dropping every node that lies on no input-to-output path (renumbering the rest).

        An input that feeds nothing is dropped too (a multi-input cell may leave one unused); ``attrs`` keeps the
        rows of the kept nodes. Raises ``ValueError`` when no input-to-output path exists at all.
        """
        ops = list(_names(ops, "ops"))
        edges = _edge_list(edges)
        bad = [(s, d) for s, d in edges if not (0 <= s < len(ops) and 0 <= d < len(ops))]
        if bad:
            raise ValueError(f"edge {bad[0]} refers to a missing node; the graph has {len(ops)} nodes")
        inputs = [v for v, op in enumerate(ops) if op == INPUT]
        outputs = [v for v, op in enumerate(ops) if op == OUTPUT]
        if len(outputs) != 1 or not inputs:
            return cls(ops, edges, vocab, attrs)  # let validation name the problem
        keep = nodes_on_io_paths(len(ops), edges, inputs, outputs[0])
        if not keep[outputs[0]]:
            raise ValueError("the output is not reachable from any input: no input-to-output path")
        kept_attrs = None if attrs is None else _attribute_rows(attrs, len(ops))[keep]
        return cls(*induced_subgraph(ops, edges, keep), vocab, kept_attrs)

    # views -------------------------------------------------------------------------------------------------

    @property
    def num_nodes(self) -> int:
        return len(self.ops)

    @property
    def inputs(self) -> list[int]:
        return [v for v, op in enumerate(self.ops) if op == INPUT]

    @property
    def output(self) -> int:
        return self.ops.index(OUTPUT)

    @property
    def op_index(self) -> np.ndarray:
        """Index of every node's op in the vocabulary (the one-hot feature's hot position)."""
        lookup = {op: i for i, op in enumerate(self.vocab)}
        return np.array([lookup[op] for op in self.ops], dtype=np.int64)

    @property
    def generations(self) -> np.ndarray:
        """1-based topological generation of every node: inputs are 1, a node is 1 + max over predecessors."""
        assert self._generations is not None
        return self._generations.copy()

    def predecessors(self, v: int) -> list[int]:
        return [s for s, d in self.edges if d == v]

    def successors(self, v: int) -> list[int]:
        return [d for s, d in self.edges if s == v]

    def adjacency(self) -> np.ndarray:
        a = np.zeros((self.num_nodes, self.num_nodes), dtype=np.int64)
        for s, d in self.edges:
            a[s, d] = 1
        return a

    def canonical_hash(self) -> str:
        """A hash equal for isomorphic graphs (same ops, same wiring, any node numbering)."""
        return wl_fingerprint(self.num_nodes, self.edges, self.ops)

    def relabel(self, perm: Sequence[int]) -> ArchGraph:
        """The same architecture with node ``v`` renumbered ``perm[v]``."""
        perm = [_node_id(p, "perm") for p in perm]
        if sorted(perm) != list(range(self.num_nodes)):
            raise ValueError(f"perm must be a permutation of 0..{self.num_nodes - 1}, got {perm}")
        ops = [""] * self.num_nodes
        for v, p in enumerate(perm):
            ops[p] = self.ops[v]
        attrs = None
        if self.attrs is not None:
            attrs = np.empty_like(self.attrs)
            attrs[perm] = self.attrs
        return ArchGraph(ops, [(perm[s], perm[d]) for s, d in self.edges], self.vocab, attrs)

    def _attrs_key(self) -> tuple | None:
        return None if self.attrs is None else (self.attrs.shape, self.attrs.tobytes())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArchGraph):
            return NotImplemented
        return (self.ops, self.edges, self.vocab, self._attrs_key()) == (
            other.ops, other.edges, other.vocab, other._attrs_key())

    def __hash__(self) -> int:
        return hash((self.ops, self.edges, self.vocab, self._attrs_key()))

    def __repr__(self) -> str:
        attrs = "" if self.attrs is None else f", attrs={self.attrs.tolist()}"
        return f"ArchGraph(ops={list(self.ops)}, edges={list(self.edges)}{attrs})"
