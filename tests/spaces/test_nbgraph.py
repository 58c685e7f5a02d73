"""NAS-Bench-Graph space: keys, tables from the installed package, the benchmark's equivalence rule, graphs."""

import itertools

import nas_bench_graph
import numpy as np
import pytest

from fgp.graph import ArchGraph
from fgp.spaces import get_space
from fgp.spaces.nbgraph import (
    DATASETS,
    GNN_OPS,
    LINK_PATTERNS,
    PROTEINS_OPS,
    NBGraphSpace,
    arch_from_key,
    arch_key,
    benchmark_keys,
    read_package_table,
)


@pytest.fixture(scope="module")
def space():
    return get_space("nbgraph")


def test_constants_match_the_package():
    assert [list(p) for p in LINK_PATTERNS] == nas_bench_graph.link_list
    assert list(GNN_OPS) == nas_bench_graph.gnn_list
    assert list(PROTEINS_OPS) == nas_bench_graph.gnn_list_proteins
    assert NBGraphSpace.vocab == ("input", "output", "gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")


@pytest.mark.parametrize("dataset", DATASETS)
def test_table_counts_and_rule(dataset):
    t = read_package_table(dataset)
    n = 2021 if dataset == "proteins" else 26206
    assert len(t["keys"]) == n
    assert np.all(np.diff(t["keys"]) > 0)
    for field in ("valid_perf", "perf", "latency", "params"):
        assert t[field].dtype == np.float64 and t[field].shape == (n,) and np.isfinite(t[field]).all()
    assert t["links"].shape == (n, 4) and t["ops"].shape == (n, 4)
    # the equivalence rule of the module doc reproduces the benchmark's architectures exactly
    np.testing.assert_array_equal(t["keys"], benchmark_keys(dataset))
    if dataset == "proteins":
        assert set(np.unique(t["ops"])) == set(PROTEINS_OPS)


def test_table_known_values():
    cora = read_package_table("cora")
    assert cora["keys"][0] == 0  # link (0,0,0,0), four gat
    assert cora["valid_perf"][0] == pytest.approx(0.7733333333333334)
    assert cora["perf"][0] == pytest.approx(0.797)
    assert cora["params"][0] == pytest.approx(1.736711)
    assert cora["perf"].max() == pytest.approx(0.831, abs=5e-4)  # data README's verification table
    assert read_package_table("proteins")["perf"].min() == pytest.approx(0.670, abs=5e-4)
    assert read_package_table("cora") is cora  # cached per process
    with pytest.raises(ValueError):
        cora["perf"][0] = 1.0  # read-only, so the cache cannot be corrupted


def test_bad_dataset_lists_the_names():
    with pytest.raises(ValueError, match=r"unknown NAS-Bench-Graph dataset 'corra'.*'arxiv'.*'pubmed'"):
        read_package_table("corra")
    with pytest.raises(ValueError, match="unknown NAS-Bench-Graph dataset"):
        benchmark_keys("../cora")


def test_key_round_trip_every_row(space):
    t = read_package_table("citeseer")
    for key, link, ops in zip(t["keys"].tolist(), t["links"].tolist(), t["ops"].tolist()):
        assert arch_key(link, ops) == key
        assert arch_from_key(key) == (tuple(link), tuple(ops))
    # the package's own hash agrees on a spread of rows
    for i in range(0, len(t["keys"]), 997):
        arch = nas_bench_graph.Arch(t["links"][i].tolist(), t["ops"][i].tolist())
        assert arch.hash_arch() == t["keys"][i]


def test_encode_decode_round_trip_every_benchmark_arch(space):
    archs = list(space.enumerate())
    t = read_package_table("cora")
    assert archs == [(tuple(lk), tuple(op)) for lk, op in zip(t["links"].tolist(), t["ops"].tolist())]
    for arch in archs:
        assert space.encode(space.decode(arch)) == arch
    assert len(list(space.enumerate("proteins"))) == 2021


