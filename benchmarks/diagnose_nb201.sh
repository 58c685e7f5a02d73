#!/usr/bin/env bash
# Why does FGP not help ResGatedGCN on NB201 at 1% here? One factor changed per line, 9 protocol runs each,
# all into one results file (each configuration gets its own config_id; `fgp report` shows them apart).
# Choices are read off the validation Kendall tau (`--metrics best_val_tau,...`), never off the test set.
set -euo pipefail
out=${1:-benchmarks/results/nb201_diagnosis.jsonl}
run() { python -m fgp experiment --space nb201 --encoder gatedgcn --ratio 0.01 --runs 9 --quiet --out "$out" "$@"; }
run --pretrain fgp --pretrain-opt std=0.3                      # a less linear surrogate (std 0.1 is ~linear in the ops)
run --pretrain fgp --pretrain-opt standardize=false            # raw surrogate target, as the paper
run --pretrain fgp --pretrain-opt l2=0                         # surrogate only (no L_aux)
run --pretrain fgp --proxy synflow                             # L_aux on synflow instead of the parameter count
run --pretrain fgp --train-only                                # pre-train on the training pool only
run --pretrain fgp --finetune-opt encoder_lr_scale=0.1         # keep the pre-trained encoder closer
run --pretrain fgp --finetune-opt freeze_encoder_epochs=50     # fit the head on frozen features first
# the authors' FlowerFormer-branch fine-tuning schedule, with and without FGP
run --pretrain none,fgp --finetune-epochs 500 --finetune-opt lr=8e-4 --finetune-opt weight_decay=6e-5 \
    --finetune-opt schedule=cosine --finetune-opt warmup_epochs=30 --finetune-opt batch_size=128
