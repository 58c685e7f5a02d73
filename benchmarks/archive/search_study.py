"""What makes FGP pre-training help search on NB201 (issue #38): settings fixed before running, 20 paired trials of
50 queries each, chosen by the mean best *queried* (validation) accuracy at 30 and 50 queries; the reported test
accuracy is printed beside it but never used to choose.

    git checkout e781f26 && python benchmarks/search_study.py   # appends to benchmarks/results/search/nb201_study.jsonl

It ran at commit e781f26, the last with the ``rank`` algorithm (removed after this study: it found no better cells
than local-predictor).

Settings: the predictor-guided local search with FGP as the prediction recipe has it (``L_aux`` ranking snip) and
with FGP's surrogate term only (``l2=0``); ranking the whole space each round with a supervised and a
surrogate-only FGP predictor. Two more were planned and dropped for time on a shared 2-core machine: ranking with
the recipe's FGP, and NPENAS with surrogate-only FGP.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from fgp.search.run import run_searches

OUT = Path(__file__).parents[1] / "results" / "search" / "nb201_study.jsonl"
RECIPE, SURROGATE_ONLY = {}, {"l2": 0.0}
SETTINGS = [
    ("local-predictor", {"predictor": "fgp", "pretrain_kwargs": RECIPE}),
    ("local-predictor", {"predictor": "fgp", "pretrain_kwargs": SURROGATE_ONLY}),
    ("rank", {"predictor": "supervised"}),
    ("rank", {"predictor": "fgp", "pretrain_kwargs": SURROGATE_ONLY}),
]


def best_after(record: dict, n: int, column: int) -> float:
    return max(record["queries"][:n], key=lambda q: q[1])[column]


def main() -> None:
    torch.set_num_threads(1)
    print("| algorithm | options | validation @30 | @50 | test @30 | @50 | overhead s |")
    print("|---|---|---|---|---|---|---|")
    for name, opts in SETTINGS:
        records = run_searches("nb201", [name], budget=50, trials=20, out=OUT, options={name: opts},
                               progress=lambda m: print(m, file=sys.stderr))
        cells = [f"{np.mean([best_after(r, n, c) for r in records]):.2f}" for c in (1, 2) for n in (30, 50)]
        overhead = np.mean([r["overhead_seconds"] for r in records])
        print(f"| {name} | {opts} | {' | '.join(cells)} | {overhead:.1f} |", flush=True)


if __name__ == "__main__":
    main()
