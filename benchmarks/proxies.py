"""Zero-cost proxies on the real benchmarks: timings, rank correlation with the labels and with NASLib's values.

    python benchmarks/proxies.py                      # everything (about an hour on one CPU thread, cold cache)
    python benchmarks/proxies.py --part nb201         # one part: nb201, nb101, nb101_narrow, nb101_naslib, nbgraph

Writes ``benchmarks/results/proxies_<part>.json`` and rewrites ``benchmarks/results/proxies.md`` from every JSON
present. Proxy values go to the normal cache (``$FGP_CACHE``), so later runs and FGP pre-training reuse them;
timings are only meaningful for a cold cache (each JSON records how many values were computed, not read).

- NB201: params, flops, synflow on all 15,625 cells; nwot, snip, grad_norm on the 725 cells of NASLib's
  zero-cost subset (NB201 is CPU-bound here: about 0.4 s per cell for those three), where all six are also
  compared with NASLib's own values. Labels: CIFAR-10 test accuracy (200 epochs).
- NB101: params, flops on all 30,001 labelled cells; the four network proxies on a random 300 of them.
  Label: validation accuracy at 108 epochs. ``nb101_narrow``: nwot, snip, grad_norm on networks with a 16-channel
  stem, against the full networks on those 300 and for all 14,580 protocol cells. ``nb101_naslib``: all six on 60
  cells of NASLib's NB101 subset, compared with NASLib's values.
- NAS-Bench-Graph: params, flops on every dataset; the network proxies on 500 random architectures of cora.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

import fgp
from fgp.datasets import load_benchmark
from fgp.paths import data_file
from fgp.proxies import compute_proxies, list_proxies
from fgp.spaces import get_space

RESULTS = Path(__file__).resolve().parent / "results"
COUNTS = ["params", "flops"]
NETWORK = ["synflow", "nwot", "snip", "grad_norm"]
SEED = 0


def _tau(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    return float(kendalltau(x[ok], y[ok])[0])


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    return float(spearmanr(x[ok], y[ok])[0])


def _timed(space, archs, names, **kw):
    t = time.perf_counter()
    values = compute_proxies(space, archs, names, progress=True, seed=SEED, **kw)
    return values, time.perf_counter() - t


def run_nb201() -> dict:
    bench = load_benchmark("nb201")  # c10_test_acc_200
    y = bench.y
    out: dict = {"space": "nb201", "label": bench.label, "n_all": len(bench), "timings_s": {}, "tau": {}}
    vals, dt = _timed("nb201", bench, COUNTS)
    out["timings_s"]["params+flops, all 15,625"] = dt
    for n in COUNTS:
        out["tau"][n] = {"all": _tau(vals[n], y)}
    vals_sf, dt = _timed("nb201", bench, ["synflow"])
    out["timings_s"]["synflow, all 15,625"] = dt
    out["tau"]["synflow"] = {"all": _tau(vals_sf["synflow"], y)}

    # the 725 NASLib cells: every proxy, against the labels and against NASLib's values
    zc = load_benchmark("nb201", "naslib-zc")
    rows = [json.loads(line) for line in gzip.open(data_file("nasbench201/nb201_naslib_zc_subset.jsonl.gz"), "rt")]
    assert [r["idx"] for r in rows] == zc.index.tolist()
    pos = {int(i): k for k, i in enumerate(bench.index)}
    y_sub = y[[pos[int(i)] for i in zc.index]]
    acc_naslib = zc.columns["c10_naslib_val_acc"]
    t = time.perf_counter()
    sub = compute_proxies("nb201", zc, COUNTS + NETWORK, progress=True, seed=SEED)
    out["timings_s"]["all six proxies, 725 NASLib cells"] = time.perf_counter() - t
    out["n_naslib"] = len(zc)
    out["naslib_agreement"] = {}
    for n in COUNTS + NETWORK:
        ref = np.array([r["c10_zc"].get(n, np.nan) for r in rows], dtype=float)
        out["tau"].setdefault(n, {})["naslib_725"] = _tau(sub[n], y_sub)
        out["naslib_agreement"][n] = {
            "kendall": _tau(sub[n], ref),
            "spearman": _rho(sub[n], ref),
            "naslib_tau_with_label": _tau(ref, y_sub),
            "ours_tau_with_naslib_val_acc": _tau(sub[n], acc_naslib),
            "naslib_tau_with_naslib_val_acc": _tau(ref, acc_naslib),
            "n": int(np.isfinite(ref).sum()),
        }
    return out


def run_nb101(sample: int = 300) -> dict:
    bench = load_benchmark("nb101", "cifar10-30k")  # val_acc_108
    y = bench.y
    out: dict = {"space": "nb101", "label": bench.label, "n_all": len(bench), "timings_s": {}, "tau": {}}
    vals, dt = _timed("nb101", bench, COUNTS)
    out["timings_s"]["params+flops, all 30,001"] = dt
    out["params_equal_shipped"] = int(np.sum(vals["params"] == bench.columns["params"]))
    rows = np.sort(np.random.default_rng(SEED).choice(len(bench), sample, replace=False))
    graphs = [bench.graphs[int(i)] for i in rows]
    sub, dt = _timed("nb101", graphs, NETWORK)
    out["timings_s"][f"synflow+nwot+snip+grad_norm, {sample} cells"] = dt
    out["n_sample"] = sample
    for n in COUNTS:
        out["tau"][n] = {"all": _tau(vals[n], y), "sample": _tau(vals[n][rows], y[rows])}
    for n in NETWORK:
        out["tau"][n] = {"sample": _tau(sub[n], y[rows])}
    return out


NARROW = {"stem_channels": 16}  # NB101's stem is 128 channels: 1/64 of the convolution work


def run_nb101_narrow(sample: int = 300) -> dict:
    """nwot, snip and grad_norm on NB101 networks with a 16-channel stem: agreement with the full networks on the
    random sample of ``run_nb101``, and the values for all 14,580 protocol cells (what FGP's L_aux can use)."""
    names = NETWORK[1:]
    bench = load_benchmark("nb101", "cifar10-30k")
    rows = np.sort(np.random.default_rng(SEED).choice(len(bench), sample, replace=False))
    graphs = [bench.graphs[int(i)] for i in rows]
    full, _ = _timed("nb101", graphs, names)
    narrow, _ = _timed("nb101", graphs, names, network=NARROW)
    protocol = load_benchmark("nb101")
    every, dt = _timed("nb101", protocol, names, network=NARROW)
    out: dict = {"space": "nb101", "label": bench.label, "network": NARROW, "n_sample": sample,
                 "n_protocol": len(protocol), "timings_s": {f"{'+'.join(names)}, all {len(protocol):,}": dt},
                 "agreement": {}}
    for n in names:
        out["agreement"][n] = {"narrow_vs_full_kendall": _tau(narrow[n], full[n]),
                               "tau_full_sample": _tau(full[n], bench.y[rows]),
                               "tau_narrow_sample": _tau(narrow[n], bench.y[rows]),
                               "tau_narrow_protocol": _tau(every[n], protocol.y)}
    return out


def run_nb101_naslib(sample: int = 60) -> dict:
    """Our NB101 values against NASLib's on a random 60 of the 292 distinct cells of its zero-cost subset."""
    rows = [json.loads(line) for line in gzip.open(data_file("nasbench101/nb101_naslib_zc_subset.jsonl.gz"), "rt")]
    unique = list({r["hash"]: r for r in reversed(rows)}.values())[::-1]  # first row of each hash, file order
    sel = np.random.default_rng(SEED).choice(len(unique), sample, replace=False)
    space = get_space("nb101")
    graphs = [space.decode((unique[i]["adjacency"], unique[i]["ops"])) for i in sel]
    acc = np.array([unique[i]["val_acc_108"] for i in sel])
    ours, dt = _timed("nb101", graphs, COUNTS + NETWORK)
    out: dict = {"space": "nb101", "label": "NASLib's val_acc_108 (one random repeat)", "n_sample": sample,
                 "n_unique": len(unique), "timings_s": {f"all six proxies, {sample} cells": dt}, "agreement": {}}
    for n in COUNTS + NETWORK:
        ref = np.array([unique[i]["zc"].get(n, np.nan) for i in sel], dtype=float)
        out["agreement"][n] = {"kendall": _tau(ours[n], ref), "spearman": _rho(ours[n], ref),
                               "ours_tau_with_label": _tau(ours[n], acc), "naslib_tau_with_label": _tau(ref, acc)}
    return out


def run_nbgraph(sample: int = 500, dataset: str = "cora") -> dict:
    out: dict = {"space": "nbgraph", "label": "perf (test)", "timings_s": {}, "tau": {}, "per_dataset": {}}
    for ds in ("arxiv", "citeseer", "computers", "cora", "cs", "photo", "physics", "proteins", "pubmed"):
        bench = load_benchmark("nbgraph", ds)
        vals, dt = _timed("nbgraph", bench, COUNTS)
        out["per_dataset"][ds] = {
            "n": len(bench),
            "params_equal_shipped": int(np.sum(vals["params"] == bench.columns["params"])),
            **{f"tau_{n}": _tau(vals[n], bench.y) for n in COUNTS},
        }
    bench = load_benchmark("nbgraph", dataset)
    rows = np.sort(np.random.default_rng(SEED).choice(len(bench), sample, replace=False))
    graphs = [bench.graphs[int(i)] for i in rows]
    sub, dt = _timed("nbgraph", graphs, COUNTS + NETWORK, dataset=dataset)
    out["timings_s"][f"all six proxies, {sample} {dataset} architectures"] = dt
    out["sample_dataset"], out["n_sample"] = dataset, sample
    for n in COUNTS + NETWORK:
        out["tau"][n] = {"sample": _tau(sub[n], bench.y[rows])}
    return out


PARTS = {"nb201": run_nb201, "nb101": run_nb101, "nb101_narrow": run_nb101_narrow, "nb101_naslib": run_nb101_naslib,
         "nbgraph": run_nbgraph}


def _fmt(x) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.3f}"


