"""The flow surrogate (METHOD.md section 2): a cheap, label-free vector per architecture that FGP pre-trains on.

Random draws ``r`` (the input vector), ``P`` (op embeddings) and ``W`` (the step's weights) are shared by every
architecture of a space. A forward pass pushes ``r`` from the inputs to the output through the step

    step(v, m) = alpha * m + (1 - alpha) * relu(concat(h_v, m) @ W),   h_v = P[op_v],

a backward pass pushes the output's value back to the inputs with the same step, and the surrogate is the sum of
the inputs' backward values. Two implementations:

- :func:`reference_surrogate`: one graph, a plain loop that reads like the method. The test oracle.
- :func:`flow_surrogate`: a whole :class:`~fgp.batch.GraphBatch` at once, looping over topological generations
  (never over graphs). ``concat(h_v, m) @ W = (P @ W_top)[op_v] + m @ W_bot``, so the op half is a table lookup.

Traced models are graphs like any other: each of a model's inputs starts at ``r``, its several outputs all feed the
graph's one output node, and a network hundreds of generations deep costs one step per generation for the whole
batch. The surrogate reads the ops only, not the node attributes (the encoders read those). With ``std`` well below
1 the step is a contraction, so values stay bounded at any depth, and what a node contributes fades with its
distance from the inputs (a plain chain of 150 or 600 layers gives the same surrogate).

Ablation switches (shared by both implementations, so the tests compare like with like). A round is one forward
pass then one backward pass; what each pass starts from:

- ``forward=True`` : every input starts at its carried value (``r`` in round 1); the sinks (nodes without
  successors: the output, and inputs that feed nothing in multi-input cells) hand their forward value ``f`` to the
  backward pass.
- ``forward=False``: there is no ``f``; every sink starts the backward pass at ``r`` in round 1 (so the backward
  pass sees the same input vector, injected at the output), and at the previous round's surrogate afterwards.
- ``backward=True`` : the surrogate is the sum of ``b`` over the input nodes; each input carries its own ``b`` into
  the next round's forward pass.
- ``backward=False``: the surrogate is the forward value at the output, ``f_out``; every input carries ``f_out``
  into the next round's forward pass.
- Both off is an error. ``rounds=1`` with both on is the paper's setting.

Precision: the reference works in float64. The batched code computes in ``dtype``: float64 matches the reference to
~1e-12; float32 (the default, ~1.3x faster) keeps 6-7 significant digits, i.e. ~1e-7 absolute on NB201
(surrogates ~1) and ~1e-5 on NB101, whose std=1 draws give surrogates up to ~100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from fgp.batch import GraphBatch
from fgp.graph import ArchGraph


def surrogate_defaults(space: str) -> tuple[int, float]:
    """``(k, std)`` of a search space (its class's ``surrogate``: METHOD.md's constants, or measured where none
    was published)."""
    from fgp.spaces import list_spaces, space_class

    constants = space_class(space).surrogate
    if constants is None:
        with_constants = [name for name in list_spaces() if space_class(name).surrogate is not None]
        raise ValueError(f"no surrogate defaults for space {space!r}; choose one of {with_constants} or pass k and std")
    return constants


def resolve_constants(k: int | None, std: float | None, space: str | None) -> tuple[int, float]:
    """``(k, std)``: the given values, with the space's defaults filling in whichever is None."""
    if k is not None and std is not None:
        return k, std
    if space is None:
        raise ValueError("pass k and std, a space name for its defaults, or explicit draws")
    dk, dstd = surrogate_defaults(space)
    return (dk if k is None else k), (dstd if std is None else std)


