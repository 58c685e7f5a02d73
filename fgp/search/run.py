"""Running searches: one trial (``search``), and grids of trials written to a resumable JSON Lines file.

A trial is one search with a query budget; its record holds every query in order (architecture, queried value,
reported value), the time of the whole trial and the time the algorithm itself took (predictor refits, ranking).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import fgp
from fgp.parallel import check_pool, run_in_phases
from fgp.results import append_result, config_id, read_records, resume_records
from fgp.search.base import SearchAlgorithm, create_searcher
from fgp.search.objective import BenchmarkObjective, CallableObjective
from fgp.spaces import SearchSpace, get_space


@dataclass
class Trial:
    """The queries of one search, in order: ``(arch, queried, reported)`` each (reported None when unknown)."""

    queries: list[tuple[Any, float, float | None]] = field(default_factory=list)
    seconds: float = 0.0
    overhead_seconds: float = 0.0  # inside the algorithm: proposals, predictor refits and ranking
    overhead_cpu_seconds: float = 0.0  # the same in CPU time of this process (not inflated by other jobs)

    @property
    def best(self) -> tuple[Any, float, float | None]:
        """The best query by the queried value (what a real search keeps)."""
        return max(self.queries, key=lambda q: q[1])

    def best_so_far(self, reported: bool = True) -> list[float | None]:
        """After each query: the reported (or queried) value of the best-by-queried architecture so far."""
        out, best = [], None
        for q in self.queries:
            if best is None or q[1] > best[1]:
                best = q
            out.append(best[2] if reported else best[1])
        return out


def run_trial(algorithm: SearchAlgorithm, objective: Any, budget: int,
              on_query: Callable[[int, Any, float], None] | None = None) -> Trial:
    """Query ``budget`` architectures that ``algorithm`` proposes; the objective's errors name the architecture."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer, got {budget!r}")
    trial = Trial()
    start = time.perf_counter()
    for step in range(budget):
        t0, c0 = time.perf_counter(), time.process_time()
        arch = algorithm.ask()
        trial.overhead_seconds += time.perf_counter() - t0
        trial.overhead_cpu_seconds += time.process_time() - c0
        value = objective.query(arch)
        trial.queries.append((arch, value, objective.report(arch)))
        t0, c0 = time.perf_counter(), time.process_time()
        algorithm.tell(arch, value)
        trial.overhead_seconds += time.perf_counter() - t0
        trial.overhead_cpu_seconds += time.process_time() - c0
        if on_query is not None:
            on_query(step + 1, arch, value)
    trial.seconds = time.perf_counter() - start
    return trial


def search(objective: Callable[[Any], float] | BenchmarkObjective, space: str | SearchSpace | None = None,
           algorithm: str = "local-predictor", budget: int = 50, seed: int = 0, **options: Any) -> Trial:
    """Search ``space`` for the architecture ``objective`` scores highest, with ``budget`` queries.

    ``objective`` is a function ``arch -> score`` (e.g. your own training run; architectures in the space's native
    form) or a :class:`BenchmarkObjective`, whose table gives the space. The default algorithm, local search that
    queries neighbours in the order an FGP predictor ranks them, measured best on NB201 (benchmarks/RESULTS.md).
    ``options`` go to the algorithm (e.g. ``predictor="supervised"``).
    """
    if not isinstance(objective, BenchmarkObjective):
        if space is None:
            raise ValueError("a function objective needs the space to search: search(f, space='nb201', ...)")
        objective = CallableObjective(objective, get_space(space) if isinstance(space, str) else space)
    return run_trial(create_searcher(algorithm, objective.space, seed=seed, **options), objective, budget)


# search files -------------------------------------------------------------------------------------------------

TRIAL_KEYS = ("space", "dataset", "algorithm", "budget", "trial", "config_id")


def _search_record(path: Path, lineno: int, line: bytes) -> dict:
    where = f"{path}:{lineno}"
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"{where} is not a JSON search line ({exc}); is this an fgp search file?") from None
    if not isinstance(record, dict) or any(k not in record for k in (*TRIAL_KEYS, "queries")):
        raise ValueError(f"{where} is not a search record (it needs {', '.join(TRIAL_KEYS)}, queries); is this an "
                         "fgp search file?")
    queries = record["queries"]
    if not isinstance(queries, list) or any(not (isinstance(q, list) and len(q) == 3) for q in queries):
        raise ValueError(f"{where}: queries must be a list of [arch, queried, reported]")
    return record


def read_search(path: str | os.PathLike) -> list[dict]:
    """The trial records of a search file (a missing file has none); a line that is not one is an error naming it."""
    return read_records(path, _search_record)


def _jsonable(arch: Any) -> Any:
    return json.loads(json.dumps(arch, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else list(o)))


