"""The published protocol as a grid of runs, one JSON line per finished run, and its summary table.

A run is (encoder, pre-training, ratio, training seed, permutation seed) on one benchmark. Results are appended to
a JSON Lines file, each line carrying the full configuration and the package version, so a file is its own record;
a rerun skips the runs already in it, and a line is written in one piece only when its run has finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import fgp
from fgp.datasets import Benchmark, list_datasets, load_benchmark
from fgp.io import check_output
from fgp.metrics import ranking_metrics
from fgp.predictor import ENSEMBLE_PRETRAIN, Predictor, unseen_ids
from fgp.progress import progress_bar, show_details
from fgp.spaces import SearchSpace, get_space, non_default_options
from fgp.splits import check_permutation_scheme, protocol_runs, protocol_split
from fgp.validation import one_of, positive_int, torch_device

METRIC_KEYS = (
    "kendall_tau",
    "spearman",
    "precision_at_1",
    "precision_at_5",
    "precision_at_10",
    "precision_at_50",
)
# The L_aux proxy per space, chosen by validation Kendall tau of FGP at 1% over 9 runs (benchmarks/RESULTS.md
# sections 2 and 3); ZC-only pre-training, FGP without L_rec, ranks the same proxy. NB201: snip (ResGatedGCN on the
# pruned graphs 85.0 vs grad_norm 83.9; GIN on the 8-node graphs 81.3 vs 80.1; on the 8-node graphs ResGatedGCN had
# validated grad_norm highest: 81.0, synflow 79.6, snip 80.7, the parameter count 75.5 with directed messages).
# Elsewhere the shipped parameter count: free.
DEFAULT_PROXY = {"nb201": "snip"}
# Per (space, encoder) exceptions, with the options of the networks the proxy is scored on. On NB101 both plain GNNs
# rank snip scored on 16-channel-stem networks: GIN 78.2 vs 74.9 with the parameter count (8 of 9 runs better;
# 75.3 vs 74.2 with end-to-end fine-tuning), ResGatedGCN with both edge directions 77.9 vs 76.4 (77.8 vs 76.7 end to
# end; grad_norm 76.3, nwot 76.2, synflow 74.6). FlowerFormer on NB201 ranks grad_norm, as measured, and on NB101
# grad_norm on 16-channel stems: 75.6 vs 74.5 with the parameter count on the authors' splits, 75.8 vs 73.8 on the
# earlier ones (snip 75.0, synflow 73.9).
DEFAULT_ENCODER_PROXY: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("nb101", "gatedgcn"): ("snip", {"stem_channels": 16}),
    ("nb101", "gin"): ("snip", {"stem_channels": 16}),
    ("nb101", "flowerformer"): ("grad_norm", {"stem_channels": 16}),
    ("nb201", "flowerformer"): ("grad_norm", {}),
}
# FGP options per space, chosen the same way. NB201: the raw surrogate target, as in the paper (on the 8-node graphs
# it varies by only 0.003-0.05 per dimension, so L_rec stays a small term beside L_aux; on the pruned graphs 0.05-0.4):
# validation tau 83.2 vs 80.3 z-scored for ResGatedGCN on the authors' splits (83.3 vs 81.0 on the earlier ones),
# 79.6 vs 79.6 for GIN; on the pruned graphs 85.0 vs 84.5 (ResGatedGCN). Elsewhere the z-scored target: on NB101 the
# raw one (values up to ~80) validates at 70.9 against 73.9.
DEFAULT_FGP_OPTIONS = {"nb201": {"standardize": False}}
# The graph representation per space (search-space options, fgp.spaces.non_default_options), for every encoder of a
# grid; elsewhere each space's default graphs. NB201: pruned graphs (a `none` edge cuts the path, so its node and the
# nodes it cuts off are left out) instead of the paper's 8-node graph that keeps `none` nodes. Validation tau at 1%,
# supervised / ZC only / FGP: ResGatedGCN 80.3 / 82.3 / 83.9 vs 77.9 / 81.8 / 83.2, GIN 80.6 / 81.8 / 81.7 vs
# 75.1 / 81.1 / 81.3; FlowerFormer supervised / FGP 81.9 / 81.9 vs 79.2 / 82.1.
DEFAULT_SPACE_OPTIONS: dict[str, dict[str, Any]] = {"nb201": {"pruned": True}}
RUN_KEYS = ("space", "dataset", "label", "encoder", "pretrain", "ratio", "seed", "permutation", "config_id")


def default_proxy(space: str, encoder: str) -> tuple[str, dict[str, Any]]:
    """``(proxy, network options)`` that ``encoder``'s ``L_aux`` ranks on ``space`` by default (the tables above)."""
    return DEFAULT_ENCODER_PROXY.get((space, encoder), (DEFAULT_PROXY.get(space, "params"), {}))