# draws -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurrogateDraws:
    """The random quantities shared by all architectures of a space: ``r`` (k,), ``P`` (|vocab|, k), ``W`` (2k, k).

    Stored as float32 numpy arrays (what the batched code computes with, and what gets saved); ``alpha`` is the
    step's residual weight.
    """

    r: np.ndarray
    P: np.ndarray
    W: np.ndarray
    alpha: float = 0.5

    def __post_init__(self) -> None:
        r = np.asarray(self.r, dtype=np.float32)
        P = np.asarray(self.P, dtype=np.float32)
        W = np.asarray(self.W, dtype=np.float32)
        if r.ndim != 1 or r.size == 0:
            raise ValueError(f"r must be a non-empty vector of shape (k,), got shape {r.shape}")
        k = r.size
        if P.ndim != 2 or P.shape[1] != k or P.shape[0] == 0:
            raise ValueError(f"P must have shape (num_ops, k={k}), got {P.shape}")
        if W.shape != (2 * k, k):
            raise ValueError(f"W must have shape (2k, k) = ({2 * k}, {k}), got {W.shape}")
        alpha = float(self.alpha)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        for name, arr in (("r", r), ("P", P), ("W", W)):
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains non-finite values")
        object.__setattr__(self, "r", r)
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "alpha", alpha)

    @property
    def k(self) -> int:
        return int(self.r.size)

    @property
    def num_ops(self) -> int:
        return int(self.P.shape[0])

    @classmethod
    def sample(cls, num_ops: int, k: int, std: float, seed: int, alpha: float = 0.5) -> SurrogateDraws:
        """Draw ``r ~ U(0,1)^k``, ``P ~ N(0, std^2)^(num_ops x k)``, ``W ~ N(0, std^2)^(2k x k)``, in that order,
        from one ``torch.Generator`` seeded with ``seed`` (float64 draws, stored as float32)."""
        if int(num_ops) != num_ops or num_ops < 1:
            raise ValueError(f"num_ops must be a positive integer, got {num_ops}")
        if k is None or int(k) != k or k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        if std is None or not np.isfinite(std) or std <= 0:
            raise ValueError(f"std must be a positive number, got {std}")
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        k, num_ops = int(k), int(num_ops)
        r = torch.rand(k, generator=gen, dtype=torch.float64)
        P = torch.randn(num_ops, k, generator=gen, dtype=torch.float64) * std
        W = torch.randn(2 * k, k, generator=gen, dtype=torch.float64) * std
        return cls(r=r.numpy(), P=P.numpy(), W=W.numpy(), alpha=alpha)

    @classmethod
    def sample_stacked(cls, num_ops: int, k: int, std: float, seed: int, count: int, alpha: float = 0.5
                       ) -> SurrogateDraws:
        """``count`` independent draws, seeds ``seed`` ... ``seed + count - 1``, stacked (:meth:`stack`); one draw is
        exactly :meth:`sample`'s."""
        return cls.stack([cls.sample(num_ops, k, std, s, alpha) for s in range(seed, seed + count)])

    @classmethod
    def stack(cls, parts: Sequence[SurrogateDraws]) -> SurrogateDraws:
        """Independent draws as one: its surrogate is the concatenation of theirs, so everything that takes draws
        (the batched passes, saved predictors) takes several. ``r`` and ``P`` are concatenated along ``k``; ``W`` is
        block-structured, each part's ``W`` mapping only its own columns of ``h_v`` and ``m`` to its own outputs."""
        if not parts:
            raise ValueError("stack needs at least one set of draws")
        alphas, num_ops = {p.alpha for p in parts}, {p.num_ops for p in parts}
        if len(alphas) != 1 or len(num_ops) != 1:
            raise ValueError(
                f"stacked draws must share alpha and the op count, got alphas {sorted(alphas)}, "
                f"op counts {sorted(num_ops)}"
            )
        K = sum(p.k for p in parts)
        W = np.zeros((2 * K, K), dtype=np.float32)
        start = 0
        for p in parts:
            cols = slice(start, start + p.k)
            W[cols, cols] = p.W[: p.k]  # the op half, concat(h_v, m)'s first K columns
            W[K + start : K + start + p.k, cols] = p.W[p.k :]  # the message half
            start += p.k
        return cls(r=np.concatenate([p.r for p in parts]), P=np.concatenate([p.P for p in parts], axis=1), W=W,
                   alpha=parts[0].alpha)


