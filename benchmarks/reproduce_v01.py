"""Today's defaults against the runs v0.1 recorded for the same defaults, run by run.

0.2 moved the per-space settings into recipes, rewrote the Predictor and the experiment runner, and removed options
that measured no gain. This pairs every run of ``benchmarks/results/defaults/*.jsonl`` (``benchmarks/defaults.sh``)
with the run of the same space, dataset, encoder, pre-training, ratio, seed and permutation that v0.1 recorded under
its own config id for the same defaults, and prints the largest difference of each metric.

    python benchmarks/reproduce_v01.py

The v0.1 config ids are what ``ExperimentConfig(...).run_config`` gave at tag v0.1 for these rows.
"""

from __future__ import annotations

from pathlib import Path

from fgp.results import read_results

RESULTS = Path(__file__).resolve().parent / "results"
# (space, encoder, pretrain) -> (v0.1 config id, v0.1 results file); NAS-Bench-Graph's ids are shared by datasets
V01 = {
    ("nb201", "gatedgcn", "none"): ("11ba459c6d", "nb201_reference_pruned.jsonl"),
    ("nb201", "gatedgcn", "fgp"): ("46f961a716", "nb201_reference_pruned_snip.jsonl"),
    ("nb201", "gin", "none"): ("8963f5c149", "nb201_reference_pruned_gin_e2e.jsonl"),
    ("nb201", "gin", "fgp"): ("af68ebfc40", "nb201_reference_pruned_gin_e2e.jsonl"),
    ("nb101", "gatedgcn", "none"): ("413c4c7b29", "nb101_reference_width256.jsonl"),
    ("nb101", "gatedgcn", "fgp"): ("b0a9cbf888", "nb101_reference_pretrain_epochs50.jsonl"),
    ("nb101", "gin", "none"): ("1458824b5c", "nb101_reference_finetune.jsonl"),
    ("nb101", "gin", "fgp"): ("6f9b3a337b", "nb101_reference_proxies.jsonl"),
    ("nbgraph", "gatedgcn", "none"): ("ddc8ba747a", "nbgraph_reference_splits.jsonl"),
    ("nbgraph", "gatedgcn", "fgp"): ("1711e6e22c", "nbgraph_reference_splits_dedup.jsonl"),
    ("nbgraph", "gin", "none"): ("1c7f507c7b", "nbgraph_reference_splits.jsonl"),
    ("nbgraph", "gin", "fgp"): ("49a9f3e435", "nbgraph_reference_splits_dedup.jsonl"),
}
RUN = ("space", "dataset", "label", "encoder", "pretrain", "ratio", "seed", "permutation")
METRICS = ("best_val_tau", "kendall_tau", "spearman", "precision_at_1", "precision_at_5")


def main() -> None:
    print("| file | space, dataset | encoder | pre-training | runs paired | largest difference (val tau, tau, "
          "Spearman, P@1%, P@5%) |")
    print("|---|---|---|---|---|---|")
    for path in sorted((RESULTS / "defaults").glob("*.jsonl")):
        groups: dict[tuple, list[dict]] = {}
        for r in read_results(path):
            groups.setdefault((r["space"], r["dataset"], r["encoder"], r["pretrain"]), []).append(r)
        for (space, dataset, encoder, pretrain), records in groups.items():
            cid, old_file = V01[(space, encoder, pretrain)]
            old = {tuple(r[k] for k in RUN): r for r in read_results(RESULTS / old_file) if r["config_id"] == cid}
            pairs = [(r, old[tuple(r[k] for k in RUN)]) for r in records if tuple(r[k] for k in RUN) in old]
            worst = [max(abs(a[m] - b[m]) for a, b in pairs) if pairs else float("nan") for m in METRICS]
            print(f"| {path.name} | {space}, {dataset} | {encoder} | {pretrain} | {len(pairs)} of {len(records)} | "
                  + " / ".join(f"{w:.1e}" if w else "0" for w in worst) + " |")


if __name__ == "__main__":
    main()
