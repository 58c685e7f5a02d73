"""NAS-Bench-Graph: GNN architectures of four computing nodes (Qin et al., NeurIPS 2022 Datasets & Benchmarks).

An architecture is ``(link, ops)``. ``link[i]`` is the input of computing node ``i + 1``: 0 is the input feature
node, ``j`` the output of computing node ``j`` (so ``0 <= link[i] <= i`` and the wiring is a tree rooted at the
input). ``ops[i]`` is the GNN layer of node ``i + 1``, one of :data:`GNN_OPS`. Computing nodes that feed no other
computing node go to the output. The benchmark's own encodings use the 9 link patterns of :data:`LINK_PATTERNS`,
one per shape of a rooted tree with four non-root nodes.

As a graph (:meth:`NBGraphSpace.decode`): node 0 is the input, nodes 1..4 the computing nodes in order, node 5 the
output; edges ``link[i] -> i + 1`` and ``leaf -> 5``.

**Which of the 9 * 9**4 = 59,049 encodings the benchmark holds.** The tables hold 26,206 (proteins: the 2,021 of
them that use only :data:`PROTEINS_OPS`), one per equivalence class of encodings. We determined the rule from the
installed package and check it against its tables in the tests. Two encodings are equivalent when they reduce to
isomorphic rooted trees after removing the redundant ``skip`` nodes, where a skip node is redundant when

- it feeds another computing node (it is an identity wire: its consumers read its producer instead), or
- it is its producer's only consumer (it just forwards the producer to the output), or
- its producer is the input node (after the removals above): the benchmark does not count a raw-feature shortcut
  to the output as a distinct architecture.

Removal is repeated until no redundant skip is left. The classes are the same as the package's
``Arch.valid_hash`` classes. The class whose reduced tree is empty (four skips) is not in the benchmark. The
benchmark's representative of a class puts the ``s`` removed skips first as a chain (node ``i + 1`` fed by node
``i`` for ``i < s``), lets the remaining nodes read node ``s`` or later, and has the smallest key among such
encodings. :meth:`NBGraphSpace.canonical` maps any encoding to that representative, so encodings from
:meth:`~NBGraphSpace.sample` and :meth:`~NBGraphSpace.mutate` can be looked up in :func:`read_package_table`.

The package's integer key is ``(((link_id * 10 + o1) * 10 + o2) * 10 + o3) * 10 + o4``, with ``link_id`` the index
into :data:`LINK_PATTERNS` and ``o*`` indices into the 9-op :data:`GNN_OPS`. Proteins uses the same base and op
indices, as its table shows (the package's ``use_proteins`` hash variant is not what its data uses).
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from fgp.graph import INPUT, OUTPUT, ArchGraph
from fgp.spaces.base import SearchSpace, register_space

DATASETS: tuple[str, ...] = (
    "arxiv", "citeseer", "computers", "cora", "cs", "photo", "physics", "proteins", "pubmed",
)
GNN_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
LINK_PATTERNS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
NUM_COMPUTING = 4
_BASE = 10  # decimal digits: 9 ops and 9 link patterns each fit in one digit
_MAX_KEY = len(LINK_PATTERNS) * _BASE**NUM_COMPUTING
_OP_ID = {op: i for i, op in enumerate(GNN_OPS)}
_LINK_ID = {lk: i for i, lk in enumerate(LINK_PATTERNS)}

Arch = tuple[tuple[int, ...], tuple[str, ...]]


# validation and keys ---------------------------------------------------------------------------------------


def _check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-Graph dataset {dataset!r}; choose one of {list(DATASETS)}")
    return dataset


def _check_link(link: Any) -> tuple[int, ...]:
    if isinstance(link, (str, bytes)) or not isinstance(link, (Sequence, np.ndarray)) or np.ndim(link) != 1:
        raise ValueError(f"link must be a sequence of {NUM_COMPUTING} ints, got {link!r}")
    if len(link) != NUM_COMPUTING:
        raise ValueError(f"link must have {NUM_COMPUTING} entries (one per computing node), got {len(link)}: {link!r}")
    try:
        out = tuple(operator.index(x) for x in link)
    except TypeError:
        raise ValueError(f"link entries must be ints, got {link!r}") from None
    for i, src in enumerate(out):
        if not 0 <= src <= i:
            allowed = "only the input (0)" if i == 0 else f"the input (0) or an earlier computing node (1..{i})"
            raise ValueError(
                f"link[{i}] = {src} is illegal: computing node {i + 1} can read {allowed}, so link[{i}] must lie "
                f"in 0..{i}; got link {list(out)}"
            )
    return out


def _check_ops(ops: Any) -> tuple[str, ...]:
    if isinstance(ops, (str, bytes)) or not isinstance(ops, (Sequence, np.ndarray)) or np.ndim(ops) != 1:
        raise ValueError(f"ops must be a sequence of {NUM_COMPUTING} op names, got {ops!r}")
    if len(ops) != NUM_COMPUTING:
        raise ValueError(f"ops must have {NUM_COMPUTING} entries (one per computing node), got {len(ops)}: {ops!r}")
    out = tuple(str(op) for op in ops)
    bad = [op for op in out if op not in _OP_ID]
    if bad:
        raise ValueError(f"unknown NAS-Bench-Graph op(s) {bad}; choose from {list(GNN_OPS)}")
    return out


def _check_arch(native: Any) -> Arch:
    """``(link, ops)`` (or a package key) as a pair of tuples, or a ValueError naming the problem."""
    if isinstance(native, (int, np.integer)) and not isinstance(native, bool):
        return arch_from_key(int(native))
    if isinstance(native, (str, bytes)) or not isinstance(native, Sequence) or len(native) != 2:
        raise ValueError(f"a NAS-Bench-Graph architecture is a pair (link, ops) or an integer key, got {native!r}")
    return _check_link(native[0]), _check_ops(native[1])


def arch_key(link: Sequence[int], ops: Sequence[str]) -> int:
    """The package's integer key of ``(link, ops)``; ``link`` must be one of the 9 :data:`LINK_PATTERNS`."""
    lk, op = _check_link(link), _check_ops(ops)
    if lk not in _LINK_ID:
        raise ValueError(
            f"link {list(lk)} is not one of the benchmark's 9 link patterns {[list(p) for p in LINK_PATTERNS]}; "
            "map the architecture to its benchmark form with NBGraphSpace.canonical first"
        )
    key = _LINK_ID[lk]
    for name in op:
        key = key * _BASE + _OP_ID[name]
    return key


