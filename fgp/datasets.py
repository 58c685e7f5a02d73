"""Real benchmarks as graphs + labels: ``load_benchmark(space, dataset=..., label=...)``.

Sources: the tables under ``FGP_DATA`` (NB201, NB101, TransNAS-Bench-101 micro) and the installed PyPI package
``nas-bench-graph`` (the embedded default, so the main job runs after a plain ``pip install``).
"""

from __future__ import annotations

import functools
import gzip
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fgp.batch import GraphBatch
from fgp.graph import ArchGraph
from fgp.paths import data_file
from fgp.spaces import get_space, list_spaces, non_default_options, representation, space_class


@dataclass
class Benchmark:
    """Architectures of one benchmark table with their labels and extra columns, in the table's row order."""

    space: str
    dataset: str
    label: str | None
    index: np.ndarray  # the benchmark's own architecture ids (NB201 idx, NB101 hash, NAS-Bench-Graph key)
    y: np.ndarray | None  # the chosen label column, float64, no NaN
    columns: dict[str, np.ndarray]  # every numeric column (labels, parameter counts, ...)
    vocab: tuple[str, ...]
    _graphs: Callable[[], Sequence[ArchGraph]] = field(repr=False)
    _batch: Callable[[], GraphBatch] | None = field(default=None, repr=False)
    natives: Sequence[Any] | None = field(default=None, repr=False)  # the native encodings, in row order
    space_options: dict[str, Any] = field(default_factory=dict)  # the space's non-default options, e.g. pruned

    def __len__(self) -> int:
        return len(self.index)

    @functools.cached_property
    def graphs(self) -> Sequence[ArchGraph]:
        return self._graphs()

    @functools.cached_property
    def _cached_batch(self) -> GraphBatch:
        batch = self._batch() if self._batch is not None else GraphBatch.from_graphs(self.graphs, self.vocab)
        return batch.with_representation(representation(self.space, self.space_options))

    def batch(self) -> GraphBatch:
        """All architectures as one :class:`GraphBatch` (built once)."""
        return self._cached_batch

    @property
    def label_columns(self) -> tuple[str, ...]:
        """The columns that are performance labels (the first is the default label)."""
        return space_class(self.space).datasets[self.dataset]


NB101_PROTOCOL_ROWS = 14_580


def benchmark_spaces() -> list[str]:
    """The search spaces with benchmark tables, i.e. those :func:`load_benchmark` can load."""
    return [name for name in list_spaces() if space_class(name).datasets]


def list_datasets(space: str) -> tuple[str, ...]:
    """The benchmark datasets of ``space`` (its class's ``datasets``); an unknown space raises ``ValueError``."""
    return tuple(space_class(space).datasets)


def _read_jsonl(relative: str) -> list[dict]:
    path = data_file(relative)
    try:
        with gzip.open(path, "rt") as fh:
            return [json.loads(line) for line in fh]
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read benchmark file {path}: {exc}") from exc


def _column(rows: list[dict], key: str, getter: Callable[[dict], object] | None = None) -> np.ndarray:
    get = getter or (lambda r: r.get(key))
    return np.array([_as_float(get(r)) for r in rows], dtype=np.float64)


