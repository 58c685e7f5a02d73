"""Many architecture graphs as one disjoint union, the form every batched computation works on.

A :class:`GraphBatch` concatenates the nodes of many graphs (``op_index``, ``generation``, ``batch``) and their
edges (``edge_index`` with global node ids, grouped by graph). It can be built from :class:`ArchGraph` objects or,
without any per-graph Python work, from padded dense arrays (NB101's whole space is 423,624 cells). Graphs that carry
node attributes (``ArchGraph.attrs``, e.g. a traced model's kernel sizes and strides) keep them as ``attrs``, one
row per node; graphs without (every benchmark space's) have ``attrs=None``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from fgp.graph import ArchGraph


@dataclass(frozen=True)
class GraphBatch:
    op_index: torch.Tensor  # (num_nodes,) vocabulary index of every node's op
    edge_index: torch.Tensor  # (2, num_edges) global (src, dst), edges of graph g before those of g + 1
    batch: torch.Tensor  # (num_nodes,) graph of every node
    generation: torch.Tensor  # (num_nodes,) 1-based topological generation within its graph
    node_ptr: torch.Tensor  # (num_graphs + 1,) nodes of graph g are node_ptr[g]:node_ptr[g + 1]
    edge_ptr: torch.Tensor  # (num_graphs + 1,) edges of graph g are edge_ptr[g]:edge_ptr[g + 1]
    vocab: tuple[str, ...]
    # how the graphs were built from native architectures, e.g. "nb201(pruned=True)" (fgp.spaces.representation);
    # None when unknown. A predictor refuses graphs of another representation than it was trained on.
    representation: str | None = None
    # (num_nodes, num_attrs) float32 node attributes (ArchGraph.attrs), None for graphs without
    attrs: torch.Tensor | None = None

    @property
    def num_attrs(self) -> int:
        """Columns of ``attrs`` (0 without)."""
        return 0 if self.attrs is None else int(self.attrs.shape[1])

    @property
    def num_graphs(self) -> int:
        return self.node_ptr.numel() - 1

    @property
    def num_nodes(self) -> int:
        return self.op_index.numel()

    @property
    def num_ops(self) -> int:
        return len(self.vocab)

    @property
    def device(self) -> torch.device:
        return self.op_index.device

    def __len__(self) -> int:
        return self.num_graphs

    def one_hot(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """One-hot node features over the vocabulary."""
        return torch.nn.functional.one_hot(self.op_index, self.num_ops).to(dtype)

    def is_input(self) -> torch.Tensor:
        return self.op_index == self.vocab.index("input")

    def is_output(self) -> torch.Tensor:
        return self.op_index == self.vocab.index("output")

    def to(self, device: torch.device | str) -> GraphBatch:
        tensors = {k: getattr(self, k).to(device) for k in _TENSOR_FIELDS}
        attrs = None if self.attrs is None else self.attrs.to(device)
        return GraphBatch(vocab=self.vocab, representation=self.representation, attrs=attrs, **tensors)

    def _graph_ids(self, graph_ids: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
        """Graph ids as a long tensor on this batch's device; a tensor is moved as it is (numpy cannot read a
        tensor off the CPU)."""
        if isinstance(graph_ids, torch.Tensor):
            return graph_ids.to(self.device, torch.long)
        return torch.as_tensor(np.asarray(graph_ids), dtype=torch.long, device=self.device)

    def node_ids(self, graph_ids: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
        """This batch's indices of the nodes of the given graphs, in the node order of ``subset(graph_ids)``."""
        ids = self._graph_ids(graph_ids)
        return _ranges(self.node_ptr[ids], (self.node_ptr[1:] - self.node_ptr[:-1])[ids])

    def subset(self, graph_ids: Sequence[int] | np.ndarray | torch.Tensor) -> GraphBatch:
        """The batch of the given graphs, in the given order (vectorised, no per-graph loop)."""
        ids = self._graph_ids(graph_ids)
        node_counts = (self.node_ptr[1:] - self.node_ptr[:-1])[ids]
        edge_counts = (self.edge_ptr[1:] - self.edge_ptr[:-1])[ids]
        old_nodes = self.node_ids(ids)
        old_edges = _ranges(self.edge_ptr[ids], edge_counts)
        new_node_ptr = _ptr(node_counts)
        # shift every edge endpoint from its graph's old first node to its new first node
        shift = (new_node_ptr[:-1] - self.node_ptr[ids]).repeat_interleave(edge_counts)
        return GraphBatch(
            op_index=self.op_index[old_nodes],
            edge_index=self.edge_index[:, old_edges] + shift,
            batch=torch.arange(ids.numel(), device=self.device).repeat_interleave(node_counts),
            generation=self.generation[old_nodes],
            node_ptr=new_node_ptr,
            edge_ptr=_ptr(edge_counts),
            vocab=self.vocab,
            representation=self.representation,
            attrs=None if self.attrs is None else self.attrs[old_nodes],
        )

    def concat(self, other: GraphBatch) -> GraphBatch:
        """The disjoint union of two batches (this batch's graphs, then ``other``'s)."""
        if self.vocab != other.vocab:
            raise ValueError("cannot join batches with different op vocabularies")
        if None not in (self.representation, other.representation) and self.representation != other.representation:
            raise ValueError(f"cannot join {self.representation} graphs with {other.representation} graphs")
        if self.num_attrs != other.num_attrs or (self.attrs is None) != (other.attrs is None):
            raise ValueError(f"cannot join graphs with {self.num_attrs} node attributes and graphs with "
                             f"{other.num_attrs}")
        n0, e0 = self.num_nodes, self.edge_index.shape[1]
        return GraphBatch(
            op_index=torch.cat([self.op_index, other.op_index]),
            edge_index=torch.cat([self.edge_index, other.edge_index + n0], dim=1),
            batch=torch.cat([self.batch, other.batch + self.num_graphs]),
            generation=torch.cat([self.generation, other.generation]),
            node_ptr=torch.cat([self.node_ptr, other.node_ptr[1:] + n0]),
            edge_ptr=torch.cat([self.edge_ptr, other.edge_ptr[1:] + e0]),
            vocab=self.vocab,
            representation=self.representation if self.representation == other.representation else None,
            attrs=None if self.attrs is None else torch.cat([self.attrs, other.attrs]),
        )

    def with_representation(self, representation: str | None) -> GraphBatch:
        """The same graphs, labelled as built the way ``representation`` names."""
        return dataclasses.replace(self, representation=representation)

    # constructors ------------------------------------------------------------------------------------------

    @classmethod
    def from_graphs(cls, graphs: Sequence[ArchGraph], vocab: Sequence[str] | None = None) -> GraphBatch:
        if len(graphs) == 0:
            raise ValueError("cannot batch an empty list of graphs")
        vocab = tuple(vocab) if vocab is not None else graphs[0].vocab
        for g in graphs:
            if g.vocab != vocab:
                raise ValueError(f"all graphs must share one op vocabulary; got {list(g.vocab)} and {list(vocab)}")
        lookup = {op: i for i, op in enumerate(vocab)}
        node_counts = np.array([g.num_nodes for g in graphs], dtype=np.int64)
        edge_counts = np.array([len(g.edges) for g in graphs], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(node_counts)])
        op_index = np.fromiter((lookup[op] for g in graphs for op in g.ops), dtype=np.int64, count=offsets[-1])
        edges = np.array([e for g in graphs for e in g.edges], dtype=np.int64).reshape(-1, 2)
        edges += np.repeat(offsets[:-1], edge_counts)[:, None]
        generation = np.concatenate([g.generations for g in graphs])
        batch = cls._from_numpy(op_index, edges.T, generation, node_counts, edge_counts, vocab)
        widths = {None if g.attrs is None else g.attrs.shape[1] for g in graphs}
        if len(widths) > 1:
            shown = ", ".join("none" if w is None else str(w) for w in sorted(widths, key=lambda w: -1 if w is None
                                                                                else w))
            raise ValueError(f"all graphs of a batch must carry the same number of node attributes (attrs columns), "
                             f"got {shown}")
        if widths == {None}:
            return batch
        attrs = torch.from_numpy(np.concatenate([g.attrs for g in graphs]).astype(np.float32))
        return dataclasses.replace(batch, attrs=attrs.reshape(batch.num_nodes, -1))

    @classmethod
    def from_dense(
        cls, ops: np.ndarray, adjacency: np.ndarray, num_nodes: np.ndarray, vocab: Sequence[str]
    ) -> GraphBatch:
        """Batch padded graphs whose nodes are numbered in topological order (edges only go from lower to higher).

        ``ops`` (G, n): vocabulary index per node, ``adjacency`` (G, n, n) with ``adjacency[g, i, j]`` for edge i->j,
        ``num_nodes`` (G,): the real graph is the top-left block. Nothing is validated per graph: the caller
        guarantees legal graphs (as the benchmark files do).
        """
        ops = np.asarray(ops)
        adjacency = np.asarray(adjacency, dtype=bool)
        num_nodes = np.asarray(num_nodes, dtype=np.int64)
        n_graphs, n_max = ops.shape
        valid = np.arange(n_max)[None, :] < num_nodes[:, None]
        adjacency = adjacency & valid[:, :, None] & valid[:, None, :]
        if np.tril(adjacency.any(axis=0)).any():
            raise ValueError("from_dense needs nodes in topological order (edges i -> j with i < j only)")
        gen = np.ones((n_graphs, n_max), dtype=np.int64)
        for j in range(1, n_max):
            gen[:, j] = 1 + (adjacency[:, :j, j] * gen[:, :j]).max(axis=1)
        offsets = np.concatenate([[0], np.cumsum(num_nodes)])
        g_idx, src, dst = np.nonzero(adjacency)  # row-major: grouped by graph
        edges = np.stack([src + offsets[g_idx], dst + offsets[g_idx]])
        edge_counts = np.bincount(g_idx, minlength=n_graphs)
        return cls._from_numpy(ops[valid], edges, gen[valid], num_nodes, edge_counts, tuple(vocab))

    @classmethod
    def _from_numpy(cls, op_index, edge_index, generation, node_counts, edge_counts, vocab) -> GraphBatch:
        node_counts = torch.as_tensor(node_counts, dtype=torch.long)
        return cls(
            op_index=torch.as_tensor(op_index, dtype=torch.long),
            edge_index=torch.as_tensor(edge_index, dtype=torch.long).reshape(2, -1),
            batch=torch.arange(node_counts.numel()).repeat_interleave(node_counts),
            generation=torch.as_tensor(generation, dtype=torch.long),
            node_ptr=_ptr(node_counts),
            edge_ptr=_ptr(torch.as_tensor(edge_counts, dtype=torch.long)),
            vocab=tuple(vocab),
        )


