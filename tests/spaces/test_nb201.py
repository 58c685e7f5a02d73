import gzip
import itertools
import json
from collections import defaultdict

import numpy as np
import pytest

from fgp.graph import ArchGraph
from fgp.paths import data_file
from fgp.spaces import get_space
from fgp.spaces.nb201 import GRAPH_EDGES, OPS, VOCAB, NB201Space, arch_str, parse_arch_str

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


@pytest.fixture(scope="module")
def rows():
    with gzip.open(data_file("nasbench201/nb201_labels.jsonl.gz"), "rt") as f:
        return [json.loads(line) for line in f]


def test_registered_with_exact_vocab():
    space = get_space("nb201")
    assert isinstance(space, NB201Space) and not space.pruned
    assert space.vocab == ("input", "output", "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert get_space("nb201", pruned=True).pruned


def test_resnet_cell_graph_written_out_by_hand():
    g = NB201Space().decode(RESNET)
    # node k + 1 is edge k of [0->1, 0->2, 1->2, 0->3, 1->3, 2->3]
    assert g.ops == (
        "input", "nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "skip_connect", "output"
    )  # fmt: skip
    assert g.edges == ((0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 6), (3, 6), (4, 7), (5, 7), (6, 7))
    assert g.generations.tolist() == [1, 2, 2, 3, 2, 3, 4, 5]
    assert g.vocab == VOCAB


def test_every_cell_has_the_same_8_node_shape():
    space = NB201Space()
    for code in [(0,) * 6, (4,) * 6, (1, 2, 3, 4, 0, 1)]:
        g = space.decode(list(code))
        assert g.edges == GRAPH_EDGES
        assert g.generations.tolist() == [1, 2, 2, 3, 2, 3, 4, 5]
        assert g.op_index.tolist() == [0] + [k + 2 for k in code] + [1]


def test_op_idx_and_string_decode_alike():
    space = NB201Space()
    assert space.decode([3, 0, 3, 1, 0, 1]) == space.decode(RESNET)
    assert space.decode(np.array([3, 0, 3, 1, 0, 1])) == space.decode(RESNET)
    assert parse_arch_str(RESNET) == [3, 0, 3, 1, 0, 1]
    assert arch_str([3, 0, 3, 1, 0, 1]) == RESNET


@pytest.mark.parametrize(
    "bad, message",
    [
        ([3, 0, 3, 1, 0], "6 integer op indices"),
        ([3, 0, 3, 1, 0, 5], "must lie in 0..4"),
        ([3, 0, 3, 1, 0, -1], "must lie in 0..4"),
        ([0.5] * 6, "6 integer op indices"),
    ],
)
def test_bad_op_idx(bad, message):
    with pytest.raises(ValueError, match=message):
        NB201Space().decode(bad)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|", "expected 3 '\\+'-separated groups"),
        (RESNET + "+|none~0|", "got 4"),
        ("|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|skip_connect~2|", "group 2 must have 2"),
        ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|", "group 3 must have 3"),
        ("|nor_conv_3x3-0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", "bad token"),
        ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0||skip_connect~2|", "bad token ''"),
        ("|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", "from node 0, not 1"),
        ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~2|skip_connect~1|", "from node 1, not 2"),
        ("|conv_5x5~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", "unknown NB201 op 'conv_5x5'"),
        ("nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|", "wrapped in '\\|'"),
    ],
)
def test_malformed_strings_name_the_problem(bad, message):
    with pytest.raises(ValueError, match=message):
        NB201Space().decode(bad)


@pytest.mark.parametrize("token", ["none~00", "none~0\n", "none~\u0660", "none~-0", " none~0", "none~0 "])
def test_a_token_must_be_exactly_op_tilde_node(token):
    """No leading zeros, no non-ASCII digits, nothing before or after (``$`` alone would accept a final newline)."""
    text = f"|nor_conv_3x3~0|+|{token}|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    with pytest.raises(ValueError) as exc:
        NB201Space().decode(text)
    assert str(exc.value) == f"malformed NB201 arch string {text!r}: bad token {token!r} (expected 'op~j')"


def test_encode_inverts_decode_under_any_numbering():
    space = NB201Space()
    rng = np.random.default_rng(0)
    for _ in range(50):
        s = space.sample(rng)
        g = space.decode(s)
        assert space.encode(g) == s
        assert space.encode(g.relabel(rng.permutation(8))) == s


def test_encode_rejects_graphs_of_another_shape():
    space = NB201Space()
    chain = ArchGraph(["input", "nor_conv_3x3", "output"], [(0, 1), (1, 2)], VOCAB)
    with pytest.raises(ValueError, match="not an 8-node NB201 graph"):
        space.encode(chain)
    g = space.decode(RESNET)
    rewired = ArchGraph(g.ops, [e for e in g.edges if e != (3, 6)] + [(3, 7)], VOCAB)
    with pytest.raises(ValueError, match="not an 8-node NB201 graph"):
        space.encode(rewired)
    other_vocab = ArchGraph(g.ops, g.edges, VOCAB + ("extra",))
    with pytest.raises(ValueError, match="vocabulary"):
        space.encode(other_vocab)


def test_pruned_resnet_cell():
    g = NB201Space(pruned=True).decode(RESNET)
    # the two `none` edges (0->2, 1->3) go; the 1->2 conv feeds 2->3 directly
    assert g.ops == ("input", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "skip_connect", "output")
    assert g.edges == ((0, 1), (0, 3), (1, 2), (2, 4), (3, 5), (4, 5))
    assert g.generations.tolist() == [1, 2, 3, 2, 4, 5]


