"""Summaries of results files: mean ± std tables per configuration, and paired comparisons of two of them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from fgp.metrics import METRIC_KEYS, METRIC_TITLES

GROUP_KEYS = ("space", "dataset", "label", "encoder", "pretrain", "ratio", "config_id")


def summarize(records: Iterable[dict], metrics: Sequence[str] = METRIC_KEYS) -> list[dict]:
    """Mean and standard deviation (population, as the papers report) of each metric per configuration."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in GROUP_KEYS), []).append(r)
    rows = []
    for key, rs in groups.items():
        row = dict(zip(GROUP_KEYS, key))
        row["runs"] = len(rs)
        for m in metrics:
            vals = np.array([r[m] for r in rs], dtype=np.float64)
            row[m] = (float(vals.mean()), float(vals.std()))
        rows.append(row)
    return rows


def markdown_table(
    records: Iterable[dict], metrics: Sequence[str] = ("kendall_tau", "precision_at_1", "precision_at_5")
) -> str:
    """The summary as a markdown table, metrics x100 as ``mean ± std``."""
    unknown = [m for m in metrics if m not in METRIC_TITLES]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(METRIC_TITLES)}")
    rows = summarize(records, metrics)
    if not rows:
        raise ValueError("no results to report")
    show_config = len({r["config_id"] for r in rows}) > len({(r["encoder"], r["pretrain"]) for r in rows})
    changes = config_differences(records) if show_config else {}
    head = ["space", "dataset", "label", "encoder", "pretrain", "ratio"] + (["config"] if show_config else [])
    head += ["runs"] + [METRIC_TITLES.get(m, m) for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["space"], r["dataset"], r["label"], r["encoder"], r["pretrain"], f"{r['ratio']:g}"]
        cells += [" ".join([r["config_id"], *changes.get(r["config_id"], [])])] if show_config else []
        cells += [str(r["runs"])] + [_mean_std(*r[m]) for m in metrics]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def wins_table(records: Iterable[dict], metrics: Sequence[str] = ("kendall_tau", "precision_at_1", "precision_at_5"),
               method: str = "fgp") -> str:
    """Which pre-training is best, per setting (space, dataset, label, encoder, ratio) and metric, by mean over
    the runs, as the paper's Table 1 counts wins; the last line counts the settings ``method`` wins (ties count
    for every method that shares the best mean at the printed precision). Settings with one pre-training only
    are left out."""
    rows = summarize(records, metrics)
    settings: dict[tuple, list[dict]] = {}
    for r in rows:
        settings.setdefault((r["space"], r["dataset"], r["label"], r["encoder"], r["ratio"]), []).append(r)
    head = ["space", "dataset", "encoder", "ratio", "metric", "best", "runs", *_methods(rows)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    won = total = 0
    for (space, dataset, _, encoder, ratio), rs in settings.items():
        if len({r["pretrain"] for r in rs}) < 2:
            continue
        for m in metrics:
            means = {str(r["pretrain"]): round(100 * r[m][0], 1) for r in rs}
            top = max(means.values())
            best = sorted(p for p, v in means.items() if v == top)
            total += 1
            won += method in best
            cells = [space, dataset, encoder, f"{ratio:g}", METRIC_TITLES.get(m, m), ", ".join(best),
                     "/".join(sorted({str(r["runs"]) for r in rs}))]
            cells += [f"{means[p]:.1f}" if p in means else "-" for p in _methods(rows)]
            lines.append("| " + " | ".join(cells) + " |")
    if not total:
        raise ValueError("no setting has results of two or more pre-training methods to compare")
    lines.append(f"\n{method} is best in {won} of {total} settings")
    return "\n".join(lines)


def _methods(rows: list[dict]) -> list[str]:
    return sorted({str(r["pretrain"]) for r in rows}, key=lambda p: (p != "none", p))


PAIR_KEYS = ("space", "dataset", "label", "ratio", "seed", "permutation")  # what makes two runs the same run


def paired_table(
    base: Iterable[dict],
    candidate: Iterable[dict],
    metrics: Sequence[str] = ("best_val_tau", "kendall_tau", "precision_at_1"),
) -> str:
    """How ``candidate`` differs from ``base`` run by run (same split, same seed), as a markdown table per ratio
    and metric: both means, the mean paired difference ± its standard error, in how many runs the candidate is
    higher, and the Wilcoxon signed-rank p-value. Each side must be one configuration (one ``config_id``).

    Pairing removes the split-to-split spread that dominates a 9-run standard deviation, so it is how a setting
    is compared with another here (read the validation tau to choose; the test metrics only to report)."""
    from scipy.stats import wilcoxon

    unknown = [m for m in metrics if m not in METRIC_TITLES]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(METRIC_TITLES)}")
    sides = []
    for name, records in (("base", base), ("candidate", candidate)):
        records = list(records)
        configs = sorted({(r["config_id"], r["encoder"], r["pretrain"]) for r in records})
        if len(configs) != 1:
            listed = ", ".join(f"{c} ({e}/{p})" for c, e, p in configs) or "none"
            raise ValueError(f"the {name} side must hold one configuration, it holds {len(configs)}: {listed}; "
                             "name one as FILE:CONFIG_ID")
        sides.append({tuple(r[k] for k in PAIR_KEYS): r for r in records})
    keys = sorted(set(sides[0]) & set(sides[1]), key=lambda k: tuple(map(str, k)))
    if not keys:
        raise ValueError("the two sides share no run (same space, dataset, label, ratio, seed and permutation)")
    head = ["ratio", "metric", "runs", "base", "candidate", "candidate - base", "candidate higher", "Wilcoxon p"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ratio in sorted({k[3] for k in keys}):
        pairs = [(sides[0][k], sides[1][k]) for k in keys if k[3] == ratio]
        for m in metrics:
            a = np.array([x[m] for x, _ in pairs], dtype=np.float64)
            b = np.array([y[m] for _, y in pairs], dtype=np.float64)
            d = b - a
            n, missing = len(d), bool(np.isnan(d).any())  # e.g. no validation tau with select="last"
            diff, higher, p = "-", "-", "-"
            if not missing:
                diff = f"{100 * d.mean():+.1f}" + (f" ± {100 * d.std(ddof=1) / np.sqrt(n):.1f}" if n > 1 else "")
                higher = f"{int((d > 0).sum())} of {n}"
                p = f"{wilcoxon(d).pvalue:.2g}" if n > 1 and np.any(d != 0) else "-"
            cells = [f"{ratio:g}", METRIC_TITLES[m], str(n), _mean_std(a.mean(), a.std()),
                     _mean_std(b.mean(), b.std()), diff, higher, p]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_std(mean: float, std: float) -> str:
    """``mean ± std`` x100; ``-`` where a metric does not exist (e.g. the validation tau of ``select="last"``)."""
    return "-" if np.isnan(mean) else f"{100 * mean:.1f} ± {100 * std:.1f}"


def config_differences(records: Iterable[dict]) -> dict[str, list[str]]:
    """Per config id, the ``option=value`` settings in which it departs from the most common value among the
    configurations of the same encoder and pre-training in ``records`` (so a table of several configurations says
    what each one changed). Where no value is more common than the others, every configuration names its own."""
    from collections import Counter

    configs: dict[tuple, dict[str, dict]] = {}
    for r in records:
        if "config" in r:
            configs.setdefault((r["encoder"], r["pretrain"]), {})[r["config_id"]] = _flatten(r["config"])
    out = {}
    for group in configs.values():
        keys = sorted({k for flat in group.values() for k in flat})
        usual = {}
        for k in keys:
            counts = Counter(json.dumps(f.get(k)) for f in group.values()).most_common(2)
            usual[k] = counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None
        for cid, flat in group.items():
            out[cid] = [f"{k}={flat.get(k)}" for k in keys if json.dumps(flat.get(k)) != usual[k]]
    return out


def _flatten(config: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for k, v in config.items():
        name = k.removesuffix("_kwargs")
        if isinstance(v, dict):
            flat.update(_flatten(v, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = v
    return flat