# identity -------------------------------------------------------------------------------------------------


def graph_keys(batch: GraphBatch) -> list[bytes]:
    """One exact-identity key per graph (its node and edge counts, ops, wiring in the given numbering and node
    attributes where it has them), the same in any batch."""
    batch = batch.to("cpu")
    nodes = (batch.node_ptr[1:] - batch.node_ptr[:-1]).numpy()
    edges = (batch.edge_ptr[1:] - batch.edge_ptr[:-1]).numpy()
    G = batch.num_graphs
    n_max, e_max = int(nodes.max()), int(max(edges.max(), 1))
    ops = np.full((G, n_max), -1, dtype=np.int64)
    node_graph = batch.batch.numpy()
    local = np.arange(batch.num_nodes) - batch.node_ptr[:-1].numpy()[node_graph]
    ops[node_graph, local] = batch.op_index.numpy()
    wires = np.full((G, 2, e_max), -1, dtype=np.int64)
    edge_graph = np.repeat(np.arange(G), edges)
    e_local = np.arange(edge_graph.size) - batch.edge_ptr[:-1].numpy()[edge_graph]
    ei = batch.edge_index.numpy() - batch.node_ptr[:-1].numpy()[edge_graph]
    wires[edge_graph, 0, e_local] = ei[0]
    wires[edge_graph, 1, e_local] = ei[1]
    rows = np.concatenate([nodes[:, None], edges[:, None], ops, wires.reshape(G, -1)], axis=1)
    # without the padding (-1; real entries are >= 0), so a key does not depend on the batch's largest graph
    keys = [r[r >= 0].tobytes() for r in rows]
    if batch.attrs is None:
        return keys
    attrs = batch.attrs.numpy()
    bounds = batch.node_ptr.numpy()
    return [k + attrs[bounds[g]:bounds[g + 1]].tobytes() for g, k in enumerate(keys)]