def test_pruned_drops_nodes_fed_only_by_none():
    # node 1 receives only `none`, so the ops on 1->2 and 1->3 see zeros and are dead as well
    g = NB201Space(pruned=True).decode(
        "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|")
    assert g.ops == ("input", "skip_connect", "nor_conv_1x1", "output")
    assert g.edges == ((0, 1), (1, 2), (2, 3))


@pytest.mark.parametrize(
    "cell",
    [
        "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~0|+|none~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|skip_connect~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ],
)
def test_cut_off_cell_is_input_none_output(cell):
    g = NB201Space(pruned=True).decode(cell)
    assert g.ops == ("input", "none", "output")
    assert g.edges == ((0, 1), (1, 2))


def test_pruned_encode_is_refused():
    space = NB201Space(pruned=True)
    with pytest.raises(ValueError, match="not invertible"):
        space.encode(space.decode(RESNET))


def test_pruned_hash_identifies_parallel_branches():
    """With 1->2 = none, the branches 0->1->3 and 0->2->3 are interchangeable: swapping them is an isomorphism."""
    pruned, full = NB201Space(pruned=True), NB201Space()
    asymmetric_full = 0
    for a, b, c, d, e in itertools.product(range(5), repeat=5):
        cell = [a, b, 0, c, d, e]  # edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3
        swapped = [b, a, 0, c, e, d]
        assert pruned.decode(cell).canonical_hash() == pruned.decode(swapped).canonical_hash()
        if (a, d) != (b, e):
            # the 8-node graph keeps the `none` node on 0->1->2->3, so there the two cells stay distinct
            asymmetric_full += full.decode(cell).canonical_hash() != full.decode(swapped).canonical_hash()
    assert asymmetric_full == 5**5 - 5**3


def test_pruned_hash_separates_different_cells():
    pruned = NB201Space(pruned=True)
    a = pruned.decode("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    b = pruned.decode("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")  # same ops, other order
    assert a.ops != b.ops and a.canonical_hash() != b.canonical_hash()
    assert a.num_nodes == 4 and a.canonical_hash() == a.relabel([3, 2, 0, 1]).canonical_hash()


def test_sample_and_mutate_are_seeded():
    space = NB201Space()
    draw = lambda seed: [space.sample(np.random.default_rng(seed)) for _ in range(3)]  # noqa: E731
    assert draw(7) == draw(7)
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    a = [space.sample(rng1) for _ in range(20)]
    assert a == [space.sample(rng2) for _ in range(20)]
    assert len(set(a)) > 15
    m1 = [space.mutate(s, rng1) for s in a]
    assert m1 == [space.mutate(s, rng2) for s in a]
    for s, m in zip(a, m1):
        diff = [x != y for x, y in zip(parse_arch_str(s), parse_arch_str(m))]
        assert sum(diff) == 1
    assert space.mutate([0, 0, 0, 0, 0, 0], np.random.default_rng(0)) != arch_str([0] * 6)


def test_sample_covers_every_op_on_every_edge():
    space = NB201Space()
    rng = np.random.default_rng(0)
    codes = np.array([parse_arch_str(space.sample(rng)) for _ in range(500)])
    for k in range(6):
        counts = np.bincount(codes[:, k], minlength=5)
        assert counts.min() > 60 and counts.max() < 140  # ~100 each


def test_enumerate_is_all_cells_once():
    cells = list(NB201Space().enumerate())
    assert len(cells) == 15_625 == len(set(cells))
    assert set(cells) == {arch_str(c) for c in itertools.product(range(len(OPS)), repeat=6)}
    # known positions (NB201's own generation script asserts these)
    assert cells[0] == "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert cells[9] == "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    assert NB201Space().index(RESNET) == 11472


@pytest.mark.data
def test_enumerate_and_index_follow_the_official_order(rows):
    space = NB201Space()
    assert [r["idx"] for r in rows] == list(range(15_625))
    assert list(space.enumerate()) == [r["arch_str"] for r in rows]
    assert all(space.index(r["op_idx"]) == r["idx"] for r in rows[::97])


@pytest.mark.data
def test_round_trip_of_every_cell_in_the_data(rows):
    space = NB201Space()
    for r in rows:
        g = space.decode(r["arch_str"])
        assert space.encode(g) == r["arch_str"]
        assert parse_arch_str(r["arch_str"]) == r["op_idx"]
    assert space.decode(rows[11472]["op_idx"]) == space.decode(RESNET)


@pytest.mark.data
def test_pruned_canonical_hash_vs_iso_class(rows):
    """NATS-Bench's iso_class and the pruned-graph hash are different equivalences; neither refines the other.

    iso_class treats skip_connect as the identity (merging cells the graph keeps apart) but keeps zero terms and
    ops applied to zeros, and it does not merge the parallel-branch swap (cells the graph merges).
    """
    pruned = NB201Space(pruned=True)
    by_hash, by_iso = defaultdict(set), defaultdict(set)
    for r in rows:
        h = pruned.decode(r["arch_str"]).canonical_hash()
        by_hash[h].add(r["iso_class"])
        by_iso[r["iso_class"]].add(h)
    assert len(by_iso) == 6_466
    assert len(by_hash) == 8_765
    assert sum(len(v) > 1 for v in by_hash.values()) == 685  # hash classes spanning several iso classes
    assert sum(len(v) > 1 for v in by_iso.values()) == 1_299  # iso classes spanning several hash classes
    # without pruning, all 15,625 graphs are distinct
    full = NB201Space()
    assert len({full.decode(r["arch_str"]).canonical_hash() for r in rows[:3000]}) == 3000
