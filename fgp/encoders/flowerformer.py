"""FlowerFormer (Hwang et al., CVPR 2024): a flow-aware graph transformer for architecture graphs.

Re-implemented from the paper and METHOD.md section 4 (the authors' code was read for understanding, not copied).
Every layer has two parts that read the same input ``x`` and whose outputs are added:

1. **Flow encoding** (asynchronous message passing). A *forward sweep* visits the topological generations in order;
   each node aggregates the *current* (already updated) embeddings of its predecessors with attention weights and
   updates itself with a GRU cell, ``h_v = GRU(x_v, m_v)`` (``m_v = 0`` for nodes without predecessors). A
   *backward sweep* then visits the generations in reverse order with a second GRU cell, aggregating successors,
   on the forward sweep's output. The layer keeps ``relu`` of the backward embeddings.
2. **Flow-masked global attention**: multi-head self-attention in which node ``u`` attends to ``v`` only if they
   lie on a common input-to-output path, i.e. ``u`` reaches ``v`` or ``v`` reaches ``u`` (or ``u == v``).

Each part has a residual connection and batch norm; a feed-forward block (``d -> 2d -> d``, residual, batch norm)
follows. The graph embedding is the mean of the last layer's node embeddings.

The message attention of the paper is ``softmax_u(w^T [x_v || h_u])`` over the predecessors ``u`` of ``v``. The
``x_v`` term is the same for every ``u`` and cancels in the softmax, so the weights are exactly
``softmax_u(w^T h_u)``: a node's score is computed once, when it is updated, and reused by all its successors.

Speed: nodes are sorted by generation once per batch, so every generation is a contiguous slice for the whole
batch; neighbours are looked up in a padded table (padding points at a zero row with the lowest score), so one
generation costs a handful of batched tensor ops whatever the number of graphs. The attention runs on padded
``(graphs, n_max, d)`` tensors with the reachability mask (boolean matrix powers) computed once per batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fgp.batch import GraphBatch
from fgp.encoders.registry import register_encoder

#: Settings of the authors' configuration files (``cfgs/<space>/FLOWERFormer.yaml``), for reference: model size
#: (``dim``, ``num_layers``, ``num_heads``, ``attn_dropout``) and their optimiser (AdamW, cosine schedule with
#: linear warm-up over ``warmup_epochs``; gradient clipping at norm 1; pairwise hinge loss with ``margin``).
REFERENCE_SETTINGS: dict[str, dict[str, float | int]] = {
    "nb101": dict(dim=64, num_layers=9, num_heads=8, attn_dropout=0.5, lr=8e-4, weight_decay=3e-5, epochs=300,
                  warmup_epochs=30, batch_size=16, margin=0.5),
    "nb201": dict(dim=64, num_layers=9, num_heads=8, attn_dropout=0.5, lr=8e-4, weight_decay=6e-5, epochs=600,
                  warmup_epochs=30, batch_size=32, margin=0.5),
    "nb301": dict(dim=256, num_layers=8, num_heads=8, attn_dropout=0.3, lr=3e-3, weight_decay=2e-5, epochs=500,
                  warmup_epochs=50, batch_size=64, margin=0.1),
    "nbgraph": dict(dim=256, num_layers=4, num_heads=8, attn_dropout=0.4, lr=7e-3, weight_decay=4.5e-10,
                    epochs=200, warmup_epochs=50, batch_size=1024, margin=0.01),
}


# --------------------------------------------------------------------------------------------------------------
# per-batch plan: generation slices, neighbour tables, dense layout and flow mask (computed once per forward)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowPlan:
    """Index structures that every layer of one forward pass shares (all in *generation-sorted* node order)."""

    order: torch.Tensor  # (N,) original node id of every sorted position
    inverse: torch.Tensor  # (N,) sorted position of every original node id
    slices: tuple[tuple[int, int, int, int], ...]  # per generation: (start, stop, max in-degree, max out-degree)
    preds: torch.Tensor  # (K_in, N) column v: sorted positions of v's predecessors, padded with N (a zero row)
    succs: torch.Tensor  # (K_out, N) the same for successors
    graph: torch.Tensor  # (N,) graph of every sorted node
    counts: torch.Tensor  # (G,) nodes per graph
    n_max: int
    num_heads: int
    qkv_index: torch.Tensor  # (3, G, H, n_max) row of qkv.view(N * 3 * H, head_dim) for every (q/k/v, slot, head)
    out_index: torch.Tensor  # (N, H) row of the attention output viewed (G * H * n_max, head_dim) for every node
    attn_bias: torch.Tensor  # (G, 1, n_max, n_max) 0 where attention is allowed, -inf elsewhere

    @property
    def num_nodes(self) -> int:
        return self.order.numel()

    @property
    def num_graphs(self) -> int:
        return self.counts.numel()


def _neighbour_table(centre: torch.Tensor, other: torch.Tensor, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Column ``v`` lists the ``other`` ends of the edges whose ``centre`` end is ``v``, padded with ``num_nodes``.

    Real entries come first in every column, so the first ``degree.max()`` rows of a column slice are complete.
    (Columns, not rows: reductions over a short leading axis are much faster on CPU than over a short last one.)
    """
    device = centre.device
    degree = torch.bincount(centre, minlength=num_nodes)
    width = max(int(degree.max()) if centre.numel() else 0, 1)
    table = torch.full((width, num_nodes), num_nodes, dtype=torch.long, device=device)
    if centre.numel():
        sort = torch.argsort(centre, stable=True)
        c = centre[sort]
        first = torch.cumsum(degree, 0) - degree
        rank = torch.arange(c.numel(), device=device) - first[c]
        table[rank, c] = other[sort]
    return table, degree