def arch_from_key(key: int) -> Arch:
    """``(link, ops)`` of a package key (inverse of :func:`arch_key`)."""
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
        raise ValueError(f"a NAS-Bench-Graph key must be an int, got {key!r}")
    key = int(key)
    if not 0 <= key < _MAX_KEY:
        raise ValueError(f"NAS-Bench-Graph key {key} is out of range 0..{_MAX_KEY - 1}")
    digits = [(key // _BASE**p) % _BASE for p in range(NUM_COMPUTING - 1, -1, -1)]
    if max(digits) >= len(GNN_OPS):
        raise ValueError(f"NAS-Bench-Graph key {key} has op digit 9, which names no op (ops are 0..8)")
    return LINK_PATTERNS[key // _BASE**NUM_COMPUTING], tuple(GNN_OPS[d] for d in digits)


def _split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`arch_from_key`: (links (n, 4), op indices (n, 4))."""
    keys = np.asarray(keys, dtype=np.int64)
    link_id = keys // _BASE**NUM_COMPUTING
    powers = _BASE ** np.arange(NUM_COMPUTING - 1, -1, -1, dtype=np.int64)
    op_idx = (keys[:, None] // powers[None, :]) % _BASE
    if keys.size and (keys.min() < 0 or link_id.max() >= len(LINK_PATTERNS) or op_idx.max() >= len(GNN_OPS)):
        raise ValueError("the table holds keys that are no NAS-Bench-Graph architecture")
    links = np.asarray(LINK_PATTERNS, dtype=np.int64)[link_id]
    return links, op_idx


# equivalence and the benchmark's representatives -----------------------------------------------------------


def _reduced_tree(link: Sequence[int], ops: Sequence[str]) -> tuple[str, int]:
    """(canonical string of the skip-reduced rooted tree, number of computing nodes left): see the module doc."""
    parent = {v + 1: link[v] for v in range(NUM_COMPUTING)}
    changed = True
    while changed:
        changed = False
        for v in sorted(parent):
            if ops[v - 1] != "skip":
                continue
            has_child = any(p == v for p in parent.values())
            has_sibling = any(w != v and p == parent[v] for w, p in parent.items())
            if has_child or not has_sibling or parent[v] == 0:
                for w, p in parent.items():
                    if p == v:
                        parent[w] = parent[v]
                del parent[v]
                changed = True
                break
    children: dict[int, list[int]] = {}
    for v, p in parent.items():
        children.setdefault(p, []).append(v)

    def canon(v: int) -> str:  # AHU encoding: isomorphic rooted labelled trees give equal strings
        label = INPUT if v == 0 else ops[v - 1]
        return label + "(" + ",".join(sorted(canon(w) for w in children.get(v, []))) + ")"

    return canon(0), len(parent)


def _skip_prefix_form(link: Sequence[int], ops: Sequence[str], kept: int) -> bool:
    """True when the removed skips form a leading chain and the rest read its end or later nodes."""
    s = NUM_COMPUTING - kept
    if any(ops[i] != "skip" or link[i] != i for i in range(s)):
        return False
    return all(link[i] >= s for i in range(s, NUM_COMPUTING))


@functools.lru_cache(maxsize=1)
def _class_table() -> dict[str, int]:
    """Reduced-tree string -> the benchmark key of its class (the empty tree has none)."""
    best: dict[str, int] = {}
    for link_id, link in enumerate(LINK_PATTERNS):
        for op_idx in itertools.product(range(len(GNN_OPS)), repeat=NUM_COMPUTING):
            ops = tuple(GNN_OPS[i] for i in op_idx)
            cls, kept = _reduced_tree(link, ops)
            if kept == 0 or not _skip_prefix_form(link, ops, kept):
                continue
            key = ((((link_id * _BASE + op_idx[0]) * _BASE + op_idx[1]) * _BASE + op_idx[2]) * _BASE) + op_idx[3]
            if key < best.get(cls, _MAX_KEY):
                best[cls] = key
    return best


@functools.lru_cache(maxsize=None)
def _benchmark_keys(ops_allowed: tuple[str, ...]) -> np.ndarray:
    allowed = np.zeros(_BASE, dtype=bool)
    allowed[[_OP_ID[o] for o in ops_allowed]] = True
    keys = np.array(sorted(_class_table().values()), dtype=np.int64)
    _, op_idx = _split_keys(keys)
    keys = keys[allowed[op_idx].all(axis=1)]
    keys.setflags(write=False)
    return keys


def benchmark_keys(dataset: str | None = None) -> np.ndarray:
    """Sorted keys of the architectures the benchmark holds, derived from the equivalence rule (not read).

    26,206 for every dataset but proteins, whose table holds only the 2,021 that use :data:`PROTEINS_OPS`.
    """
    if dataset is not None and _check_dataset(dataset) == "proteins":
        return _benchmark_keys(PROTEINS_OPS)
    return _benchmark_keys(GNN_OPS)


# the table ---------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def read_package_table(dataset: str) -> dict[str, Any]:
    """One dataset's light table from the installed ``nas_bench_graph`` package, rows sorted by key.

    Keys: ``dataset``, ``keys`` (int64), ``links`` (int64, (n, 4)), ``ops`` (str, (n, 4)), ``op_index`` (int64,
    (n, 4), into :data:`GNN_OPS`), and float64 ``valid_perf``, ``perf`` (test metric), ``latency`` (s) and
    ``params`` (M parameters, the package's ``para``). Cached per process (reading takes ~0.1 s), so the arrays
    are read-only.
    """
    name = _check_dataset(dataset)
    try:
        import nas_bench_graph
    except ImportError as exc:  # pragma: no cover - the package is a dependency here
        raise OSError(
            "NAS-Bench-Graph tables need the PyPI package nas-bench-graph (pip install nas-bench-graph)"
        ) from exc
    bench = nas_bench_graph.light_read(name)
    keys = np.array(sorted(int(k) for k in bench), dtype=np.int64)
    links, op_idx = _split_keys(keys)
    table: dict[str, Any] = {
        "dataset": name,
        "keys": keys,
        "links": links,
        "ops": np.asarray(GNN_OPS)[op_idx],
        "op_index": op_idx,
    }
    for field, src in (("valid_perf", "valid_perf"), ("perf", "perf"), ("latency", "latency"), ("params", "para")):
        table[field] = np.array([float(bench[int(k)][src]) for k in keys], dtype=np.float64)
    for value in table.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return table


# the search space --------------------------------------------------------------------------------------------


@register_space("nbgraph")
class NBGraphSpace(SearchSpace):
    """NAS-Bench-Graph; native encoding ``(link, ops)`` (an integer package key is accepted too)."""

    vocab = (INPUT, OUTPUT, *GNN_OPS)
    # No published surrogate constant; (16, 0.1) was chosen by measurement (3 draw seeds each; Kendall tau of a
    # least-squares linear fit from the surrogate to the accuracy, fitted and scored inside the seed-21 training
    # pool only: fit on its first half or its first 1%, score on its second half): std 0.1 beat 0.2/0.3/0.5/1.0 for
    # every k on cora and citeseer (k=8: tau 0.35 vs 0.33/0.31/0.28 on cora); at std 0.1, k = 4/8/12/16 gave cora
    # 0.26/0.35/0.36/0.37, citeseer 0.31/0.40/0.39/0.42, arxiv -/0.28/0.30/0.37, photo -/0.32/0.40/0.41 (1%-fit:
    # cora 0.25/0.34/0.34/0.30, arxiv -/0.27/0.31/0.36); distinct surrogates 92.7% of the 26,206 architectures at
    # k=4, 99.98% at k=8, 100% from k=12. benchmarks/nbgraph_constants.py re-chooses the grid with each 1% run's
    # training and validation labels only, and (16, 0.1) wins again.
    surrogate = (16, 0.1)
    datasets = {name: ("perf", "valid_perf") for name in DATASETS}  # test accuracy, validation accuracy
    default_dataset = "cora"
    search_labels = ("cora", "valid_perf", "perf")

    def decode(self, native: Any) -> ArchGraph:
        link, ops = _check_arch(native)
        consumed = set(link)
        edges = [(src, i + 1) for i, src in enumerate(link)]
        edges += [(v, NUM_COMPUTING + 1) for v in range(1, NUM_COMPUTING + 1) if v not in consumed]
        return ArchGraph((INPUT, *ops, OUTPUT), edges, self.vocab)

    def encode(self, graph: ArchGraph) -> Arch:
        """``(link, ops)`` of a graph. In :meth:`decode`'s node order the link is read off as is (so
        ``encode(decode(x)) == x``); otherwise (a renumbered graph) the topological numbering with a benchmark link
        pattern and the smallest key is used."""
        n = NUM_COMPUTING + 2
        if graph.num_nodes != n:
            raise ValueError(
                f"a NAS-Bench-Graph graph has {n} nodes (input, 4 computing, output), got {graph.num_nodes}"
            )
        inp, out = graph.inputs, graph.output
        if len(inp) != 1:
            raise ValueError(f"a NAS-Bench-Graph graph has one input node, got {len(inp)}")
        comp = [v for v in range(n) if v not in (inp[0], out)]
        bad = sorted({graph.ops[v] for v in comp} - set(GNN_OPS))
        if bad:
            raise ValueError(f"computing nodes must carry GNN ops {list(GNN_OPS)}, got {bad}")
        preds = {v: graph.predecessors(v) for v in comp}
        for v in comp:
            if len(preds[v]) != 1:
                raise ValueError(f"computing node {v} has {len(preds[v])} inputs; every NAS-Bench-Graph node reads one")
        consumers = {p[0] for p in preds.values()}
        leaves = sorted(v for v in comp if v not in consumers)
        if sorted(graph.predecessors(out)) != leaves:
            raise ValueError(
                f"the output must read exactly the computing nodes that feed no other ({leaves}), "
                f"got {sorted(graph.predecessors(out))}"
            )
        if inp[0] == 0 and out == n - 1 and all(preds[v][0] < v for v in comp):
            return tuple(preds[v][0] for v in range(1, n - 1)), tuple(graph.ops[1 : n - 1])
        best: tuple[int, Arch] | None = None
        for order in itertools.permutations(comp):
            pos = {inp[0]: 0, **{v: i + 1 for i, v in enumerate(order)}}
            link = tuple(pos[preds[v][0]] for v in order)
            if link not in _LINK_ID or any(link[i] > i for i in range(NUM_COMPUTING)):
                continue
            ops = tuple(graph.ops[v] for v in order)
            key = arch_key(link, ops)
            if best is None or key < best[0]:
                best = (key, (link, ops))
        assert best is not None  # every rooted tree shape has a pattern among the nine
        return best[1]

    def canonical(self, native: Any) -> Arch:
        """The benchmark's own encoding of the architecture (the one its tables hold); see the module doc."""
        link, ops = _check_arch(native)
        cls, kept = _reduced_tree(link, ops)
        if kept == 0:
            raise ValueError(
                f"architecture {list(link)}, {list(ops)} reduces to the identity (input straight to output); "
                "NAS-Bench-Graph holds no such architecture"
            )
        return arch_from_key(_class_table()[cls])

    def sample(self, rng: np.random.Generator) -> Arch:
        """Uniform over the 9 * 9**4 encodings (not over the benchmark's classes; use :meth:`canonical`)."""
        link = LINK_PATTERNS[int(rng.integers(len(LINK_PATTERNS)))]
        ops = tuple(GNN_OPS[int(i)] for i in rng.integers(len(GNN_OPS), size=NUM_COMPUTING))
        return link, ops

    def mutate(self, native: Any, rng: np.random.Generator) -> Arch:
        """One single change, uniformly: an op of one node to another op (4 * 8 moves) or the link to another of the 9
        link patterns (8 moves for a benchmark link, 40 in all; 9 for a link outside the patterns, which
        :meth:`decode` accepts, 41 in all).

        The result may lie outside the benchmark's encodings (and, for a link change, may even be equivalent to
        the parent); :meth:`canonical` maps it to the benchmark's form.
        """
        link, ops = _check_arch(native)
        other_links = [lk for lk in LINK_PATTERNS if lk != link]
        n_op_moves = NUM_COMPUTING * (len(GNN_OPS) - 1)
        move = int(rng.integers(n_op_moves + len(other_links)))
        if move >= n_op_moves:
            return other_links[move - n_op_moves], ops
        node, choice = divmod(move, len(GNN_OPS) - 1)
        others = [op for op in GNN_OPS if op != ops[node]]
        new_ops = list(ops)
        new_ops[node] = others[choice]
        return link, tuple(new_ops)

    def neighbours(self, native: Any) -> list[Arch]:
        """Every single change (see :meth:`mutate`): each node's op to each other op, then each other link."""
        link, ops = _check_arch(native)
        moved = [(link, (*ops[:v], op, *ops[v + 1:])) for v in range(NUM_COMPUTING) for op in GNN_OPS if op != ops[v]]
        return moved + [(lk, ops) for lk in LINK_PATTERNS if lk != link]

    def identity(self, native: Any) -> int:
        """The benchmark key of the architecture's class (equivalent encodings are one architecture)."""
        return arch_key(*self.canonical(native))

    def load_table(self, dataset: str):
        from fgp.tables import table_benchmark

        table = read_package_table(dataset)
        columns = {c: np.asarray(table[c], dtype=np.float64) for c in ("perf", "valid_perf", "latency")}
        columns["params"] = np.round(np.asarray(table["params"], dtype=np.float64) * 1e6)  # shipped in millions
        natives = list(zip(table["links"], table["ops"]))
        return table_benchmark(self, dataset, np.asarray(table["keys"], dtype=np.int64), columns, natives)

    def enumerate(self, dataset: str | None = None) -> Iterator[Arch]:
        """The benchmark's architectures in key order (26,206; 2,021 for ``dataset="proteins"``)."""
        for key in benchmark_keys(dataset):
            yield arch_from_key(int(key))