def write_markdown() -> Path:
    parts = {p: json.loads((RESULTS / f"proxies_{p}.json").read_text())
             for p in PARTS if (RESULTS / f"proxies_{p}.json").is_file()}
    lines = ["# Zero-cost proxies: rank correlation with the labels (no training)", ""]
    lines += ["Made by `python benchmarks/proxies.py` (`--part nb201|nb101|nb101_narrow|nb101_naslib|nbgraph`); "
              "one CPU thread, seed 0, batch 16 random smooth images (64-node random graph for NAS-Bench-Graph). "
              "Kendall tau-b.", ""]
    if "nb201" in parts:
        r = parts["nb201"]
        lines += ["## NAS-Bench-201 (CIFAR-10 test accuracy, 200 epochs)", "",
                  "| proxy | tau, all 15,625 | tau, NASLib's 725 | NASLib's own value: tau, same 725 | "
                  "ours vs NASLib: Kendall / Spearman |", "|---|---|---|---|---|"]
        for n in COUNTS + NETWORK:
            t, a = r["tau"].get(n, {}), r["naslib_agreement"].get(n, {})
            lines.append(f"| {n} | {_fmt(t.get('all'))} | {_fmt(t.get('naslib_725'))} | "
                         f"{_fmt(a.get('naslib_tau_with_label'))} | {_fmt(a.get('kendall'))} / "
                         f"{_fmt(a.get('spearman'))} |")
        lines += ["", "Timings (s): " + "; ".join(f"{k}: {v:.0f}" for k, v in r["timings_s"].items()), ""]
    if "nb101" in parts:
        r = parts["nb101"]
        lines += ["## NAS-Bench-101 (validation accuracy, 108 epochs, one run)", "",
                  f"| proxy | tau, all {r['n_all']:,} | tau, random {r['n_sample']} |", "|---|---|---|"]
        for n in COUNTS + NETWORK:
            t = r["tau"].get(n, {})
            lines.append(f"| {n} | {_fmt(t.get('all'))} | {_fmt(t.get('sample'))} |")
        lines += ["", f"Parameter count equal to the shipped one: {r['params_equal_shipped']:,} of {r['n_all']:,}.",
                  "Timings (s): " + "; ".join(f"{k}: {v:.0f}" for k, v in r["timings_s"].items()), ""]
    if "nb101_narrow" in parts:
        r = parts["nb101_narrow"]
        lines += [f"NB101 networks with a {r['network']['stem_channels']}-channel stem (`--network-opt stem_channels="
                  f"{r['network']['stem_channels']}`) against the full networks, same random {r['n_sample']} cells, "
                  f"and on all {r['n_protocol']:,} protocol cells:", "",
                  "| proxy | narrow vs full: Kendall | tau with label, full | tau, narrow | tau, narrow, all protocol "
                  "cells |", "|---|---|---|---|---|"]
        for n, a in r["agreement"].items():
            lines.append(f"| {n} | {_fmt(a['narrow_vs_full_kendall'])} | {_fmt(a['tau_full_sample'])} | "
                         f"{_fmt(a['tau_narrow_sample'])} | {_fmt(a['tau_narrow_protocol'])} |")
        lines += ["", "Timings (s, cached values count as zero): "
                  + "; ".join(f"{k}: {v:.0f}" for k, v in r["timings_s"].items()), ""]
    if "nb101_naslib" in parts:
        r = parts["nb101_naslib"]
        lines += [f"NB101 against NASLib's values, random {r['n_sample']} of the {r['n_unique']} distinct cells of "
                  "its zero-cost subset (label: NASLib's val_acc_108; NASLib has no nwot for NB101):", "",
                  "| proxy | ours vs NASLib: Kendall / Spearman | tau with label, ours | tau with label, NASLib's |",
                  "|---|---|---|---|"]
        for n in COUNTS + NETWORK:
            a = r["agreement"][n]
            lines.append(f"| {n} | {_fmt(a['kendall'])} / {_fmt(a['spearman'])} | {_fmt(a['ours_tau_with_label'])} | "
                         f"{_fmt(a['naslib_tau_with_label'])} |")
        lines += [""]
    if "nbgraph" in parts:
        r = parts["nbgraph"]
        lines += ["## NAS-Bench-Graph (test performance)", "",
                  "| dataset | archs | params equal to shipped | tau params | tau flops |", "|---|---|---|---|---|"]
        for ds, d in r["per_dataset"].items():
            lines.append(f"| {ds} | {d['n']:,} | {d['params_equal_shipped']:,} | {_fmt(d['tau_params'])} | "
                         f"{_fmt(d['tau_flops'])} |")
        lines += ["", f"All proxies on {r['n_sample']} random {r['sample_dataset']} architectures:", "",
                  "| proxy | tau |", "|---|---|"]
        lines += [f"| {n} | {_fmt(r['tau'][n]['sample'])} |" for n in COUNTS + NETWORK]
        lines += ["", "Timings (s): " + "; ".join(f"{k}: {v:.0f}" for k, v in r["timings_s"].items()), ""]
    notes = RESULTS / "proxies_notes.md"
    if notes.is_file():
        lines += [notes.read_text().rstrip(), ""]
    path = RESULTS / "proxies.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=sorted(PARTS), action="append", help="run only these parts (repeatable)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--markdown-only", action="store_true", help="only rewrite proxies.md from the JSON files")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.markdown_only:
        for part in args.part or list(PARTS):
            t = time.perf_counter()
            result = PARTS[part]()
            result.update({
                "proxies": list_proxies(), "seed": SEED, "threads": args.threads, "fgp": fgp.__version__,
                "torch": torch.__version__, "machine": platform.machine(),
                "command": " ".join(["python", "benchmarks/proxies.py", *(argv if argv is not None else sys.argv[1:])]),
                "wall_s": time.perf_counter() - t,
            })
            (RESULTS / f"proxies_{part}.json").write_text(json.dumps(result, indent=1) + "\n")
            print(json.dumps(result, indent=1), flush=True)
    print(f"wrote {write_markdown()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
