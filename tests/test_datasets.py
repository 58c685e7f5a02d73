import numpy as np
import pytest

from fgp.datasets import list_datasets, load_benchmark
from fgp.paths import DataNotFoundError, data_file


@pytest.mark.data
def test_nb201_counts_labels_and_known_values():
    b = load_benchmark("nb201")
    assert len(b) == 15_625 and b.label == "c10_test_acc_200"
    best = int(np.argmax(b.y))
    assert b.index[best] == 6111 and b.y[best] == pytest.approx(94.373333, abs=1e-3)
    assert b.columns["params"][0] == 129_306
    # the ResNet-like cell of the data README
    resnet = int(np.flatnonzero(b.index == 11472)[0])
    assert b.y[resnet] == pytest.approx(93.91, abs=0.01)
    assert b.graphs[resnet].ops.count("nor_conv_3x3") == 2
    batch = b.batch()
    assert batch.num_graphs == 15_625 and batch.num_nodes == 15_625 * 8


@pytest.mark.data
def test_nb201_pruned_graphs_change_the_representation_not_the_architectures():
    from fgp.proxies import compute_proxies
    from fgp.spaces.nb201 import EDGES, parse_arch_str

    full, pruned = load_benchmark("nb201"), load_benchmark("nb201", space_options={"pruned": True})
    assert full.space_options == {} and pruned.space_options == {"pruned": True}
    assert load_benchmark("nb201", space_options={"pruned": False}).space_options == {}  # the default
    assert list(pruned.natives) == list(full.natives) and (pruned.y == full.y).all()
    assert (pruned.index == full.index).all() and (pruned.columns["params"] == full.columns["params"]).all()
    # `none` nodes are gone, except as the single op of a cell whose output every path cuts off
    assert all("none" not in g.ops or g.ops == ("input", "none", "output") for g in pruned.graphs)
    sizes = [len(g.ops) for g in pruned.graphs]
    assert sizes.count(8) == 4**6  # every cell without a `none` edge keeps all its nodes
    # the cut-off cells, counted independently: no path of non-`none` cell edges from cell node 0 to node 3
    def reaches_output(op_idx):
        reached = {0}
        for (src, dst), op in zip(EDGES, op_idx):  # EDGES is in topological order of the cell nodes
            if op != 0 and src in reached:
                reached.add(dst)
        return 3 in reached
    cut = sum(not reaches_output(parse_arch_str(a)) for a in pruned.natives)
    assert cut == sum(g.ops == ("input", "none", "output") for g in pruned.graphs) == 341
    assert pruned.batch().num_nodes < full.batch().num_nodes
    # proxies score the architecture's network, whatever graphs the benchmark holds
    assert (compute_proxies("nb201", pruned, "params", progress=False, cache=False)["params"]
            == compute_proxies("nb201", full, "params", progress=False, cache=False)["params"]).all()
    with pytest.raises(ValueError, match="unknown option"):
        load_benchmark("nb101", space_options={"pruned": True})


@pytest.mark.data
def test_nb101_counts_and_protocol_rows():
    b = load_benchmark("nb101")
    assert len(b) == 14_580 and b.label == "val_acc_108"
    assert b.index[0] == "00005c142e6f48ac74fdcf73e3439874" and b.columns["params"][0] == 8_555_530
    assert len(load_benchmark("nb101", "cifar10-30k")) == 30_001


@pytest.mark.data
def test_nb101_whole_space_is_unlabelled_and_batched_without_graph_objects():
    b = load_benchmark("nb101", "space")
    assert len(b) == 423_624 and b.y is None and b.label is None
    assert b.batch().num_graphs == 423_624
    g = b.graphs[0]
    assert g.ops[0] == "input" and g.ops[-1] == "output"
    with pytest.raises(ValueError, match="unlabelled"):
        load_benchmark("nb101", "space", label="val_acc_108")


@pytest.mark.parametrize("dataset", list_datasets("nbgraph"))
def test_nbgraph_counts_from_the_installed_package(dataset):
    b = load_benchmark("nbgraph", dataset)
    assert len(b) == (2_021 if dataset == "proteins" else 26_206)
    assert b.label == "perf" and np.isfinite(b.y).all()


@pytest.mark.data
def test_missing_labels_are_reported_not_used():
    with pytest.raises(ValueError, match="1 of 725 .* no 'in16_naslib_val_acc' label"):
        load_benchmark("nb201", "naslib-zc", label="in16_naslib_val_acc")
    b = load_benchmark("nb201", "naslib-zc", label="in16_naslib_val_acc", drop_missing=True)
    assert len(b) == 724 and np.isfinite(b.y).all() and len(b.graphs) == 724


@pytest.mark.data
def test_transnas_micro_cells_decode_into_nb201_graphs():
    b = load_benchmark("nb201", "tnb101-micro", label="class_object")
    assert len(b) == 711
    assert b.graphs[0].ops[1:7] == ("none", "none", "none", "nor_conv_1x1", "none", "nor_conv_1x1")


def test_bad_requests_name_the_problem(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="unknown search space 'foo'"):
        load_benchmark("foo")
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        load_benchmark("nbgraph", "mnist")
    with pytest.raises(ValueError, match="unknown label 'acc'"):
        load_benchmark("nbgraph", "cora", label="acc")
    with pytest.raises(ValueError, match="no benchmark data exist for search space 'nb301'"):
        load_benchmark("nb301")
    monkeypatch.setenv("FGP_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="FGP_DATA") as err:
        load_benchmark("nb201")
    assert "nb201_labels.jsonl.gz" in str(err.value)
    with pytest.raises(DataNotFoundError, match="nasbench101"):
        data_file("nasbench101/nb101_val_30k.jsonl.gz")
