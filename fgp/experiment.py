"""The published protocol as a grid of runs, one JSON line per finished run (:mod:`fgp.results`).

A run is (encoder, pre-training, ratio, training seed, permutation seed) on one benchmark. Every run's predictor is
``Predictor.for_space`` with the grid's overrides (so a grid runs the same settings a user gets), fitted on the
protocol's split; pre-training is label-free, so one pre-trained encoder (pre-training seed 0) serves every run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import fgp
from fgp.batch import unseen_ids
from fgp.datasets import Benchmark, list_datasets, load_benchmark
from fgp.metrics import ranking_metrics
from fgp.parallel import check_pool, run_in_phases
from fgp.predictor import Predictor
from fgp.progress import progress_bar, show_details
from fgp.results import append_result, config_id, resume_results, run_key
from fgp.spaces import representation
from fgp.splits import protocol_runs, protocol_split
from fgp.validation import positive_int, torch_device


@dataclass
class ExperimentConfig:
    """Everything that determines the numbers of a grid of runs (each run records its resolved part).

    ``encoder_kwargs`` holds options per encoder name; the other option dicts apply to every run, over the
    recipe of its (space, encoder) (:mod:`fgp.recipes`). ``proxy`` / ``proxy_network`` replace the recipe's
    ``L_aux`` proxy; ``space_options`` the space's graph representation. ``transductive``: pre-train on every
    architecture of the benchmark (labels unused), else on the training pool only; ``pretrain_dataset`` adds the
    architectures of another dataset of the space to that set.
    """

    space: str
    dataset: str | None = None
    label: str | None = None
    encoders: Sequence[str] = ("gatedgcn",)
    pretrains: Sequence[str | None] = (None, "fgp")
    ratios: Sequence[float] = (0.01,)
    runs: int = 9
    transductive: bool = True
    pretrain_dataset: str | None = None
    proxy: str | None = None
    proxy_network: dict[str, Any] | None = None
    head_hidden: int | None = None
    ensemble: int = 1
    encoder_kwargs: dict[str, dict] = field(default_factory=dict)
    pretrain_kwargs: dict[str, Any] = field(default_factory=dict)
    finetune_kwargs: dict[str, Any] = field(default_factory=dict)
    space_options: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Reject a bad grid before any data is loaded or any model trained."""
        from fgp.encoders import list_encoders
        from fgp.pretrain import list_pretexts

        for e in self.encoders:
            if e not in list_encoders():
                raise ValueError(f"unknown encoder {e!r}; choose from {list_encoders()}")
        for p in self.pretrains:
            if p is not None and p not in list_pretexts():
                raise ValueError(f"unknown pre-training {p!r}; choose none or one of {list_pretexts()}")
        for r in self.ratios:
            if not 0 < r <= 1:
                raise ValueError(f"training ratio must be in (0, 1], got {r}")
        protocol_runs(self.runs)  # validates 1..9
        positive_int(self.ensemble, "ensemble")
        if not (self.encoders and self.pretrains and self.ratios):
            raise ValueError("the grid is empty: give at least one encoder, pre-training and ratio")
        if self.pretrain_dataset is not None:
            if self.pretrain_dataset not in list_datasets(self.space):
                raise ValueError(f"pre-training dataset of {self.space} must be one of "
                                 f"{list(list_datasets(self.space))}, got {self.pretrain_dataset!r}")
            if not self.transductive:
                raise ValueError("a pre-training dataset adds architectures to the transductive pre-training set; "
                                 "it cannot be combined with pre-training on the training pool only")
        for encoder in self.encoders:  # every run's options resolved once: a bad one fails now, not hours later
            for pretrain in self.pretrains:
                self.run_config(encoder, pretrain)

    def predictor(self, encoder: str, pretrain: str | None, seed: int = 0, device: str | None = None) -> Predictor:
        """The predictor of one run: ``Predictor.for_space`` with this grid's overrides."""
        overrides: dict[str, Any] = {}
        if self.proxy is not None:
            overrides["proxy"] = self.proxy
        if self.proxy_network is not None:
            overrides["proxy_network"] = dict(self.proxy_network)
        if self.space_options is not None:
            overrides["space_options"] = dict(self.space_options)
        return Predictor.for_space(
            self.space, encoder, pretrain, dataset=self.dataset, head_hidden=self.head_hidden,
            ensemble=self.ensemble, encoder_kwargs=self.encoder_kwargs.get(encoder),
            pretrain_kwargs=dict(self.pretrain_kwargs) if pretrain else None,
            finetune_kwargs=dict(self.finetune_kwargs), seed=seed, device=device, **overrides)

    def run_config(self, encoder: str, pretrain: str | None) -> dict[str, Any]:
        """The resolved options (defaults included) of one (encoder, pre-training) pair, as recorded with every
        result and hashed into ``config_id``: a change of a library default makes a new configuration."""
        resolved = self.predictor(encoder, pretrain).resolved_config()
        resolved["transductive"] = self.transductive if pretrain else None
        resolved["pretrain_dataset"] = self.pretrain_dataset if pretrain else None
        return resolved

    def graph_options(self) -> dict[str, Any]:
        """The space options of the grid's graphs (the recipe's representation unless ``space_options``)."""
        return self.predictor(self.encoders[0], None).resolved_config()["space_options"]


