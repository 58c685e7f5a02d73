"""Speed and memory of the batched flow surrogate against the per-graph reference loop.

Measures, on this machine's CPU:
- NB201, all 15,625 cells: the batched surrogate (float32 and float64) vs the reference loop over every cell.
- NB101, the whole 423,624-cell space: loading the arrays, batching them (``space_batch``), the batched surrogate,
  and the reference loop on a random sample of cells (extrapolated to the whole space).
- Peak memory: a fresh subprocess loads, batches and computes the whole NB101 space once and reports its peak
  resident set size (``ru_maxrss``), together with the peak right after the imports.

Batched timings are the minimum (and median) of several repetitions, because other work on a shared machine only
ever adds time; they are taken with torch on one thread and on its default thread count, because on a loaded machine
multi-threaded torch ops stall at every barrier (one thread can be several times faster there), and the CPU time of
the one-thread runs is reported as the load-independent measure of the work. Writes
``benchmarks/results/surrogate_speed.json`` and ``surrogate_speed.md`` (a markdown section).

    python benchmarks/surrogate_speed.py [--reps 5] [--sample 3000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"


def _timed(fn, reps: int) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


@contextlib.contextmanager
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _one_thread_timed(fn, reps: int) -> tuple[float, float, float]:
    """Wall minimum, wall median and CPU-time minimum of ``fn`` with torch on one thread. On a loaded machine torch's
    multi-threaded ops wait for each other at every barrier; one thread does not, and its CPU time is the work done
    whatever else runs alongside."""
    walls, cpus = [], []
    with _one_thread():
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    return min(walls), statistics.median(walls), min(cpus)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def bench_nb201(reps: int) -> dict:
    from fgp.batch import GraphBatch
    from fgp.spaces import get_space
    from fgp.surrogate import SurrogateDraws, flow_surrogate, reference_surrogate, surrogate_defaults

    space = get_space("nb201")
    t0 = time.perf_counter()
    graphs = [space.decode(a) for a in space.enumerate()]
    decode_s = time.perf_counter() - t0
    batch_min, _, batch = _timed(lambda: GraphBatch.from_graphs(graphs), reps)
    k, std = surrogate_defaults("nb201")
    draws = SurrogateDraws.sample(batch.num_ops, k, std, seed=0)
    f32_min, f32_med, (s32, _) = _timed(lambda: flow_surrogate(batch, draws=draws), reps)
    f64_min, f64_med, (s64, _) = _timed(lambda: flow_surrogate(batch, draws=draws, dtype=torch.float64), reps)
    w1, w1_med, cpu32 = _one_thread_timed(lambda: flow_surrogate(batch, draws=draws), reps)
    t0, c0 = time.perf_counter(), time.process_time()
    ref = np.stack([reference_surrogate(g, draws) for g in graphs])
    ref_s, ref_cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(graphs)
    return {
        "surrogate_f32_1thread_s": w1,
        "surrogate_f32_1thread_median_s": w1_med,
        "speedup_f32_1thread": ref_s / w1,
        "surrogate_f32_cpu_1thread_s": cpu32,
        "reference_cpu_s": ref_cpu,
        "speedup_f32_cpu_1thread": ref_cpu / cpu32,
        "graphs": n,
        "decode_graphs_s": decode_s,
        "batch_from_graphs_s": batch_min,
        "surrogate_f32_s": f32_min,
        "surrogate_f32_median_s": f32_med,
        "surrogate_f64_s": f64_min,
        "surrogate_f64_median_s": f64_med,
        "reference_s": ref_s,
        "reference_us_per_graph": 1e6 * ref_s / n,
        "speedup_f32": ref_s / f32_min,
        "speedup_f64": ref_s / f64_min,
        "max_abs_diff_f32": float(np.abs(s32.double().numpy() - ref).max()),
        "max_abs_diff_f64": float(np.abs(s64.numpy() - ref).max()),
    }


def _nb101_graph(space, arrays: dict, i: int):
    n = int(arrays["num_nodes"][i])
    return space.decode((arrays["adjacency"][i, :n, :n].astype(int), [space.vocab[o] for o in arrays["ops"][i, :n]]))


def bench_nb101(reps: int, sample: int) -> dict:
    from fgp.spaces import get_space, nb101
    from fgp.surrogate import SurrogateDraws, flow_surrogate, reference_surrogate, surrogate_defaults

    load_min, _, arrays = _timed(lambda: nb101.load_space_arrays(), max(1, reps // 2))
    batch_min, batch_med, batch = _timed(lambda: nb101.space_batch(arrays), reps)
    k, std = surrogate_defaults("nb101")
    draws = SurrogateDraws.sample(batch.num_ops, k, std, seed=0)
    f32_min, f32_med, (s32, _) = _timed(lambda: flow_surrogate(batch, draws=draws), reps)
    f64_min, f64_med, (s64, _) = _timed(lambda: flow_surrogate(batch, draws=draws, dtype=torch.float64), reps)
    e2e_min, e2e_med, _ = _timed(lambda: flow_surrogate(nb101.space_batch(arrays), draws=draws), reps)
    n = batch.num_graphs
    rows = np.random.default_rng(0).choice(n, size=min(sample, n), replace=False)
    space = get_space("nb101")
    graphs = [_nb101_graph(space, arrays, int(i)) for i in rows]
    w1, w1_med, cpu32 = _one_thread_timed(lambda: flow_surrogate(batch, draws=draws), reps)
    e1, e1_med, _ = _one_thread_timed(lambda: flow_surrogate(nb101.space_batch(arrays), draws=draws), reps)
    _, _, cpu_batch = _one_thread_timed(lambda: nb101.space_batch(arrays), reps)
    t0, c0 = time.perf_counter(), time.process_time()
    ref = np.stack([reference_surrogate(g, draws) for g in graphs])
    ref_s, ref_cpu = time.perf_counter() - t0, time.process_time() - c0
    ref_per_graph = ref_s / len(rows)
    return {
        "surrogate_f32_1thread_s": w1,
        "surrogate_f32_1thread_median_s": w1_med,
        "batch_plus_surrogate_f32_1thread_s": e1,
        "batch_plus_surrogate_f32_1thread_median_s": e1_med,
        "speedup_f32_1thread": ref_per_graph * n / w1,
        "speedup_f32_1thread_including_batching": ref_per_graph * n / e1,
        "surrogate_f32_cpu_1thread_s": cpu32,
        "space_batch_cpu_1thread_s": cpu_batch,
        "reference_cpu_us_per_graph": 1e6 * ref_cpu / len(rows),
        "speedup_f32_cpu_1thread": ref_cpu / len(rows) * n / cpu32,
        "graphs": n,
        "nodes": batch.num_nodes,
        "edges": int(batch.edge_index.shape[1]),
        "load_arrays_s": load_min,
        "space_batch_s": batch_min,
        "space_batch_median_s": batch_med,
        "surrogate_f32_s": f32_min,
        "surrogate_f32_median_s": f32_med,
        "surrogate_f64_s": f64_min,
        "surrogate_f64_median_s": f64_med,
        "batch_plus_surrogate_f32_s": e2e_min,
        "batch_plus_surrogate_f32_median_s": e2e_med,
        "reference_sample": len(rows),
        "reference_us_per_graph": 1e6 * ref_per_graph,
        "reference_whole_space_s_extrapolated": ref_per_graph * n,
        "speedup_f32": ref_per_graph * n / f32_min,
        "speedup_f64": ref_per_graph * n / f64_min,
        "speedup_f32_including_batching": ref_per_graph * n / e2e_min,
        "max_abs_diff_f32_on_sample": float(np.abs(s32.double().numpy()[rows] - ref).max()),
        "max_rel_diff_f32_on_sample": float(
            (np.abs(s32.double().numpy()[rows] - ref) / np.maximum(1.0, np.abs(ref))).max()
        ),
        "max_abs_diff_f64_on_sample": float(np.abs(s64.numpy()[rows] - ref).max()),
        "max_abs_surrogate": float(s64.abs().max()),
    }


def worker_peak(dtype: str) -> None:
    """Child process: peak RSS of loading + batching + one whole-space surrogate; prints one JSON line."""
    from fgp.spaces import nb101
    from fgp.surrogate import flow_surrogate

    after_imports = _peak_rss_mb()
    t0 = time.perf_counter()
    arrays = nb101.load_space_arrays()
    batch = nb101.space_batch(arrays)
    s, _ = flow_surrogate(batch, space="nb101", dtype=getattr(torch, dtype))
    wall = time.perf_counter() - t0
    print(json.dumps({"dtype": dtype, "peak_rss_mb": _peak_rss_mb(), "peak_rss_after_imports_mb": after_imports,
                      "load_batch_surrogate_s": wall, "shape": list(s.shape)}))


def peak_memory(dtype: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker-peak", dtype], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(res: dict) -> str:
    a, b = res["nb201"], res["nb101"]
    mem = res["peak_memory"]
    lines = [
        "## Flow surrogate speed (`benchmarks/surrogate_speed.py`)",
        "",
        f"CPU: {res['machine']['cpu_count']} cores, torch {res['machine']['torch']} "
        f"({res['machine']['torch_threads']} threads); 1-min load average {res['machine']['load_avg'][0]:.2f} at the "
        f"start, {res['machine']['load_avg_end'][0]:.2f} at the end (other work on the machine slows everything). "
        "Batched times: minimum (median) of "
        f"{res['reps']} repetitions; the reference loop is `reference_surrogate` over `ArchGraph`s, one per cell.",
        "",
        "| | NB201 (15,625 cells) | NB101 space (423,624 cells) |",
        "|---|---|---|",
        f"| reference loop, per cell | {a['reference_us_per_graph']:.1f} µs | {b['reference_us_per_graph']:.1f} µs "
        f"(sample of {b['reference_sample']:,}) |",
        f"| reference loop, all cells | {a['reference_s']:.2f} s | {b['reference_whole_space_s_extrapolated']:.1f} s "
        "(extrapolated) |",
        f"| batching | {a['batch_from_graphs_s']:.3f} s (`from_graphs`) | {b['space_batch_s']:.3f} s "
        f"(`space_batch`; loading the arrays {b['load_arrays_s']:.3f} s more) |",
        f"| batched surrogate, float32, 1 torch thread | {a['surrogate_f32_1thread_s'] * 1e3:.1f} "
        f"({a['surrogate_f32_1thread_median_s'] * 1e3:.1f}) ms | {b['surrogate_f32_1thread_s']:.3f} "
        f"({b['surrogate_f32_1thread_median_s']:.3f}) s |",
        f"| batching + surrogate, float32, 1 torch thread | | {b['batch_plus_surrogate_f32_1thread_s']:.3f} "
        f"({b['batch_plus_surrogate_f32_1thread_median_s']:.3f}) s |",
        f"| speed-up over the reference, float32, 1 torch thread | {a['speedup_f32_1thread']:.0f}x | "
        f"{b['speedup_f32_1thread']:.0f}x ({b['speedup_f32_1thread_including_batching']:.0f}x including batching) |",
        f"| CPU time, float32 surrogate, 1 torch thread | {a['surrogate_f32_cpu_1thread_s'] * 1e3:.1f} ms | "
        f"{b['surrogate_f32_cpu_1thread_s']:.3f} s (batching {b['space_batch_cpu_1thread_s']:.3f} s) |",
        f"| speed-up in CPU time (reference CPU time / batched CPU time) | {a['speedup_f32_cpu_1thread']:.0f}x | "
        f"{b['speedup_f32_cpu_1thread']:.0f}x |",
        f"| batched surrogate, float32, {res['machine']['torch_threads']} torch threads | "
        f"{a['surrogate_f32_s'] * 1e3:.1f} ({a['surrogate_f32_median_s'] * 1e3:.1f}) ms "
        f"| {b['surrogate_f32_s']:.3f} ({b['surrogate_f32_median_s']:.3f}) s |",
        f"| batched surrogate, float64, {res['machine']['torch_threads']} torch threads | "
        f"{a['surrogate_f64_s'] * 1e3:.1f} ({a['surrogate_f64_median_s'] * 1e3:.1f}) ms "
        f"| {b['surrogate_f64_s']:.3f} ({b['surrogate_f64_median_s']:.3f}) s |",
        f"| batching + surrogate, float32, {res['machine']['torch_threads']} torch threads | | "
        f"{b['batch_plus_surrogate_f32_s']:.3f} ({b['batch_plus_surrogate_f32_median_s']:.3f}) s |",
        f"| speed-up over the reference, float32, {res['machine']['torch_threads']} torch threads | "
        f"{a['speedup_f32']:.0f}x | {b['speedup_f32']:.0f}x ({b['speedup_f32_including_batching']:.0f}x including "
        "batching) |",
        f"| max abs diff to the reference, float32 | {a['max_abs_diff_f32']:.1e} | "
        f"{b['max_abs_diff_f32_on_sample']:.1e} (relative {b['max_rel_diff_f32_on_sample']:.1e}; "
        f"surrogates reach {b['max_abs_surrogate']:.0f}) |",
        f"| max abs diff to the reference, float64 | {a['max_abs_diff_f64']:.1e} | "
        f"{b['max_abs_diff_f64_on_sample']:.1e} |",
        "",
        "Peak memory of a fresh process that loads, batches and computes the whole NB101 space once (`ru_maxrss`): "
        + "; ".join(
            f"{m['dtype']} {m['peak_rss_mb']:.0f} MB ({m['peak_rss_after_imports_mb']:.0f} MB of it after the imports "
            f"alone), {m['load_batch_surrogate_s']:.2f} s load+batch+surrogate"
            for m in mem
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions of every batched timing (default 5)")
    parser.add_argument("--sample", type=int, default=3000, help="NB101 cells for the reference loop (default 3000)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--worker-peak", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_peak:
        worker_peak(args.worker_peak)
        return 0
    res = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_avg": list(os.getloadavg()),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        },
        "reps": args.reps,
    }
    print("peak memory (subprocesses) ...", file=sys.stderr)
    res["peak_memory"] = [peak_memory("float32"), peak_memory("float64")]
    print("NB201 ...", file=sys.stderr)
    res["nb201"] = bench_nb201(args.reps)
    print("NB101 space ...", file=sys.stderr)
    res["nb101"] = bench_nb101(args.reps, args.sample)
    res["machine"]["load_avg_end"] = list(os.getloadavg())
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "surrogate_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res)
    (args.out_dir / "surrogate_speed.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
