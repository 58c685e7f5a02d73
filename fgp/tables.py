"""Benchmark tables: a space's architectures in a table's row order, with their numeric columns.

Each search space reads its own files (``SearchSpace.load_table``); what they share lives here: the
:class:`Benchmark` they return, the readers of gzipped JSON Lines tables and of TransNAS-Bench-101's subsets, and a
lazily decoded sequence of graphs. Labels are chosen by :func:`fgp.datasets.load_benchmark`.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fgp.batch import GraphBatch
from fgp.graph import ArchGraph
from fgp.paths import data_file


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
        from fgp.spaces import representation

        return batch.with_representation(representation(self.space, self.space_options))

    def batch(self) -> GraphBatch:
        """All architectures as one :class:`GraphBatch` (built once)."""
        return self._cached_batch

    @property
    def label_columns(self) -> tuple[str, ...]:
        """The columns that are performance labels (the first is the default label)."""
        from fgp.spaces import space_class

        return space_class(self.space).datasets[self.dataset]


def table_benchmark(space, dataset: str, index: np.ndarray, columns: dict[str, np.ndarray],
                    natives: Sequence[Any] | None, graphs: Callable[[], Sequence[ArchGraph]] | None = None,
                    batch: Callable[[], GraphBatch] | None = None) -> Benchmark:
    """A benchmark whose graphs are ``space``'s decodings of ``natives`` (decoded when first asked for), or what
    ``graphs`` / ``batch`` build where a table has no native encodings to keep."""
    decode = graphs or (lambda: [space.decode(a) for a in natives])
    return Benchmark(space.name, dataset, None, np.asarray(index), None, columns, space.vocab, _graphs=decode,
                     _batch=batch, natives=natives)


def read_jsonl(relative: str) -> list[dict]:
    path = data_file(relative)
    try:
        with gzip.open(path, "rt") as fh:
            return [json.loads(line) for line in fh]
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read benchmark file {path}: {exc}") from exc


def column(rows: list[dict], key: str, getter: Callable[[dict], object] | None = None) -> np.ndarray:
    get = getter or (lambda r: r.get(key))
    return np.array([_as_float(get(r)) for r in rows], dtype=np.float64)


def _as_float(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def transnas_table(space, dataset: str, relative: str, native_key: str) -> Benchmark:
    """A TransNAS-Bench-101 subset file (NASLib's zero-cost release): one row per architecture, its task
    results under ``val``."""
    rows = read_jsonl(relative)
    natives = [r[native_key] for r in rows]
    columns = {t: column(rows, t, lambda r, t=t: r["val"].get(t)) for t in space.datasets[dataset]}
    return table_benchmark(space, dataset, np.array([r["arch_str"] for r in rows]), columns, natives)


class LazyGraphs(Sequence):
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