def _reachability(adjacency: torch.Tensor) -> torch.Tensor:
    """Reflexive-transitive closure of a batch of boolean adjacency matrices (G, n, n), by repeated squaring."""
    n = adjacency.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=adjacency.device)
    reach = adjacency | eye
    steps = max(math.ceil(math.log2(max(n - 1, 1))), 0)
    r = reach.float()
    for _ in range(steps):  # after k squarings every path of length <= 2**k is covered
        r = (torch.bmm(r, r) > 0).float()
    return r > 0


def flow_mask(batch: GraphBatch) -> torch.Tensor:
    """Which node pairs may attend to each other: ``(G, n_max, n_max)`` bool over each graph's own node numbers.

    ``mask[g, u, v]`` is True iff ``u`` and ``v`` are nodes of graph ``g`` and one reaches the other along the
    edges (a node reaches itself): exactly the pairs that share an input-to-output path in a graph whose every node
    lies on such a path. Entries of padding positions are False.
    """
    counts = batch.node_ptr[1:] - batch.node_ptr[:-1]
    n_max = int(counts.max())
    local = torch.arange(batch.num_nodes, device=batch.device) - batch.node_ptr[batch.batch]
    reach = _reachability(_dense_adjacency(batch, local, n_max))
    valid = torch.arange(n_max, device=batch.device)[None, :] < counts[:, None]
    return (reach | reach.transpose(1, 2)) & valid[:, :, None] & valid[:, None, :]


def _dense_adjacency(batch: GraphBatch, local: torch.Tensor, n_max: int) -> torch.Tensor:
    g = batch.num_graphs
    src, dst = batch.edge_index
    flat = batch.batch[src] * (n_max * n_max) + local[src] * n_max + local[dst]
    adj = torch.zeros(g * n_max * n_max, dtype=torch.bool, device=batch.device)
    adj[flat] = True
    return adj.view(g, n_max, n_max)


def make_plan(batch: GraphBatch, num_heads: int = 1) -> FlowPlan:
    """Precompute the generation slices, neighbour tables and attention layout of a batch (vectorised)."""
    device = batch.device
    n = batch.num_nodes
    gen = batch.generation
    src, dst = batch.edge_index
    if n and int(gen.min()) < 1:
        raise ValueError("batch.generation must be 1-based (generation 1 holds the nodes without in-edges)")
    if src.numel() and bool((gen[dst] <= gen[src]).any()):
        raise ValueError("batch.generation is inconsistent with edge_index: an edge does not go to a later generation")

    order = torch.argsort(gen, stable=True)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(n, device=device)
    s, d = inverse[src], inverse[dst]
    preds, in_deg = _neighbour_table(d, s, n)
    succs, out_deg = _neighbour_table(s, d, n)

    # generation slices and the widest neighbour list inside each, in one host transfer
    gen_sorted = gen[order]
    num_gen = int(gen_sorted[-1])
    sizes = torch.bincount(gen_sorted - 1, minlength=num_gen)
    widest = torch.zeros(2, num_gen, dtype=torch.long, device=device)
    widest[0].scatter_reduce_(0, gen_sorted - 1, in_deg, "amax")
    widest[1].scatter_reduce_(0, gen_sorted - 1, out_deg, "amax")
    stats = torch.cat([torch.cumsum(sizes, 0)[None], widest]).tolist()
    slices, start = [], 0
    for stop, k_in, k_out in zip(*stats):
        if stop > start:
            slices.append((start, stop, k_in, k_out))
        start = stop

    # dense (graph, local position) layout for the attention, as gathers (no scatter, no zero fill)
    counts = batch.node_ptr[1:] - batch.node_ptr[:-1]
    g, n_max, heads = counts.numel(), int(counts.max()), num_heads
    local = torch.arange(n, device=device) - batch.node_ptr[batch.batch]
    graph = batch.batch[order]
    slot = graph * n_max + local[order]  # dense slot of every sorted node
    slot_node = torch.zeros(g * n_max, dtype=torch.long, device=device)  # padding slots read node 0 (masked out)
    slot_node[slot] = torch.arange(n, device=device)
    h_idx = torch.arange(heads, device=device)
    c_idx = torch.arange(3, device=device)
    qkv_index = (slot_node.view(1, g, 1, n_max) * 3 + c_idx.view(3, 1, 1, 1)) * heads + h_idx.view(1, 1, heads, 1)
    out_index = (graph[:, None] * heads + h_idx[None, :]) * n_max + local[order][:, None]

    reach = _reachability(_dense_adjacency(batch, local, n_max))
    # padding positions only reach themselves (the identity), so no row of the mask is all -inf
    allowed = (reach | reach.transpose(1, 2)).unsqueeze(1)
    attn_bias = torch.zeros(allowed.shape, device=device).masked_fill_(~allowed, float("-inf"))
    return FlowPlan(
        order, inverse, tuple(slices), preds, succs, graph, counts, n_max, heads, qkv_index, out_index, attn_bias
    )