def _check_switches(rounds: int, forward: bool, backward: bool) -> int:
    if int(rounds) != rounds or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds}")
    if not (forward or backward):
        raise ValueError("at least one of the forward and backward passes must be enabled")
    return int(rounds)


# reference ---------------------------------------------------------------------------------------------------


def reference_surrogate(
    graph: ArchGraph, draws: SurrogateDraws, rounds: int = 1, forward: bool = True, backward: bool = True
) -> np.ndarray:
    """The flow surrogate of one graph, written as a plain loop that follows METHOD.md section 2 (float64).

    Slow on purpose: it is the oracle the batched :func:`flow_surrogate` is tested against. The switches are those
    of the module docstring.
    """
    return _reference_passes(graph, draws, rounds, forward, backward)[0]


def reference_node_flows(
    graph: ArchGraph, draws: SurrogateDraws, rounds: int = 1, forward: bool = True, backward: bool = True
) -> np.ndarray:
    """Every node's values in the last round, ``concat(f_v, b_v)`` (only the passes that run), as a
    ``(num_nodes, k or 2k)`` float64 array: the oracle of :func:`node_flows`."""
    _, f, b = _reference_passes(graph, draws, rounds, forward, backward)
    parts = [np.stack([p[v] for v in range(graph.num_nodes)]) for p in (f, b) if p is not None]
    return np.concatenate(parts, axis=1)


def _reference_passes(
    graph: ArchGraph, draws: SurrogateDraws, rounds: int, forward: bool, backward: bool
) -> tuple[np.ndarray, dict[int, np.ndarray] | None, dict[int, np.ndarray] | None]:
    """The surrogate and the last round's forward and backward values per node (None for a pass that is off)."""
    rounds = _check_switches(rounds, forward, backward)
    if draws.num_ops != len(graph.vocab):
        raise ValueError(f"draws have {draws.num_ops} op rows but the graph's vocabulary has {len(graph.vocab)} ops")
    r = draws.r.astype(np.float64)
    P = draws.P.astype(np.float64)
    W = draws.W.astype(np.float64)
    alpha = draws.alpha
    op_index = graph.op_index
    gens = graph.generations
    levels = [np.flatnonzero(gens == g).tolist() for g in range(1, int(gens.max()) + 1)]
    inputs = graph.inputs
    preds = {v: graph.predecessors(v) for v in range(graph.num_nodes)}
    succs = {v: graph.successors(v) for v in range(graph.num_nodes)}

    def step(v: int, m: np.ndarray) -> np.ndarray:
        h = P[op_index[v]]
        return alpha * m + (1 - alpha) * np.maximum(np.concatenate([h, m]) @ W, 0.0)

    carried = {v: r for v in inputs}  # what each input starts the next forward pass with
    sink_start = r  # what the sinks start the backward pass with when there is no forward pass
    surrogate = r
    f: dict[int, np.ndarray] | None = None
    b: dict[int, np.ndarray] | None = None
    for _ in range(rounds):
        if forward:
            f = {}
            for level in levels:
                for v in level:
                    if not preds[v]:
                        f[v] = carried[v]  # generation 1: the inputs
                    else:
                        f[v] = step(v, sum(f[u] for u in preds[v]))
            start = {v: f[v] for v in range(graph.num_nodes) if not succs[v]}
        else:
            start = {v: sink_start for v in range(graph.num_nodes) if not succs[v]}
        if backward:
            b = {}
            for level in reversed(levels):
                for v in level:
                    if not succs[v]:
                        b[v] = start[v]  # the output (and inputs feeding nothing) keep their value
                    else:
                        b[v] = step(v, sum(b[w] for w in succs[v]))
            surrogate = sum(b[v] for v in inputs)
            carried = {v: b[v] for v in inputs}
        else:
            surrogate = f[graph.output]
            carried = {v: surrogate for v in inputs}
        sink_start = surrogate
    return np.asarray(surrogate, dtype=np.float64), f, b


