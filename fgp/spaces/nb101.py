"""NAS-Bench-101: cells of at most 7 op nodes and 9 edges, ops on nodes (423,624 unique cells).

The native encoding is NB101's ``(adjacency, ops)`` module spec. Decoding prunes it exactly as NB101's
``ModelSpec`` does (vertices on no input-to-output path are dropped), so every spec maps to the graph NB101 trains
and hashes. The whole space ships as ``nasbench101/nb101_space_all.npz``; :func:`load_space_arrays` and
:func:`space_batch` turn it into one :class:`~fgp.batch.GraphBatch` without a per-cell Python loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fgp.batch import GraphBatch
from fgp.graph import INPUT, OUTPUT, ArchGraph, nodes_on_io_paths, wl_fingerprint
from fgp.paths import data_file
from fgp.spaces.base import SearchSpace, register_space

#: NB101's interior ops, in the order of its integer labels (0, 1, 2) used by the model hash.
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
VOCAB: tuple[str, ...] = (INPUT, OUTPUT) + OPS
MAX_VERTICES = 7
MAX_EDGES = 9
SPACE_FILE = "nasbench101/nb101_space_all.npz"
PROTOCOL_ROWS = 14_580  # the "cifar10" dataset: the first rows of the 30,001 labelled cells, the protocol's

_OP_LABEL = {op: k for k, op in enumerate(OPS)}
# NB101 integer label (-3 padding, -2 output, -1 input, 0..2 ops) -> index in VOCAB (padding -> -1)
_LABEL_TO_VOCAB = np.array([-1, VOCAB.index(OUTPUT), VOCAB.index(INPUT), 2, 3, 4], dtype=np.int64)  # label + 3
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

Spec = tuple[list[list[int]], list[str]]


# validation and pruning ----------------------------------------------------------------------------------------


def _parse_spec(native: Any) -> tuple[np.ndarray, list[str]]:
    """``(adjacency, ops)`` (or a mapping with those keys) as an int matrix and a list of op names, checked."""
    if isinstance(native, Mapping):
        if "adjacency" not in native or "ops" not in native:
            raise ValueError(f"an NB101 spec mapping needs 'adjacency' and 'ops' keys, got {sorted(native)}")
        adjacency, ops = native["adjacency"], native["ops"]
    else:
        try:
            adjacency, ops = native
        except (TypeError, ValueError):
            raise ValueError(f"an NB101 spec must be an (adjacency, ops) pair, got {native!r}") from None
    try:
        matrix = np.asarray(adjacency)
    except ValueError:
        raise ValueError("NB101 adjacency must be a square matrix (its rows have different lengths)") from None
    if isinstance(ops, (str, bytes)) or not isinstance(ops, (Sequence, np.ndarray)) or np.ndim(ops) != 1:
        raise ValueError(f"NB101 ops must be a list of op names, got {ops!r}")
    if not all(isinstance(op, str) for op in ops):
        raise ValueError(f"NB101 ops must be op names (strings), got {list(ops)!r}")
    ops = list(ops)
    if matrix.dtype.kind not in "biu" and not (matrix.dtype.kind == "f" and np.isfinite(matrix).all()):
        raise ValueError(f"NB101 adjacency entries must be 0 or 1, got an array of {matrix.dtype}")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"NB101 adjacency must be a square matrix, got shape {matrix.shape}")
    n = matrix.shape[0]
    if n != len(ops):
        raise ValueError(f"NB101 adjacency is {n}x{n} but there are {len(ops)} ops; they must match")
    if not 2 <= n <= MAX_VERTICES:
        raise ValueError(f"an NB101 cell has 2..{MAX_VERTICES} vertices, got {n}")
    if not np.isin(matrix, (0, 1)).all():
        raise ValueError(f"NB101 adjacency entries must be 0 or 1, got values {np.unique(matrix).tolist()}")
    matrix = matrix.astype(np.int64)
    lower = np.argwhere(np.tril(matrix))
    if len(lower):
        i, j = lower[0]
        raise ValueError(f"NB101 adjacency must be strictly upper triangular; it has edge {i}->{j}")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ValueError(f"NB101 ops must start with {INPUT!r} and end with {OUTPUT!r}, got {ops}")
    unknown = [op for op in ops[1:-1] if op not in _OP_LABEL]
    if unknown:
        raise ValueError(f"unknown NB101 op(s) {unknown}; interior ops must be one of {list(OPS)}")
    return matrix, ops


def prune_spec(native: Any) -> tuple[np.ndarray, list[str]]:
    """The spec after NB101's pruning, validated: ``(matrix, ops)`` with every vertex on an input->output path.

    Raises ``ValueError`` when the output is unreachable (NB101 calls the spec invalid) or when the pruned cell
    has more than 9 edges (NB101 counts edges after pruning).
    """
    matrix, ops = _parse_spec(native)
    n = len(ops)
    src, dst = np.nonzero(matrix)
    keep = nodes_on_io_paths(n, list(zip(src.tolist(), dst.tolist())), [0], n - 1)
    if not keep[n - 1]:
        raise ValueError("invalid NB101 spec: the output is not reachable from the input")
    matrix = matrix[np.ix_(keep, keep)]
    ops = [op for op, k in zip(ops, keep) if k]
    if matrix.sum() > MAX_EDGES:
        raise ValueError(f"invalid NB101 spec: {int(matrix.sum())} edges after pruning, at most {MAX_EDGES} allowed")
    return matrix, ops


def _labels(ops: Sequence[str]) -> list[int]:
    return [-1] + [_OP_LABEL[op] for op in ops[1:-1]] + [-2]


def model_hash(adjacency: Any, ops: Sequence[str]) -> str:
    """NB101's official model hash of a spec (the key of its dataset), computed over the pruned cell."""
    matrix, ops = prune_spec((adjacency, ops))
    src, dst = np.nonzero(matrix)
    return wl_fingerprint(len(ops), zip(src.tolist(), dst.tolist()), _labels(ops))


