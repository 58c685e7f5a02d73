"""NB301 / DARTS space: genotype validation and parsing, the joined two-cell op-node graph, sampling, mutation."""

from collections import namedtuple

import numpy as np
import pytest

from fgp.graph import nodes_on_io_paths
from fgp.spaces import get_space
from fgp.spaces.nb301 import DARTS_V2, OPS, NB301Space, as_genotype, genotype_string, parse_genotype

# exactly as printed in the DARTS repository (genotypes.py, DARTS_V2)
DARTS_V2_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


@pytest.fixture(scope="module")
def space():
    return get_space("nb301")


def test_vocab():
    v = NB301Space.vocab
    assert len(v) == 16 and len(set(v)) == 16
    assert v[:2] == ("input", "output")
    assert "none" not in v and "sep_conv_3x3" in v and "sep_conv_3x3@reduce" in v


def test_decode_darts_v2(space):
    g = space.decode(DARTS_V2)
    # 2 shared inputs + 8 normal + 8 reduction op nodes + 1 output
    assert g.num_nodes == 19 and g.inputs == [0, 1] and g.output == 18
    # normal: 7 pairs read an input (1 edge), 1 reads node 0 (2 edges), + 8 to the output = 17
    # reduce: 5 pairs read an input, 3 read node 0 (2 edges each), + 8 to the output = 19
    assert len(g.edges) == 36
    assert g.ops[2:10] == ("sep_conv_3x3",) * 5 + ("skip_connect", "skip_connect", "dil_conv_3x3")
    assert g.ops[10:18] == ("max_pool_3x3@reduce", "max_pool_3x3@reduce", "skip_connect@reduce",
                            "max_pool_3x3@reduce", "max_pool_3x3@reduce", "skip_connect@reduce",
                            "skip_connect@reduce", "max_pool_3x3@reduce")
    e = set(g.edges)
    assert (0, 2) in e and (1, 3) in e  # normal node 0 reads c_{k-2} and c_{k-1}
    assert g.predecessors(9) == [2, 3]  # ('dil_conv_3x3', 2): the two op nodes of normal node 0
    assert g.predecessors(12) == [10, 11]  # ('skip_connect', 2) in the reduction cell
    assert g.predecessors(18) == list(range(2, 18))
    assert g.successors(0) == [2, 4, 7, 8, 10, 14]
    assert g.generations.tolist() == [1, 1] + [2] * 7 + [3] + [2, 2, 3, 2, 2, 3, 3, 2] + [4]
    assert nodes_on_io_paths(g.num_nodes, g.edges, g.inputs, g.output).all()


def test_every_node_on_a_path_and_two_inputs(space):
    rng = np.random.default_rng(5)
    for _ in range(100):
        g = space.decode(space.sample(rng))
        assert g.num_nodes == 19 and g.inputs == [0, 1]
        assert nodes_on_io_paths(g.num_nodes, g.edges, g.inputs, g.output).all()
        assert g.generations[g.output] == g.generations.max()


def test_string_form(space):
    assert parse_genotype(DARTS_V2_TEXT) == DARTS_V2
    assert genotype_string(DARTS_V2) == DARTS_V2_TEXT
    assert space.decode(DARTS_V2_TEXT) == space.decode(DARTS_V2)
    ranged = DARTS_V2_TEXT.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
    assert parse_genotype("  " + ranged + "\n") == DARTS_V2
    positional = "Genotype(" + ", ".join(
        [repr(list(DARTS_V2[0])), "[2, 3, 4, 5]", repr(list(DARTS_V2[1])), "range(2, 6)"]) + ")"
    assert parse_genotype(positional) == DARTS_V2
    rng = np.random.default_rng(1)
    for _ in range(20):
        geno = space.sample(rng)
        assert parse_genotype(genotype_string(geno)) == geno


def test_other_native_forms(space):
    Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
    nt = Genotype([list(p) for p in DARTS_V2[0]], range(2, 6), list(DARTS_V2[1]), [2, 3, 4, 5])
    assert as_genotype(nt) == DARTS_V2
    assert as_genotype({"normal": DARTS_V2[0], "reduce": DARTS_V2[1]}) == DARTS_V2
    grouped = [[DARTS_V2[0][2 * i], DARTS_V2[0][2 * i + 1]] for i in range(4)]
    assert as_genotype((grouped, DARTS_V2[1])) == DARTS_V2
    assert as_genotype(([(op, np.int64(i)) for op, i in DARTS_V2[0]], DARTS_V2[1])) == DARTS_V2


def _with(cell_index, pair, value):
    cells = [list(DARTS_V2[0]), list(DARTS_V2[1])]
    cells[cell_index][pair] = value
    return tuple(cells)


