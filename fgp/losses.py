"""Ranking losses: predictors are judged by rank correlation, so they are trained on pairwise order, not values."""

from __future__ import annotations

import torch


def pairwise_hinge_loss(
    pred: torch.Tensor,
    y: torch.Tensor,
    margin: float = 0.5,
    max_pairs: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mean pairwise hinge ranking loss (METHOD.md section 4).

    Over the unordered pairs ``(a, b)`` with ``y_a != y_b``: ``mean(max(0, margin - sign(y_a - y_b) * (p_a - p_b)))``.
    Tied pairs carry no order and are left out. When more than ``max_pairs`` pairs remain, a uniformly random subset
    of ``max_pairs`` is kept, drawn with ``generator`` (so a seeded generator makes it deterministic). With no
    untied pair the loss is a zero that still depends on ``pred`` (so ``backward`` works).
    """
    pred = pred.reshape(-1)
    y = torch.as_tensor(y, device=pred.device).reshape(-1)
    if pred.numel() != y.numel():
        raise ValueError(f"pred has {pred.numel()} values but y has {y.numel()}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if max_pairs is not None and max_pairs < 1:
        raise ValueError(f"max_pairs must be a positive number of pairs or None, got {max_pairs}")
    if torch.isnan(y).any():
        raise ValueError(f"y holds {int(torch.isnan(y).sum())} NaN value(s)")
    a, b = torch.triu_indices(pred.numel(), pred.numel(), offset=1, device=pred.device)
    sign = torch.sign(y[a] - y[b])
    keep = sign != 0
    a, b, sign = a[keep], b[keep], sign[keep]
    if a.numel() == 0:
        return pred.sum() * 0.0
    if max_pairs is not None and a.numel() > max_pairs:
        chosen = torch.randperm(
            a.numel(), generator=generator, device=generator.device if generator is not None else "cpu"
        )[:max_pairs].to(pred.device)
        a, b, sign = a[chosen], b[chosen], sign[chosen]
    return torch.relu(margin - sign.to(pred.dtype) * (pred[a] - pred[b])).mean()
