"""Encoder registry: ``register_encoder`` / ``create_encoder`` / ``list_encoders`` (timm style).

An encoder is a ``torch.nn.Module`` built as ``cls(num_ops, **kwargs)`` whose ``forward(batch: GraphBatch)``
returns ``(node_embeddings (num_nodes, d_node), graph_embeddings (num_graphs, out_dim))``; ``out_dim`` is an
attribute. Node features are the one-hot ops of the batch.
"""

from __future__ import annotations

from typing import Any

import torch

from fgp.registry import Registry

ENCODERS = Registry("encoder")
register_encoder = ENCODERS.register
list_encoders = ENCODERS.names


def recommended_settings(name: str, space: str | None) -> dict[str, dict]:
    """``{"encoder": {...}, "finetune": {...}, "finetune_pretrained": {...}, "pretrain": {...}}``: options published
    or measured best for an encoder on ``space`` (FlowerFormer: its authors' model size and optimiser, and on NB201
    the score head trained alone first when the encoder is pre-trained and pre-training batches of 1024;
    ResGatedGCN: both edge directions on NB201 and NB101; GIN on NB101: directed messages and the score head
    trained alone first), which experiments apply unless overridden; ``finetune_pretrained`` adds to ``finetune``
    for pre-trained encoders only, and ``pretrain`` holds options of every pre-training method. Empty where
    METHOD.md's shared defaults hold."""
    cls = ENCODERS.get(name)
    hook = getattr(cls, "recommended_settings", None)
    defaults = {"encoder": {}, "finetune": {}, "finetune_pretrained": {}, "pretrain": {}}
    return {**defaults, **(hook(space) if hook is not None else {})}


def create_encoder(name: str, num_ops: int, **kwargs: Any) -> torch.nn.Module:
    """Build the encoder registered under ``name`` for a vocabulary of ``num_ops`` node types."""
    return ENCODERS.create(name, num_ops, **kwargs)
