"""The DAG builder's data-flow rules, on hand-made programs (keys are plain strings)."""

import warnings

import numpy as np
import pytest

from fgp.graph import ArchGraph
from fgp.models import ATTRIBUTES, VOCAB, UnknownOpWarning, unify_vocab
from fgp.models.dag import DagBuilder
from fgp.models.ops import COLLAPSE, NO_DATA, Op, conv, other


def test_collapsed_chains_wire_producers_to_consumers():
    b = DagBuilder("m")
    b.add_input("x")
    b.add("r", Op("relu"), ["x"])
    b.add("v", COLLAPSE, ["r", "shape"])  # only the first operand passes on
    b.add("t", COLLAPSE, ["v"])
    b.add("s", Op("sigmoid"), ["t"])
    g = b.build(["s"])
    assert g.ops == ("input", "relu", "sigmoid", "output")
    assert g.edges == ((0, 1), (1, 2), (2, 3))


def test_values_without_data_leave_no_node_and_no_edge():
    b = DagBuilder("m")
    b.add_input("x")
    b.add("n", NO_DATA, ["x"])  # a size query or zeros_like(x)
    b.add("e", Op("embedding"), ["n"])  # computed from constants only: constant
    b.add("w", NO_DATA, [])  # a parameter
    b.add("y", Op("add"), ["x", "e"])  # an add of a constant to data is still an add
    b.add("z", Op("mul"), ["y", "w"])
    g = b.build(["z"])
    assert g.ops == ("input", "add", "mul", "output")
    assert g.edges == ((0, 1), (1, 2), (2, 3))


def test_a_constant_added_right_after_a_linear_layer_is_its_bias():
    b = DagBuilder("m")
    b.add_input("x")
    b.add("l", Op("linear"), ["x", "weight"])
    b.add("y", Op("add"), ["bias", "l"])
    b.add("z", Op("add"), ["y", "x"])  # two data operands: a real add
    g = b.build(["z"])
    assert g.ops == ("input", "linear", "add", "output")
    assert g.edges == ((0, 1), (0, 2), (1, 2), (2, 3))


def test_dead_code_and_unused_inputs_are_dropped_and_attributes_follow_their_nodes():
    b = DagBuilder("m")
    b.add_input("x")
    b.add_input("unused")
    b.add("dead", Op("relu"), ["x"])
    b.add("c", conv(3, 2, 1, 1, 4, 8), ["x"])
    g = b.build(["c"])
    assert g.ops == ("input", "conv_3x3", "output")
    assert g.attrs.shape == (3, len(ATTRIBUTES))
    assert dict(zip(ATTRIBUTES, g.attrs[1])) == {"kernel": 3, "stride": 2, "dilation": 1, "groups": 1,
                                                 "channel_ratio": 2.0, "scale": 0, "heads": 0}
    assert not g.attrs[[0, 2]].any()


def test_several_outputs_feed_the_one_output_node():
    b = DagBuilder("m")
    b.add_input("x")
    b.add("a", Op("relu"), ["x"])
    b.add("s", Op("split"), ["a"])
    b.alias("s1", "s")
    g = b.build(["s", "s1", "x"])
    assert g.ops == ("input", "relu", "split", "output")
    assert g.edges == ((0, 1), (0, 3), (1, 2), (2, 3))


def test_outputs_that_depend_on_no_input_give_a_zero_node_and_a_warning_naming_the_model():
    b = DagBuilder("MyNet")
    b.add_input("x")
    b.add_input("y")
    b.add("z", NO_DATA, ["x"])  # e.g. zeros_like(x), where every path through a cell is cut
    b.add("c", Op("linear"), ["z"])
    with pytest.warns(UserWarning, match="MyNet: the outputs do not depend on any input"):
        g = b.build(["c"])
    assert g.ops == ("input", "input", "zero", "output")
    assert g.edges == ((0, 2), (1, 2), (2, 3))


def test_unknown_ops_are_nodes_in_the_vocabulary_and_reported_with_counts():
    b = DagBuilder("MyNet")
    b.add_input("x")
    b.add("a", other("Foo"), ["x"])
    b.add("b", other("Foo"), ["a"])
    b.add("c", other("Bar"), ["b"])
    with pytest.warns(UnknownOpWarning, match=r"MyNet: 3 operation\(s\).*Bar x1, Foo x2"):
        g = b.build(["c"])
    assert g.ops == ("input", "other:Foo", "other:Foo", "other:Bar", "output")
    assert g.vocab == VOCAB + ("other:Bar", "other:Foo")


def test_unify_vocab_puts_traced_graphs_on_one_vocabulary():
    def traced(unknown):
        b = DagBuilder("m")
        b.add_input("x")
        b.add("a", other(unknown) if unknown else Op("relu"), ["x"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownOpWarning)
            return b.build(["a"])

    graphs = unify_vocab([traced("Foo"), traced(None), traced("Bar")])
    assert {g.vocab for g in graphs} == {VOCAB + ("other:Bar", "other:Foo")}
    assert [g.ops[1] for g in graphs] == ["other:Foo", "relu", "other:Bar"]
    assert all(np.array_equal(g.attrs, np.zeros((3, len(ATTRIBUTES)))) for g in graphs)
    with pytest.raises(ValueError, match="traced-model graphs only"):
        unify_vocab([ArchGraph(["input", "x", "output"], [(0, 1), (1, 2)], ["input", "output", "x"])])
