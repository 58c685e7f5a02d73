"""NAS-Bench-201: a 4-node cell whose 6 edges each carry one of 5 operations (15,625 cells).

NB201 puts operations on edges; FGP needs operations on nodes, so every edge ``j -> i`` of the cell becomes an op
node. The op node of ``j -> i`` reads from the op nodes of the edges into cell node ``j`` (the input node when
``j = 0``) and feeds the op nodes of the edges out of cell node ``i`` (the output node when ``i = 3``). The default
graph keeps ``none`` as a node type (as the FGP paper and FlowerFormer do), which gives every cell the same 8-node
shape::

    0 input   1: 0->1   2: 0->2   3: 1->2   4: 0->3   5: 1->3   6: 2->3   7 output
    edges (0,1) (0,2) (0,4) (1,3) (1,5) (2,6) (3,6) (4,7) (5,7) (6,7)

``NB201Space(pruned=True)`` instead drops the ``none`` nodes (a ``none`` edge outputs zeros, so it cuts the path)
and every node left on no input-to-output path, so isomorphic cells get isomorphic graphs.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from fgp.graph import INPUT, OUTPUT, ArchGraph, induced_subgraph, nodes_on_io_paths
from fgp.spaces.base import SearchSpace, register_space

#: NB201's operations, in the order of its ``op_idx`` encoding (0 none ... 4 avg_pool_3x3).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
VOCAB: tuple[str, ...] = (INPUT, OUTPUT) + OPS
#: The cell's edges ``(j, i)`` (edge ``j -> i``) in arch-string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = len(EDGES)
NUM_ARCHS = len(OPS) ** NUM_EDGES  # 15,625

_OUT_NODE = NUM_EDGES + 1  # node 7 of the 8-node graph
_OP_LOOKUP = {op: k for k, op in enumerate(OPS)}
_TOKEN = re.compile(r"([A-Za-z0-9_]+)~(0|[1-9][0-9]*)")  # whole token (fullmatch): ASCII digits, no 00
# seed of the fixed shuffle with which NB201 numbered its cells (its `generate_meta_info`); verified against the
# `idx` column of nasbench201/nb201_labels.jsonl.gz
_NB201_SHUFFLE_SEED = 88


def _op_graph_edges() -> tuple[tuple[int, int], ...]:
    """Edges of the 8-node op graph: node ``k + 1`` is cell edge ``EDGES[k]``."""
    into = {i: [k + 1 for k, (_, dst) in enumerate(EDGES) if dst == i] for i in range(4)}
    edges = []
    for k, (j, i) in enumerate(EDGES):
        for p in into[j] if j > 0 else [0]:
            edges.append((p, k + 1))
        if i == 3:
            edges.append((k + 1, _OUT_NODE))
    return tuple(sorted(edges))


GRAPH_EDGES: tuple[tuple[int, int], ...] = _op_graph_edges()


def arch_str(op_idx: Sequence[int]) -> str:
    """The NB201 arch string of 6 op indices in edge order."""
    names = [OPS[int(k)] for k in op_idx]
    groups, k = [], 0
    for i in range(1, 4):
        groups.append("|" + "|".join(f"{names[k + j]}~{j}" for j in range(i)) + "|")
        k += i
    return "+".join(groups)


def parse_arch_str(text: str) -> list[int]:
    """The 6 op indices (edge order) of an NB201 arch string; ``ValueError`` naming what is malformed."""
    if not isinstance(text, str):
        raise ValueError(f"an NB201 arch string must be a str, got {type(text).__name__}")
    groups = text.strip().split("+")
    if len(groups) != 3:
        raise ValueError(
            f"malformed NB201 arch string {text!r}: expected 3 '+'-separated groups (one per cell node 1..3), "
            f"got {len(groups)}"
        )
    op_idx: list[int] = []
    for i, group in enumerate(groups, start=1):
        if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
            raise ValueError(f"malformed NB201 arch string {text!r}: group {i} {group!r} must be wrapped in '|'")
        tokens = group[1:-1].split("|")
        if len(tokens) != i:
            raise ValueError(
                f"malformed NB201 arch string {text!r}: group {i} must have {i} 'op~j' token(s), got {len(tokens)}"
            )
        for j, token in enumerate(tokens):
            m = _TOKEN.fullmatch(token)
            if m is None:
                raise ValueError(f"malformed NB201 arch string {text!r}: bad token {token!r} (expected 'op~j')")
            op, src = m.group(1), int(m.group(2))
            if src != j:
                raise ValueError(
                    f"malformed NB201 arch string {text!r}: token {token!r} in group {i} must come from node {j}, "
                    f"not {src}"
                )
            if op not in _OP_LOOKUP:
                raise ValueError(f"unknown NB201 op {op!r} in {text!r}; the ops are {list(OPS)}")
            op_idx.append(_OP_LOOKUP[op])
    return op_idx


def _as_op_idx(native: Any) -> list[int]:
    """Op indices from an arch string or a 6-int ``op_idx`` sequence."""
    if isinstance(native, str):
        return parse_arch_str(native)
    try:
        values = np.asarray(native)
    except Exception as exc:  # pragma: no cover - defensive
        raise ValueError(f"an NB201 cell must be an arch string or 6 op indices, got {native!r}") from exc
    if values.shape != (NUM_EDGES,) or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"an NB201 cell must be an arch string or 6 integer op indices, got {native!r}")
    if values.min() < 0 or values.max() >= len(OPS):
        raise ValueError(f"NB201 op indices must lie in 0..{len(OPS) - 1} ({list(OPS)}), got {values.tolist()}")
    return [int(v) for v in values]


@lru_cache(maxsize=1)
def official_order() -> tuple[str, ...]:
    """All 15,625 arch strings in NB201's official index order.

    NB201 generated its cells by counting in base 5 (first edge most significant, ops in ``OPS`` order) and then
    shuffled the list once with Python's ``random.seed(88); random.shuffle(...)``; ``idx`` is the position in the
    shuffled list. Python's seeded shuffle is stable across versions, so the order is reproduced exactly.
    """
    codes = list(itertools.product(range(len(OPS)), repeat=NUM_EDGES))
    random.Random(_NB201_SHUFFLE_SEED).shuffle(codes)
    return tuple(arch_str(c) for c in codes)


@lru_cache(maxsize=1)
def _index_lookup() -> dict[str, int]:
    return {s: i for i, s in enumerate(official_order())}


@register_space("nb201")
class NB201Space(SearchSpace):
    """NAS-Bench-201 cells as op-node graphs.

    Native encoding: the arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (``decode`` also takes the 6-int
    ``op_idx`` list). ``pruned=False`` (default) gives the fixed 8-node graph with ``none`` nodes kept.
    ``pruned=True`` drops ``none`` nodes and nodes on no input-to-output path; a cell whose output is cut off
    entirely (every path has a ``none``) becomes the 3-node graph ``input -> none -> output``, which stands for
    a cell whose output is all zeros. The pruned variant is many-to-one, so its ``encode`` raises ``ValueError``.
    """

    vocab = VOCAB
    surrogate = (7, 0.1)  # METHOD.md section 2
    datasets = {
        "cifar10": ("c10_test_acc_200", "c10_valid_acc_200", "c10_valid_test_acc_200", "c10_test_acc_200_nb201v11",
                    "c10_valid_acc_12", "c10_test_acc_12"),
        "naslib-zc": ("c10_naslib_val_acc", "c100_naslib_val_acc", "in16_naslib_val_acc"),
        "tnb101-micro": ("class_scene", "class_object", "jigsaw", "room_layout", "segmentsemantic", "normal",
                         "autoencoder"),
    }
    default_dataset = "cifar10"
    protocol_dataset = "cifar10"
    # Pruned graphs: a `none` edge cuts the path, so its node and the nodes it cuts off are left out, instead of
    # the paper's 8-node graph. Validation tau at 1%, supervised / ZC only / FGP: ResGatedGCN 80.3 / 82.3 / 83.9 vs
    # 77.9 / 81.8 / 83.2, GIN 80.6 / 81.8 / 81.7 vs 75.1 / 81.1 / 81.3; FlowerFormer supervised / FGP 81.9 / 81.9
    # vs 79.2 / 82.1 (benchmarks/archive/RESULTS-v0.1.md).
    graph_options = {"pruned": True}
    # L_aux ranks snip, chosen by validation Kendall tau of FGP at 1% over 9 runs: ResGatedGCN on the pruned graphs
    # 85.0 vs grad_norm 83.9; GIN on the 8-node graphs 81.3 vs 80.1 (ResGatedGCN there: grad_norm 81.0, synflow
    # 79.6, snip 80.7, the parameter count 75.5). Shipped for every cell (fgp/proxy_values).
    default_proxy = "snip"
    # a search sees the validation accuracy and reports the test accuracy of its best cell (naszilla, NASLib)
    search_labels = ("cifar10", "c10_valid_acc_200", "c10_test_acc_200")

    def __init__(self, pruned: bool = False):
        if not isinstance(pruned, (bool, np.bool_)):
            raise ValueError(f"pruned must be true or false, got {pruned!r}")
        self.pruned = bool(pruned)

    # conversions -----------------------------------------------------------------------------------------------

    def decode(self, native: Any) -> ArchGraph:
        op_idx = _as_op_idx(native)
        ops = [INPUT] + [OPS[k] for k in op_idx] + [OUTPUT]
        if not self.pruned:
            return ArchGraph(ops, GRAPH_EDGES, VOCAB)
        keep = np.array([op != "none" for op in ops])
        edges = [(s, d) for s, d in GRAPH_EDGES if keep[s] and keep[d]]
        keep &= nodes_on_io_paths(len(ops), edges, [0], _OUT_NODE)
        if not keep[_OUT_NODE]:
            # every path is cut by a `none` edge: the cell outputs zeros
            return ArchGraph([INPUT, "none", OUTPUT], [(0, 1), (1, 2)], VOCAB)
        return ArchGraph(*induced_subgraph(ops, edges, keep), VOCAB)

    def encode(self, graph: ArchGraph) -> str:
        """The arch string of an 8-node NB201 graph (any node numbering; the shape is checked)."""
        if self.pruned:
            raise ValueError(
                "the pruned NB201 representation is not invertible (pruning drops 'none' edges and dead nodes); "
                "use NB201Space(pruned=False) to encode graphs"
            )
        if graph.vocab != VOCAB:
            raise ValueError(f"not an NB201 graph: vocabulary {list(graph.vocab)} is not {list(VOCAB)}")
        order = _edge_nodes(graph)
        return arch_str([_OP_LOOKUP[graph.ops[v]] for v in order])

    # sampling --------------------------------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> str:
        """A uniformly random cell (each edge op uniform over the 5 ops), as an arch string."""
        return arch_str(rng.integers(0, len(OPS), size=NUM_EDGES))

    def mutate(self, native: Any, rng: np.random.Generator) -> str:
        """The cell with one uniformly chosen edge set to a uniformly chosen different op."""
        op_idx = _as_op_idx(native)
        edge = int(rng.integers(NUM_EDGES))
        shift = int(rng.integers(1, len(OPS)))
        op_idx[edge] = (op_idx[edge] + shift) % len(OPS)
        return arch_str(op_idx)

    def neighbours(self, native: Any) -> list[str]:
        """The 24 cells with one edge set to another op, edge by edge in string order."""
        op_idx = _as_op_idx(native)
        return [arch_str([*op_idx[:e], op, *op_idx[e + 1:]]) for e in range(NUM_EDGES) for op in range(len(OPS))
                if op != op_idx[e]]

    def identity(self, native: Any) -> str:
        """The cell's arch string (NB201 trains every one of its 15,625 cells, so each is its own architecture)."""
        return arch_str(_as_op_idx(native))

    def enumerate(self) -> Iterator[str]:
        """All 15,625 arch strings in NB201's official index order (see :func:`official_order`)."""
        return iter(official_order())

    def load_table(self, dataset: str):
        from fgp.tables import column, read_jsonl, table_benchmark, transnas_table

        if dataset == "tnb101-micro":
            # TNB101 micro op codes 0 none, 1 skip, 2 conv1x1, 3 conv3x3 coincide with NB201's op_idx 0..3
            return transnas_table(self, dataset, "transnas-bench-101/tnb101_micro_naslib_zc_subset.jsonl.gz", "code")
        relative = {
            "cifar10": "nasbench201/nb201_labels.jsonl.gz",
            "naslib-zc": "nasbench201/nb201_naslib_zc_subset.jsonl.gz",
        }[dataset]
        rows = read_jsonl(relative)
        columns = {c: column(rows, c) for c in self.datasets[dataset]}
        if dataset == "cifar10":
            columns["params"] = np.round(column(rows, "params_mb") * 1e6)
        index = np.array([r["idx"] for r in rows], dtype=np.int64)
        return table_benchmark(self, dataset, index, columns, [r["arch_str"] for r in rows])

    def index(self, native: Any) -> int:
        """The official NB201 index (``idx`` in the data files) of a cell."""
        return _index_lookup()[arch_str(_as_op_idx(native))]