def test_decode_hand_picked(space):
    g = space.decode(((0, 0, 1, 2), ("gcn", "skip", "gat", "fc")))
    assert g.ops == ("input", "gcn", "skip", "gat", "fc", "output")
    assert g.edges == ((0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5))
    assert g.generations.tolist() == [1, 2, 2, 3, 3, 4]
    star = space.decode(((0, 1, 1, 1), ("gat", "gin", "sage", "arma")))
    assert star.edges == ((0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (3, 5), (4, 5))
    key = arch_key((0, 1, 1, 1), ("gat", "gin", "sage", "arma"))
    assert key == (((5 * 10 + 0) * 10 + 2) * 10 + 4) * 10 + 5
    assert space.decode(key) == star


def test_encode_renumbered_graph_gives_an_isomorphic_arch(space):
    rng = np.random.default_rng(3)
    for _ in range(50):
        arch = space.sample(rng)
        g = space.decode(arch)
        moved = g.relabel(rng.permutation(g.num_nodes))
        back = space.encode(moved)
        assert back[0] in LINK_PATTERNS
        assert space.decode(back).canonical_hash() == g.canonical_hash()
    with pytest.raises(ValueError, match="one input"):
        space.encode(ArchGraph(["input", "input", "gcn", "gcn", "gcn", "output"],
                               [(0, 2), (1, 3), (2, 4), (3, 5), (4, 5)], space.vocab))


def test_canonical_matches_the_package_on_every_encoding(space):
    links = [lk for lk in itertools.product(range(4), repeat=4) if all(lk[i] <= i for i in range(4))]
    assert len(links) == 24  # every rooted tree numbering, not only the 9 patterns
    rng = np.random.default_rng(0)
    n = 0
    for link in links:
        combos = list(itertools.product(GNN_OPS, repeat=4))
        for j in rng.choice(len(combos), size=300, replace=False):
            ops = combos[j]
            if ops == ("skip",) * 4:
                continue
            ref = nas_bench_graph.Arch(list(link), list(ops)).valid_hash()
            assert arch_key(*space.canonical((link, ops))) == ref, (link, ops)
            n += 1
    assert n > 7000
    # benchmark archs are their own canonical form
    for key in benchmark_keys()[::50].tolist():
        assert arch_key(*space.canonical(key)) == key


def test_canonical_hand_checked(space):
    # two skips fed by the input are redundant: a leading skip chain, then gat and gcn (gat sorts first)
    assert space.canonical(((0, 0, 0, 0), ("gcn", "gat", "skip", "skip"))) == (
        (0, 1, 2, 2), ("skip", "skip", "gat", "gcn"))
    # a skip in a chain is a wire; the final lone skip only forwards gat
    assert space.canonical(((0, 1, 2, 3), ("gcn", "skip", "gat", "skip"))) == (
        (0, 1, 2, 3), ("skip", "skip", "gcn", "gat"))
    with pytest.raises(ValueError, match="reduces to the identity"):
        space.canonical(((0, 1, 1, 2), ("skip",) * 4))


@pytest.mark.parametrize(
    "native, message",
    [
        (((0, 0, 0, 0), ("gcn", "gnn", "gat", "gat")), r"unknown NAS-Bench-Graph op\(s\) \['gnn'\]"),
        (((0, 2, 0, 0), ("gcn",) * 4), r"link\[1\] = 2 is illegal"),
        (((1, 0, 0, 0), ("gcn",) * 4), r"link\[0\] = 1 is illegal"),
        (((0, 0, 0), ("gcn",) * 4), "link must have 4 entries"),
        (((0, 0, 0, 0), ("gcn",) * 3), "ops must have 4 entries"),
        (((0, 0, 0, 0.5), ("gcn",) * 4), "link entries must be ints"),
        (((0, 0, 0, 0), "gcngcn"), "ops must be a sequence"),
        ("gcn", r"pair \(link, ops\)"),
        (90000, "out of range"),
        (9, "op digit 9"),
    ],
)
def test_bad_arch_raises(space, native, message):
    with pytest.raises(ValueError, match=message):
        space.decode(native)


def test_arch_key_needs_a_benchmark_link():
    with pytest.raises(ValueError, match="not one of the benchmark's 9 link patterns.*canonical"):
        arch_key((0, 0, 0, 2), ("gcn",) * 4)


def test_sample_and_mutate_seeded(space):
    a = [space.sample(np.random.default_rng(7)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(11)
    samples = [space.sample(rng) for _ in range(2000)]
    assert {s[0] for s in samples} == set(LINK_PATTERNS)
    assert {op for s in samples for op in s[1]} == set(GNN_OPS)
    assert len(set(samples)) > 1900  # 59,049 encodings: few repeats
    m1 = [space.mutate(s, np.random.default_rng(i)) for i, s in enumerate(samples[:200])]
    m2 = [space.mutate(s, np.random.default_rng(i)) for i, s in enumerate(samples[:200])]
    assert m1 == m2
    link_moves = 0
    for parent in samples:
        child = space.mutate(parent, rng)
        space.decode(child)
        op_diff = sum(x != y for x, y in zip(parent[1], child[1]))
        if child[0] != parent[0]:
            assert op_diff == 0 and child[0] in LINK_PATTERNS
            link_moves += 1
        else:
            assert op_diff == 1
    assert 300 < link_moves < 500  # 8 of the 40 single changes: expected 400 of 2000


def test_mutate_moves_a_link_outside_the_patterns_to_any_of_the_nine(space):
    """(0, 0, 0, 2) is a valid tree but none of the 9 patterns: 4 * 8 op moves and 9 link moves (41 in all)."""
    parent = ((0, 0, 0, 2), ("gcn", "gcn", "gcn", "gcn"))
    space.decode(parent)
    assert parent[0] not in LINK_PATTERNS
    children = [space.mutate(parent, np.random.default_rng(i)) for i in range(600)]
    assert {c[0] for c in children if c[0] != parent[0]} == set(LINK_PATTERNS)
    on_pattern = [space.mutate((LINK_PATTERNS[0], parent[1]), np.random.default_rng(i)) for i in range(600)]
    assert {c[0] for c in on_pattern} == set(LINK_PATTERNS)  # its own link (op moves) and the 8 others