def graph_hash(graph: ArchGraph) -> str:
    """NB101's model hash of a decoded graph (equal to :func:`model_hash` of the spec it came from)."""
    if graph.vocab != VOCAB:
        raise ValueError(f"not an NB101 graph: vocabulary {list(graph.vocab)} is not {list(VOCAB)}")
    labels = [-1 if op == INPUT else -2 if op == OUTPUT else _OP_LABEL[op] for op in graph.ops]
    return wl_fingerprint(graph.num_nodes, graph.edges, labels)


# the whole space -----------------------------------------------------------------------------------------------


def load_space_arrays(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The whole NB101 space from ``nb101_space_all.npz`` as padded arrays (vectorised, no per-cell loop).

    Returns ``ops`` (N, 7) int64 indices into :data:`VOCAB` (padding -1), ``adjacency`` (N, 7, 7) bool,
    ``num_nodes`` (N,) int64 and ``hash`` (N,) str (the NB101 model hash). ``path`` defaults to the data folder.
    """
    path = Path(path) if path is not None else data_file(SPACE_FILE)
    with np.load(path) as z:
        missing = {"hash_md5", "n_vertices", "adj_triu_bits", "ops"} - set(z.files)
        if missing:
            raise ValueError(f"{path} is not an NB101 space file: missing arrays {sorted(missing)}")
        digest, n_vertices, bits, ops = z["hash_md5"], z["n_vertices"], z["adj_triu_bits"], z["ops"]
    n = len(n_vertices)
    iu = np.triu_indices(MAX_VERTICES, 1)
    adjacency = np.zeros((n, MAX_VERTICES, MAX_VERTICES), dtype=bool)
    adjacency[:, iu[0], iu[1]] = np.unpackbits(bits, axis=1)[:, : len(iu[0])].astype(bool)
    labels = ops.astype(np.int64)
    if labels.min() < -3 or labels.max() > 2:
        raise ValueError(f"{path}: op labels must lie in -3..2, got {labels.min()}..{labels.max()}")
    # hex digest per row: two ASCII hex digits per byte, viewed as one fixed-width string
    hex_digits = np.stack([_HEX[digest >> 4], _HEX[digest & 15]], axis=-1).reshape(n, 32)
    hashes = np.ascontiguousarray(hex_digits).view("S32").ravel().astype("U32")
    return {
        "ops": _LABEL_TO_VOCAB[labels + 3],
        "adjacency": adjacency,
        "num_nodes": n_vertices.astype(np.int64),
        "hash": hashes,
    }


def space_batch(arrays: Mapping[str, np.ndarray]) -> GraphBatch:
    """One :class:`GraphBatch` of every cell in ``arrays`` (as returned by :func:`load_space_arrays`)."""
    return GraphBatch.from_dense(arrays["ops"], arrays["adjacency"], arrays["num_nodes"], VOCAB)


# the space -----------------------------------------------------------------------------------------------------


@register_space("nb101")
class NB101Space(SearchSpace):
    """NAS-Bench-101 cells.

    Native encoding: ``(adjacency, ops)`` with a square upper-triangular 0/1 adjacency of at most 7x7 (nested
    lists or an array) and op names, ``"input"`` first and ``"output"`` last (a mapping with ``adjacency`` and
    ``ops`` keys, like the rows of the data files, is accepted too). ``encode`` returns nested lists.
    """

    vocab = VOCAB
    surrogate = (4, 1.0)  # METHOD.md section 2
    # "cifar10": the protocol's first 14,580 rows; "cifar10-30k": all 30,001 labelled cells; "space": the
    # 423,624 cells, unlabelled
    datasets = {
        "cifar10": ("val_acc_108", "val_acc_36", "val_acc_12", "val_acc_4"),
        "cifar10-30k": ("val_acc_108", "val_acc_36", "val_acc_12", "val_acc_4"),
        "space": (),
    }
    default_dataset = "cifar10"
    protocol_dataset = "cifar10"
    search_labels = ("cifar10-30k", "val_acc_108", None)  # its 30,001 labelled cells have no test label
    model_hash = staticmethod(model_hash)
    graph_hash = staticmethod(graph_hash)

    def decode(self, native: Any) -> ArchGraph:
        """The pruned cell as a graph; ``ValueError`` for a spec NB101 rejects."""
        matrix, ops = prune_spec(native)
        src, dst = np.nonzero(matrix)
        return ArchGraph(ops, zip(src.tolist(), dst.tolist()), VOCAB)

    def encode(self, graph: ArchGraph) -> Spec:
        """``(adjacency, ops)`` of a graph, numbered topologically (input first, output last, ties by node id).

        A graph already numbered topologically keeps its numbering, so decode -> encode is the identity on pruned
        specs such as the rows of the data files.
        """
        if graph.vocab != VOCAB:
            raise ValueError(f"not an NB101 graph: vocabulary {list(graph.vocab)} is not {list(VOCAB)}")
        if len(graph.inputs) != 1:
            raise ValueError(f"an NB101 cell has exactly one input node, got {len(graph.inputs)}")
        n = graph.num_nodes
        if n > MAX_VERTICES or len(graph.edges) > MAX_EDGES:
            raise ValueError(
                f"not an NB101 cell: {n} nodes and {len(graph.edges)} edges (at most {MAX_VERTICES} and {MAX_EDGES})"
            )
        order = _topological_order(n, graph.edges)
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        matrix = np.zeros((n, n), dtype=np.int64)
        for s, d in graph.edges:
            matrix[position[s], position[d]] = 1
        return matrix.tolist(), [graph.ops[v] for v in order]

    def sample(self, rng: np.random.Generator) -> Spec:
        """A random valid 7-vertex spec, drawn as NB101 does: each upper-triangular edge with probability 1/2,
        interior ops uniform, redrawn until the spec is valid. The spec is returned unpruned (nested lists)."""
        while True:
            matrix = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), 1)
            ops = [INPUT] + [OPS[k] for k in rng.integers(0, len(OPS), size=MAX_VERTICES - 2)] + [OUTPUT]
            if _is_valid(matrix, ops):
                return matrix.tolist(), ops

    def load_table(self, dataset: str):
        from fgp.tables import LazyGraphs, column, read_jsonl, table_benchmark

        if dataset == "space":
            arrays = load_space_arrays(data_file(SPACE_FILE))
            return table_benchmark(
                self, dataset, np.asarray(arrays["hash"]), {}, None, batch=lambda: space_batch(arrays),
                graphs=lambda: LazyGraphs(len(arrays["hash"]), lambda i: self._space_graph(arrays, i)))
        rows = read_jsonl("nasbench101/nb101_val_30k.jsonl.gz")
        if dataset == "cifar10":
            rows = rows[:PROTOCOL_ROWS]
        columns = {c: column(rows, c) for c in self.datasets[dataset] + ("params", "train_time_108")}
        natives = [(r["adjacency"], r["ops"]) for r in rows]
        return table_benchmark(self, dataset, np.array([r["hash"] for r in rows]), columns, natives)

    def _space_graph(self, arrays: Mapping[str, np.ndarray], i: int) -> ArchGraph:
        n = int(arrays["num_nodes"][i])
        ops = [self.vocab[o] for o in arrays["ops"][i, :n]]
        return self.decode((arrays["adjacency"][i, :n, :n].astype(int), ops))

    def mutate(self, native: Any, rng: np.random.Generator) -> Spec:
        """One change, uniform over the single edge flips and single op changes that leave a valid spec whose
        model hash differs from the original (so the pruned cell really changes); same size, unpruned."""
        matrix, ops = _parse_spec(native)
        moves = _moves(len(ops), ops)
        for k in rng.permutation(len(moves)):
            changed = _changed(matrix, ops, moves[k], model_hash(matrix, ops))
            if changed is not None:
                return changed
        raise ValueError(f"no single edge flip or op change turns {native!r} into another valid NB101 cell")

    def neighbours(self, native: Any) -> list[Spec]:
        """Every valid cell one edge flip or op change away whose model hash differs (the moves of :meth:`mutate`)."""
        matrix, ops = _parse_spec(native)
        original = model_hash(matrix, ops)
        changed = (_changed(matrix, ops, move, original) for move in _moves(len(ops), ops))
        return [c for c in changed if c is not None]

    def identity(self, native: Any) -> str:
        """NB101's model hash: isomorphic cells (after pruning) are one architecture, as the benchmark counts them."""
        return model_hash(*_parse_spec(native))


def _moves(n: int, ops: Sequence[str]) -> list[tuple[str, int, Any]]:
    """Every single edge flip of the upper triangle, then every single op change of an inner node."""
    iu = np.triu_indices(n, 1)
    moves: list[tuple[str, int, Any]] = [("edge", int(i), int(j)) for i, j in zip(*iu)]
    return moves + [("op", v, op) for v in range(1, n - 1) for op in OPS if op != ops[v]]


def _changed(matrix: np.ndarray, ops: Sequence[str], move: tuple[str, int, Any], original: str) -> Spec | None:
    """The spec after ``move``, or None when it is invalid or the same cell (same model hash)."""
    kind, a, b = move
    new_matrix, new_ops = matrix.copy(), list(ops)
    if kind == "edge":
        new_matrix[a, b] = 1 - new_matrix[a, b]
    else:
        new_ops[a] = b
    if _is_valid(new_matrix, new_ops) and model_hash(new_matrix, new_ops) != original:
        return new_matrix.tolist(), new_ops
    return None


def _is_valid(matrix: np.ndarray, ops: list[str]) -> bool:
    try:
        prune_spec((matrix, ops))
    except ValueError:
        return False
    return True


def _topological_order(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Kahn's order taking the smallest ready node first (the identity for an already topological numbering)."""
    indeg = [0] * n
    succs: list[list[int]] = [[] for _ in range(n)]
    for s, d in edges:
        indeg[d] += 1
        succs[s].append(d)
    ready = sorted(v for v in range(n) if indeg[v] == 0)
    order = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for w in succs[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
        ready.sort()
    return order
