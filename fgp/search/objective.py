"""What a search queries: a benchmark's table (one label queried, another reported) or a user's own function.

A benchmark search reports what a real one could know: the queried value picks the best architecture so far, and
the reported value is that architecture's other label (NB201: the search sees ``c10_valid_acc_200`` and reports the
``c10_test_acc_200`` of the best-by-validation cell, as naszilla and NASLib do). The search space is restricted to
the table's architectures (NB101: its 30,001 labelled cells of the 423,624).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

import numpy as np

from fgp.spaces import SearchSpace, get_space


class TableSpace(SearchSpace):
    """A search space restricted to the architectures of a table: samples are table rows, and mutations and
    neighbours leave out what the table does not hold. Every architecture it gives is in the table's own encoding,
    so a predictor sees the very graphs it pre-trained on (NAS-Bench-Graph and NB101 have several encodings of one
    architecture)."""

    def __init__(self, base: SearchSpace, natives: list[Any]):
        self.base = base
        self.name, self.vocab = base.name, base.vocab
        self.natives = natives
        self.rows = {base.identity(a): i for i, a in enumerate(natives)}
        self._neighbours: dict[Hashable, list[Any]] = {}

    def decode(self, native: Any):
        return self.base.decode(native)

    def identity(self, native: Any) -> Hashable:
        return self.base.identity(native)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.natives[int(rng.integers(len(self.natives)))]

    def enumerate(self) -> Iterator[Any]:
        return iter(self.natives)

    def row(self, native: Any) -> int | None:
        """The table row of an architecture, None when the table does not hold it (or the space has no such
        architecture at all, e.g. NAS-Bench-Graph's all-skip cells)."""
        try:
            return self.rows.get(self.base.identity(native))
        except ValueError:
            return None

    def neighbours(self, native: Any) -> list[Any]:
        """The base space's neighbours that the table holds, as its rows, remembered per architecture: searches ask
        for the same ones again and again, and NB101's take about 50 ms each."""
        key = self.base.identity(native)
        if key not in self._neighbours:
            rows = [self.row(a) for a in self.base.neighbours(native)]
            self._neighbours[key] = [self.natives[r] for r in rows if r is not None]
        return list(self._neighbours[key])

    def mutate(self, native: Any, rng: np.random.Generator) -> Any:
        moves = self.neighbours(native)
        return moves[int(rng.integers(len(moves)))] if moves else self.sample(rng)


class BenchmarkObjective:
    """Look-ups in a benchmark table: ``query(arch)`` is the label the search sees, ``report(arch)`` the one it
    reports (None where the table has none)."""

    def __init__(self, space: str, dataset: str | None = None, query: str | None = None, report: str | None = None):
        from fgp.datasets import load_benchmark
        from fgp.spaces import list_spaces, space_class

        labels = space_class(space).search_labels
        if labels is None:
            searchable = [name for name in list_spaces() if space_class(name).search_labels is not None]
            raise ValueError(f"no benchmark search on {space!r}; spaces: {searchable}. Search any space with your own "
                             "objective from Python: fgp.search.search(your_objective, space=...)")
        default_dataset, default_query, default_report = labels
        self.dataset = dataset or default_dataset
        self.query_label = query or default_query
        self.report_label = report if report is not None else default_report
        bench = load_benchmark(space, self.dataset, self.query_label)
        for label in (self.query_label, self.report_label):
            if label is not None and label not in bench.columns:
                raise ValueError(f"{space}/{self.dataset} has no column {label!r}")
        self.space = TableSpace(get_space(space), list(bench.natives))
        self.queried = bench.columns[self.query_label]
        self.reported = None if self.report_label is None else bench.columns[self.report_label]

    def _row(self, arch: Any) -> int:
        row = self.space.row(arch)
        if row is None:
            raise ValueError(f"architecture {arch!r} is not in the {self.space.name}/{self.dataset} table")
        return row

    def query(self, arch: Any) -> float:
        return float(self.queried[self._row(arch)])

    def report(self, arch: Any) -> float | None:
        return None if self.reported is None else float(self.reported[self._row(arch)])

    def best_possible(self) -> tuple[float, float | None]:
        """The best queried value in the table and the reported value of that architecture (the optimum a search
        can find)."""
        i = int(np.argmax(self.queried))
        return float(self.queried[i]), None if self.reported is None else float(self.reported[i])


class CallableObjective:
    """A user's own ``arch -> score`` (e.g. a training run): the search queries and reports what it returns."""

    def __init__(self, function: Callable[[Any], float], space: SearchSpace):
        if not callable(function):
            raise ValueError(f"the objective must be callable (arch -> score), got {type(function).__name__}")
        self.function, self.space = function, space

    def query(self, arch: Any) -> float:
        try:
            value = float(self.function(arch))
        except Exception as exc:  # noqa: BLE001  the user's code: name the architecture that failed
            raise ValueError(f"the objective raised on architecture {arch!r}: {type(exc).__name__}: {exc}") from exc
        if not np.isfinite(value):
            raise ValueError(f"the objective returned {value} for architecture {arch!r}; scores must be finite")
        return value

    def report(self, arch: Any) -> float | None:
        return None