def run_experiment(
    config: ExperimentConfig,
    out: str | os.PathLike | None = None,
    device: str | None = None,
    progress: bool = True,
    benchmark: Benchmark | None = None,
    workers: int = 1,
    backend: str = "local",
    address: str | None = None,
) -> list[dict]:
    """Run every missing run of the grid; return the records of the grid (old and new), in grid order.

    ``workers > 1`` runs them in that many processes of one torch thread each (the same numbers as one process:
    every run is seeded, and a pre-training is computed once, by the first run that needs it, before the runs that
    share it start); each finished run is appended as it arrives. ``backend="ray"`` spreads them over a Ray
    cluster (:mod:`fgp.parallel`)."""
    out_path = Path(out) if out is not None else None
    finished = resume_results(out_path) if out_path is not None else []  # a bad --out fails before the loading
    if device is not None:
        torch_device(device)  # and so does a bad device
    pooled = check_pool(workers, backend, address)
    if pooled and benchmark is not None:
        raise ValueError("workers load the benchmark themselves: pass benchmark= only with workers=1")
    grid = _Grid(config, benchmark, progress)
    done = {run_key(r): r for r in finished}
    runs = [(spec, grid.base(*spec)) for spec in grid.specs()]
    todo = [spec for spec, base in runs if run_key(base) not in done]
    bar = progress_bar(len(runs), unit="run", enabled=progress)
    bar.update(len(runs) - len(todo))

    def finish(record: dict) -> None:
        if out_path is not None:
            append_result(out_path, record, key=run_key)  # a concurrent writer's copy of the run is kept instead
        done[run_key(record)] = record
        bar.set_postfix(tau=f"{record['kendall_tau']:.3f}", p1=f"{record['precision_at_1']:.3f}", refresh=False)
        bar.update(1)

    if not pooled:
        for spec in todo:
            bar.set_description("{}/{} ratio={} seed={} perm={}".format(*spec[:2], *spec[2:]), refresh=False)
            finish(grid.run(spec, device, bar))
    else:  # first one run of each pre-training (so each is computed once and cached), then all the others
        first = list({spec[:2]: spec for spec in reversed(todo) if spec[1] is not None}.values())
        phases = [[(spec, device) for spec in first], [(spec, device) for spec in todo if spec not in first]]
        run_in_phases(phases, _run_in_worker, finish, workers, _start_worker, (config,), backend, address)
    bar.close()
    return [done[run_key(base)] for _, base in runs]


