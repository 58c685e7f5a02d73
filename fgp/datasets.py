"""Real benchmarks as graphs + labels: ``load_benchmark(space, dataset=..., label=...)``.

Each space reads its own tables (``SearchSpace.load_table``): under ``FGP_DATA`` (NB201, NB101, TransNAS-Bench-101)
or from the installed PyPI package ``nas-bench-graph`` (the embedded default, so the main job runs after a plain
``pip install``). Here the label is chosen and checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fgp.spaces import get_space, list_spaces, non_default_options, space_class
from fgp.tables import Benchmark

__all__ = ["Benchmark", "benchmark_spaces", "list_datasets", "load_benchmark"]


def benchmark_spaces() -> list[str]:
    """The search spaces with benchmark tables, i.e. those :func:`load_benchmark` can load."""
    return [name for name in list_spaces() if space_class(name).datasets]


def list_datasets(space: str) -> tuple[str, ...]:
    """The benchmark datasets of ``space`` (its class's ``datasets``); an unknown space raises ``ValueError``."""
    return tuple(space_class(space).datasets)


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
    bench = space_obj.load_table(dataset)
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