def _edge_nodes(graph: ArchGraph) -> list[int]:
    """The graph node of every cell edge (string order), or ``ValueError`` if the graph is not NB201-shaped."""
    shape_error = ValueError(
        f"not an 8-node NB201 graph (input, 6 edge ops, output with edges {list(GRAPH_EDGES)}): {graph!r}"
    )
    if graph.num_nodes != 8 or len(graph.edges) != len(GRAPH_EDGES) or len(graph.inputs) != 1:
        raise shape_error
    inp, out = graph.inputs[0], graph.output
    succ = {v: graph.successors(v) for v in range(8)}
    # the shape has no non-trivial automorphism: each edge node is pinned down by its wiring
    try:
        (e03,) = [v for v in succ[inp] if succ[v] == [out]]
        (e01,) = [v for v in succ[inp] if len(succ[v]) == 2]
        (e02,) = [v for v in succ[inp] if v not in (e03, e01)]
        (e13,) = [v for v in succ[e01] if succ[v] == [out]]
        (e12,) = [v for v in succ[e01] if v != e13]
        (e23,) = succ[e02]
    except ValueError:
        raise shape_error from None
    order = [e01, e02, e12, e03, e13, e23]
    if len({inp, out, *order}) != 8:
        raise shape_error
    perm = [0] * 8
    for v, new in zip([inp] + order + [out], range(8)):
        perm[v] = new
    if set(graph.relabel(perm).edges) != set(GRAPH_EDGES):
        raise shape_error
    if any(graph.ops[v] not in _OP_LOOKUP for v in order):
        raise shape_error
    return order
