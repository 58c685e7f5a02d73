"""Encoder registry: ``register_encoder`` / ``create_encoder`` / ``list_encoders`` (timm style).

An encoder is a ``torch.nn.Module`` built as ``cls(num_ops, **kwargs)`` whose ``forward(batch: GraphBatch)``
returns ``(node_embeddings (num_nodes, d_node), graph_embeddings (num_graphs, out_dim))``; ``out_dim`` is an
attribute. Node features are the one-hot ops of the batch, followed by the node attributes where the graphs carry
them (``num_attrs`` columns, e.g. a traced model's kernel and stride: build with ``num_attrs=batch.num_attrs``;
:func:`fgp.encoders.common.node_features`).
"""

from __future__ import annotations

from typing import Any

import torch

from fgp.registry import Registry

ENCODERS = Registry("encoder")
register_encoder = ENCODERS.register
list_encoders = ENCODERS.names


def create_encoder(name: str, num_ops: int, **kwargs: Any) -> torch.nn.Module:
    """Build the encoder registered under ``name`` for a vocabulary of ``num_ops`` node types."""
    return ENCODERS.create(name, num_ops, **kwargs)
