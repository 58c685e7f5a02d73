"""FlowerFormer: exact agreement with a per-node reference, flow semantics, training, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_encoders import randomise_norms  # the per-encoder tests' helper (same folder)

from fgp.batch import GraphBatch
from fgp.encoders import create_encoder
from fgp.encoders.flowerformer import FlowerFormer, flow_mask, make_plan
from fgp.graph import ArchGraph

VOCAB = ("input", "output", "a", "b", "c")


def small(num_ops: int = len(VOCAB), seed: int = 0, **kw) -> FlowerFormer:
    torch.manual_seed(seed)
    cfg = dict(dim=16, num_layers=2, num_heads=4, dropout=0.0, attn_dropout=0.0)
    cfg.update(kw)
    return FlowerFormer(num_ops, **cfg)


def hand_graphs() -> list[ArchGraph]:
    return [
        # diamond with a skip: 0 -> 1 -> 3 -> 4, 0 -> 2 -> 4, 0 -> 4
        ArchGraph(["input", "a", "b", "c", "output"], [(0, 1), (1, 3), (3, 4), (0, 2), (2, 4), (0, 4)], VOCAB),
        # two inputs (DARTS-like), node 3 reads both
        ArchGraph(
            ["input", "input", "a", "b", "c", "output"], [(0, 2), (1, 3), (0, 3), (2, 4), (3, 4), (4, 5), (2, 5)], VOCAB
        ),
        # a chain (deeper than the others) and the smallest legal graph
        ArchGraph(["input", "a", "a", "b", "c", "b", "output"], [(i, i + 1) for i in range(6)], VOCAB),
        ArchGraph(["input", "output"], [(0, 1)], VOCAB),
        # wide fan-in
        ArchGraph(
            ["input", "a", "b", "c", "a", "output"],
            [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4), (1, 5), (4, 5), (0, 5)],
            VOCAB,
        ),
    ]


# ------------------------------------------------------------------------------------------------------------
# a slow, obviously-correct reference: one graph at a time, one node at a time, nn.GRUCell / nn.Linear calls
# ------------------------------------------------------------------------------------------------------------


def reference_forward(model: FlowerFormer, graph: ArchGraph) -> tuple[torch.Tensor, torch.Tensor]:
    n = graph.num_nodes
    preds = [graph.predecessors(v) for v in range(n)]
    succs = [graph.successors(v) for v in range(n)]
    topo = sorted(range(n), key=lambda v: graph.generations[v])
    x = model.embed.weight[torch.as_tensor(graph.op_index)]
    reach = np.eye(n, dtype=bool)
    for v in topo:  # reach[u, v]: u reaches v
        for u in preds[v]:
            reach[:, v] |= reach[:, u]
    allowed = reach | reach.T
    for layer in model.layers:

        def sweep(inp, nbrs, order, cell, score):
            h = [None] * n
            for v in order:
                if nbrs[v]:
                    hs = torch.stack([h[u] for u in nbrs[v]])
                    alpha = torch.softmax(score(hs).squeeze(-1), dim=0)
                    msg = (alpha[:, None] * hs).sum(0)
                else:
                    msg = torch.zeros(inp.shape[1])
                h[v] = cell(inp[v : v + 1], msg[None])[0]
            return torch.stack(h)

        hf = sweep(x, preds, topo, layer.gru_forward, layer.score_forward)
        hb = sweep(hf, succs, topo[::-1], layer.gru_backward, layer.score_backward)
        flow = layer.norm_flow(x + torch.relu(hb))

        d = x.shape[1]
        heads, hd = layer.num_heads, d // layer.num_heads
        wq, wk, wv = layer.qkv.weight.split(d)
        rows = []
        for u in range(n):
            cols = np.flatnonzero(allowed[u])
            per_head = []
            for hh in range(heads):
                sl = slice(hh * hd, (hh + 1) * hd)
                q = x[u] @ wq[sl].T
                k = x[cols] @ wk[sl].T
                v = x[cols] @ wv[sl].T
                a = torch.softmax(k @ q / hd**0.5, dim=0)
                per_head.append(a @ v)
            rows.append(torch.cat(per_head))
        attn = layer.norm_attn(x + layer.out_proj(torch.stack(rows)))
        h = flow + attn
        x = layer.norm_ff(h + layer.ff2(torch.relu(layer.ff1(h))))
    return x, x.mean(0)


def space_graphs(name: str, count: int, seed: int = 0) -> list[ArchGraph]:
    from fgp.spaces import get_space

    space = get_space(name)
    rng = np.random.default_rng(seed)
    return [space.decode(space.sample(rng)) for _ in range(count)]


@pytest.mark.parametrize("source", ["hand", "nb101", "nb201", "nb301", "nbgraph"])
def test_batched_forward_matches_per_node_reference(source):
    graphs = hand_graphs() if source == "hand" else space_graphs(source, 4, seed=11)
    model = small(num_ops=len(graphs[0].vocab), num_layers=3)
    randomise_norms(model)
    model.eval()
    with torch.no_grad():
        nodes, pooled = model(GraphBatch.from_graphs(graphs))
        start = 0
        for i, g in enumerate(graphs):
            ref_nodes, ref_pooled = reference_forward(model, g)
            torch.testing.assert_close(nodes[start : start + g.num_nodes], ref_nodes, atol=2e-5, rtol=1e-4)
            torch.testing.assert_close(pooled[i], ref_pooled, atol=2e-5, rtol=1e-4)
            start += g.num_nodes


def test_output_shapes_registry_and_out_dim():
    model = create_encoder("flowerformer", len(VOCAB), dim=24, num_layers=1, num_heads=3)
    nodes, pooled = model(GraphBatch.from_graphs(hand_graphs()))
    assert model.out_dim == 24
    assert nodes.shape == (sum(g.num_nodes for g in hand_graphs()), 24)
    assert pooled.shape == (5, 24)
    model.eval()
    batch = GraphBatch.from_graphs(hand_graphs())
    with torch.no_grad():  # a precomputed plan gives the same numbers
        assert torch.equal(model(batch)[1], model(batch, plan=model.plan(batch))[1])


# ------------------------------------------------------------------------------------------------------------
# the flow mask
# ------------------------------------------------------------------------------------------------------------


def test_flow_mask_on_hand_made_graphs():
    g0, g1 = hand_graphs()[:2]
    mask = flow_mask(GraphBatch.from_graphs([g0, g1])).numpy()
    assert mask.shape == (2, 6, 6)
    # g0: 0 -> 1 -> 3 -> 4, 0 -> 2 -> 4; the branch {1, 3} and node 2 share no path
    expected0 = np.array(
        [
            [1, 1, 1, 1, 1],
            [1, 1, 0, 1, 1],
            [1, 0, 1, 0, 1],
            [1, 1, 0, 1, 1],
            [1, 1, 1, 1, 1],
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(mask[0, :5, :5], expected0)
    assert not mask[0, 5:].any() and not mask[0, :, 5:].any()  # padding attends to nothing real
    # g1: inputs 0, 1; 0 -> 2, 0 -> 3, 1 -> 3, 2 -> 4, 3 -> 4, 4 -> 5, 2 -> 5
    pairs = {(u, v) for u in range(6) for v in range(6) if mask[1, u, v]}
    related = {(0, 2), (0, 3), (0, 4), (0, 5), (1, 3), (1, 4), (1, 5), (2, 4), (2, 5), (3, 4), (3, 5), (4, 5)}
    expected1 = related | {(v, u) for u, v in related} | {(v, v) for v in range(6)}
    assert pairs == expected1
    assert (0, 1) not in pairs and (2, 3) not in pairs and (1, 2) not in pairs


def test_attention_uses_only_flow_pairs():
    """Changing a node that shares no path with ``u`` cannot reach ``u`` through the attention (one layer)."""
    g = hand_graphs()[0]  # node 2 and node 1 share no input-to-output path
    g2 = ArchGraph(["input", "a", "c", "c", "output"], g.edges, VOCAB)  # node 2's op changed (b -> c)
    model = small(num_layers=1)
    model.eval()
    with torch.no_grad():
        plan = make_plan(GraphBatch.from_graphs([g]))
        plan2 = make_plan(GraphBatch.from_graphs([g2]))
        x = model.embed(GraphBatch.from_graphs([g]).op_index[plan.order])
        x2 = model.embed(GraphBatch.from_graphs([g2]).op_index[plan2.order])
        a = model.layers[0].attention(x, plan)[plan.inverse]
        a2 = model.layers[0].attention(x2, plan2)[plan2.inverse]
    torch.testing.assert_close(a[[1, 3]], a2[[1, 3]], atol=1e-6, rtol=0)  # 1 and 3 cannot see node 2
    assert not torch.allclose(a[[0, 2, 4]], a2[[0, 2, 4]], atol=1e-4)  # 0, 2 and 4 can


# ------------------------------------------------------------------------------------------------------------
# flow semantics of the sweeps
# ------------------------------------------------------------------------------------------------------------


def test_forward_sweep_depends_only_on_ancestors_backward_reaches_the_input():
    # 0 -> 1 -> 2 -> 3 -> 6 (output), 0 -> 4 -> 5 -> 6, 1 -> 5
    ops = ["input", "a", "b", "c", "a", "b", "output"]
    edges = [(0, 1), (1, 2), (2, 3), (3, 6), (0, 4), (4, 5), (5, 6), (1, 5)]
    base = ArchGraph(ops, edges, VOCAB)
    changed = ArchGraph(ops[:3] + ["a"] + ops[4:], edges, VOCAB)  # node 3: c -> a
    ancestors_of_3 = [0, 1, 2]
    not_related_to_3 = [4, 5]
    model = small(num_layers=2)
    model.eval()
    with torch.no_grad():
        hf, hb = model.sweep_embeddings(GraphBatch.from_graphs([base]), layer=0)
        hf2, hb2 = model.sweep_embeddings(GraphBatch.from_graphs([changed]), layer=0)
    # forward sweep: nodes that are not descendants of node 3 do not see the change
    torch.testing.assert_close(hf[ancestors_of_3 + not_related_to_3], hf2[ancestors_of_3 + not_related_to_3],
                               atol=1e-6, rtol=0)
    assert not torch.allclose(hf[3], hf2[3], atol=1e-4) and not torch.allclose(hf[6], hf2[6], atol=1e-4)
    # backward sweep: the change flows back through the output to every node, the input included
    for v in range(7):
        assert not torch.allclose(hb[v], hb2[v], atol=1e-4), v


def test_sweep_embeddings_of_a_later_layer_and_bad_layer():
    model = small(num_layers=2)
    batch = GraphBatch.from_graphs(hand_graphs())
    hf, hb = model.sweep_embeddings(batch, layer=1)
    assert hf.shape == hb.shape == (batch.num_nodes, 16)
    with pytest.raises(ValueError, match="layer must be in 0..1"):
        model.sweep_embeddings(batch, layer=2)


# training (renumbering, batch companions and every space's forward and backward passes are tested for every
# encoder in test_encoders.py)
# ------------------------------------------------------------------------------------------------------------


def test_default_model_on_a_mixed_batch_trains():
    """The default (paper-size) model takes an optimiser step and its loss goes down on a fixed batch."""
    torch.manual_seed(0)
    graphs = hand_graphs() * 4
    batch = GraphBatch.from_graphs(graphs)
    model = FlowerFormer(len(VOCAB))
    head = torch.nn.Linear(model.out_dim, 1)
    target = torch.linspace(-1, 1, 5).repeat(4)  # one target per distinct graph
    opt = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-3)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = (head(model(batch)[1]).squeeze(1) - target).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ------------------------------------------------------------------------------------------------------------
# determinism and errors
# ------------------------------------------------------------------------------------------------------------


def test_same_seed_same_numbers_on_cpu():
    batch = GraphBatch.from_graphs(hand_graphs())

    def run(seed):
        torch.manual_seed(seed)
        model = FlowerFormer(len(VOCAB), dim=16, num_layers=2, num_heads=4, dropout=0.1, attn_dropout=0.3)
        model.train()
        nodes, pooled = model(batch)
        pooled.sum().backward()
        return nodes.detach(), pooled.detach(), model.layers[0].gru_forward.weight_ih.grad.clone()

    a, b, other = run(7), run(7), run(8)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    for x, y in zip(a, other):  # the same model and batch with another seed: other numbers
        assert not torch.allclose(x, y)


def test_bad_input_raises_value_error():
    batch = GraphBatch.from_graphs(hand_graphs())
    with pytest.raises(ValueError, match="num_ops=4"):
        FlowerFormer(4, dim=8, num_layers=1, num_heads=2)(batch)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        FlowerFormer(5, dim=10, num_heads=4)
    with pytest.raises(ValueError, match="num_ops must be at least 2"):
        FlowerFormer(1)
    with pytest.raises(ValueError, match="attn_dropout"):
        FlowerFormer(5, attn_dropout=1.0)
    broken = GraphBatch(
        op_index=batch.op_index,
        edge_index=batch.edge_index,
        batch=batch.batch,
        generation=torch.ones_like(batch.generation),
        node_ptr=batch.node_ptr,
        edge_ptr=batch.edge_ptr,
        vocab=batch.vocab,
    )
    with pytest.raises(ValueError, match="inconsistent with edge_index"):
        FlowerFormer(5, dim=8, num_layers=1, num_heads=2)(broken)
