#!/usr/bin/env bash
# Today's defaults, measured with the published protocol (9 runs each; about 2 hours on one CPU core here, most of
# it one pre-training per space and encoder). Each command appends to its file and skips the runs already in it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/defaults
fgp experiment --space nb201 --encoder gatedgcn,gin --pretrain none,fgp --ratio 0.01 --out $out/nb201_1pct.jsonl
fgp experiment --space nbgraph --dataset cora --encoder gatedgcn,gin --pretrain none,fgp --ratio 0.01 --out $out/nbgraph_cora_1pct.jsonl
fgp experiment --space nb101 --encoder gatedgcn,gin --pretrain none,fgp --ratio 0.01 --out $out/nb101_1pct.jsonl
fgp experiment --space nbgraph --dataset citeseer --encoder gatedgcn,gin --pretrain none,fgp --ratio 0.01 --out $out/nbgraph_citeseer_1pct.jsonl
