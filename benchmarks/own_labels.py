"""The README's own-labels route against `fgp experiment`, with the same labels.

For each of the 9 protocol runs on NB201 at 1% (78 labelled cells), fit ``Predictor.for_space("nb201")`` on the run's
training cells as arch strings, exactly as the README does, and score the run's test cells:

- ``readme``: no validation set (the last fine-tuning epoch is kept), as a user with only their own labels would;
- ``with validation``: the run's 40 validation cells passed as ``val_archs`` (the protocol's model selection), which
  must give the experiment's numbers exactly (the same pre-training set, so the same cache entry).

    python benchmarks/own_labels.py [--encoder gatedgcn] [--out benchmarks/results/own_labels.json]

Pre-training is shared with `fgp experiment --space nb201` through the cache: run that first (benchmarks/defaults.sh),
or the first fit here pre-trains (about 3 minutes on one thread for ResGatedGCN).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from fgp.datasets import load_benchmark
from fgp.metrics import kendall_tau, precision_at_k
from fgp.predictor import Predictor
from fgp.splits import protocol_runs, protocol_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="gatedgcn")
    parser.add_argument("--out", help="write the per-run numbers as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the fgp command runs (FGP_NUM_THREADS), so the numbers are the experiment's
    bench = load_benchmark("nb201")  # labels and arch strings; the predictor decodes them itself
    archs = list(bench.natives)
    rows = []
    for seed, perm in protocol_runs(9):
        split = protocol_split(len(bench), 0.01, perm, "nb201")
        train = [archs[i] for i in split.train]
        test = [archs[i] for i in split.test]
        row = {"seed": seed, "permutation": perm}
        for name, val in (("readme", None), ("with_validation", split.val)):
            start = time.perf_counter()
            model = Predictor.for_space("nb201", args.encoder, seed=seed)
            extra = {} if val is None else {"val_archs": [archs[i] for i in val], "val_y": bench.y[val]}
            model.fit(train, bench.y[split.train], **extra)
            scores = model.predict(test)
            row[name] = {"kendall_tau": kendall_tau(scores, bench.y[split.test]),
                         "precision_at_1": precision_at_k(scores, bench.y[split.test], 1),
                         "seconds": time.perf_counter() - start,
                         "pretrain_cached": model.info_["pretrain"]["cached"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    for name in ("readme", "with_validation"):
        tau = np.array([r[name]["kendall_tau"] for r in rows])
        p1 = np.array([r[name]["precision_at_1"] for r in rows])
        print(f"{name}: Kendall tau {100 * tau.mean():.1f} ± {100 * tau.std():.1f}, "
              f"P@1% {100 * p1.mean():.1f} ± {100 * p1.std():.1f}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