@dataclass
class ExperimentConfig:
    """Everything that determines the numbers of a grid of runs (recorded with every result line)."""

    space: str
    dataset: str | None = None
    label: str | None = None
    encoders: Sequence[str] = ("gatedgcn",)
    pretrains: Sequence[str | None] = (None, "fgp")
    ratios: Sequence[float] = (0.01,)
    runs: int = 9
    permutations: str = "reference"  # how the protocol permutes the benchmark (fgp.splits.PERMUTATION_SCHEMES)
    transductive: bool = True  # pre-train on every architecture (labels unused) or on the training pool only
    # Another dataset of the same space whose architectures join the (transductive) pre-training set, labels
    # unused: more unlabelled architectures, e.g. NB101's 30,001 cells ("cifar10-30k") for its 14,580-cell protocol.
    pretrain_dataset: str | None = None
    proxy: str | None = None  # what drives L_aux: a benchmark column or a computed proxy; None: the defaults above
    proxy_network: dict[str, Any] = field(default_factory=dict)  # builder options of computed proxies' networks
    # Pre-training is label-free, so one pre-trained encoder (this seed) serves every run of a grid, as in the
    # paper's pre-train-once-then-fine-tune workflow; the runs' seeds vary fine-tuning. None: the run's own seed.
    pretrain_seed: int | None = 0
    head_init: str = "random"  # "proxy": the score head starts from the pre-trained proxy head (pre-trained runs)
    head_hidden: int | None = None  # score head's hidden width (None: the encoder's width; 0: a linear head)
    ensemble: int = 1  # score models fine-tuned per run from its seed on (Predictor's ensemble); the mean predicts
    ensemble_pretrain: str = "shared"  # "each": every ensemble member pre-trained with its own seed (Predictor's)
    encoder_kwargs: dict[str, dict] = field(default_factory=dict)  # per encoder name
    pretrain_kwargs: dict[str, Any] = field(default_factory=dict)
    finetune_kwargs: dict[str, Any] = field(default_factory=dict)
    space_options: dict[str, Any] = field(default_factory=dict)  # graph representation; over DEFAULT_SPACE_OPTIONS

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
        check_permutation_scheme(self.permutations)
        if not (self.encoders and self.pretrains and self.ratios):
            raise ValueError("the grid is empty: give at least one encoder, pre-training and ratio")
        if self.head_init not in ("random", "proxy"):
            raise ValueError(f"head_init must be 'random' or 'proxy', got {self.head_init!r}")
        if self.head_hidden is not None and not (isinstance(self.head_hidden, int) and self.head_hidden >= 0):
            raise ValueError(f"head_hidden must be an integer >= 0 (0: a linear head), got {self.head_hidden!r}")
        positive_int(self.ensemble, "ensemble")
        one_of(self.ensemble_pretrain, ENSEMBLE_PRETRAIN, "ensemble_pretrain")
        space = get_space(self.space, **self.graph_options())  # a bad option fails here, not hours later
        if self.pretrain_dataset is not None:
            one_of(self.pretrain_dataset, list_datasets(self.space), f"pre-training dataset of {self.space}")
            if not self.transductive:
                raise ValueError("a pre-training dataset adds architectures to the transductive pre-training set; "
                                 "it cannot be combined with pre-training on the training pool only")
        for encoder in self.encoders:  # every run's encoder, pretext task and fine-tuning options, built once
            for pretrain in self.pretrains:
                check_run_config(self.run_config(encoder, pretrain), encoder, pretrain, space)

    def graph_options(self) -> dict[str, Any]:
        """The space options that differ from the space's defaults: the given ones over DEFAULT_SPACE_OPTIONS."""
        return non_default_options(self.space, {**DEFAULT_SPACE_OPTIONS.get(self.space, {}), **self.space_options})

    def proxy_for(self, encoder: str) -> tuple[str, dict[str, Any]]:
        """``(proxy, network options)`` behind ``encoder``'s L_aux: the ones given, else the defaults of the space
        and encoder (``--proxy-opt`` options are added to a default proxy's own)."""
        if self.proxy is not None:
            return self.proxy, dict(self.proxy_network)
        name, network = default_proxy(self.space, encoder)
        return name, {**network, **self.proxy_network}

    def run_config(self, encoder: str, pretrain: str | None) -> dict[str, Any]:
        """The resolved options (defaults included) of one (encoder, pre-training) pair, as recorded with every
        result and hashed into ``config_id``: a change of a library default makes a new configuration."""
        from dataclasses import asdict

        from fgp.encoders.registry import ENCODERS, recommended_settings
        from fgp.finetune import FinetuneConfig
        from fgp.pretrain.base import PRETEXTS
        from fgp.registry import drop_unrecorded_defaults

        recommended = recommended_settings(encoder, self.space)  # e.g. FlowerFormer's own optimiser; options win
        pretrain_kwargs = {**recommended["pretrain"], **self.pretrain_kwargs}
        if pretrain == "fgp":
            pretrain_kwargs = {**DEFAULT_FGP_OPTIONS.get(self.space, {}), **pretrain_kwargs}
        if self.pretrain_seed is not None:
            pretrain_kwargs.setdefault("seed", self.pretrain_seed)
        encoder_kwargs = {**recommended["encoder"], **self.encoder_kwargs.get(encoder, {})}
        pretrained = recommended["finetune_pretrained"] if pretrain else {}
        finetune = asdict(FinetuneConfig.from_kwargs({**recommended["finetune"], **pretrained, **self.finetune_kwargs}))
        if not pretrain:  # a supervised row has no pre-training loss to keep: it stays the plain baseline
            finetune.update(pretext_weight=0.0, pretext_batch_size=None)
        proxy, proxy_network = self.proxy_for(encoder)
        resolved = {
            "encoder_kwargs": ENCODERS.resolved_kwargs(encoder, encoder_kwargs),
            "pretrain_kwargs": PRETEXTS.resolved_kwargs(pretrain, pretrain_kwargs) if pretrain else {},
            "finetune_kwargs": drop_unrecorded_defaults(FinetuneConfig, finetune),
            "transductive": self.transductive if pretrain else None,
            "proxy": proxy if pretrain else None,
        }
        # Recorded unless it is "pcg64", the scheme of every result before the reference permutations became the
        # default: those results keep their config ids, and `--permutations pcg64` reproduces them.
        if self.permutations != "pcg64":
            resolved["permutations"] = self.permutations
        if pretrain and self.head_init != "random":  # recorded only when set, so earlier config ids stay valid
            resolved["head_init"] = self.head_init
        if self.head_hidden is not None:  # recorded only when set, so earlier config ids stay valid
            resolved["head_hidden"] = self.head_hidden
        if self.ensemble != 1:
            resolved["ensemble"] = self.ensemble
            if pretrain and self.ensemble_pretrain != "shared":
                resolved["ensemble_pretrain"] = self.ensemble_pretrain
        if pretrain and proxy_network:
            resolved["proxy_network"] = proxy_network
        if pretrain and self.pretrain_dataset is not None:
            resolved["pretrain_dataset"] = self.pretrain_dataset
        graph_options = self.graph_options()
        if graph_options:  # recorded only when not the space's default graphs, so earlier ids stay valid
            resolved["space_options"] = graph_options
        return resolved


