"""Scale-out: the same 18-run NB201 grid (ResGatedGCN supervised and FGP, 9 runs each, pre-training cached) with 1
and 2 local workers and 2 Ray workers: wall time and whether the records are identical.

    python benchmarks/scale_out.py [--out benchmarks/results/scale_out.json]

Run it on otherwise idle cores; the pre-training is computed (and cached) first, outside the timings.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from fgp.experiment import ExperimentConfig, run_experiment

SAME = ("kendall_tau", "spearman", "precision_at_1", "precision_at_5", "best_val_tau", "best_epoch", "config_id")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the timings as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = ExperimentConfig(space="nb201", encoders=("gatedgcn",), pretrains=(None, "fgp"), runs=9)
    run_experiment(ExperimentConfig(space="nb201", encoders=("gatedgcn",), pretrains=("fgp",), runs=1),
                   progress=False)  # the pre-training, cached for every setting below
    rows, reference = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for name, workers, backend in (("1 process", 1, "local"), ("2 workers", 2, "local"),
                                       ("2 Ray workers", 2, "ray")):
            start = time.perf_counter()
            records = run_experiment(config, out=Path(tmp) / f"{name}.jsonl", progress=False, workers=workers,
                                     backend=backend)
            seconds = time.perf_counter() - start
            numbers = [{k: r[k] for k in SAME} for r in records]
            reference = reference or numbers
            rows.append({"setting": name, "runs": len(records), "seconds": round(seconds, 1),
                         "identical": numbers == reference})
            print(json.dumps(rows[-1]), flush=True)
    for row in rows:
        row["speed-up"] = round(rows[0]["seconds"] / row["seconds"], 2)
    print("| setting | runs | wall s | speed-up | records identical to 1 process |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['setting']} | {row['runs']} | {row['seconds']} | {row['speed-up']}x | {row['identical']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
