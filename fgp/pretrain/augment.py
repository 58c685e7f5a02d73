"""Batched augmentations of architecture graphs that keep them legal: GraphCL's four (You et al., NeurIPS 2020)
adapted to DAGs, and the op masking of GMAE-NAS.

Legal means what :class:`fgp.graph.ArchGraph` checks: acyclic, the input and output nodes kept with their ops,
every node on an input-to-output path, every op from the vocabulary. GraphCL's augmentations on plain graphs break
this (a dropped node can cut every path, an added edge can close a cycle), so here

- **drop_nodes** removes a share of the op nodes and wires each one's predecessors to its successors (through
  chains of dropped nodes too), so every path survives, shortened;
- **subgraph** keeps a connected region of op nodes grown from a random one (GraphCL's random-walk subgraph) and
  drops the rest the same way;
- **perturb_edges** removes a share of the edges, sparing one random in-edge and one random out-edge of every node
  (so every node keeps a predecessor and a successor, hence a path from an input and to the output), and adds that
  share of new edges, each forward in a topological order (so no cycle can form) and never into an input;
- **mask_ops** replaces the op of a share of the op nodes with another random op of the vocabulary (never input or
  output; the encoders take ops as one-hot indices, so there is no mask token).

Input and output nodes are never dropped or masked. Node attributes (a traced model's) travel with their nodes; a
masked op keeps its node's attributes. Every function works on a whole batch at once, as padded
``(graphs, nodes)`` tensors (:class:`DenseGraphs`), with random numbers drawn from a given CPU generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from fgp.batch import GraphBatch

AUGMENTATIONS = ("drop_nodes", "perturb_edges", "mask_ops", "subgraph")


@dataclass(frozen=True)
class DenseGraphs:
    """A batch as padded tensors: slot ``i`` of graph ``g`` is its node ``i``."""

    ops: torch.Tensor  # (G, n) op index of every node, -1 in empty slots
    adj: torch.Tensor  # (G, n, n) bool, adj[g, u, v] for an edge u -> v
    # (G, n) a topological order of the slots: every edge goes from a lower to a higher value. Every augmentation
    # here keeps it valid (bypasses and added edges run forward in it), so it is computed once per batch.
    order: torch.Tensor
    attrs: torch.Tensor | None = None  # (G, n, k) node attributes (a traced model's), None for graphs without

    @property
    def valid(self) -> torch.Tensor:
        return self.ops >= 0

    @classmethod
    def from_batch(cls, batch: GraphBatch) -> DenseGraphs:
        counts = batch.node_ptr[1:] - batch.node_ptr[:-1]
        n = int(counts.max())
        local = torch.arange(batch.num_nodes, device=batch.device) - batch.node_ptr[batch.batch]
        ops = torch.full((batch.num_graphs, n), -1, dtype=torch.long, device=batch.device)
        ops[batch.batch, local] = batch.op_index
        adj = torch.zeros((batch.num_graphs, n, n), dtype=torch.bool, device=batch.device)
        src, dst = batch.edge_index
        adj[batch.batch[src], local[src], local[dst]] = True
        order = torch.zeros((batch.num_graphs, n), dtype=torch.long, device=batch.device)
        order[batch.batch, local] = batch.generation * n + local
        attrs = None
        if batch.attrs is not None:
            attrs = batch.attrs.new_zeros((batch.num_graphs, n, batch.num_attrs))
            attrs[batch.batch, local] = batch.attrs
        return cls(ops, adj, order, attrs)

    def to_batch(self, like: GraphBatch) -> GraphBatch:
        """The graphs as a :class:`GraphBatch` (empty slots left out, nodes renumbered in slot order) with ``like``'s
        vocabulary and representation, and the topological generations of the new wiring."""
        valid = self.valid
        counts = valid.sum(1)
        node_ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        new_id = valid.long().cumsum(1) - 1 + node_ptr[:-1, None]
        adj = self.adj & valid[:, :, None] & valid[:, None, :]
        g, src, dst = adj.nonzero(as_tuple=True)  # row-major: grouped by graph
        edge_counts = torch.bincount(g, minlength=self.ops.shape[0])
        return GraphBatch(
            op_index=self.ops[valid],
            edge_index=torch.stack([new_id[g, src], new_id[g, dst]]),
            batch=torch.arange(counts.numel(), device=counts.device).repeat_interleave(counts),
            generation=generations(adj, valid)[valid],
            node_ptr=node_ptr,
            edge_ptr=torch.cat([edge_counts.new_zeros(1), edge_counts.cumsum(0)]),
            vocab=like.vocab,
            representation=like.representation,
            attrs=None if self.attrs is None else self.attrs[valid],
        )


def generations(adj: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """1-based topological generation of every node slot (0 in empty slots): 1 + the largest among predecessors."""
    gen = valid.long()
    for _ in range(adj.shape[1]):
        new = torch.where(valid, 1 + (adj * gen[:, :, None]).amax(1), 0)
        if torch.equal(new, gen):
            break
        gen = new
    return gen


def op_nodes(dense: DenseGraphs, vocab: tuple[str, ...]) -> torch.Tensor:
    """(G, n) bool: the nodes that are neither input nor output (the ones augmentations may drop or mask)."""
    return dense.valid & (dense.ops != vocab.index("input")) & (dense.ops != vocab.index("output"))


def share_counts(candidates: torch.Tensor, share: float, at_least_one: bool = False) -> torch.Tensor:
    """``round(share * candidates per graph)``; with ``at_least_one``, 1 where a graph has any candidate."""
    have = candidates.sum(1)
    counts = torch.floor(share * have + 0.5).long()
    return torch.maximum(counts, (have > 0).long()) if at_least_one else counts


def pick(candidates: torch.Tensor, counts: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``counts[g]`` of the candidate entries of row ``g`` (all of them where there are fewer), drawn uniformly
    without replacement; ``candidates`` is (G, m) bool."""
    scores = uniform(candidates.shape, gen, candidates.device).masked_fill(~candidates, 2.0)
    threshold = scores.sort(1).values.gather(1, (counts[:, None] - 1).clamp(0, scores.shape[1] - 1))
    return candidates & (scores <= threshold) & (counts[:, None] > 0)


