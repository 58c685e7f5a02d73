"""``fgp run`` (the main job): its defaults, how options override them, and what it prints."""

import pytest

import fgp.cli.experiment
import fgp.experiment
from fgp.cli import build_parser, main
from fgp.cli.experiment import _config
from fgp.metrics import METRIC_KEYS


def _records(pretrain: str, taus: list[float]) -> list[dict]:
    keys = dict(space="nbgraph", dataset="cora", label="perf", encoder="gatedgcn", pretrain=pretrain, ratio=0.01,
                config_id="aaaaaaaaaa" if pretrain == "none" else "bbbbbbbbbb")
    return [{**keys, **dict.fromkeys(METRIC_KEYS, 0.5), "best_val_tau": 0.8, "seed": i, "permutation": 21,
             "kendall_tau": t, "spearman": t + 0.1} for i, t in enumerate(taus)]


def test_main_job_defaults_and_overrides():
    main_job = _config(build_parser().parse_args(["run"]))
    assert (main_job.space, main_job.dataset, main_job.label) == ("nbgraph", None, None)  # cora, its perf label
    assert list(main_job.encoders) == ["gatedgcn"] and list(main_job.pretrains) == [None, "fgp"]
    assert list(main_job.ratios) == [0.01] and main_job.runs == 3 and main_job.transductive is True
    assert main_job.pretrain_kwargs == {"epochs": 50} and main_job.finetune_kwargs == {"epochs": 150}
    assert main_job.encoder_kwargs == {}
    # the recorded run configuration carries the main job's epochs
    assert main_job.run_config("gatedgcn", "fgp")["pretrain_kwargs"]["epochs"] == 50
    assert main_job.run_config("gatedgcn", "fgp")["finetune_kwargs"]["epochs"] == 150
    mine = _config(build_parser().parse_args(["run", "--runs", "1", "--finetune-epochs", "5",
                                              "--pretrain-opt", "l1=0.25"]))
    assert mine.runs == 1 and mine.finetune_kwargs == {"epochs": 5}
    assert mine.pretrain_kwargs == {"l1": 0.25, "epochs": 50}  # the main job's pre-training epochs stay
    # `fgp experiment` has no such defaults: the protocol's 9 runs and the library's epochs
    grid = _config(build_parser().parse_args(["experiment", "--space", "nbgraph", "--out", "r.jsonl"]))
    assert grid.runs == 9 and grid.pretrain_kwargs == {} and grid.finetune_kwargs == {}


@pytest.fixture
def canned(monkeypatch):
    """``run_experiment`` replaced by canned records; the calls it got."""
    calls = []

    def fake(config, out=None, device=None, progress=True, workers=1, backend="local", address=None):
        calls.append(dict(config=config, out=out, device=device, progress=progress, workers=workers))
        return _records("none", [0.70, 0.72, 0.74, 0.76]) + _records("fgp", [0.71, 0.75, 0.72, 0.80])

    monkeypatch.setattr(fgp.experiment, "run_experiment", fake)  # the command imports it when it runs
    return calls


TABLE = [
    "Quick job: 50 pre-training and 150 fine-tuning epochs (fgp experiment runs the protocol's, 200 and 300 for "
    "ResGatedGCN).",
    fgp.cli.experiment.TABLE_CAPTION,
    "| space | dataset | label | encoder | pretrain | ratio | runs | Kendall tau | Spearman | P@1% | P@5% |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    # population std: sqrt(5) = 2.2 and sqrt(49 / 4) = 3.5; Spearman is tau + 0.1 here
    "| nbgraph | cora | perf | gatedgcn | none | 0.01 | 4 | 73.0 ± 2.2 | 83.0 ± 2.2 | 50.0 ± 0.0 | 50.0 ± 0.0 |",
    "| nbgraph | cora | perf | gatedgcn | fgp | 0.01 | 4 | 74.5 ± 3.5 | 84.5 ± 3.5 | 50.0 ± 0.0 | 50.0 ± 0.0 |",
]


def test_main_job_prints_its_table_and_where_the_results_are(tmp_path, capsys, canned):
    out = tmp_path / "results.jsonl"
    assert main(["run", "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert stdout.splitlines() == TABLE and stderr == f"results: {out}\n"
    (call,) = canned
    assert call["out"] == str(out) and call["progress"] is True and call["device"] is None and call["workers"] == 1
    assert call["config"].runs == 3 and call["config"].finetune_kwargs == {"epochs": 150}
    # without --out: the table, a hint on stderr, and no results file
    assert main(["run", "--quiet", "--runs", "1"]) == 0
    stdout, stderr = capsys.readouterr()
    assert stdout.splitlines() == TABLE and stderr == "(pass --out FILE to keep the runs)\n"
    assert canned[1]["out"] is None and canned[1]["progress"] is False and canned[1]["config"].runs == 1


@pytest.mark.parametrize("command", [["experiment"], ["run"], ["fit"]])
def test_pretrain_help_names_every_registered_pretext_task(monkeypatch, capsys, command):
    from fgp.pretrain import list_pretexts

    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("--pretrain PRETRAIN"))
    assert "{pretexts}" not in line and ", ".join(["none", *list_pretexts()]) in line.replace(
        "none (supervised only)", "none")
