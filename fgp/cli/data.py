"""``fgp data info``: what a benchmark holds (count, label columns, label ranges)."""

from __future__ import annotations

import json


def register(sub) -> None:
    data = sub.add_parser("data", help="inspect the benchmark tables")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    info = data_sub.add_parser("info", help="number of architectures, label columns and ranges of a benchmark")
    info.add_argument("--space", required=True,
                      help="search space with benchmark data: nb101, nb201, nbgraph, tnb101_macro")
    info.add_argument("--dataset", help="dataset of the space (default: the space's main one)")
    info.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    info.set_defaults(func=run_info)


def run_info(args) -> int:
    import numpy as np

    from fgp.datasets import load_benchmark

    bench = load_benchmark(args.space, args.dataset)
    labels = {}
    for name in bench.label_columns:
        col = bench.columns[name]
        finite = col[np.isfinite(col)]
        labels[name] = {
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None,
            "missing": int(col.size - finite.size),
        }
    info = {
        "space": bench.space,
        "dataset": bench.dataset,
        "count": len(bench),
        "default_label": bench.label,
        "labels": labels,
        "other_columns": [c for c in bench.columns if c not in labels],
        "op_vocabulary": list(bench.vocab),
    }
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"{info['space']}/{info['dataset']}: {info['count']:,} architectures")
    print(f"ops: {', '.join(info['op_vocabulary'])}")
    if not labels:
        print("labels: none (unlabelled)")
    for name, lab in labels.items():
        default = " (default)" if name == bench.label else ""
        missing = f", {lab['missing']} missing" if lab["missing"] else ""
        span = "n/a" if lab["min"] is None else f"{lab['min']:.6g} .. {lab['max']:.6g}"  # None: no finite value
        print(f"label {name}{default}: {span}{missing}")
    if info["other_columns"]:
        print(f"other columns: {', '.join(info['other_columns'])}")
    return 0