def uniform(shape, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) numbers from the CPU generator ``gen`` (the same numbers on every device)."""
    return torch.rand(shape, generator=gen).to(device)


# the augmentations --------------------------------------------------------------------------------------------


def drop_nodes(dense: DenseGraphs, drop: torch.Tensor) -> DenseGraphs:
    """Remove the nodes flagged in ``drop`` (G, n), wiring u -> w wherever a path u -> ... -> w ran through dropped
    nodes only."""
    a = dense.adj.float()
    via = drop.float()[:, None, :]
    for _ in range(max(1, math.ceil(math.log2(max(a.shape[1], 2)))) + 1):  # path lengths double each round
        longer = ((a * via) @ a).clamp_(max=1.0)
        merged = torch.maximum(a, longer)
        if torch.equal(merged, a):
            break
        a = merged
    keep = dense.valid & ~drop
    return replace(dense, ops=dense.ops.masked_fill(~keep, -1), adj=(a > 0) & keep[:, :, None] & keep[:, None, :])


def random_drop(dense: DenseGraphs, vocab: tuple[str, ...], share: float, gen: torch.Generator) -> DenseGraphs:
    """GraphCL's node dropping: ``round(share * op nodes)`` random op nodes of every graph removed."""
    core = op_nodes(dense, vocab)
    return drop_nodes(dense, pick(core, share_counts(core, share), gen))


def subgraph(dense: DenseGraphs, vocab: tuple[str, ...], share: float, gen: torch.Generator) -> DenseGraphs:
    """GraphCL's subgraph: a region of ``op nodes - round(share * op nodes)`` op nodes connected through op-node
    edges (either direction), grown from a random op node by random neighbours; the other op nodes are dropped (all
    that the region cannot reach when it stops short)."""
    core = op_nodes(dense, vocab)
    target = core.sum(1) - share_counts(core, share)
    region = pick(core, torch.ones_like(target), gen)
    linked = (dense.adj | dense.adj.transpose(1, 2)) & core[:, :, None] & core[:, None, :]
    for _ in range(dense.ops.shape[1]):
        need = target - region.sum(1)
        frontier = core & ~region & (linked & region[:, :, None]).any(1)
        if not bool(((need > 0) & frontier.any(1)).any()):
            break
        region = region | pick(frontier, need.clamp(min=0), gen)
    return drop_nodes(dense, core & ~region)


