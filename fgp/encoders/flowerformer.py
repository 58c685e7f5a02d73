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
``softmax_u(w^T h_u)``, which is what is computed (a bias, or the authors' constant edge embedding, cancels too).

Speed (CPU first, GPU-safe): nodes are sorted by generation once per batch (:func:`make_plan`), so a generation is
a contiguous slice for the whole batch and costs a handful of tensor ops whatever the number of graphs; the input
half of every GRU gate is one matmul for all nodes; neighbours are read with one gather from the outputs of the
earlier generations (padded slots read a zero row and get zero weight). The attention runs on padded
``(graphs, n_max, d)`` tensors with the reachability mask (gathered generation by generation) computed once per
batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fgp.batch import GraphBatch
from fgp.encoders.common import (
    attribute_embedding,
    check_inputs,
    check_probabilities,
    check_sizes,
    dense_layout,
    embedded_nodes,
    fast_dropout,
    reachability,
    short_softmax,
)
from fgp.encoders.registry import register_encoder

# --------------------------------------------------------------------------------------------------------------
# per-batch plan: generation slices, neighbour indices, dense layout and flow mask (computed once per forward)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepStep:
    """One generation of one sweep: its nodes, and where their neighbours' current embeddings are found.

    The nodes are the sorted positions ``start:stop``. A sweep keeps the output of every generation done so far
    (in processing order); the *pool* of this step is the concatenation of the outputs its nodes' neighbours lie
    in (``sources``, indices into that list, in position order) plus one zero row. ``index`` holds, for every
    neighbour slot (``width`` rows of ``stop - start`` columns), its row in the pool; slots beyond a node's degree
    point at the zero row and are flagged in ``pad`` (None when there are none). Pooling only the generations that
    are read keeps a sweep linear in the number of generations (a traced model has hundreds).
    """

    start: int
    stop: int
    width: int
    index: torch.Tensor | None
    pad: torch.Tensor | None
    sources: tuple[int, ...] = ()


@dataclass(frozen=True)
class FlowPlan:
    """Index structures that every layer of one forward pass shares (nodes in *generation-sorted* order)."""

    order: torch.Tensor  # (N,) original node id of every sorted position
    inverse: torch.Tensor  # (N,) sorted position of every original node id
    sizes: tuple[int, ...]  # nodes per generation
    forward_steps: tuple[SweepStep, ...]  # generations 1, 2, ... (predecessors)
    backward_steps: tuple[SweepStep, ...]  # generations last, ..., 1 (successors)
    graph: torch.Tensor  # (N,) graph of every sorted node
    counts: torch.Tensor  # (G,) nodes per graph
    n_max: int
    slot_node: torch.Tensor  # (G * n_max,) sorted node at every dense slot (padding slots: node 0, masked out)
    dense_index: torch.Tensor  # (N,) dense slot of every sorted node
    attn_bias: torch.Tensor  # (G, 1, n_max, n_max) 0 where attention is allowed, -inf elsewhere

    @property
    def num_nodes(self) -> int:
        return self.order.numel()

    @property
    def num_graphs(self) -> int:
        return self.counts.numel()


def _neighbour_table(centre: torch.Tensor, other: torch.Tensor, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Column ``v`` lists the ``other`` ends of the edges whose ``centre`` end is ``v``, padded with -1.

    Real entries come first in every column, so the first ``degree.max()`` rows of a column slice are complete.
    (Columns, not rows: reductions over a short leading axis are much faster on CPU than over a short last one.)
    """
    device = centre.device
    degree = torch.bincount(centre, minlength=num_nodes)
    width = max(int(degree.max()) if centre.numel() else 0, 1)
    table = torch.full((width, num_nodes), -1, dtype=torch.long, device=device)
    if centre.numel():
        sort = torch.argsort(centre, stable=True)
        c = centre[sort]
        first = torch.cumsum(degree, 0) - degree
        rank = torch.arange(c.numel(), device=device) - first[c]
        table[rank, c] = other[sort]
    return table, degree


def _steps(table: torch.Tensor, bounds: list[tuple[int, int, int]], backward: bool) -> tuple[SweepStep, ...]:
    """The sweep steps of one direction; ``bounds`` holds (start, stop, width) per generation in position order.
    Index work on a host copy of the neighbour table: no device sync per generation."""
    device = table.device
    host = table.cpu()
    starts = torch.tensor([start for start, _, _ in bounds], dtype=torch.long)
    sizes = torch.tensor([stop - start for start, stop, _ in bounds], dtype=torch.long)
    processing = list(range(len(bounds)))[::-1] if backward else list(range(len(bounds)))
    done_at = {block: i for i, block in enumerate(processing)}  # where a generation's output sits in the sweep
    steps = []
    for block in processing:
        start, stop, width = bounds[block]
        if width == 0:
            steps.append(SweepStep(start, stop, 0, None, None))
            continue
        cols = host[:width, start:stop]
        missing = cols < 0
        owner = torch.searchsorted(starts, torch.where(missing, start, cols), right=True) - 1  # generation of a slot
        used = torch.unique(owner[~missing])  # position order
        offsets = torch.cat([sizes.new_zeros(1), torch.cumsum(sizes[used], 0)])
        shift = torch.zeros(len(bounds), dtype=torch.long)
        shift[used] = offsets[:-1] - starts[used]
        index = torch.where(missing, offsets[-1], cols + shift[owner]).reshape(-1)
        pad = missing.to(device) if width > 1 and bool(missing.any()) else None
        steps.append(SweepStep(start, stop, width, index.to(device), pad, tuple(done_at[b] for b in used.tolist())))
    return tuple(steps)


def flow_mask(batch: GraphBatch) -> torch.Tensor:
    """Which node pairs may attend to each other: ``(G, n_max, n_max)`` bool over each graph's own node numbers.

    ``mask[g, u, v]`` is True iff ``u`` and ``v`` are nodes of graph ``g`` and one reaches the other along the
    edges (a node reaches itself): exactly the pairs that share an input-to-output path in a graph whose every node
    lies on such a path. Entries of padding positions are False.
    """
    return _flow_mask(batch, *dense_layout(batch))


def _flow_mask(batch: GraphBatch, counts: torch.Tensor, local: torch.Tensor) -> torch.Tensor:
    """:func:`flow_mask` from the batch's dense layout (``common.dense_layout``), which :func:`make_plan` needs too."""
    n_max = int(counts.max())
    reach = reachability(batch, local, n_max)
    valid = torch.arange(n_max, device=batch.device)[None, :] < counts[:, None]
    return (reach | reach.transpose(1, 2)) & valid[:, :, None] & valid[:, None, :]


def make_plan(batch: GraphBatch) -> FlowPlan:
    """Precompute the generation slices, neighbour indices and attention layout of a batch (vectorised)."""
    device = batch.device
    n = batch.num_nodes
    if n == 0:
        raise ValueError("the batch has no nodes")
    gen = batch.generation
    src, dst = batch.edge_index
    if int(gen.min()) < 1:
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
    gen_sorted = gen[order] - 1
    num_gen = int(gen_sorted[-1]) + 1
    widest = torch.zeros(2, num_gen, dtype=torch.long, device=device)
    widest[0].scatter_reduce_(0, gen_sorted, in_deg, "amax")
    widest[1].scatter_reduce_(0, gen_sorted, out_deg, "amax")
    sizes, k_in, k_out = torch.cat([torch.bincount(gen_sorted, minlength=num_gen)[None], widest]).tolist()
    keep = [i for i, size in enumerate(sizes) if size > 0]
    stops = np.cumsum(sizes).tolist()
    fwd_bounds = [(stops[i] - sizes[i], stops[i], k_in[i]) for i in keep]
    bwd_bounds = [(stops[i] - sizes[i], stops[i], k_out[i]) for i in keep]

    # dense (graph, local position) layout for the attention
    counts, local = dense_layout(batch)
    mask = _flow_mask(batch, counts, local)
    g, n_max = mask.shape[:2]
    graph = batch.batch[order]
    dense_index = graph * n_max + local[order]
    slot_node = torch.zeros(g * n_max, dtype=torch.long, device=device)
    slot_node[dense_index] = torch.arange(n, device=device)
    # padding positions attend to themselves, so no row of the mask is all -inf
    allowed = (mask | torch.eye(n_max, dtype=torch.bool, device=device)).unsqueeze(1)
    attn_bias = torch.zeros(allowed.shape, device=device).masked_fill_(~allowed, float("-inf"))
    return FlowPlan(
        order=order,
        inverse=inverse,
        sizes=tuple(sizes[i] for i in keep),
        forward_steps=_steps(preds, fwd_bounds, backward=False),
        backward_steps=_steps(succs, bwd_bounds, backward=True),
        graph=graph,
        counts=counts,
        n_max=n_max,
        slot_node=slot_node,
        dense_index=dense_index,
        attn_bias=attn_bias,
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
        self.p_drop = dropout
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
        self.ff1 = nn.Linear(dim, 2 * dim)
        self.ff2 = nn.Linear(2 * dim, dim)
        nn.init.xavier_uniform_(self.qkv.weight)

    def extra_repr(self) -> str:  # part of the pre-training cache key: non-parameter options must show here
        return f"num_heads={self.num_heads}, dropout={self.p_drop}, attn_dropout={self.attn_dropout}"

    def _sweep(self, x: torch.Tensor, plan: FlowPlan, backward: bool) -> torch.Tensor:
        """One asynchronous pass over the generations (reverse order and successors when ``backward``).

        The update is ``nn.GRUCell(x_v, m_v)`` written out, so that the input half of the gates is one matmul for
        all nodes and only the message half runs per generation.
        """
        cell = self.gru_backward if backward else self.gru_forward
        w = (self.score_backward if backward else self.score_forward).weight.view(-1)
        steps = plan.backward_steps if backward else plan.forward_steps
        dim = x.shape[1]
        gates_in = F.linear(x, cell.weight_ih, cell.bias_ih).split(plan.sizes)
        if backward:
            gates_in = gates_in[::-1]
        zero = x.new_zeros(1, dim)
        outs: list[torch.Tensor] = []  # outputs so far, in processing order
        for step, gi in zip(steps, gates_in):
            i_rz, i_n = gi.split([2 * dim, dim], dim=1)
            if step.width == 0:  # no node of this generation has a neighbour on this side: zero message
                r, z = torch.sigmoid(i_rz + cell.bias_hh[: 2 * dim]).split([dim, dim], dim=1)
                new = torch.tanh(torch.addcmul(i_n, r, cell.bias_hh[2 * dim :]))
                out = torch.addcmul(new, z, new, value=-1.0)
            else:
                pool = torch.cat([*(outs[i] for i in step.sources), zero])
                nbr = pool.index_select(0, step.index)
                if step.width == 1:
                    msg = nbr
                else:
                    nbr = nbr.view(step.width, step.stop - step.start, dim)
                    score = torch.matmul(nbr, w)
                    if step.pad is not None:
                        score = score.masked_fill(step.pad, torch.finfo(score.dtype).min)
                    alpha = torch.softmax(score, dim=0)
                    msg = (alpha.unsqueeze(-1) * nbr).sum(0)
                h_rz, h_n = F.linear(msg, cell.weight_hh, cell.bias_hh).split([2 * dim, dim], dim=1)
                r, z = torch.sigmoid(i_rz + h_rz).split([dim, dim], dim=1)
                new = torch.tanh(torch.addcmul(i_n, r, h_n))
                out = torch.addcmul(new, z, msg - new)
            outs.append(out)
        return torch.cat(outs[::-1] if backward else outs)

    def sweeps(self, x: torch.Tensor, plan: FlowPlan) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward-sweep and backward-sweep embeddings of the layer input ``x`` (sorted order)."""
        h_forward = self._sweep(fast_dropout(x, self.p_drop, self.training), plan, backward=False)
        h_backward = self._sweep(fast_dropout(h_forward, self.p_drop, self.training), plan, backward=True)
        return h_forward, h_backward

    def attention(self, x: torch.Tensor, plan: FlowPlan) -> torch.Tensor:
        """Multi-head self-attention restricted to pairs that share an input-to-output path."""
        g, n_max, dim = plan.num_graphs, plan.n_max, x.shape[1]
        heads, hd = self.num_heads, dim // self.num_heads
        dense = self.qkv(x.index_select(0, plan.slot_node))
        q, k, v = dense.view(g, n_max, 3, heads, hd).permute(2, 0, 3, 1, 4).unbind(0)
        scores = torch.matmul(q, k.transpose(-1, -2)).mul_(hd**-0.5).add_(plan.attn_bias)
        weights = fast_dropout(short_softmax(scores), self.attn_dropout, self.training)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(g * n_max, dim)
        return self.out_proj(out.index_select(0, plan.dense_index))

    def forward(self, x: torch.Tensor, plan: FlowPlan) -> torch.Tensor:
        _, h_backward = self.sweeps(x, plan)
        flow = self.norm_flow(x + fast_dropout(torch.relu(h_backward), self.p_drop, self.training))
        attn = self.norm_attn(x + fast_dropout(self.attention(x, plan), self.p_drop, self.training))
        h = flow + attn
        ff = self.ff2(fast_dropout(torch.relu(self.ff1(h)), self.p_drop, self.training))
        return self.norm_ff(h + fast_dropout(ff, self.p_drop, self.training))


@register_encoder("flowerformer")
class FlowerFormer(nn.Module):
    """Flow-aware graph transformer encoder (see the module docstring).

    ``forward(batch)`` returns ``(node_embeddings (N, dim), graph_embeddings (G, dim))``; graph embeddings are the
    mean of node embeddings. Defaults follow the authors' NB101/NB201 configuration; :mod:`fgp.recipes` holds
    their model size and fine-tuning optimiser per space.
    """

    def __init__(
        self,
        num_ops: int,
        dim: int = 64,
        num_layers: int = 9,
        num_heads: int = 8,
        dropout: float = 0.0,
        attn_dropout: float = 0.5,
        num_attrs: int = 0,
    ):
        super().__init__()
        if num_ops < 2:
            raise ValueError(f"num_ops must be at least 2 (input and output), got {num_ops}")
        check_sizes(dim=dim, num_layers=num_layers, num_heads=num_heads)
        check_probabilities(dropout=dropout, attn_dropout=attn_dropout)
        self.num_ops = num_ops
        self.num_attrs = num_attrs
        self.out_dim = dim
        self.node_dim = dim
        self.embed = nn.Embedding(num_ops, dim)
        self.layers = nn.ModuleList(FlowerLayer(dim, num_heads, dropout, attn_dropout) for _ in range(num_layers))
        self.attr_embed = attribute_embedding(num_attrs, dim)

    def _inputs(self, batch: GraphBatch, plan: FlowPlan) -> torch.Tensor:
        """The first layer's input: op embeddings (plus the embedded node attributes) in sorted order."""
        return embedded_nodes(self.embed, self.attr_embed, batch, plan.order)

    def _check(self, batch: GraphBatch) -> None:
        check_inputs(batch, self.num_ops, self.num_attrs)

    def plan(self, batch: GraphBatch) -> FlowPlan:
        """The per-batch index structures (reusable across forward calls on the same batch)."""
        self._check(batch)
        return make_plan(batch)

    def forward(self, batch: GraphBatch, plan: FlowPlan | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Node and graph embeddings; ``plan`` (from :meth:`plan` on this same batch) skips recomputing it."""
        if plan is None:
            plan = self.plan(batch)
        else:
            self._check(batch)
        h = self._inputs(batch, plan)
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
        h = self._inputs(batch, plan)
        for lyr in self.layers[:layer]:
            h = lyr(h, plan)
        h_forward, h_backward = self.layers[layer].sweeps(h, plan)
        return h_forward[plan.inverse], h_backward[plan.inverse]
