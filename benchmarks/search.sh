#!/usr/bin/env bash
# Architecture search on NB201 CIFAR-10: 20 paired trials of 100 queries per algorithm (queries the validation
# accuracy, reports the test accuracy of the best-by-validation cell). One pre-training of ResGatedGCN on NB201,
# shared through the cache by every FGP-guided trial.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/search/nb201.jsonl
fgp search --space nb201 --algorithm random,evolution,local --budget 100 --trials 20 --out $out
fgp search --space nb201 --algorithm npenas --predictor supervised --budget 100 --trials 20 --out $out
fgp search --space nb201 --algorithm npenas --predictor fgp --budget 100 --trials 20 --out $out
fgp search --space nb201 --algorithm local-predictor --predictor fgp --budget 100 --trials 20 --out $out \
  --plot benchmarks/results/search/nb201.png