class _Grid:
    """A grid's benchmark, graphs, pre-training set and proxies, loaded once per process, and its runs."""

    def __init__(self, config: ExperimentConfig, benchmark: Benchmark | None, progress: bool):
        self.config = config
        graph_options = config.graph_options()
        bench = benchmark or load_benchmark(config.space, config.dataset, config.label, space_options=graph_options)
        if representation(bench.space, bench.space_options) != representation(config.space, graph_options):
            raise ValueError(f"the benchmark's graphs were loaded with space options {bench.space_options}, the "
                             f"configuration asks for {graph_options}")
        if bench.y is None:
            raise ValueError(f"{bench.space}/{bench.dataset} is unlabelled: the protocol needs labels")
        self.bench, self.batch = bench, bench.batch()
        # the transductive pre-training set: the benchmark's architectures, then those of the pre-training dataset
        # that are not among them
        extra = extra_rows = None
        self.pretrain_batch = self.batch
        if any(p is not None for p in config.pretrains) and config.pretrain_dataset is not None:
            extra = load_benchmark(config.space, config.pretrain_dataset, space_options=graph_options)
            extra_rows = unseen_ids(self.batch, extra.batch())
            if extra_rows.size:
                self.pretrain_batch = self.batch.concat(extra.batch().subset(extra_rows))
        self.proxies = _ProxyTable(bench, extra, extra_rows, progress)

    def specs(self) -> list[tuple]:
        c = self.config
        return [(encoder, pretrain, ratio, seed, perm) for encoder in c.encoders for pretrain in c.pretrains
                for ratio in c.ratios for seed, perm in protocol_runs(c.runs)]

    def base(self, encoder, pretrain, ratio, seed, perm) -> dict:
        """A run's keys (what makes it the same run in any file)."""
        return {"space": self.bench.space, "dataset": self.bench.dataset, "label": self.bench.label,
                "encoder": encoder, "pretrain": pretrain or "none", "ratio": ratio, "seed": seed, "permutation": perm,
                "config_id": config_id(self.config.run_config(encoder, pretrain))}

    def run(self, spec: tuple, device: str | None, bar=None) -> dict:
        encoder, pretrain, ratio, seed, perm = spec
        run_cfg = self.config.run_config(encoder, pretrain)
        predictor = self.config.predictor(encoder, pretrain, seed=seed, device=device)
        proxy = self.proxies.values(run_cfg) if pretrain else None
        record = {**self.base(*spec), **_one_run(self.bench, self.batch, self.pretrain_batch, proxy, predictor, ratio,
                                                 perm, self.config, bar)}
        record.update(config=run_cfg, fgp_version=fgp.__version__, finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
        return record


_WORKER_GRID: _Grid | None = None


def _start_worker(config: ExperimentConfig) -> None:
    import torch

    global _WORKER_GRID
    torch.set_num_threads(1)
    _WORKER_GRID = _Grid(config, None, progress=False)


def _run_in_worker(job: tuple) -> dict:
    spec, device = job
    assert _WORKER_GRID is not None
    return _WORKER_GRID.run(spec, device)


class _ProxyTable:
    """The ``L_aux`` proxy of the benchmark's architectures and of the pre-training set, per (proxy, network
    options), loaded (or computed) once for the runs that share it and never for runs that rank none."""

    def __init__(self, bench: Benchmark, extra: Benchmark | None, extra_rows: np.ndarray | None, progress: bool):
        self.bench, self.extra, self.extra_rows, self.progress = bench, extra, extra_rows, progress
        self.loaded: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def values(self, run_cfg: dict) -> tuple[np.ndarray, np.ndarray] | None:
        name, network = run_cfg["proxy"], run_cfg["proxy_network"]
        if name is None:  # the run's pretext task ranks no proxy (l2 = 0)
            return None
        key = json.dumps([name, network], sort_keys=True)
        if key not in self.loaded:
            values = pretrain_values = proxy_values(self.bench, name, self.progress, network=network)
            if self.extra is not None:
                extra_values = proxy_values(self.extra, name, self.progress, network=network)
                pretrain_values = np.concatenate([values, extra_values[self.extra_rows]])
            self.loaded[key] = (values, pretrain_values)
        return self.loaded[key]


def proxy_values(bench: Benchmark, name: str, progress: bool = True,
                 network: dict[str, Any] | None = None) -> np.ndarray:
    """The zero-cost proxy behind L_aux: a benchmark column (e.g. shipped ``params``) or a computed proxy; a
    comma-separated list gives one column per proxy (L_aux ranks each). Computed proxies are scored together, so
    network proxies share one network build per architecture; ``network`` overrides their networks' builder
    options (:func:`fgp.proxies.compute_proxies`)."""
    names = [n.strip() for n in name.split(",")]
    computed = [n for n in names if n not in bench.columns]
    if network and not computed:
        raise ValueError(f"network options {network} apply to computed proxies, but {name!r} is read from the "
                         "benchmark table")
    values: dict[str, np.ndarray] = {}
    if computed:
        from fgp.proxies import compute_proxies, list_proxies

        for n in computed:
            if n not in list_proxies():
                raise ValueError(f"unknown proxy {n!r}: neither a column of {bench.space}/{bench.dataset} "
                                 f"({sorted(bench.columns)}) nor a zero-cost proxy ({list_proxies()})")
        values = compute_proxies(bench.space, bench, computed, progress=progress, network=network or None)
    columns = [bench.columns[n] if n in bench.columns else values[n] for n in names]
    return columns[0] if len(columns) == 1 else np.column_stack(columns)


def _one_run(bench, batch, pretrain_batch, proxy, predictor: Predictor, ratio, perm, config, bar) -> dict:
    split = protocol_split(len(bench), ratio, perm, bench.space, dataset=bench.dataset)
    fit_args: dict[str, Any] = {}
    if predictor.pretrain:
        # pre-training sees every architecture (transductive: the same set for every run) or the training pool only
        fit_args["unlabeled"] = pretrain_batch if config.transductive else batch.subset(split.pool)
        if proxy is not None:
            values, pretrain_values = proxy
            fit_args["proxy_values"] = values[split.train]
            fit_args["unlabeled_proxy_values"] = pretrain_values if config.transductive else values[split.pool]

    def on_epoch(stage: str, epoch: int, rec: dict) -> None:
        show_details(bar, stage=stage, epoch=epoch)

    predictor.fit(batch.subset(split.train), bench.y[split.train], val_archs=batch.subset(split.val),
                  val_y=bench.y[split.val], progress=on_epoch if bar is not None else None, **fit_args)
    test = batch.subset(split.test)
    start = time.perf_counter()
    pred = predictor.predict(test)
    infer_seconds = time.perf_counter() - start
    info = predictor.info_
    pre = info.get("pretrain") or {}
    return {
        **ranking_metrics(pred, bench.y[split.test]),
        "n_train": len(split.train),
        "n_val": len(split.val),
        "n_test": len(split.test),
        "pretrain_graphs": int(pre.get("graphs", 0)),
        "pretrain_seconds": float(pre.get("seconds", 0.0)),
        "pretrain_cached": bool(pre.get("cached", False)),
        "finetune_seconds": float(info["finetune"]["seconds"]),
        "best_epoch": info["finetune"]["best_epoch"],
        "best_val_tau": info["finetune"]["best_val_tau"],
        "inference_archs_per_second": len(split.test) / max(infer_seconds, 1e-9),
    }