def check_run_config(run_config: dict[str, Any], encoder: str, pretrain: str | None, space: SearchSpace) -> None:
    """Build what one (encoder, pre-training) pair of a grid would build, and resolve the surrogate constants of a
    pretext task that computes flow surrogates (``l1`` or ``l3`` > 0), so that a bad option of a later pair, or a
    space without surrogate defaults, fails before the first run, not after hours of earlier runs (options are
    checked by name and kind first)."""
    from fgp.encoders import create_encoder
    from fgp.pretrain import create_pretext

    create_encoder(encoder, len(space.vocab), **run_config["encoder_kwargs"])
    if pretrain is not None:
        pretext = create_pretext(pretrain, **run_config["pretrain_kwargs"])
        if getattr(pretext, "uses_surrogate", False):
            pretext.surrogate_constants(space.name)


def config_id(run_config: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(run_config, sort_keys=True).encode()).hexdigest()[:10]


# the results file ---------------------------------------------------------------------------------------------


def read_results(path: str | os.PathLike) -> list[dict]:
    """The result records of a JSON Lines results file (a missing file has none). Every line must be a result
    record, else ValueError names the file and line, so a file that is not a results file is never reported or
    appended to; an unfinished last line (a write cut short, :func:`_unfinished_tail`) is not a result."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data[: len(data) - len(_unfinished_tail(data))].split(b"\n")
    if not lines[-1]:
        lines.pop()  # what follows the last newline
    return [_result_record(path, lineno, line) for lineno, line in enumerate(lines, 1)]


def _unfinished_tail(data: bytes) -> bytes:
    """The unfinished last line of a results file's bytes, or b"": a write cut short leaves the start of a record,
    an opening brace and no complete JSON, without the newline. A last line that lacks only its newline is a
    complete record, and anything else is not a result line: both are kept for :func:`_result_record` to judge."""
    tail = data[data.rfind(b"\n") + 1:]
    if not tail.startswith(b"{"):
        return b""
    try:
        json.loads(tail)
    except ValueError:  # JSONDecodeError, or UnicodeDecodeError where a character was cut
        return tail
    return b""


def _result_record(path: Path, lineno: int, line: bytes) -> dict:
    """One line of a results file as a record, checked to hold what reports read: the run's keys and every
    metric (``best_val_tau`` may be null: no validation tau with ``select="last"``)."""
    where = f"{path}:{lineno}"
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"{where} is not a JSON result line ({exc}); is this an fgp results file?") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where} is not a result record (a JSON {type(record).__name__}); is this an fgp results "
                         "file?")
    missing = [k for k in (*RUN_KEYS, *_METRIC_TITLES) if k not in record]
    if missing:
        raise ValueError(f"{where} is not a result record: it lacks {', '.join(missing)}; is this an fgp results "
                         "file?")
    for k in _METRIC_TITLES:
        value = record[k]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (number or (value is None and k == "best_val_tau")):
            raise ValueError(f"{where}: {k} is {value!r}, not a number")
    return record


def _resume(path: Path) -> list[dict]:
    """The finished runs of the results file ``path``, checked before any work: its folder exists and every line
    is a result record. Only then is it made ready for appending: an unfinished last line is removed, a last record
    that lacks only its newline gets one."""
    check_output(path, force=True)  # appended to: an existing file is resumed, not refused
    records = read_results(path)
    data = path.read_bytes() if path.exists() else b""
    tail = _unfinished_tail(data)
    if tail:
        with path.open("r+b") as fh:
            fh.truncate(len(data) - len(tail))
        print(f"fgp: removed an unfinished last line from {path}", file=sys.stderr)
    elif data and not data.endswith(b"\n"):
        with path.open("ab") as fh:
            fh.write(b"\n")
    return records


def append_result(path: Path, record: dict) -> None:
    """Append one line in a single write, flushed to disk."""
    line = json.dumps(record, sort_keys=True) + "\n"
    with path.open("a") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def run_key(record: dict) -> tuple:
    return tuple(record.get(k) for k in RUN_KEYS)


# running ------------------------------------------------------------------------------------------------------


def run_experiment(
    config: ExperimentConfig,
    out: str | os.PathLike | None = None,
    device: str | None = None,
    progress: bool = True,
    benchmark: Benchmark | None = None,
) -> list[dict]:
    """Run every missing run of the grid; return the records of the grid (old and new), in grid order."""
    out_path = Path(out) if out is not None else None
    finished = _resume(out_path) if out_path is not None else []  # a bad --out fails before the long loading
    if device is not None:
        torch_device(device)  # and so does a bad device
    graph_options = config.graph_options()
    bench = benchmark or load_benchmark(config.space, config.dataset, config.label, space_options=graph_options)
    if bench.space_options != graph_options:
        raise ValueError(f"the benchmark's graphs were loaded with space options {bench.space_options}, the "
                         f"configuration asks for {graph_options}")
    if bench.y is None:
        raise ValueError(f"{bench.space}/{bench.dataset} is unlabelled: the protocol needs labels")
    pretrains_any = any(p is not None for p in config.pretrains)
    # an encoder's proxy is loaded (or computed) only when one of its pre-trainings ranks it (l2 > 0): a
    # surrogate-only grid (`l2=0`) never waits for a proxy it would not use
    ranks_proxy = [e for e in config.encoders
                   if any(_ranks_proxy(config.run_config(e, p), p) for p in config.pretrains)]
    batch = bench.batch()
    # the transductive pre-training set: the benchmark's architectures, then those of the pre-training dataset that
    # are not among them (found once; each proxy below only gathers its values for them)
    extra, extra_rows, pretrain_batch = None, None, batch
    if pretrains_any and config.pretrain_dataset is not None:
        extra = load_benchmark(config.space, config.pretrain_dataset, space_options=graph_options)
        extra_batch = extra.batch()
        extra_rows = unseen_ids(batch, extra_batch)
        if extra_rows.size:
            pretrain_batch = batch.concat(extra_batch.subset(extra_rows))
    # per (proxy, network options), loaded once for the encoders that share it: the proxy of the benchmark's
    # architectures and the pre-training set with its proxy
    loaded: dict[str, tuple[np.ndarray, tuple]] = {}
    encoder_proxy: dict[str, tuple[np.ndarray, tuple]] = {}
    for encoder in ranks_proxy:
        name, network = config.proxy_for(encoder)
        key = json.dumps([name, network], sort_keys=True)
        if key not in loaded:
            values = pretrain_values = proxy_values(bench, name, progress, network=network)
            if extra is not None:
                extra_values = proxy_values(extra, name, progress, network=network)
                pretrain_values = np.concatenate([values, extra_values[extra_rows]])
            loaded[key] = (values, (pretrain_batch, pretrain_values))
        encoder_proxy[encoder] = loaded[key]
    done = {run_key(r): r for r in finished}
    grid = [
        (encoder, pretrain, ratio, seed, perm)
        for encoder in config.encoders
        for pretrain in config.pretrains
        for ratio in config.ratios
        for seed, perm in protocol_runs(config.runs)
    ]
    records = []
    bar = progress_bar(len(grid), unit="run", enabled=progress)
    for encoder, pretrain, ratio, seed, perm in grid:
        run_cfg = config.run_config(encoder, pretrain)
        base = {
            "space": bench.space,
            "dataset": bench.dataset,
            "label": bench.label,
            "encoder": encoder,
            "pretrain": pretrain or "none",
            "ratio": ratio,
            "seed": seed,
            "permutation": perm,
            "config_id": config_id(run_cfg),
        }
        key = run_key(base)
        bar.set_description(f"{encoder}/{base['pretrain']} ratio={ratio} seed={seed} perm={perm}", refresh=False)
        if key in done:
            records.append(done[key])
            bar.update(1)
            continue
        proxy, pretrain_set = encoder_proxy.get(encoder, (None, (pretrain_batch, None)))
        record = {**base, **_one_run(bench, batch, proxy, pretrain_set, encoder, pretrain, ratio, seed, perm,
                                     config, run_cfg, device, bar)}
        record.update(config=run_cfg, fgp_version=fgp.__version__, finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
        if out_path is not None:
            append_result(out_path, record)
        done[key] = record
        records.append(record)
        bar.set_postfix(tau=f"{record['kendall_tau']:.3f}", p1=f"{record['precision_at_1']:.3f}", refresh=False)
        bar.update(1)
    bar.close()
    return records


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
        values = compute_proxies(bench.space, bench, computed, progress=progress, network=network)
    columns = [bench.columns[n] if n in bench.columns else values[n] for n in names]
    return columns[0] if len(columns) == 1 else np.column_stack(columns)


def default_proxy_values(bench: Benchmark, encoder: str, progress: bool = True) -> np.ndarray:
    """The values of the proxy ``fgp experiment`` ranks in ``L_aux`` for ``encoder`` on ``bench``'s space
    (:data:`DEFAULT_PROXY`, :data:`DEFAULT_ENCODER_PROXY`): the defaults ship with the package for every NB201 cell
    and NB101's protocol cells; anything else is computed once and cached."""
    from fgp.encoders.registry import ENCODERS

    ENCODERS.get(encoder)  # an unknown encoder is an error, not the space's default proxy
    name, network = default_proxy(bench.space, encoder)
    return proxy_values(bench, name, progress=progress, network=network or None)