# --------------------------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------------------------


class FlowerLayer(nn.Module):
    """One FlowerFormer layer: flow encoding (forward + backward sweep) + flow-masked attention, then feed-forward."""

    def __init__(self, dim: int, num_heads: int, dropout: float, attn_dropout: float):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.attn_dropout = attn_dropout
        self.gru_forward = nn.GRUCell(dim, dim)
        self.gru_backward = nn.GRUCell(dim, dim)
        self.score_forward = nn.Linear(dim, 1, bias=False)  # a bias would cancel in the softmax
        self.score_backward = nn.Linear(dim, 1, bias=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out_proj = nn.Linear(dim, dim)
        self.norm_flow = nn.BatchNorm1d(dim)
        self.norm_attn = nn.BatchNorm1d(dim)
        self.norm_ff = nn.BatchNorm1d(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim), nn.Dropout(dropout)
        )
        self.dropout = nn.Dropout(dropout)
        nn.init.xavier_uniform_(self.qkv.weight)

    def _sweep(self, x: torch.Tensor, plan: FlowPlan, backward: bool) -> torch.Tensor:
        """One asynchronous pass over the generations (reverse order and successors when ``backward``).

        The GRU update is ``nn.GRUCell(x_v, m_v)`` written out so that the input half of every gate is one matmul
        for all nodes; only the message half runs per generation.
        """
        cell = self.gru_backward if backward else self.gru_forward
        w = (self.score_backward if backward else self.score_forward).weight.view(-1)
        table = plan.succs if backward else plan.preds
        slices = plan.slices[::-1] if backward else plan.slices
        n, dim = x.shape
        gates_in = F.linear(x, cell.weight_ih, cell.bias_ih)  # (N, 3d): reset, update, new
        h = x.new_zeros(n + 1, dim)  # row n is the padding neighbour: zero embedding ...
        score = x.new_full((n + 1,), torch.finfo(x.dtype).min)  # ... and no weight
        last = len(slices) - 1
        for i, (a, b, k_in, k_out) in enumerate(slices):
            k = k_out if backward else k_in
            gi = gates_in[a:b]
            if k == 0:  # no node of this generation has a neighbour on this side: zero message
                rz = torch.sigmoid(gi[:, : 2 * dim] + cell.bias_hh[: 2 * dim])
                r, z = rz[:, :dim], rz[:, dim:]
                new = torch.tanh(gi[:, 2 * dim :] + r * cell.bias_hh[2 * dim :])
                out = new - z * new
            else:
                idx = table[:k, a:b].reshape(-1)
                alpha = torch.softmax(score.index_select(0, idx).view(k, b - a), dim=0)
                nbr = h.index_select(0, idx).view(k, b - a, dim)
                msg = nbr[0] if k == 1 else (alpha.unsqueeze(-1) * nbr).sum(0)  # k == 1: alpha is exactly 1
                gh = F.linear(msg, cell.weight_hh, cell.bias_hh)
                rz = torch.sigmoid(gi[:, : 2 * dim] + gh[:, : 2 * dim])
                r, z = rz[:, :dim], rz[:, dim:]
                new = torch.tanh(gi[:, 2 * dim :] + r * gh[:, 2 * dim :])
                out = new + z * (msg - new)
            h[a:b] = out
            if i < last:
                score[a:b] = out @ w
        return h[:n]

    def sweeps(self, x: torch.Tensor, plan: FlowPlan) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward-sweep and backward-sweep embeddings of the layer input ``x`` (sorted order)."""
        h_forward = self._sweep(self.dropout(x), plan, backward=False)
        h_backward = self._sweep(self.dropout(h_forward), plan, backward=True)
        return h_forward, h_backward

    def attention(self, x: torch.Tensor, plan: FlowPlan) -> torch.Tensor:
        """Multi-head self-attention restricted to pairs that share an input-to-output path."""
        g, n_max, n, dim = plan.num_graphs, plan.n_max, x.shape[0], x.shape[1]
        heads = self.num_heads
        if plan.num_heads != heads:
            raise ValueError(f"the plan was made for {plan.num_heads} heads, the layer has {heads}")
        hd = dim // heads
        qkv = self.qkv(x).view(n * 3 * heads, hd)
        q, k, v = qkv.index_select(0, plan.qkv_index.view(-1)).view(3, g, heads, n_max, hd).unbind(0)
        scores = torch.matmul(q, k.transpose(-1, -2)).mul_(hd**-0.5).add_(plan.attn_bias)
        # softmax by hand: torch.softmax is several times slower on rows this short (n_max ~ 8) on CPU
        weights = (scores - scores.amax(-1, keepdim=True)).exp_()
        weights = weights / weights.sum(-1, keepdim=True)
        if self.training and self.attn_dropout > 0:
            weights = F.dropout(weights, self.attn_dropout)
        out = torch.matmul(weights, v).view(g * heads * n_max, hd)
        return self.out_proj(out.index_select(0, plan.out_index.view(-1)).view(n, dim))

    def forward(self, x: torch.Tensor, plan: FlowPlan) -> torch.Tensor:
        _, h_backward = self.sweeps(x, plan)
        flow = self.norm_flow(x + self.dropout(torch.relu(h_backward)))
        attn = self.norm_attn(x + self.dropout(self.attention(x, plan)))
        h = flow + attn
        return self.norm_ff(h + self.ff(h))


@register_encoder("flowerformer")
class FlowerFormer(nn.Module):
    """Flow-aware graph transformer encoder (see the module docstring).

    ``forward(batch)`` returns ``(node_embeddings (N, dim), graph_embeddings (G, dim))``; graph embeddings are the
    mean of node embeddings. Defaults follow the authors' NB101/NB201 configuration (``REFERENCE_SETTINGS``).
    """

    def __init__(
        self,
        num_ops: int,
        dim: int = 64,
        num_layers: int = 9,
        num_heads: int = 8,
        dropout: float = 0.0,
        attn_dropout: float = 0.5,
    ):
        super().__init__()
        if num_ops < 2:
            raise ValueError(f"num_ops must be at least 2 (input and output), got {num_ops}")
        if dim < 1 or num_layers < 1 or num_heads < 1:
            raise ValueError(f"dim, num_layers and num_heads must be positive, got {dim}, {num_layers}, {num_heads}")
        for name, p in (("dropout", dropout), ("attn_dropout", attn_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        self.num_ops = num_ops
        self.out_dim = dim
        self.embed = nn.Embedding(num_ops, dim)
        self.layers = nn.ModuleList(FlowerLayer(dim, num_heads, dropout, attn_dropout) for _ in range(num_layers))

    def _check(self, batch: GraphBatch) -> None:
        if batch.num_ops != self.num_ops:
            raise ValueError(
                f"the batch has {batch.num_ops} op types ({list(batch.vocab)}) but the encoder was built for "
                f"num_ops={self.num_ops}"
            )
        if batch.num_nodes == 0:
            raise ValueError("the batch has no nodes")

    def plan(self, batch: GraphBatch) -> FlowPlan:
        """The per-batch index structures (reusable across forward calls on the same batch)."""
        self._check(batch)
        return make_plan(batch, self.layers[0].num_heads)

    def forward(self, batch: GraphBatch, plan: FlowPlan | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if plan is None:
            plan = self.plan(batch)
        else:
            self._check(batch)
        h = self.embed(batch.op_index[plan.order])
        for layer in self.layers:
            h = layer(h, plan)
        pooled = h.new_zeros(plan.num_graphs, h.shape[1]).index_add_(0, plan.graph, h)
        pooled = pooled / plan.counts.to(h.dtype).unsqueeze(1)
        return h[plan.inverse], pooled

    def sweep_embeddings(self, batch: GraphBatch, layer: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward- and backward-sweep embeddings of layer ``layer`` (original node order), for inspection.

        The forward embedding of a node depends only on the layer input at the node and its ancestors; the backward
        embedding of a node sees the forward embeddings of its descendants.
        """
        if not 0 <= layer < len(self.layers):
            raise ValueError(f"layer must be in 0..{len(self.layers) - 1}, got {layer}")
        plan = self.plan(batch)
        h = self.embed(batch.op_index[plan.order])
        for lyr in self.layers[:layer]:
            h = lyr(h, plan)
        h_forward, h_backward = self.layers[layer].sweeps(h, plan)
        return h_forward[plan.inverse], h_backward[plan.inverse]
