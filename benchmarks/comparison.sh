#!/usr/bin/env bash
# The paper's comparison (Table 1) under one protocol: every pre-training method x encoder at 1% labels, 9 runs
# each. The none and fgp rows are today's defaults (benchmarks/defaults.sh); each command appends to its file and
# skips the runs already in it, so the defaults' files are copied in first.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/comparison
mkdir -p $out
[ -f $out/nb201_1pct.jsonl ] || cp benchmarks/results/defaults/nb201_1pct.jsonl $out/nb201_1pct.jsonl
fgp experiment --space nb201 --encoder gatedgcn,gin --pretrain none,zc,fgp,graphcl,arch2vec,gmae --ratio 0.01 \
  --out $out/nb201_1pct.jsonl
