"""Checks of per-architecture values (labels, proxies) shared by every public entry point that takes them."""

from __future__ import annotations

import numpy as np
import torch


def per_graph_values(values, n: int, what: str, columns: bool = False) -> np.ndarray:
    """``values`` as float64, one finite value per graph or, with ``columns``, an ``(n, m)`` table as well.

    Errors name ``what`` and the problem: a length that does not match ``n`` graphs, NaN or infinite entries.
    """
    arr = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=np.float64)
    if not (columns and arr.ndim == 2):
        arr = arr.reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"{what} has {arr.shape[0]} {'values' if arr.ndim == 1 else 'rows'} for {n} graphs")
    nan = int(np.isnan(arr).sum())
    if nan:
        raise ValueError(f"{what} holds {nan} NaN value(s) of {arr.size}; drop those architectures or fill them in")
    inf = int(np.isinf(arr).sum())
    if inf:
        raise ValueError(f"{what} holds {inf} infinite value(s) of {arr.size}")
    return arr


def positive_int(value, name: str) -> int:
    """``value`` if it is a positive integer (not a bool); otherwise an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def one_of(value, choices: tuple, name: str):
    """``value`` if it is one of ``choices``; otherwise an error naming ``name`` and the choices."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value
