import numpy as np
import pytest

from fgp.graph import INPUT, OUTPUT, ArchGraph, induced_subgraph, wl_fingerprint

VOCAB = ("input", "output", "a", "b")


def diamond():
    # input -> a -> output, input -> b -> output, a -> b
    return ArchGraph(["input", "a", "b", "output"], [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)], VOCAB)


def test_generations_follow_longest_path():
    g = diamond()
    assert g.generations.tolist() == [1, 2, 3, 4]
    two_inputs = ArchGraph(["input", "input", "a", "output"], [(0, 2), (1, 3), (2, 3)], VOCAB)
    assert two_inputs.generations.tolist() == [1, 1, 2, 3]


def test_views():
    g = diamond()
    assert g.inputs == [0] and g.output == 3
    assert g.predecessors(2) == [0, 1] and g.successors(1) == [2, 3]
    assert g.op_index.tolist() == [0, 2, 3, 1]
    assert g.adjacency().sum() == 5


@pytest.mark.parametrize(
    "ops, edges, message",
    [
        (["input", "a", "b", "output"], [(0, 1), (1, 2), (2, 1), (2, 3)], "cycle"),
        (["input", "a", "b", "output"], [(0, 1), (1, 2), (2, 1), (1, 3)], "cycle"),
        (["input", "zzz", "output"], [(0, 1), (1, 2)], "unknown op"),
        (["input", "a", "output"], [(0, 1), (1, 5)], "missing node"),
        (["a", "output"], [(0, 1)], "no input"),
        (["input", "a"], [(0, 1)], "exactly one output"),
        (["input", "a", "output", "output"], [(0, 1), (1, 2), (1, 3)], "exactly one output"),
        (["input", "a", "b", "output"], [(0, 1), (1, 3), (0, 2)], "no input-to-output path"),
        (["input", "a", "output"], [(0, 1), (1, 1), (1, 2)], "self-loop"),
        (["input", "a", "output"], [(0, 1), (1, 2), (1, 0)], "input node 0 has an in-edge"),
    ],
)
def test_invalid_graphs_name_the_problem(ops, edges, message):
    with pytest.raises(ValueError, match=message):
        ArchGraph(ops, edges, VOCAB)


@pytest.mark.parametrize(
    "ops, edges, message",
    [
        # a 1 <-> 2 cycle feeding the output: node 3 is only downstream of it
        (["input", "a", "b", "output"], [(0, 1), (1, 2), (2, 1), (2, 3)],
         "the graph is not acyclic: node(s) [1, 2] lie on a cycle"),
        # two cycles joined by node 3, which lies on neither
        (["input", "a", "b", "a", "b", "a", "output"], [(0, 1), (1, 2), (2, 1), (2, 3), (3, 4), (4, 5), (5, 4), (5, 6)],
         "the graph is not acyclic: node(s) [1, 2, 4, 5] lie on a cycle"),
        (["input", "a", "output"], [(0, 1.7), (1, 2)], "edge (0, 1.7): node ids must be integers, got 1.7"),
        (["input", "a", "output"], [(0, 1), ("1", 2)], "edge ('1', 2): node ids must be integers, got '1'"),
        (["input", "a", "output"], [(0, True), (1, 2)], "edge (0, True): node ids must be integers, got True"),
        (["input", "a", "output"], [(0, 1), (1, 2, 3)], "an edge is a (src, dst) pair of node ids, got (1, 2, 3)"),
        (["input", "a", "output"], [(0, 1), 5], "an edge is a (src, dst) pair of node ids, got 5"),
    ],
)
def test_cycles_and_bad_edges_give_exact_messages(ops, edges, message):
    for build in (ArchGraph, ArchGraph.pruned):
        with pytest.raises(ValueError) as exc:
            build(ops, edges, VOCAB)
        assert str(exc.value) == message


def test_numpy_integer_node_ids_give_the_same_graph():
    g = ArchGraph(["input", "a", "b", "output"], np.array([(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]), VOCAB)
    assert g == diamond() and all(type(v) is int for e in g.edges for v in e)
    assert g.relabel(np.array([3, 2, 1, 0])).relabel([3, 2, 1, 0]) == g
    with pytest.raises(ValueError, match=r"^perm: node ids must be integers, got 1.0$"):
        g.relabel([0, 1.0, 2, 3])


def test_a_repeated_vocabulary_entry_is_rejected():
    with pytest.raises(ValueError) as exc:
        ArchGraph(["input", "a", "output"], [(0, 1), (1, 2)], ("input", "output", "a", "b", "a"))
    assert str(exc.value) == ("the op vocabulary repeats ['a'] (each op needs one one-hot position), got "
                              "['input', 'output', 'a', 'b', 'a']")


def test_pruned_drops_dead_nodes_and_renumbers():
    # node 2 is a dead end (feeds nothing), node 3 is unreachable from the input
    g = ArchGraph.pruned(["input", "a", "b", "b", "output"], [(0, 1), (1, 2), (3, 1), (1, 4)], VOCAB)
    assert g.ops == ("input", "a", "output")
    assert g.edges == ((0, 1), (1, 2))
    with pytest.raises(ValueError, match="output is not reachable"):
        ArchGraph.pruned(["input", "a", "output"], [(0, 1)], VOCAB)


def test_induced_subgraph_renumbers_the_kept_nodes_in_order():
    ops = ["input", "a", "b", "c", "output"]
    edges = [(0, 1), (1, 2), (2, 4), (0, 3), (3, 4)]
    kept_ops, kept_edges = induced_subgraph(ops, edges, np.array([True, False, True, True, True]))
    assert kept_ops == ["input", "b", "c", "output"]
    assert kept_edges == [(1, 3), (0, 2), (2, 3)]  # the edges through node 1 are gone, the rest keep their order


def test_hash_is_invariant_to_node_numbering():
    g = diamond()
    rng = np.random.default_rng(0)
    for _ in range(5):
        perm = rng.permutation(g.num_nodes)
        h = g.relabel(perm)
        assert h.canonical_hash() == g.canonical_hash()
        assert sorted(h.generations.tolist()) == sorted(g.generations.tolist())


def test_hash_separates_different_graphs():
    g = diamond()
    swapped = ArchGraph(["input", "b", "a", "output"], [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)], VOCAB)
    rewired = ArchGraph(["input", "a", "b", "output"], [(0, 1), (0, 2), (1, 3), (2, 3)], VOCAB)
    assert len({g.canonical_hash(), swapped.canonical_hash(), rewired.canonical_hash()}) == 3


