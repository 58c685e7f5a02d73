"""Graph Transformer: depths, pair relations, what the relation bias adds, errors."""

from __future__ import annotations

import pytest
import torch
from test_encoders import SYNTH_VOCAB  # the per-encoder tests' helper (same folder)

from fgp.batch import GraphBatch
from fgp.encoders.transformer import (
    ANCESTOR,
    DESCENDANT,
    EDGE_FROM,
    EDGE_TO,
    SELF,
    UNRELATED,
    GraphTransformer,
    attention_layout,
    depth_to_sink,
)
from fgp.graph import ArchGraph

# input -> a -> b -> output, input -> c -> output, input -> output; and the smallest graph
DIAMOND = ArchGraph(["input", "a", "b", "c", "output"], [(0, 1), (1, 2), (2, 4), (0, 3), (3, 4), (0, 4)], SYNTH_VOCAB)
SMALLEST = ArchGraph(["input", "output"], [(0, 1)], SYNTH_VOCAB)


def test_depths_from_the_inputs_and_to_the_output():
    batch = GraphBatch.from_graphs([DIAMOND, SMALLEST])
    assert depth_to_sink(batch).tolist() == [3, 2, 1, 1, 0, 1, 0]
    assert (batch.generation - 1).tolist() == [0, 1, 2, 1, 3, 0, 1]


def test_pair_relations_and_the_mask_keep_attention_inside_each_graph():
    layout = attention_layout(GraphBatch.from_graphs([DIAMOND, SMALLEST]), torch.float32)
    relation = layout.relation.argmax(-1)
    U, S, T, F, A, D = UNRELATED, SELF, EDGE_TO, EDGE_FROM, ANCESTOR, DESCENDANT
    assert relation[0].tolist() == [
        [S, T, A, T, T],
        [F, S, T, U, A],
        [D, F, S, U, T],
        [F, U, U, S, T],
        [F, D, F, F, S],
    ]
    assert relation[1, :2, :2].tolist() == [[S, T], [F, S]]
    allowed = layout.mask[:, 0] == 0
    assert bool(allowed[0].all())
    assert allowed[1].tolist() == [[True, True] + [False] * 3] * 2 + [[True, True] + [i == j for j in range(2, 5)]
                                                                   for i in range(2, 5)]


def test_the_relation_bias_tells_wirings_apart_that_ops_and_depths_do_not():
    """Two cells with the same ops at the same depths, crossed differently: the same embedding without the bias."""
    ops = ["input", "a", "b", "c", "d", "output"]
    straight = ArchGraph(ops, [(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5)], SYNTH_VOCAB)
    crossed = ArchGraph(ops, [(0, 1), (0, 2), (1, 4), (2, 3), (3, 5), (4, 5)], SYNTH_VOCAB)
    batch = GraphBatch.from_graphs([straight, crossed])
    torch.manual_seed(0)
    enc = GraphTransformer(len(SYNTH_VOCAB), dim=16, num_layers=2, num_heads=2, dropout=0.0).eval()
    with torch.no_grad():
        emb = enc(batch)[1]
        torch.testing.assert_close(emb[0], emb[1])
        for layer in enc.layers:
            layer.relation_bias.normal_()
        emb = enc(batch)[1]
    assert not torch.allclose(emb[0], emb[1], atol=1e-4)


@pytest.mark.parametrize("kwargs, message", [
    ({"dim": 30, "num_heads": 4}, r"dim \(30\) must be divisible by num_heads \(4\)"),
    ({"num_layers": 0}, "must be positive"),
    ({"num_heads": 0}, "must be positive"),
    ({"attn_dropout": 1.0}, r"attn_dropout must be in \[0, 1\)"),
    ({"dropout": -0.1}, r"dropout must be in \[0, 1\)"),
])
def test_bad_options_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GraphTransformer(5, **kwargs)


def test_options_show_in_the_repr():
    text = repr(GraphTransformer(5, num_heads=2, dropout=0.2, attn_dropout=0.3))
    assert "num_heads=2, dropout=0.2, attn_dropout=0.3" in text