def perturb_edges(dense: DenseGraphs, vocab: tuple[str, ...], share: float, gen: torch.Generator) -> DenseGraphs:
    """GraphCL's edge perturbation: up to ``round(share * edges)`` edges removed (never a node's last in- or
    out-edge) and up to ``round(share * edges)`` new ones added, each from an earlier to a later node of a
    topological order, never into an input."""
    adj, valid = dense.adj, dense.valid
    G, n = dense.ops.shape
    counts = share_counts(adj.reshape(G, -1), share)
    # one random in-edge and one random out-edge of every node stay
    score = uniform(adj.shape, gen, adj.device).masked_fill(~adj, -1.0)
    spared = adj & ((score == score.amax(2, keepdim=True)) | (score == score.amax(1, keepdim=True)))
    removed = pick((adj & ~spared).reshape(G, -1), counts, gen).reshape(G, n, n)
    forward = dense.order[:, :, None] < dense.order[:, None, :]
    into_input = (dense.ops == vocab.index("input"))[:, None, :]
    addable = forward & valid[:, :, None] & valid[:, None, :] & ~adj & ~into_input
    added = pick(addable.reshape(G, -1), counts, gen).reshape(G, n, n)
    return replace(dense, adj=(adj & ~removed) | added)


def mask_ops(dense: DenseGraphs, vocab: tuple[str, ...], counts: torch.Tensor,
             gen: torch.Generator) -> tuple[DenseGraphs, torch.Tensor]:
    """``counts[g]`` random op nodes of every graph given another op, drawn uniformly from the vocabulary less
    input, output and the node's own op; also returns the (G, n) mask of the chosen nodes."""
    core = op_nodes(dense, vocab)
    masked = pick(core, counts, gen)
    choices = [i for i, op in enumerate(vocab) if op not in ("input", "output")]
    if len(choices) < 2:  # nothing else to give
        return dense, torch.zeros_like(masked)
    position = torch.full((len(vocab),), -1, dtype=torch.long, device=core.device)
    position[choices] = torch.arange(len(choices), device=core.device)
    own = position[dense.ops.clamp(min=0)]
    draw = (uniform(core.shape, gen, core.device) * (len(choices) - 1)).long().clamp_(max=len(choices) - 2)
    draw = draw + (draw >= own).long()  # skip the node's own op
    other = torch.tensor(choices, device=core.device)[draw]
    return replace(dense, ops=torch.where(masked, other, dense.ops)), masked


def augment(batch: GraphBatch, share: float, gen: torch.Generator,
            augmentations: tuple[str, ...] = AUGMENTATIONS) -> GraphBatch:
    """One augmented view of every graph of ``batch``: each graph gets one of ``augmentations`` at random (all are
    computed for the whole batch and each graph keeps its own)."""
    dense = DenseGraphs.from_batch(batch)
    vocab = batch.vocab
    views = []
    for name in augmentations:
        if name == "drop_nodes":
            views.append(random_drop(dense, vocab, share, gen))
        elif name == "subgraph":
            views.append(subgraph(dense, vocab, share, gen))
        elif name == "perturb_edges":
            views.append(perturb_edges(dense, vocab, share, gen))
        elif name == "mask_ops":
            views.append(mask_ops(dense, vocab, share_counts(op_nodes(dense, vocab), share), gen)[0])
        else:
            raise ValueError(f"unknown augmentation {name!r}; choose from {list(AUGMENTATIONS)}")
    choice = (uniform(batch.num_graphs, gen, batch.device) * len(views)).long().clamp_(max=len(views) - 1)
    ops, adj = dense.ops, dense.adj
    for i, view in enumerate(views):
        mine = choice == i
        ops = torch.where(mine[:, None], view.ops, ops)
        adj = torch.where(mine[:, None, None], view.adj, adj)
    return replace(dense, ops=ops, adj=adj).to_batch(batch)