def test_relabel_rejects_non_permutation():
    with pytest.raises(ValueError, match="permutation"):
        diamond().relabel([0, 0, 1, 2])


def test_wl_fingerprint_of_single_edge_is_md5_chain():
    import hashlib

    md5 = lambda s: hashlib.md5(s.encode("utf-8")).hexdigest()  # noqa: E731
    h = [md5(str((1, 0, -1))), md5(str((0, 1, -2)))]
    h = [md5("|" + h[1] + "|" + h[0]), md5(h[0] + "||" + h[1])]
    h = [md5("|" + h[1] + "|" + h[0]), md5(h[0] + "||" + h[1])]
    assert wl_fingerprint(2, [(0, 1)], [-1, -2]) == md5(str(sorted(h)))


def test_pruned_drops_an_unused_input_of_a_multi_input_cell():
    g = ArchGraph.pruned(["input", "input", "a", "output"], [(1, 2), (2, 3)], VOCAB)
    assert g.ops == ("input", "a", "output") and g.edges == ((0, 1), (1, 2))


@pytest.mark.parametrize("args, message", [
    ((None, [], VOCAB), "ops must be a sequence of op names, got NoneType"),
    (([INPUT, OUTPUT], None, VOCAB), "edges must be a sequence of"),
    (([INPUT, OUTPUT], [(0, 1)], None), "vocab must be a sequence of op names"),
    (([None, OUTPUT], [(0, 1)], VOCAB), "ops must hold op names"),
    (([INPUT, ["a"]], [(0, 1)], VOCAB), "ops must hold op names"),
    (([INPUT, OUTPUT], [({}, 1)], VOCAB), "node ids must be integers"),
    (([INPUT, OUTPUT], "01", VOCAB), "edges must be a sequence of"),
])
def test_malformed_graphs_are_value_errors_that_name_the_problem(args, message):
    with pytest.raises(ValueError, match=message):
        ArchGraph(*args)
    with pytest.raises(ValueError, match=message):
        ArchGraph.pruned(*args)


def test_pruned_refuses_edges_to_missing_or_negative_nodes():
    for edge in ((1, 5), (1, -1)):
        with pytest.raises(ValueError, match=rf"edge \({edge[0]}, {edge[1]}\) refers to a missing node"):
            ArchGraph.pruned([INPUT, "a", OUTPUT], [(0, 1), edge], VOCAB)


def test_a_long_cycle_is_found_in_linear_time():
    import time

    n = 20_000
    ops = [INPUT] + ["a"] * (n - 2) + [OUTPUT]
    edges = [(i, i + 1) for i in range(n - 1)] + [(n - 2, 1)]
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"not acyclic: node\(s\) \[1, 2, 3, 4, 5, 6, 7, 8, 9, 10\] and 19988 more"):
        ArchGraph(ops, edges, VOCAB)
    assert time.perf_counter() - start < 5  # 0.3 s here; the earlier per-node search took 104 s


def test_node_attributes_are_optional_rows_that_follow_their_nodes():
    plain = diamond()
    assert plain.attrs is None
    rows = np.arange(8.0).reshape(4, 2)
    g = ArchGraph(plain.ops, plain.edges, VOCAB, rows)
    assert g.attrs.tolist() == rows.tolist() and not g.attrs.flags.writeable
    assert g != plain and g == ArchGraph(plain.ops, plain.edges, VOCAB, rows.tolist())
    assert hash(g) == hash(ArchGraph(plain.ops, plain.edges, VOCAB, rows))
    assert g != ArchGraph(plain.ops, plain.edges, VOCAB, rows + 1)
    moved = g.relabel([3, 2, 1, 0])
    assert moved.attrs.tolist() == rows[::-1].tolist() and moved.relabel([3, 2, 1, 0]) == g
    # the pruned graph keeps the rows of the kept nodes
    kept = ArchGraph.pruned(["input", "a", "b", "output"], [(0, 1), (1, 3), (0, 2)], VOCAB, rows)
    assert kept.ops == ("input", "a", "output") and kept.attrs.tolist() == rows[[0, 1, 3]].tolist()


@pytest.mark.parametrize("attrs, message", [
    (np.zeros((3, 2)), r"one row per node, shape \(4, k\); got shape \(3, 2\)"),
    (np.zeros(4), "one row per node"),
    ([[0.0], [np.nan], [0.0], [0.0]], "finite"),
    ([["a"], ["b"], ["c"], ["d"]], "array of numbers"),
])
def test_bad_node_attributes_name_the_problem(attrs, message):
    g = diamond()
    with pytest.raises(ValueError, match=message):
        ArchGraph(g.ops, g.edges, VOCAB, attrs)
