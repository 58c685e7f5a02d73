"""Encoder registry: ``register_encoder`` / ``create_encoder`` / ``list_encoders`` (timm style).

An encoder is a ``torch.nn.Module`` built as ``cls(num_ops, **kwargs)`` whose ``forward(batch: GraphBatch)``
returns ``(node_embeddings (num_nodes, d_node), graph_embeddings (num_graphs, out_dim))``; ``out_dim`` is an
attribute. Node features are the one-hot ops of the batch.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

import torch

_ENCODERS: dict[str, Callable[..., torch.nn.Module]] = {}


def register_encoder(name: str) -> Callable[[type[torch.nn.Module]], type[torch.nn.Module]]:
    def deco(cls: type[torch.nn.Module]) -> type[torch.nn.Module]:
        if name in _ENCODERS:
            raise ValueError(f"encoder {name!r} is already registered")
        _ENCODERS[name] = cls
        return cls

    return deco


def list_encoders(pattern: str = "*") -> list[str]:
    """Registered encoder names matching a shell-style wildcard, e.g. ``list_encoders("g*")``."""
    return sorted(n for n in _ENCODERS if fnmatch.fnmatch(n, pattern))


def create_encoder(name: str, num_ops: int, **kwargs: Any) -> torch.nn.Module:
    """Build the encoder registered under ``name`` for a vocabulary of ``num_ops`` node types."""
    if name not in _ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {list_encoders()}")
    return _ENCODERS[name](num_ops, **kwargs)
