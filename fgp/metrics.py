"""Ranking metrics of the published protocol: Kendall tau-b, Spearman rho and Precision@K%."""

from __future__ import annotations

import numpy as np
from scipy import stats


def _check(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64).ravel()
    true = np.asarray(true, dtype=np.float64).ravel()
    if pred.shape != true.shape:
        raise ValueError(f"predictions and labels differ in length: {pred.size} vs {true.size}")
    if pred.size < 2:
        raise ValueError("rank metrics need at least two architectures")
    for name, arr in (("predictions", pred), ("labels", true)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contain {int((~np.isfinite(arr)).sum())} non-finite value(s)")
    return pred, true


def kendall_tau(pred, true) -> float:
    """Kendall tau-b (scipy), the protocol's headline metric; 0 when either side is constant."""
    pred, true = _check(pred, true)
    tau = stats.kendalltau(pred, true).statistic
    return 0.0 if np.isnan(tau) else float(tau)


def spearman(pred, true) -> float:
    pred, true = _check(pred, true)
    rho = stats.spearmanr(pred, true).statistic
    return 0.0 if np.isnan(rho) else float(rho)


def precision_at_k(pred, true, percent: float) -> float:
    """|top-K% by prediction ∩ top-K% by label| / K, with K = max(1, floor(n * percent / 100)).

    Ties, on either side, are broken by row position: of equal values the earlier row ranks higher (a stable sort
    of the negated values). The result is deterministic but depends on row order wherever the top K cuts through a
    tie: a constant predictor picks the first K rows, so its P@K is the share of the true top K among them, not a
    chance level; identical graphs (e.g. isomorphic pruned NB201 cells) get equal scores, so which of them counts
    is decided by position.
    """
    pred, true = _check(pred, true)
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    k = max(1, int(pred.size * percent / 100))
    top_pred = np.argsort(-pred, kind="stable")[:k]
    top_true = np.argsort(-true, kind="stable")[:k]
    return len(np.intersect1d(top_pred, top_true)) / k


PRECISION_PERCENTS = (1, 5, 10, 50)


def ranking_metrics(pred, true) -> dict[str, float]:
    """All protocol metrics as fractions: kendall_tau, spearman, precision_at_{1,5,10,50}."""
    out = {"kendall_tau": kendall_tau(pred, true), "spearman": spearman(pred, true)}
    for p in PRECISION_PERCENTS:
        out[f"precision_at_{p}"] = precision_at_k(pred, true, p)
    return out


#: The metrics every result record holds, and their titles in reports.
METRIC_KEYS = (
    "kendall_tau",
    "spearman",
    "precision_at_1",
    "precision_at_5",
    "precision_at_10",
    "precision_at_50",
)
METRIC_TITLES = {
    "kendall_tau": "Kendall tau",
    "spearman": "Spearman",
    "precision_at_1": "P@1%",
    "precision_at_5": "P@5%",
    "precision_at_10": "P@10%",
    "precision_at_50": "P@50%",
    "best_val_tau": "val tau",  # the validation Kendall tau of the kept epoch: what model choices may look at
}