# batched -----------------------------------------------------------------------------------------------------


def _narrow_int(num_keys: int) -> type:
    """The narrowest integer type for keys 0..num_keys-1 (numpy's stable argsort is a radix sort for 8/16 bits)."""
    return np.int8 if num_keys <= 2**7 else np.int16 if num_keys <= 2**15 else np.int64


def _sorted_groups(key: np.ndarray, num_keys: int) -> tuple[np.ndarray, list[int]]:
    """Stable order of the positions by a small non-negative integer key, and the boundaries of each key's run."""
    key = key.astype(_narrow_int(num_keys), copy=False)
    order = np.argsort(key, kind="stable")
    return order, [0] + np.cumsum(np.bincount(key, minlength=num_keys)).tolist()


@dataclass
class _Plan:
    """A batch renumbered so that every per-generation group of nodes is one contiguous row range.

    Rows are sorted by ``2 * generation + has_successor``: generation ``g`` occupies ``rows[2g]:rows[2g + 2]``
    (its sinks first), so the inputs are rows ``0:num_inputs``. Edges are grouped twice, once by the generation of
    their head (forward) and once by that of their tail (backward), each group keeping the row it gathers from and
    the position inside the group's row range that it adds into. Built once (index work in numpy on the CPU: radix
    sorts and int32 gathers are several times faster there than torch's), reused by every pass and round.
    """

    ops: torch.Tensor  # op index of every row
    fwd: list[tuple[int, int, torch.Tensor, torch.Tensor]]  # (row lo, row hi, edge source rows, local targets)
    bwd: list[tuple[int, int, torch.Tensor, torch.Tensor]]
    num_inputs: int
    input_graph: torch.Tensor  # graph of input rows 0:num_inputs
    sinks: torch.Tensor  # rows without successors (the outputs, and inputs feeding nothing)
    sink_graph: torch.Tensor
    outputs: torch.Tensor  # the output row of every graph, in graph order
    node_rows: torch.Tensor  # the row of every node of the batch, in the batch's node order