def _ranks_proxy(run_config: dict[str, Any], pretrain: str | None) -> bool:
    """Whether a pre-training ranks a zero-cost proxy (its ``ranks_proxy``; pretext tasks without one: yes)."""
    from fgp.pretrain import create_pretext

    if pretrain is None:
        return False
    return getattr(create_pretext(pretrain, **run_config["pretrain_kwargs"]), "ranks_proxy", True)


def _rows(values: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[rows]


def _one_run(bench, batch, proxy, pretrain_set, encoder, pretrain, ratio, seed, perm, config, run_cfg, device,
             bar) -> dict:
    split = protocol_split(len(bench), ratio, perm, bench.space, config.permutations, bench.dataset)
    if not _ranks_proxy(run_cfg, pretrain):  # no L_aux in this run (another pre-training may rank the proxy)
        proxy, pretrain_set = None, (pretrain_set[0], None)
    # pre-training sees every architecture (transductive: the same set for every run) or the training pool only
    unlabeled_graphs = unlabeled_proxy = None
    if pretrain:
        unlabeled_graphs, unlabeled_proxy = (pretrain_set if config.transductive
                                             else (batch.subset(split.pool), _rows(proxy, split.pool)))
    predictor = Predictor(
        encoder=encoder,
        pretrain=pretrain,
        encoder_kwargs=run_cfg["encoder_kwargs"],
        pretrain_kwargs=run_cfg["pretrain_kwargs"],
        finetune_kwargs=run_cfg["finetune_kwargs"],
        seed=seed,
        device=device,
        space=bench.space,
        head_init=run_cfg.get("head_init", "random"),
        head_hidden=run_cfg.get("head_hidden"),
        ensemble=run_cfg.get("ensemble", 1),
        ensemble_pretrain=run_cfg.get("ensemble_pretrain", "shared"),
    )

    def on_epoch(stage: str, epoch: int, rec: dict) -> None:
        show_details(bar, stage=stage, epoch=epoch)

    predictor.fit(
        batch.subset(split.train),
        bench.y[split.train],
        unlabeled_graphs=unlabeled_graphs,
        proxy=_rows(proxy, split.train),
        unlabeled_proxy=unlabeled_proxy,
        val_graphs=batch.subset(split.val),
        val_y=bench.y[split.val],
        progress=on_epoch,
    )
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


# summary ------------------------------------------------------------------------------------------------------

GROUP_KEYS = ("space", "dataset", "label", "encoder", "pretrain", "ratio", "config_id")


def summarize(records: Iterable[dict], metrics: Sequence[str] = METRIC_KEYS) -> list[dict]:
    """Mean and standard deviation (population, as the papers report) of each metric per configuration."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in GROUP_KEYS), []).append(r)
    rows = []
    for key, rs in groups.items():
        row = dict(zip(GROUP_KEYS, key))
        row["runs"] = len(rs)
        for m in metrics:
            vals = np.array([r[m] for r in rs], dtype=np.float64)
            row[m] = (float(vals.mean()), float(vals.std()))
        rows.append(row)
    return rows


def markdown_table(
    records: Iterable[dict], metrics: Sequence[str] = ("kendall_tau", "precision_at_1", "precision_at_5")
) -> str:
    """The summary as a markdown table, metrics x100 as ``mean ± std``."""
    unknown = [m for m in metrics if m not in _METRIC_TITLES]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(_METRIC_TITLES)}")
    rows = summarize(records, metrics)
    if not rows:
        raise ValueError("no results to report")
    show_config = len({r["config_id"] for r in rows}) > len({(r["encoder"], r["pretrain"]) for r in rows})
    changes = config_differences(records) if show_config else {}
    head = ["space", "dataset", "label", "encoder", "pretrain", "ratio"] + (["config"] if show_config else [])
    head += ["runs"] + [_METRIC_TITLES.get(m, m) for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["space"], r["dataset"], r["label"], r["encoder"], r["pretrain"], f"{r['ratio']:g}"]
        cells += [" ".join([r["config_id"], *changes.get(r["config_id"], [])])] if show_config else []
        cells += [str(r["runs"])] + [_mean_std(*r[m]) for m in metrics]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


PAIR_KEYS = ("space", "dataset", "label", "ratio", "seed", "permutation")  # what makes two runs the same run


def paired_table(
    base: Iterable[dict],
    candidate: Iterable[dict],
    metrics: Sequence[str] = ("best_val_tau", "kendall_tau", "precision_at_1"),
) -> str:
    """How ``candidate`` differs from ``base`` run by run (same split, same seed), as a markdown table per ratio
    and metric: both means, the mean paired difference ± its standard error, in how many runs the candidate is
    higher, and the Wilcoxon signed-rank p-value. Each side must be one configuration (one ``config_id``).

    Pairing removes the split-to-split spread that dominates a 9-run standard deviation, so it is how a setting
    is compared with another here (read the validation tau to choose; the test metrics only to report)."""
    from scipy.stats import wilcoxon

    unknown = [m for m in metrics if m not in _METRIC_TITLES]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(_METRIC_TITLES)}")
    sides = []
    for name, records in (("base", base), ("candidate", candidate)):
        records = list(records)
        configs = sorted({(r["config_id"], r["encoder"], r["pretrain"]) for r in records})
        if len(configs) != 1:
            listed = ", ".join(f"{c} ({e}/{p})" for c, e, p in configs) or "none"
            raise ValueError(f"the {name} side must hold one configuration, it holds {len(configs)}: {listed}; "
                             "name one as FILE:CONFIG_ID")
        sides.append({tuple(r[k] for k in PAIR_KEYS): r for r in records})
    keys = sorted(set(sides[0]) & set(sides[1]), key=lambda k: tuple(map(str, k)))
    if not keys:
        raise ValueError("the two sides share no run (same space, dataset, label, ratio, seed and permutation)")
    head = ["ratio", "metric", "runs", "base", "candidate", "candidate - base", "candidate higher", "Wilcoxon p"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ratio in sorted({k[3] for k in keys}):
        pairs = [(sides[0][k], sides[1][k]) for k in keys if k[3] == ratio]
        for m in metrics:
            a = np.array([x[m] for x, _ in pairs], dtype=np.float64)
            b = np.array([y[m] for _, y in pairs], dtype=np.float64)
            d = b - a
            n, missing = len(d), bool(np.isnan(d).any())  # e.g. no validation tau with select="last"
            diff, higher, p = "-", "-", "-"
            if not missing:
                diff = f"{100 * d.mean():+.1f}" + (f" ± {100 * d.std(ddof=1) / np.sqrt(n):.1f}" if n > 1 else "")
                higher = f"{int((d > 0).sum())} of {n}"
                p = f"{wilcoxon(d).pvalue:.2g}" if n > 1 and np.any(d != 0) else "-"
            cells = [f"{ratio:g}", _METRIC_TITLES[m], str(n), _mean_std(a.mean(), a.std()),
                     _mean_std(b.mean(), b.std()), diff, higher, p]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_std(mean: float, std: float) -> str:
    """``mean ± std`` x100; ``-`` where a metric does not exist (e.g. the validation tau of ``select="last"``)."""
    return "-" if np.isnan(mean) else f"{100 * mean:.1f} ± {100 * std:.1f}"


def config_differences(records: Iterable[dict]) -> dict[str, list[str]]:
    """Per config id, the ``option=value`` settings in which it departs from the most common value among the
    configurations of the same encoder and pre-training in ``records`` (so a table of several configurations says
    what each one changed). Where no value is more common than the others, every configuration names its own."""
    from collections import Counter

    configs: dict[tuple, dict[str, dict]] = {}
    for r in records:
        if "config" in r:
            configs.setdefault((r["encoder"], r["pretrain"]), {})[r["config_id"]] = _flatten(r["config"])
    out = {}
    for group in configs.values():
        keys = sorted({k for flat in group.values() for k in flat})
        usual = {}
        for k in keys:
            counts = Counter(json.dumps(f.get(k)) for f in group.values()).most_common(2)
            usual[k] = counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None
        for cid, flat in group.items():
            out[cid] = [f"{k}={flat.get(k)}" for k in keys if json.dumps(flat.get(k)) != usual[k]]
    return out


def _flatten(config: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for k, v in config.items():
        name = k.removesuffix("_kwargs")
        if isinstance(v, dict):
            flat.update(_flatten(v, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = v
    return flat


_METRIC_TITLES = {
    "kendall_tau": "Kendall tau",
    "spearman": "Spearman",
    "precision_at_1": "P@1%",
    "precision_at_5": "P@5%",
    "precision_at_10": "P@10%",
    "precision_at_50": "P@50%",
    "best_val_tau": "val tau",  # the validation Kendall tau of the kept epoch: what model choices may look at
}
