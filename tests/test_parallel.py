"""Grids and searches on a local Ray instance started by the test: the same records as one process."""

import json

import pytest

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_an_experiment_grid_and_a_search_on_ray_equal_one_process(tmp_path, monkeypatch, local_ray):
    from fgp.experiment import ExperimentConfig, run_experiment
    from fgp.results import read_results
    from fgp.search import read_search, run_searches

    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))
    cfg = ExperimentConfig(space="nbgraph", dataset="proteins", encoders=("gatedgcn",), pretrains=(None, "fgp"),
                           ratios=(0.05,), runs=2, encoder_kwargs={"gatedgcn": {"hidden": 8, "layers": 1}},
                           pretrain_kwargs={"epochs": 1, "batch_size": 1024}, finetune_kwargs={"epochs": 2})
    serial = run_experiment(cfg, progress=False)
    on_ray = run_experiment(cfg, out=tmp_path / "r.jsonl", progress=False, workers=2, backend="ray")
    same = ("kendall_tau", "precision_at_1", "best_val_tau", "config_id", "seed", "permutation")
    assert [{k: r[k] for k in same} for r in on_ray] == [{k: r[k] for k in same} for r in serial]
    assert len(read_results(tmp_path / "r.jsonl")) == 4
    trials = run_searches("nbgraph", ["random"], budget=8, trials=3, dataset="proteins")
    remote = run_searches("nbgraph", ["random"], budget=8, trials=3, dataset="proteins", out=tmp_path / "s.jsonl",
                          workers=2, backend="ray")
    assert [r["queries"] for r in remote] == [json.loads(json.dumps(r["queries"])) for r in trials]
    assert len(read_search(tmp_path / "s.jsonl")) == 3


def test_bad_backends_are_named():
    from fgp.parallel import worker_pool

    with pytest.raises(ValueError, match="backend must be one of"):
        with worker_pool(2, print, (), backend="dask"):
            pass
    with pytest.raises(ValueError, match="an address names a Ray cluster"):
        with worker_pool(2, print, (), backend="local", address="ray://x:1"):
            pass