def _plan(batch: GraphBatch) -> _Plan:
    dev = batch.device
    n, G = batch.num_nodes, batch.num_graphs
    edge_index = batch.edge_index.cpu().numpy()
    src, dst = edge_index[0], edge_index[1]
    gen = batch.generation.cpu().numpy()
    op_index = batch.op_index.cpu().numpy()
    graph_of = batch.batch.cpu().numpy()
    vocab = batch.vocab
    is_input = op_index == vocab.index("input")
    if not np.array_equal(is_input, gen == 1):
        raise ValueError("the input nodes must be exactly the generation-1 nodes (the nodes without in-edges)")
    outputs = np.flatnonzero(op_index == vocab.index("output"))
    if outputs.size != G:
        raise ValueError(f"every graph needs exactly one output node: {outputs.size} for {G} graphs")
    num_gen = int(gen.max())
    gen = gen.astype(_narrow_int(2 * num_gen + 2))  # 1-byte keys for the usual cell: cheaper gathers and sorts
    idx = np.int32 if n < 2**31 else np.int64
    has_succ = np.zeros(n, dtype=bool)
    has_succ[src] = True
    perm, rows = _sorted_groups(2 * gen + has_succ, 2 * num_gen + 2)  # row -> node
    inv = np.empty(n, dtype=idx)  # node -> row
    inv[perm] = np.arange(n, dtype=idx)
    new_src, new_dst = inv[src], inv[dst]

    # int32 indices are fine for torch's index_select on the CPU; elsewhere use int64, which every kernel takes
    as_index = (lambda a: torch.from_numpy(a)) if dev.type == "cpu" else (lambda a: torch.from_numpy(a).long().to(dev))

    def groups(edge_gen: np.ndarray, gens, lo_key: int, gather_from: np.ndarray, add_into: np.ndarray):
        order, eb = _sorted_groups(edge_gen, num_gen + 1)
        gather_from, add_into = gather_from[order], add_into[order]
        out = []
        for g in gens:
            lo, hi = rows[2 * g + lo_key], rows[2 * g + 2]
            sl = slice(eb[g], eb[g + 1])
            # index_add_ wants int64 targets (int32 takes a slow path on the CPU)
            local = torch.from_numpy(np.subtract(add_into[sl], lo, dtype=np.int64)).to(dev)
            out.append((lo, hi, as_index(gather_from[sl]), local))
        return out

    # forward: generation g's rows (sinks included) sum over edges into them; backward: the rows that have
    # successors sum over edges out of them
    fwd = groups(gen[dst], range(2, num_gen + 1), 0, new_src, new_dst)
    bwd = groups(gen[src], range(num_gen - 1, 0, -1), 1, new_dst, new_src)
    node_of_sink = np.flatnonzero(~has_succ)
    num_inputs = rows[4]
    return _Plan(
        ops=torch.from_numpy(op_index[perm]).to(dev),
        fwd=fwd,
        bwd=bwd,
        num_inputs=num_inputs,
        input_graph=torch.from_numpy(graph_of[perm[:num_inputs]]).to(dev),
        sinks=torch.from_numpy(inv[node_of_sink].astype(np.int64)).to(dev),
        sink_graph=torch.from_numpy(graph_of[node_of_sink]).to(dev),
        outputs=torch.from_numpy(inv[outputs].astype(np.int64)).to(dev),
        node_rows=torch.from_numpy(inv.astype(np.int64)).to(dev),
    )


def flow_surrogate(
    batch: GraphBatch,
    k: int | None = None,
    std: float | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    rounds: int = 1,
    forward: bool = True,
    backward: bool = True,
    draws: SurrogateDraws | None = None,
    space: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, SurrogateDraws]:
    """Flow surrogates of every graph in ``batch``: a ``(num_graphs, k)`` tensor on the batch's device, plus the draws.

    The draws are ``draws`` when given; otherwise :meth:`SurrogateDraws.sample` with ``k``/``std`` (defaulting to
    :func:`surrogate_defaults` of ``space``), ``seed`` (default 0) and ``alpha`` (default 0.5). ``std``, ``seed``,
    ``alpha`` and ``space`` only shape new draws, so passing one with ``draws`` is an error rather than ignored (``k``
    may repeat ``draws.k``). Work is one vectorised step per topological generation and pass, never per graph.
    ``rounds``/``forward``/``backward`` are the ablations of the module docstring. ``dtype`` is the compute and
    result dtype.
    """
    if draws is None:
        k, std = resolve_constants(k, std, space)
        seed, alpha = (0 if seed is None else seed), (0.5 if alpha is None else alpha)
        draws = SurrogateDraws.sample(batch.num_ops, k, std, seed, alpha)
    else:
        unused = [name for name, value in (("std", std), ("seed", seed), ("alpha", alpha), ("space", space))
                  if value is not None]
        if unused:
            raise ValueError(f"{', '.join(unused)} would be unused: they only shape new draws, and draws= was given")
        if k is not None and k != draws.k:
            raise ValueError(f"k={k} disagrees with the explicit draws (k={draws.k})")
    return _passes(batch, draws, rounds, forward, backward, dtype, nodes=False)[0], draws


