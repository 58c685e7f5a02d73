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


def torch_device(value, name: str = "device") -> torch.device:
    """``value`` as a torch device this machine has (None: CUDA when available, else the CPU).

    A misspelt or absent device is a ValueError naming ``name`` at once, not a torch error after a benchmark has
    loaded or halfway through a run.
    """
    if value is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError):
        raise ValueError(f"{name} {value!r} is not a torch device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} {value!r}: CUDA is not available on this machine")
    try:
        torch.zeros(1, device=device).item()  # a missing device index, or a device without storage (meta)
    except (RuntimeError, AssertionError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{name} {value!r} is not usable on this machine ({reason})") from None
    return device