def run_searches(space: str, algorithms: Sequence[str], budget: int, trials: int, out: str | os.PathLike | None = None,
                 dataset: str | None = None, options: dict[str, dict] | None = None,
                 progress: Callable[[str], None] | None = None, workers: int = 1, backend: str = "local",
                 address: str | None = None) -> list[dict]:
    """``trials`` trials (seeds 0, 1, ...) of every algorithm on a benchmark, appended to ``out`` one line per
    finished trial; trials already in the file are skipped (a killed search resumes where it stopped). Paired:
    trial ``i`` of every algorithm starts from the same seed. ``workers > 1`` runs trials in that many processes
    (one torch thread each; the first trial of each algorithm first, so a predictor's pre-training is computed once
    and cached), with the same trials as one process; ``backend="ray"`` over a Ray cluster (:mod:`fgp.parallel`)."""
    out_path = Path(out) if out is not None else None
    done = resume_records(out_path, _search_record) if out_path is not None else []
    pooled = check_pool(workers, backend, address)
    objective = BenchmarkObjective(space, dataset)
    options = options or {}
    finished = {_trial_key(r): r for r in done}
    plan = []
    for name in algorithms:
        opts = dict(options.get(name, {}))
        create_searcher(name, objective.space, **opts)  # a bad option fails before any trial
        cid = config_id({"algorithm": name, "options": opts, "query": objective.query_label,
                         "report": objective.report_label})
        plan += [{"space": space, "dataset": objective.dataset, "algorithm": name, "budget": budget, "trial": t,
                  "config_id": cid, "options": opts} for t in range(trials)]

    def finish(record: dict) -> None:
        if out_path is not None:
            append_result(out_path, record, key=_trial_key)
        finished[_trial_key(record)] = record

    todo = [base for base in plan if _trial_key(base) not in finished]
    if not pooled:
        for base in todo:
            if progress is not None:
                progress(f"{base['algorithm']} trial {base['trial'] + 1}/{trials}")
            finish(_run_planned(objective, base))
    else:  # the first trial of each algorithm first: a predictor's pre-training is computed once and cached
        def finished_in_pool(record: dict) -> None:
            if progress is not None:
                progress(f"{record['algorithm']} trial {record['trial'] + 1}/{trials} done")
            finish(record)

        first = [b for b in todo if b["trial"] == min(o["trial"] for o in todo if o["algorithm"] == b["algorithm"])]
        phases = [first, [b for b in todo if b not in first]]
        run_in_phases(phases, _run_in_worker, finished_in_pool, workers, _start_worker, (space, dataset), backend,
                      address)
    return [finished[_trial_key(base)] for base in plan]


def _trial_key(record: dict) -> tuple:
    return tuple(record.get(k) for k in TRIAL_KEYS)


def _run_planned(objective: BenchmarkObjective, base: dict) -> dict:
    """One planned trial (its seed is its number) as a search-file record."""
    trial = run_trial(create_searcher(base["algorithm"], objective.space, seed=base["trial"], **base["options"]),
                      objective, base["budget"])
    return {**base, "query_label": objective.query_label, "report_label": objective.report_label,
            "queries": [[_jsonable(a), q, r] for a, q, r in trial.queries], "seconds": trial.seconds,
            "overhead_seconds": trial.overhead_seconds, "overhead_cpu_seconds": trial.overhead_cpu_seconds,
            "fgp_version": fgp.__version__}


_WORKER_OBJECTIVE: BenchmarkObjective | None = None


def _start_worker(space: str, dataset: str | None) -> None:
    import torch

    global _WORKER_OBJECTIVE
    torch.set_num_threads(1)
    _WORKER_OBJECTIVE = BenchmarkObjective(space, dataset)


def _run_in_worker(base: dict) -> dict:
    assert _WORKER_OBJECTIVE is not None
    return _run_planned(_WORKER_OBJECTIVE, base)


def search_table(records: Sequence[dict], at: Sequence[int] = (10, 20, 30, 50, 100)) -> str:
    """Mean ± std of the reported value of the best-by-queried architecture after each number of queries in ``at``,
    per algorithm, as a markdown table (queried values where nothing is reported), with the trials' overhead and,
    when the records come from one benchmark table, the share of trials that queried its best architecture."""
    optimum = _table_optimum(records)
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["space"], r["dataset"], r["algorithm"], r["config_id"]), []).append(r)
    budget = max(r["budget"] for r in records)
    at = [n for n in at if n <= budget] or [budget]
    head = ["space", "dataset", "algorithm", "trials", *[f"{n} queries" for n in at], "overhead s / trial",
            "CPU s / trial"]
    head += ["optimum found"] if optimum is not None else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    scale = max(abs(_best_after(r, len(r["queries"]))) for r in records)
    digits = 2 if scale > 1 else 4  # accuracies in percent (NB201) or as fractions (NAS-Bench-Graph)
    for (space, dataset, _, _), rs in groups.items():
        cells = [space, dataset, trial_label(rs[0]), str(len(rs))]
        for n in at:
            values = [_best_after(r, n) for r in rs if len(r["queries"]) >= n]
            cells.append(f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}" if values else "-")
        cells.append(f"{np.mean([r['overhead_seconds'] for r in rs]):.1f}")
        cpu = [r["overhead_cpu_seconds"] for r in rs if "overhead_cpu_seconds" in r]  # older files lack it
        cells.append(f"{np.mean(cpu):.1f}" if len(cpu) == len(rs) else "-")
        if optimum is not None:
            found = sum(max(q[1] for q in r["queries"]) >= optimum for r in rs)
            cells.append(f"{found} of {len(rs)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def trial_label(record: dict) -> str:
    """The algorithm of a trial record with its predictor and any pre-training options, e.g. ``local-predictor
    (fgp, l2=0.0)``; ``pretrain_kwargs={}`` is the prediction recipe's pre-training."""
    options = record.get("options", {})
    predictor = options.get("predictor")
    if not predictor:
        return record["algorithm"]
    kwargs = options.get("pretrain_kwargs")
    if kwargs is not None:
        predictor += ", " + (", ".join(f"{k}={v}" for k, v in sorted(kwargs.items())) or "recipe's pre-training")
    return f"{record['algorithm']} ({predictor})"


def _table_optimum(records: Sequence[dict]) -> float | None:
    """The best queried value of the benchmark table the records come from (None for several tables)."""
    tables = {(r["space"], r["dataset"], r["query_label"]) for r in records}
    if len(tables) != 1:
        return None
    space, dataset, query = tables.pop()
    return BenchmarkObjective(space, dataset, query).best_possible()[0]


def _best_after(record: dict, n: int) -> float:
    best = max(record["queries"][:n], key=lambda q: q[1])
    return best[2] if best[2] is not None else best[1]