def node_flows(
    batch: GraphBatch,
    draws: SurrogateDraws,
    rounds: int = 1,
    forward: bool = True,
    backward: bool = True,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The surrogates ``(G, k)`` and every node's values in the last round ``(N, k or 2k)``: ``concat(f_v, b_v)`` in
    the batch's node order (only the passes that run). Switches and ``dtype`` as :func:`flow_surrogate`.

    A graph's surrogate is k numbers summed over its inputs; the node values say where in the cell the flow changes,
    a per-node target (FGP's ``l3`` option).
    """
    return _passes(batch, draws, rounds, forward, backward, dtype, nodes=True)


def _passes(
    batch: GraphBatch, draws: SurrogateDraws, rounds: int, forward: bool, backward: bool, dtype: torch.dtype,
    nodes: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The surrogates and, with ``nodes``, the last round's node values (see :func:`node_flows`)."""
    rounds = _check_switches(rounds, forward, backward)
    if draws.num_ops != batch.num_ops:
        raise ValueError(f"draws have {draws.num_ops} op rows but the batch's vocabulary has {batch.num_ops} ops")
    dev = batch.device
    kk, G = draws.k, batch.num_graphs
    r = torch.as_tensor(draws.r, device=dev).to(dtype)
    W = torch.as_tensor(draws.W, device=dev).to(dtype)
    P = torch.as_tensor(draws.P, device=dev).to(dtype)
    a = float(draws.alpha)
    # (1 - a) * relu(x) = relu((1 - a) * x) as 1 - a >= 0, so the factor is folded into both halves of W
    H = (1 - a) * (P @ W[:kk])  # the op half of concat(h_v, m) @ W, one row per op
    W_bot = ((1 - a) * W[kk:]).contiguous()
    if batch.num_nodes == 0:
        width = kk * (int(forward) + int(backward))
        return torch.zeros(G, kk, dtype=dtype, device=dev), torch.zeros(0, width, dtype=dtype, device=dev)
    plan = _plan(batch)
    n_in = plan.num_inputs
    # One buffer holds f during the forward pass and is overwritten by b during the backward pass: the sinks' rows
    # keep f, which is exactly where the backward pass starts. Scratch buffers are allocated once, because fresh
    # large allocations (page faults) cost as much as the arithmetic here.
    values = torch.empty(batch.num_nodes, kk, dtype=dtype, device=dev)
    groups = plan.fwd + plan.bwd
    msg_buf = torch.empty(max((g[2].numel() for g in groups), default=0), kk, dtype=dtype, device=dev)
    m_buf = torch.empty(max((g[1] - g[0] for g in groups), default=0), kk, dtype=dtype, device=dev)

    def run(groups) -> None:
        # rows outside the groups (the pass's starting rows) are already set; fill the groups in order
        for lo, hi, from_rows, local in groups:
            msg = torch.index_select(values, 0, from_rows, out=msg_buf[: from_rows.numel()])
            m = m_buf[: hi - lo].zero_().index_add_(0, local, msg)  # m = sum over the group's edges
            z = torch.index_select(H, 0, plan.ops[lo:hi], out=values[lo:hi])
            z.addmm_(m, W_bot).clamp_(min=0).add_(m, alpha=a)  # step(v, m), (1 - a) folded into H and W_bot

    carried = r.expand(n_in, kk)  # what every input row starts the forward pass with
    surrogate = r.expand(G, kk)  # where the sinks start the backward pass when there is no forward pass
    f_rows = None
    for _ in range(rounds):
        if forward:
            values[:n_in] = carried
            run(plan.fwd)
            if not backward:
                surrogate = values.index_select(0, plan.outputs)
                carried = surrogate.index_select(0, plan.input_graph)
                continue
            if nodes:
                f_rows = values.clone()
        else:
            values.index_copy_(0, plan.sinks, surrogate.index_select(0, plan.sink_graph))
        run(plan.bwd)
        carried = values[:n_in].clone()
        surrogate = torch.zeros(G, kk, dtype=dtype, device=dev).index_add_(0, plan.input_graph, carried)
    if not nodes:
        return surrogate, None
    rows = values if f_rows is None else torch.cat([f_rows, values], dim=1)  # f_rows: only with both passes
    return surrogate, rows.index_select(0, plan.node_rows)