def _as_float(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def load_benchmark(
    space: str,
    dataset: str | None = None,
    label: str | None = None,
    drop_missing: bool = False,
    space_options: Mapping[str, Any] | None = None,
) -> Benchmark:
    """Load a benchmark table as graphs, labels (``label``, default per dataset) and extra columns.

    Architectures whose chosen label is missing or NaN raise a ``ValueError`` that counts them; with
    ``drop_missing=True`` they are left out instead. Nothing unlabelled is ever used silently. ``space_options``
    choose the graph representation (e.g. ``{"pruned": True}`` on NB201: ``none`` edges cut the path); the
    architectures, labels and columns do not change with it.
    """
    options = non_default_options(space, space_options)
    space_obj = get_space(space, **options)
    datasets = list_datasets(space)
    if not datasets:
        raise ValueError(
            f"no benchmark data exist for search space {space!r}; spaces with data: {benchmark_spaces()}"
        )
    dataset = dataset or space_class(space).default_dataset
    if dataset not in datasets:
        raise ValueError(f"unknown dataset {dataset!r} for space {space!r}; choose one of {list(datasets)}")
    bench = _LOADERS[space](space_obj, dataset)
    bench.space_options = options
    labels = bench.label_columns
    if not labels:
        if label is not None:
            raise ValueError(f"{space}/{dataset} is unlabelled; it has no label {label!r}")
        return bench
    label = label or labels[0]
    if label not in labels:
        raise ValueError(f"unknown label {label!r} for {space}/{dataset}; choose one of {list(labels)}")
    y = bench.columns[label]
    missing = ~np.isfinite(y)
    if missing.any():
        if not drop_missing:
            raise ValueError(
                f"{int(missing.sum())} of {len(y)} architectures of {space}/{dataset} have no {label!r} label "
                "(missing or NaN); choose another label, or leave them out with load_benchmark(..., drop_missing=True)"
            )
        bench = _take(bench, np.flatnonzero(~missing))
        y = bench.columns[label]
    bench.label, bench.y = label, y
    return bench


def _take(bench: Benchmark, rows: np.ndarray) -> Benchmark:
    graphs = bench.graphs
    return Benchmark(
        space=bench.space,
        dataset=bench.dataset,
        label=bench.label,
        index=bench.index[rows],
        y=None,
        columns={k: v[rows] for k, v in bench.columns.items()},
        vocab=bench.vocab,
        _graphs=lambda: [graphs[i] for i in rows],
        natives=None if bench.natives is None else [bench.natives[i] for i in rows],
        space_options=bench.space_options,
    )


# loaders ---------------------------------------------------------------------------------------------------


def _load_transnas(space, dataset: str, relative: str, native_key: str) -> Benchmark:
    rows = _read_jsonl(relative)
    natives = [r[native_key] for r in rows]
    columns = {t: _column(rows, t, lambda r, t=t: r["val"].get(t)) for t in space.datasets[dataset]}
    return Benchmark(space.name, dataset, None, np.array([r["arch_str"] for r in rows]), None, columns,
                     space.vocab, _graphs=lambda: [space.decode(a) for a in natives], natives=natives)


def _load_tnb101_macro(space, dataset: str) -> Benchmark:
    return _load_transnas(space, dataset, "transnas-bench-101/tnb101_macro_naslib_zc_subset.jsonl.gz", "arch_str")


def _load_nb201(space, dataset: str) -> Benchmark:
    if dataset == "tnb101-micro":
        # TNB101 micro op codes 0 none, 1 skip, 2 conv1x1, 3 conv3x3 coincide with NB201's op_idx 0..3
        return _load_transnas(space, dataset, "transnas-bench-101/tnb101_micro_naslib_zc_subset.jsonl.gz", "code")
    relative = {
        "cifar10": "nasbench201/nb201_labels.jsonl.gz",
        "naslib-zc": "nasbench201/nb201_naslib_zc_subset.jsonl.gz",
    }[dataset]
    rows = _read_jsonl(relative)
    natives = [r["arch_str"] for r in rows]
    index = np.array([r["idx"] for r in rows], dtype=np.int64)
    columns = {c: _column(rows, c) for c in space.datasets[dataset]}
    if dataset == "cifar10":
        columns["params"] = np.round(_column(rows, "params_mb") * 1e6)
    return Benchmark(space.name, dataset, None, index, None, columns, space.vocab,
                     _graphs=lambda: [space.decode(a) for a in natives], natives=natives)


def _load_nb101(space, dataset: str) -> Benchmark:
    from fgp.spaces import nb101

    if dataset == "space":
        arrays = nb101.load_space_arrays(data_file("nasbench101/nb101_space_all.npz"))
        return Benchmark(
            space.name, dataset, None, np.asarray(arrays["hash"]), None, {}, space.vocab,
            _graphs=lambda: _LazyGraphs(len(arrays["hash"]), lambda i: _nb101_space_graph(space, arrays, i)),
            _batch=lambda: nb101.space_batch(arrays),
        )
    rows = _read_jsonl("nasbench101/nb101_val_30k.jsonl.gz")
    if dataset == "cifar10":
        rows = rows[:NB101_PROTOCOL_ROWS]
    natives = [(r["adjacency"], r["ops"]) for r in rows]
    columns = {c: _column(rows, c) for c in space.datasets[dataset] + ("params", "train_time_108")}
    return Benchmark(space.name, dataset, None, np.array([r["hash"] for r in rows]), None, columns, space.vocab,
                     _graphs=lambda: [space.decode(a) for a in natives], natives=natives)


def _nb101_space_graph(space, arrays, i: int) -> ArchGraph:
    n = int(arrays["num_nodes"][i])
    ops = [space.vocab[o] for o in arrays["ops"][i, :n]]
    return space.decode((arrays["adjacency"][i, :n, :n].astype(int), ops))


def _load_nbgraph(space, dataset: str) -> Benchmark:
    from fgp.spaces import nbgraph

    table = nbgraph.load_table(dataset)
    natives = list(zip(table["links"], table["ops"]))
    columns = {c: np.asarray(table[c], dtype=np.float64) for c in ("perf", "valid_perf", "latency")}
    columns["params"] = np.round(np.asarray(table["params"], dtype=np.float64) * 1e6)  # shipped in millions
    return Benchmark(space.name, dataset, None, np.asarray(table["keys"], dtype=np.int64), None, columns,
                     space.vocab, _graphs=lambda: [space.decode(a) for a in natives], natives=natives)


_LOADERS = {"nb201": _load_nb201, "nb101": _load_nb101, "nbgraph": _load_nbgraph, "tnb101_macro": _load_tnb101_macro}


class _LazyGraphs(Sequence):
    """A read-only sequence that decodes a graph only when it is accessed (the NB101 space has 423,624)."""

    def __init__(self, n: int, make: Callable[[int], ArchGraph]):
        self._n, self._make = n, make

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._n))]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return self._make(i % self._n)
