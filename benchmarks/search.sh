#!/usr/bin/env bash
# Architecture search on the benchmarks: paired trials of 100 queries per algorithm (each query reveals a validation
# label; the files report the test label of the best-by-validation architecture). One label-free pre-training per
# space, shared through the cache by every FGP-guided trial. `fgp report FILE` prints each table.
set -euo pipefail
cd "$(dirname "$0")/.."
R=benchmarks/results/search
fgp search --space nb201 --algorithm random,evolution,local --budget 100 --trials 20 --out $R/nb201.jsonl
fgp search --space nb201 --algorithm npenas --predictor supervised --budget 100 --trials 20 --out $R/nb201.jsonl
fgp search --space nb201 --algorithm local-predictor --predictor fgp --budget 100 --trials 20 --out $R/nb201.jsonl \
  --plot $R/nb201.png
fgp search --space nb201 --algorithm local-predictor --predictor supervised --budget 100 --trials 20 \
  --out $R/nb201.jsonl --plot $R/nb201.png
# NAS-Bench-Graph and NB101 (NB101: val_acc_108 of its 30,001 labelled cells; nothing else to report)
for ds in cora citeseer; do
  fgp search --space nbgraph --dataset $ds --algorithm random,evolution,local --budget 100 --trials 20 \
    --out $R/nbgraph_$ds.jsonl
  fgp search --space nbgraph --dataset $ds --algorithm local-predictor --predictor fgp --budget 100 --trials 20 \
    --out $R/nbgraph_$ds.jsonl
  fgp search --space nbgraph --dataset $ds --algorithm local-predictor --predictor supervised --budget 100 \
    --trials 20 --out $R/nbgraph_$ds.jsonl
done
fgp search --space nb101 --algorithm random,evolution,local --budget 100 --trials 20 --out $R/nb101.jsonl
fgp search --space nb101 --algorithm local-predictor --predictor fgp --budget 100 --trials 20 --out $R/nb101.jsonl
fgp search --space nb101 --algorithm local-predictor --predictor supervised --budget 100 --trials 20 \
  --out $R/nb101.jsonl