@pytest.mark.parametrize(
    "native, message",
    [
        (_with(0, 3, ("none", 1)), r"normal cell, pair 3: op 'none' is a DARTS search-time primitive"),
        (_with(1, 0, ("conv_7x1_1x7", 0)), r"reduce cell, pair 0: unknown op 'conv_7x1_1x7'"),
        (_with(0, 1, ("sep_conv_3x3", 2)), r"normal cell, pair 1: intermediate node 0 can read inputs 0..1"),
        (_with(1, 7, ("max_pool_3x3", 6)), r"reduce cell, pair 7: intermediate node 3 can read inputs 0..4"),
        (_with(0, 0, ("sep_conv_3x3", -1)), r"normal cell, pair 0: .* got input -1"),
        (_with(0, 3, ("sep_conv_3x3", 0)), r"normal cell, intermediate node 1 \(pairs 2, 3\): both read input 0"),
        (_with(0, 0, ("sep_conv_3x3", "0")), r"normal cell, pair 0: input index must be an int"),
        (_with(0, 0, ("sep_conv_3x3",)), r"normal cell, pair 0: expected \(op, input\)"),
        ((DARTS_V2[0][:7], DARTS_V2[1]), r"normal cell must have 8 \(op, input\) pairs .* got 7"),
        ((DARTS_V2[0],), "an NB301 genotype is"),
        ({"normal": DARTS_V2[0]}, r"genotype dict lacks \['reduce'\]"),
        ({"normal": DARTS_V2[0], "reduce": DARTS_V2[1], "reduce_concat": [3, 4, 5]},
         r"reduce_concat must be \[2, 3, 4, 5\]"),
        ("Genotype(normal=__import__('os').system('true'))", "unsupported expression in genotype string"),
        ("Genotype(normal=[('sep_conv_3x3', 0)]", "does not parse"),
        ("Genome(normal=[])", "must look like Genotype"),
        (DARTS_V2_TEXT.replace("reduce_concat", "reduction_concat"), "unknown Genotype field 'reduction_concat'"),
        (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), r"normal cell, pair 7: .* got input 5"),
    ],
)
def test_malformed_genotypes(space, native, message):
    with pytest.raises(ValueError, match=message):
        space.decode(native)


@pytest.mark.parametrize(
    "native, message",
    [
        ("Genotype(normal=range(999999999999), reduce=[])",
         "normal cell must have 8 (op, input) pairs (2 per intermediate node), got more than 16"),
        (DARTS_V2_TEXT.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(999999999999)"),
         "reduce_concat must be [2, 3, 4, 5] (NB301 concatenates every intermediate node), got more than 16 values"),
        ((range(999999999999), DARTS_V2[1]),
         "normal cell must have 8 (op, input) pairs (2 per intermediate node), got more than 16"),
        ({"normal": DARTS_V2[0], "reduce": DARTS_V2[1], "normal_concat": range(2, 999999999999)},
         "normal_concat must be [2, 3, 4, 5] (NB301 concatenates every intermediate node), got more than 16 values"),
        # a near miss still gets its count
        ((list(DARTS_V2[0]) * 2, DARTS_V2[1]),
         "normal cell must have 8 (op, input) pairs (2 per intermediate node), got 16"),
    ],
)
def test_huge_ranges_are_refused_not_expanded(space, native, message):
    with pytest.raises(ValueError) as exc:
        space.decode(native)
    assert str(exc.value) == message


def test_encode_inverts_decode(space):
    assert space.encode(space.decode(DARTS_V2)) == DARTS_V2
    rng = np.random.default_rng(2)
    for _ in range(50):
        geno = space.sample(rng)
        assert space.encode(space.decode(geno)) == geno
    g = space.decode(DARTS_V2)
    with pytest.raises(ValueError, match="node order of NB301Space.decode"):
        space.encode(g.relabel(np.roll(np.arange(19), 1)))


def test_relabel_invariance_and_cells_kept_apart(space):
    rng = np.random.default_rng(9)
    for _ in range(30):
        geno = space.sample(rng)
        g = space.decode(geno)
        assert g.relabel(rng.permutation(19)).canonical_hash() == g.canonical_hash()
        # the order of a node's two pairs does not matter; swapping the two cells does
        normal = list(geno[0])
        normal[0], normal[1] = normal[1], normal[0]
        assert space.decode((tuple(normal), geno[1])).canonical_hash() == g.canonical_hash()
        assert space.decode((geno[1], geno[0])).canonical_hash() != g.canonical_hash()


def test_sample_seeded_and_darts_style(space):
    assert space.sample(np.random.default_rng(4)) == space.sample(np.random.default_rng(4))
    rng = np.random.default_rng(8)
    samples = [space.sample(rng) for _ in range(500)]
    assert len(set(samples)) == 500
    for geno in samples:
        assert as_genotype(geno) == geno  # valid: legal, distinct inputs, no 'none'
    ops = {op for geno in samples for cell in geno for op, _ in cell}
    assert ops == set(OPS)
    node3_inputs = {inp for geno in samples for _, inp in geno[0][6:]}
    assert node3_inputs == {0, 1, 2, 3, 4}


def test_mutate_seeded_one_change(space):
    rng = np.random.default_rng(12)
    parents = [space.sample(rng) for _ in range(400)]
    kids1 = [space.mutate(p, np.random.default_rng(i)) for i, p in enumerate(parents)]
    kids2 = [space.mutate(p, np.random.default_rng(i)) for i, p in enumerate(parents)]
    assert kids1 == kids2
    op_moves = 0
    for parent, kid in zip(parents, kids1):
        assert as_genotype(kid) == kid
        diffs = [(c, p) for c in range(2) for p in range(8) if parent[c][p] != kid[c][p]]
        assert len(diffs) == 1
        c, p = diffs[0]
        (op0, in0), (op1, in1) = parent[c][p], kid[c][p]
        assert (op0 != op1) != (in0 != in1)  # exactly one of op / input changed
        op_moves += op0 != op1
    assert 150 < op_moves < 250  # half op changes, half input changes
    assert space.mutate(DARTS_V2_TEXT, np.random.default_rng(0)) != DARTS_V2