def unseen_ids(first: GraphBatch, second: GraphBatch) -> np.ndarray:
    """Indices of the graphs of ``second`` that are not in ``first`` (exact duplicates, :func:`graph_keys`)."""
    have = set(graph_keys(first))
    return np.flatnonzero([k not in have for k in graph_keys(second)])


def join_unseen(first: GraphBatch, first_values, second: GraphBatch, second_values, what: str = "values"):
    """``first`` followed by the graphs of ``second`` that are not already in it (exact duplicates skipped), with
    their per-graph values (e.g. a proxy; ``None`` on both sides for none). ``first`` itself when nothing is new."""
    if (first_values is None) != (second_values is None):  # also when nothing is new: never drop given values
        raise ValueError(f"pass a {what} for both sets of graphs, or for neither")
    ids = unseen_ids(first, second)
    if ids.size == 0:
        return first, first_values
    joined_values = None if first_values is None else np.concatenate([first_values, second_values[ids]])
    return first.concat(second.subset(ids)), joined_values


_TENSOR_FIELDS = ("op_index", "edge_index", "batch", "generation", "node_ptr", "edge_ptr")


def _ptr(counts: torch.Tensor) -> torch.Tensor:
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


def _ranges(starts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Concatenation of ``arange(s, s + c)`` for every (s, c) pair, without a Python loop."""
    total = int(counts.sum())
    first = _ptr(counts)[:-1]
    within = torch.arange(total, device=counts.device) - first.repeat_interleave(counts)
    return starts.repeat_interleave(counts) + within
