"""Graph Transformer over op nodes: self-attention within each graph, with the DAG's positions and relations.

**Positions: depths, not Laplacian eigenvectors.** Every node gets sinusoidal codes of its depth from the inputs
(its topological generation - 1) and of its depth to the output (the longest path to a node without successors),
projected and added to its op embedding. Both are exact functions of the DAG, so the encoder is invariant to node
renumbering with no sign or basis ambiguity to randomise over (Laplacian eigenvectors have one sign per vector and
a free basis per repeated eigenvalue, which the symmetric cells of these spaces have), they keep the direction of
the data flow that a symmetric Laplacian drops, and they cost one scatter per depth level instead of an
eigendecomposition per graph. Sinusoids have no largest depth, so a trained model applies to deeper graphs.

**Relations.** Depths alone cannot say which node feeds which, so each layer adds to the attention scores a learnt
per-head bias chosen by the relation of the pair (u, v): the same node, edge u -> v, edge v -> u, u an ancestor
or a descendant of v without an edge, or unrelated (Graphormer's structural bias with the DAG's relations in place
of shortest-path distances).

**Batching.** Attention runs on padded ``(graphs, n_max, dim)`` tensors with a mask that keeps it inside each graph;
padding changes nothing (a padding key gets weight 0, a padding row is dropped), so an embedding does not depend on
the other graphs of its batch. Pre-norm layers (attention, then a ``dim -> 2 dim -> dim`` feed-forward, each with a
residual), a final layer norm, and the mean of the node embeddings as the graph embedding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fgp.batch import GraphBatch
from fgp.encoders.common import (
    attribute_embedding,
    check_inputs,
    check_probabilities,
    check_sizes,
    dense_adjacency,
    dense_layout,
    embedded_nodes,
    fast_dropout,
    mean_pool,
    reachability,
    short_softmax,
)
from fgp.encoders.registry import register_encoder

DEPTH_CODE = 16  # sine and cosine features per depth: plenty for depths of a few tens
UNRELATED, SELF, EDGE_TO, EDGE_FROM, ANCESTOR, DESCENDANT = range(6)  # relation of (query u, key v)


def depth_to_sink(batch: GraphBatch) -> torch.Tensor:
    """Length of the longest path from every node to a node without successors (0 for those)."""
    src, dst = batch.edge_index
    depth = torch.zeros(batch.num_nodes, dtype=torch.long, device=batch.device)
    while True:  # one round per depth level: a longest path grows by one edge a round
        longer = depth.scatter_reduce(0, src, depth.index_select(0, dst) + 1, "amax")
        if torch.equal(longer, depth):
            return depth
        depth = longer


def sinusoid(position: torch.Tensor, dim: int, dtype: torch.dtype) -> torch.Tensor:
    """``(N, dim)`` sine and cosine codes of integer positions (Vaswani et al.'s frequencies)."""
    freqs = torch.exp(torch.arange(0, dim, 2, device=position.device, dtype=dtype) * (-math.log(10000.0) / dim))
    angles = position.to(dtype).unsqueeze(1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=1)


@dataclass(frozen=True)
class AttentionLayout:
    """What every layer of one forward pass shares: the padded layout and the pair relations."""

    num_graphs: int
    n_max: int
    slot_node: torch.Tensor  # (G * n_max,) node at every padded slot (padding slots: node 0, never attended to)
    dense_index: torch.Tensor  # (N,) slot of every node
    relation: torch.Tensor  # (G, n_max, n_max, relations) one-hot relation of every (query, key) pair
    mask: torch.Tensor  # (G, 1, n_max, n_max) 0 where attention is allowed, -inf elsewhere


def attention_layout(batch: GraphBatch, dtype: torch.dtype) -> AttentionLayout:
    counts, local = dense_layout(batch)
    g, n = batch.num_graphs, int(counts.max())
    adjacency = dense_adjacency(batch, local, n)
    reach = reachability(batch, local, n)
    eye = torch.eye(n, dtype=torch.bool, device=batch.device)
    relation = torch.full((g, n, n), UNRELATED, dtype=torch.long, device=batch.device)
    relation[reach] = ANCESTOR
    relation[reach.transpose(1, 2)] = DESCENDANT
    relation[adjacency] = EDGE_TO
    relation[adjacency.transpose(1, 2)] = EDGE_FROM
    relation[:, eye] = SELF
    valid = torch.arange(n, device=batch.device)[None, :] < counts[:, None]
    allowed = valid[:, None, :] | eye  # a padding row attends to itself only, so no row is all -inf
    mask = torch.zeros(allowed.shape, dtype=dtype, device=batch.device).masked_fill_(~allowed, float("-inf"))
    # one-hot, so that a layer's bias is one matmul (an embedding lookup's backward is several times slower on CPU)
    relation = F.one_hot(relation, DESCENDANT + 1).to(dtype)
    dense_index = batch.batch * n + local
    slot_node = torch.zeros(g * n, dtype=torch.long, device=batch.device)
    slot_node[dense_index] = torch.arange(batch.num_nodes, device=batch.device)
    return AttentionLayout(g, n, slot_node, dense_index, relation, mask.unsqueeze(1))


class TransformerLayer(nn.Module):
    """Pre-norm self-attention with a relation bias, then a feed-forward block; residuals around both."""

    def __init__(self, dim: int, num_heads: int, dropout: float, attn_dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.p_drop = dropout
        self.attn_dropout = attn_dropout
        self.norm_attn = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out_proj = nn.Linear(dim, dim)
        self.relation_bias = nn.Parameter(torch.zeros(DESCENDANT + 1, num_heads))  # zeros: start as plain attention
        self.norm_ff = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, 2 * dim)
        self.ff2 = nn.Linear(2 * dim, dim)

    def extra_repr(self) -> str:  # part of the pre-training cache key: non-parameter options must show here
        return f"num_heads={self.num_heads}, dropout={self.p_drop}, attn_dropout={self.attn_dropout}"

    def forward(self, x: torch.Tensor, layout: AttentionLayout, bias: torch.Tensor) -> torch.Tensor:
        """``bias``: (G, heads, n_max, n_max) this layer's relation bias plus the layout's mask."""
        g, n, dim = layout.num_graphs, layout.n_max, x.shape[1]
        heads = self.num_heads
        qkv = self.qkv(self.norm_attn(x)).index_select(0, layout.slot_node)
        q, k, v = qkv.view(g, n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4).unbind(0)
        scores = torch.matmul(q, k.transpose(-1, -2)).mul_((dim // heads) ** -0.5).add_(bias)
        weights = fast_dropout(short_softmax(scores), self.attn_dropout, self.training)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(g * n, dim).index_select(0, layout.dense_index)
        x = x + fast_dropout(self.out_proj(out), self.p_drop, self.training)
        ff = self.ff2(fast_dropout(torch.relu(self.ff1(self.norm_ff(x))), self.p_drop, self.training))
        return x + fast_dropout(ff, self.p_drop, self.training)


@register_encoder("transformer")
class GraphTransformer(nn.Module):
    """Graph Transformer with depth codes and relation-biased attention (see the module docstring);
    ``out_dim == node_dim == dim``."""

    def __init__(
        self,
        num_ops: int,
        dim: int = 64,
        num_layers: int = 3,
        num_heads: int = 4,
        dropout: float = 0.1,
        attn_dropout: float = 0.0,
        num_attrs: int = 0,
    ):
        super().__init__()
        check_sizes(num_ops=num_ops, dim=dim, num_layers=num_layers, num_heads=num_heads)
        check_probabilities(dropout=dropout, attn_dropout=attn_dropout)
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_ops = num_ops
        self.num_attrs = num_attrs
        self.out_dim = dim
        self.node_dim = dim
        self.embed = nn.Embedding(num_ops, dim)
        # [code of the depth from the inputs | code of the depth to the end] -> dim
        self.depth_proj = nn.Linear(2 * DEPTH_CODE, dim)
        self.layers = nn.ModuleList(TransformerLayer(dim, num_heads, dropout, attn_dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)
        self.attr_embed = attribute_embedding(num_attrs, dim)

    def forward(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        check_inputs(batch, self.num_ops, self.num_attrs)
        dtype = self.embed.weight.dtype
        depths = [sinusoid(d, DEPTH_CODE, dtype) for d in (batch.generation - 1, depth_to_sink(batch))]
        x = embedded_nodes(self.embed, self.attr_embed, batch) + self.depth_proj(torch.cat(depths, dim=1))
        layout = attention_layout(batch, dtype)
        # every layer's relation bias from one matmul: (G, n, n, relations) @ (relations, layers * heads)
        tables = torch.cat([layer.relation_bias for layer in self.layers], dim=1)
        biases = torch.matmul(layout.relation, tables).permute(3, 0, 1, 2)  # (layers * heads, G, n, n)
        biases = biases.reshape(len(self.layers), -1, *biases.shape[1:]).transpose(1, 2) + layout.mask
        for layer, bias in zip(self.layers, biases):
            x = layer(x, layout, bias)
        x = self.norm(x)
        return x, mean_pool(x, batch)
