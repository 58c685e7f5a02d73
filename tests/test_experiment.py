import json

import numpy as np
import pytest

from fgp.cli import main
from fgp.experiment import ExperimentConfig, run_experiment
from fgp.metrics import METRIC_KEYS
from fgp.report import config_differences, markdown_table, paired_table
from fgp.results import config_id, read_results, run_key

TINY = dict(
    space="nbgraph",
    dataset="proteins",  # 2,021 architectures: the smallest real benchmark
    encoders=("gatedgcn",),
    pretrains=(None, "fgp"),
    ratios=(0.05,),
    runs=2,
    encoder_kwargs={"gatedgcn": {"hidden": 16, "layers": 2}},
    pretrain_kwargs={"epochs": 1, "batch_size": 512},
    finetune_kwargs={"epochs": 2},
)

REQUIRED = {
    "space", "dataset", "label", "encoder", "pretrain", "ratio", "seed", "permutation", "kendall_tau", "spearman",
    "precision_at_1", "precision_at_5", "precision_at_10", "precision_at_50", "pretrain_seconds",
    "finetune_seconds", "inference_archs_per_second",
}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))


def test_records_resume_without_duplicates_and_same_numbers(tmp_path, cache):
    out = tmp_path / "results.jsonl"
    first = run_experiment(ExperimentConfig(**TINY), out=out, progress=False)
    lines = read_results(out)
    assert len(first) == len(lines) == 4
    for rec in lines:
        assert REQUIRED <= set(rec)
        assert -1 <= rec["kendall_tau"] <= 1 and 0 <= rec["precision_at_5"] <= 1
        assert rec["n_train"] == int(1011 * 0.05) and rec["n_val"] == 40
        # the recorded configuration is resolved: given options and library defaults alike
        assert rec["config"]["finetune_kwargs"]["epochs"] == 2 and rec["config"]["finetune_kwargs"]["lr"] == 1e-3
        assert rec["config"]["encoder_kwargs"]["hidden"] == 16 and "dropout" in rec["config"]["encoder_kwargs"]
        assert rec["fgp_version"]
        if rec["pretrain"] == "fgp":
            assert rec["config"]["pretrain_kwargs"]["seed"] == 0 and rec["config"]["pretrain_kwargs"]["l1"] == 0.5
    # one pre-training serves both seeds' runs
    assert [r["pretrain_cached"] for r in lines if r["pretrain"] == "fgp"] == [False, True]
    assert {(r["pretrain"], r["seed"], r["permutation"]) for r in lines} == {
        ("none", 21, 21), ("none", 2021, 21), ("fgp", 21, 21), ("fgp", 2021, 21)}
    # a rerun finds every run in the file: nothing is appended, the records are the same
    again = run_experiment(ExperimentConfig(**TINY), out=out, progress=False)
    assert len(read_results(out)) == 4
    assert [r["kendall_tau"] for r in again] == [r["kendall_tau"] for r in first]
    # a fresh file with the same seed gives the same numbers
    other = run_experiment(ExperimentConfig(**TINY), out=tmp_path / "other.jsonl", progress=False)
    assert [r["kendall_tau"] for r in other] == [r["kendall_tau"] for r in first]


def _reference_run(rec: dict, transductive: bool = True):
    """One record's run by hand: the protocol split of the record's permutation, ``Predictor.for_space`` with
    TINY's options and the record's seed, ``L_aux`` on the benchmark's parameter counts (the recipe's proxy); the
    pre-training set is every architecture or (``--train-only``) the training pool. Returns the test metrics and
    the fitted predictor."""
    from fgp.datasets import load_benchmark
    from fgp.metrics import ranking_metrics
    from fgp.predictor import Predictor
    from fgp.splits import protocol_split

    bench = load_benchmark("nbgraph", dataset="proteins")
    split = protocol_split(len(bench), rec["ratio"], rec["permutation"], "nbgraph", dataset="proteins")
    batch = bench.batch()
    pretrain = None if rec["pretrain"] == "none" else rec["pretrain"]
    model = Predictor.for_space("nbgraph", "gatedgcn", pretrain, seed=rec["seed"],
                                encoder_kwargs=TINY["encoder_kwargs"]["gatedgcn"],
                                pretrain_kwargs=TINY["pretrain_kwargs"], finetune_kwargs=TINY["finetune_kwargs"])
    pretraining = {}
    if pretrain is not None:
        proxy = bench.columns["params"]
        unlabeled = batch if transductive else batch.subset(split.pool)
        pretraining = dict(unlabeled=unlabeled, proxy_values=proxy[split.train],
                           unlabeled_proxy_values=proxy if transductive else proxy[split.pool])
    model.fit(batch.subset(split.train), bench.y[split.train], **pretraining,
              val_archs=batch.subset(split.val), val_y=bench.y[split.val])
    return ranking_metrics(model.predict(batch.subset(split.test)), bench.y[split.test]), model


def test_progress_in_a_log_file_is_a_few_lines_not_one_per_epoch(capsys, cache):
    """Off a terminal (a CI log, ``2> run.log``) the epochs of a run do not each redraw the bar."""
    run_experiment(ExperimentConfig(**dict(TINY, runs=1)), progress=True)
    frames = [f for f in capsys.readouterr().err.replace("\n", "\r").split("\r") if f.strip()]
    assert len(frames) <= 3  # the first draw, the last, and at most one in between
    assert frames[-1].startswith("gatedgcn/fgp") and "2/2" in frames[-1] and "tau=" in frames[-1]


def test_experiment_runs_are_the_readme_python_example_run_by_hand(tmp_path, monkeypatch, cache):
    """Every number of a record is what the documented Python route gives for the record's seed and permutation
    (the supervised row and the pre-trained one), pre-trained afresh: not from the experiment's cache entry."""
    records = run_experiment(ExperimentConfig(**TINY), progress=False)
    assert [(r["pretrain"], r["seed"], r["permutation"]) for r in records] == [
        ("none", 21, 21), ("none", 2021, 21), ("fgp", 21, 21), ("fgp", 2021, 21)]
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "reference-cache"))
    for rec in records:
        metrics, model = _reference_run(rec)
        assert {k: rec[k] for k in METRIC_KEYS} == metrics
        assert rec["best_val_tau"] == model.info_["finetune"]["best_val_tau"]
        assert rec["best_epoch"] == model.info_["finetune"]["best_epoch"]
        if rec["pretrain"] == "fgp":
            assert model.info_["pretrain"]["graphs"] == rec["pretrain_graphs"] == 2021
            # one fresh pre-training (seed 0) for both fine-tuning seeds, as the experiment shares its own
            assert model.info_["pretrain"]["cached"] is (rec["seed"] == 2021)


def test_train_only_pre_trains_on_the_training_pool(tmp_path, monkeypatch, cache):
    """``--train-only`` (transductive=False): pre-training sees the pool of the run's split (1,011 of proteins'
    2,021 architectures) instead of every architecture, is recorded, and matches the README route on the pool."""
    from fgp.cli import build_parser
    from fgp.cli.experiment import _config
    from fgp.splits import pool_size

    cfg = dict(TINY, runs=1)
    every_none, every = run_experiment(ExperimentConfig(**cfg), progress=False)
    pool_none, pool = run_experiment(ExperimentConfig(**dict(cfg, transductive=False)), progress=False)
    assert every["pretrain_graphs"] == 2021 and pool["pretrain_graphs"] == pool_size(2021) == 1011
    assert every["config"]["transductive"] is True and pool["config"]["transductive"] is False
    assert pool["config_id"] != every["config_id"] and pool["kendall_tau"] != every["kendall_tau"]
    # a supervised row has no pre-training: the same configuration and numbers either way
    assert pool_none["config"]["transductive"] is None and pool_none["pretrain_graphs"] == 0
    assert pool_none["config_id"] == every_none["config_id"] and pool_none["kendall_tau"] == every_none["kendall_tau"]
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "reference-cache"))
    metrics, model = _reference_run(pool, transductive=False)
    assert {k: pool[k] for k in METRIC_KEYS} == metrics and model.info_["pretrain"]["graphs"] == 1011

    def parsed(*flags):
        return _config(build_parser().parse_args(["experiment", "--space", "nbgraph", *flags, "--out", "r.jsonl"]))

    assert parsed("--train-only").transductive is False and parsed().transductive is True


def test_interrupted_line_is_dropped_and_run_redone(tmp_path, cache):
    out = tmp_path / "results.jsonl"
    cfg = dict(TINY, pretrains=(None,), runs=1)
    run_experiment(ExperimentConfig(**cfg), out=out, progress=False)
    good = out.read_text()
    out.write_text(good + good[: len(good) // 2])  # a second, unfinished line
    assert len(read_results(out)) == 1
    run_experiment(ExperimentConfig(**dict(cfg, runs=2)), out=out, progress=False)
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)


HEAD = "| space | dataset | label | encoder | pretrain | ratio |"


def test_report_table_and_cli(tmp_path, capsys):
    """Known records, hand-computed rows: taus .70 .72 .74 .76 have mean 73.0 and population std sqrt(5) = 2.2 (the
    sample std would be 2.6); .71 .75 .72 .80: 74.5 ± 3.5 (sqrt(49 / 4)); every other metric is 0.5."""
    base = _records("aaaaaaaaaa", "none", [0.70, 0.72, 0.74, 0.76], [0.80, 0.80, 0.80, 0.80])
    cand = _records("bbbbbbbbbb", "fgp", [0.71, 0.75, 0.72, 0.80], [0.80, 0.80, 0.80, 0.80])
    none_row = "| nb201 | cifar10 | acc | gin | none | 0.01 | 4 |"
    fgp_row = "| nb201 | cifar10 | acc | gin | fgp | 0.01 | 4 |"
    assert markdown_table(base + cand).splitlines() == [
        f"{HEAD} runs | Kendall tau | P@1% | P@5% |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"{none_row} 73.0 ± 2.2 | 50.0 ± 0.0 | 50.0 ± 0.0 |",
        f"{fgp_row} 74.5 ± 3.5 | 50.0 ± 0.0 | 50.0 ± 0.0 |",
    ]
    # the CLI: several files at once (rows in the order read), --metrics in the order given
    first, second = tmp_path / "base.jsonl", tmp_path / "cand.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in base))
    second.write_text("".join(json.dumps(r) + "\n" for r in cand))
    assert main(["report", str(second), str(first), "--metrics", "best_val_tau,kendall_tau"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.splitlines() == [
        f"{HEAD} runs | val tau | Kendall tau |",
        "|---|---|---|---|---|---|---|---|---|",
        f"{fgp_row} 80.0 ± 0.0 | 74.5 ± 3.5 |",
        f"{none_row} 80.0 ± 0.0 | 73.0 ± 2.2 |",
    ]
    assert main(["report", str(first)]) == 0  # the default metrics
    assert capsys.readouterr().out.splitlines()[2] == f"{none_row} 73.0 ± 2.2 | 50.0 ± 0.0 | 50.0 ± 0.0 |"
    # no validation tau (select="last"): shown as -, not as nan
    assert markdown_table([dict(r, best_val_tau=None) for r in base], ("best_val_tau", "kendall_tau")
                          ).splitlines()[2] == f"{none_row} - | 73.0 ± 2.2 |"
    # a pair run with several configurations: a config column names each and what it changed
    params = [dict(r, config={"proxy": "params", "finetune_kwargs": {"epochs": 300}}) for r in cand]
    synflow = [dict(r, config_id="cccccccccc", config={"proxy": "synflow", "finetune_kwargs": {"epochs": 300}},
                    kendall_tau=0.5) for r in cand[:2]]
    assert markdown_table(base + params + synflow, ("kendall_tau",)).splitlines() == [
        f"{HEAD} config | runs | Kendall tau |",
        "|---|---|---|---|---|---|---|---|---|",
        "| nb201 | cifar10 | acc | gin | none | 0.01 | aaaaaaaaaa | 4 | 73.0 ± 2.2 |",
        "| nb201 | cifar10 | acc | gin | fgp | 0.01 | bbbbbbbbbb proxy=params | 4 | 74.5 ± 3.5 |",
        "| nb201 | cifar10 | acc | gin | fgp | 0.01 | cccccccccc proxy=synflow | 2 | 50.0 ± 0.0 |",
    ]
    # user errors: one line on stderr, exit status 2
    assert main(["report", str(first), "--metrics", "kendall_tau,tau"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == ("fgp: error: unknown metric(s) ['tau']; choose from ['kendall_tau', 'spearman', "
                                 "'precision_at_1', 'precision_at_5', 'precision_at_10', 'precision_at_50', "
                                 "'best_val_tau']\n")
    missing = tmp_path / "missing.jsonl"
    assert main(["report", str(first), str(missing)]) == 2
    assert capsys.readouterr().err == f"fgp: error: no results in {missing} (missing or empty file)\n"


def _records(cid: str, pretrain: str, taus: list[float], vals: list[float]) -> list[dict]:
    keys = dict(space="nb201", dataset="cifar10", label="acc", encoder="gin", pretrain=pretrain, ratio=0.01)
    return [{**keys, **dict.fromkeys(METRIC_KEYS, 0.5), "seed": i, "permutation": 21, "config_id": cid,
             "kendall_tau": t, "best_val_tau": v} for i, (t, v) in enumerate(zip(taus, vals))]


def _no_loading(*args, **kwargs):
    raise AssertionError("loaded a benchmark")


@pytest.mark.parametrize(
    "text, message",
    [
        ("my notes\nthe last line, without a newline", r":1 is not a JSON result line \(Expecting value"),
        ('{"x": 1}\n{"x": ', r":1 is not a result record: it lacks space, dataset, label, encoder, pretrain, "),
        ('{"x": 1}', r":1 is not a result record: it lacks space, "),  # a complete last line lacking its newline
        ("[1, 2]\n", r":1 is not a result record \(a JSON list\); is this an fgp results file\?"),
    ],
)
def test_out_that_is_not_a_results_file_is_refused_untouched_before_any_work(tmp_path, monkeypatch, text, message):
    import fgp.experiment

    monkeypatch.setattr(fgp.experiment, "load_benchmark", _no_loading)
    out = tmp_path / "notes.txt"
    out.write_text(text)
    with pytest.raises(ValueError, match=f"^{out}{message}"):
        run_experiment(ExperimentConfig(**TINY), out=out, progress=False)
    assert out.read_text() == text


def test_out_in_a_missing_folder_or_a_directory_fails_before_any_work(tmp_path, monkeypatch):
    import fgp.experiment

    monkeypatch.setattr(fgp.experiment, "load_benchmark", _no_loading)
    out = tmp_path / "missing" / "r.jsonl"
    with pytest.raises(FileNotFoundError, match=f"^the folder of {out} does not exist$"):
        run_experiment(ExperimentConfig(**TINY), out=out, progress=False)
    with pytest.raises(IsADirectoryError, match=f"^{tmp_path} is a directory, not an output file$"):
        run_experiment(ExperimentConfig(**TINY), out=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_device_fails_before_any_work(tmp_path, monkeypatch):
    import fgp.experiment

    monkeypatch.setattr(fgp.experiment, "load_benchmark", _no_loading)
    with pytest.raises(ValueError, match=r"^device 'gpu' is not a torch device; use cpu, cuda or cuda:N$"):
        run_experiment(ExperimentConfig(**TINY), out=tmp_path / "r.jsonl", device="gpu", progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("tail, message", [
    ('\n{"best_epoch": 3, "kend', "removed an unfinished last line from"),
    ("", None),
    ("\n\n\n", "removed a tail of blank lines or NUL bytes from"),
    ("\n" + "\x00" * 64, "removed a tail of blank lines or NUL bytes from"),  # a power loss after the write
    ('\n{"best_epoch": 3, "kend' + "\x00" * 8, "removed an unfinished last line from"),
])
def test_results_file_is_made_ready_for_appending(tmp_path, monkeypatch, capsys, tail, message):
    """An unfinished last line (a write cut short) is removed, and so are blank lines and NUL bytes after the last
    record; a last record that lacks only its newline is a finished run: it is kept and gets its newline."""
    import fgp.experiment

    monkeypatch.setattr(fgp.experiment, "load_benchmark", _no_loading)
    first, last = (json.dumps(r) for r in _records("aaaaaaaaaa", "none", [0.7, 0.8], [0.9, 0.9]))
    out = tmp_path / "r.jsonl"
    out.write_text(first + "\n" + last + tail)
    assert [r["kendall_tau"] for r in read_results(out)] == ([0.7, 0.8])
    with pytest.raises(AssertionError, match="loaded a benchmark"):
        run_experiment(ExperimentConfig(**TINY), out=out, progress=False)
    assert out.read_text() == first + "\n" + last + "\n"
    assert capsys.readouterr().err == (f"fgp: {message} {out}\n" if message else "")


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"x": 1}\n', ":1 is not a result record: it lacks space, dataset, label, encoder, pretrain, ratio, seed, "
                       "permutation, config_id, kendall_tau, spearman, precision_at_1, precision_at_5, "
                       "precision_at_10, precision_at_50, best_val_tau; is this an fgp results file?"),
        ("GOOD\n\nGOOD\n", ":2 is not a JSON result line (Expecting value: line 1 column 1 (char 0)); is this an "
                            "fgp results file?"),
        ("NAN_TAU\n", ":1: kendall_tau is nan, outside [-1, 1]"),
        ("BIG_TAU\n", ":1: kendall_tau is 5.0, outside [-1, 1]"),
        ("NEG_P1\n", ":1: precision_at_1 is -0.1, outside [0, 1]"),
        ("NO_ID\n", ":1: config_id is None, not a configuration id"),
        ("BAD_TAU\n", ":1: kendall_tau is '0.7', not a number"),
    ],
)
@pytest.mark.parametrize("command", ["report", "compare"])
def test_report_and_compare_name_the_line_that_is_not_a_result(tmp_path, capsys, text, message, command):
    good = _records("aaaaaaaaaa", "none", [0.7], [0.9])[0]
    text = text.replace("GOOD", json.dumps(good)).replace("BAD_TAU", json.dumps(dict(good, kendall_tau="0.7")))
    text = text.replace("NAN_TAU", json.dumps(dict(good, kendall_tau=float("nan"))))
    text = text.replace("BIG_TAU", json.dumps(dict(good, kendall_tau=5.0)))
    text = text.replace("NEG_P1", json.dumps(dict(good, precision_at_1=-0.1)))
    text = text.replace("NO_ID", json.dumps(dict(good, config_id=None)))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(text)
    assert main([command, str(bad)] + ([str(bad)] if command == "compare" else [])) == 2
    assert capsys.readouterr().err == f"fgp: error: {bad}{message}\n"


def test_paired_table_against_hand_computed_differences(tmp_path, capsys):
    base = _records("aaaaaaaaaa", "none", [0.70, 0.72, 0.74, 0.76], [0.80, 0.80, 0.80, 0.80])
    cand = _records("bbbbbbbbbb", "fgp", [0.71, 0.75, 0.72, 0.80], [0.80, 0.80, 0.80, 0.80])
    rows = paired_table(base, cand, ("kendall_tau", "best_val_tau")).splitlines()
    # differences +1, +3, -2, +4 (x100): mean +1.5, sample std sqrt(7), standard error 1.32; 3 of 4 higher; exact
    # Wilcoxon: the negative rank sum is 2, and 3 of the 16 sign patterns give <= 2, so p = 2 * 3 / 16 = 0.375
    assert rows[2] == "| 0.01 | Kendall tau | 4 | 73.0 ± 2.2 | 74.5 ± 3.5 | +1.5 ± 1.3 | 3 of 4 | 0.38 |"
    # all ties: no Wilcoxon test
    assert rows[3] == "| 0.01 | val tau | 4 | 80.0 ± 0.0 | 80.0 ± 0.0 | +0.0 ± 0.0 | 0 of 4 | - |"
    assert paired_table(base, cand[:2], ("kendall_tau",)).splitlines()[2].startswith("| 0.01 | Kendall tau | 2 |")
    assert paired_table(base[:1], cand, ("kendall_tau",)).splitlines()[2].endswith("| +1.0 | 1 of 1 | - |")
    no_val = [dict(r, best_val_tau=None) for r in cand]  # select="last" keeps no validation tau
    assert paired_table(base, no_val, ("best_val_tau",)).splitlines()[2].endswith("| 80.0 ± 0.0 | - | - | - | - |")
    with pytest.raises(ValueError, match=r"the candidate side must hold one configuration, it holds 2: aaaaaaaaaa "
                                         r"\(gin/none\), bbbbbbbbbb \(gin/fgp\); name one as FILE:CONFIG_ID"):
        paired_table(base, base + cand)
    with pytest.raises(ValueError, match="share no run"):
        paired_table(base, [dict(r, ratio=0.05) for r in cand])
    # the CLI: FILE or FILE:CONFIG_ID
    both = tmp_path / "both.jsonl"
    both.write_text("".join(json.dumps(r) + "\n" for r in base + cand))
    assert main(["compare", f"{both}:aaaaaaaaaa", f"{both}:bbbbbbbbbb", "--metrics", "kendall_tau"]) == 0
    assert "| +1.5 ± 1.3 | 3 of 4 |" in capsys.readouterr().out
    assert main(["compare", str(both), f"{both}:bbbbbbbbbb"]) == 2
    assert "the base side must hold one configuration" in capsys.readouterr().err
    assert main(["compare", f"{both}:cccccccccc", str(both)]) == 2
    assert f"no results of configuration cccccccccc in {both}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"encoders": ("nope",)}, "unknown encoder 'nope'"),
        ({"pretrains": ("graphcl2",)}, "unknown pre-training 'graphcl2'"),
        ({"ratios": (0.0,)}, "ratio must be in"),
        ({"runs": 10}, "1 to 9 runs"),
    ],
)
def test_bad_grid_is_rejected_before_any_work(changes, message):
    with pytest.raises(ValueError, match=message):
        ExperimentConfig(**{**TINY, **changes})


def test_the_graph_representation_is_the_spaces_unless_given_and_is_recorded(monkeypatch):
    from fgp.spaces import space_class

    def run_config(**options):
        return ExperimentConfig(space="nb201", space_options=options or None).run_config("gatedgcn", "fgp")

    default, paper, pruned = run_config(), run_config(pruned=False), run_config(pruned=True)
    assert default == pruned and pruned["space_options"] == {"pruned": True}  # NB201 experiments prune by default
    assert paper["space_options"] == {"pruned": False} and config_id(paper) != config_id(pruned)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['prune'\] of search space 'nb201'; known: pruned"):
        run_config(prune=True)
    with pytest.raises(ValueError, match="option 'pruned' of search space 'nb201' takes true or false, got 'yes'"):
        run_config(pruned="yes")
    with pytest.raises(ValueError, match="search space 'nbgraph'; known: none"):
        ExperimentConfig(space="nbgraph", space_options={"pruned": True})
    # the representation is the space class's graph_options, not the constructor's default
    monkeypatch.setattr(space_class("nb201"), "graph_options", {"pruned": False})
    assert run_config() == paper and run_config(pruned=True) == pruned


@pytest.mark.data
def test_pruned_nb201_graphs_run_and_a_mismatched_benchmark_is_rejected(tmp_path, cache):
    from fgp.datasets import load_benchmark

    cfg = ExperimentConfig(space="nb201", encoders=("gatedgcn",), pretrains=("fgp",), runs=1, proxy="params",
                           space_options={"pruned": True}, encoder_kwargs={"gatedgcn": {"hidden": 8, "layers": 1}},
                           pretrain_kwargs={"epochs": 1, "batch_size": 4096}, finetune_kwargs={"epochs": 1})
    with pytest.raises(ValueError, match=r"loaded with space options \{\}, the configuration asks for"):
        run_experiment(cfg, benchmark=load_benchmark("nb201"), progress=False)
    (rec,) = run_experiment(cfg, progress=False)
    assert rec["config"]["space_options"] == {"pruned": True} and -1 <= rec["kendall_tau"] <= 1


def test_grid_that_cannot_compute_surrogates_is_rejected_before_any_run(tmp_path, capsys):
    """tnb101_macro has no surrogate defaults: FGP (with L_rec, even without L_aux) fails at configuration, before
    the grid's supervised runs; without surrogates (ZC-only) or with k and std given, it is a valid grid."""
    message = r"^no surrogate defaults for space 'tnb101_macro'; choose one of \['nb101', 'nb201', 'nb301', 'nbgraph'\]"
    for pretrain_kwargs in ({}, {"l2": 0}, {"k": 4}):
        with pytest.raises(ValueError, match=message):
            ExperimentConfig(space="tnb101_macro", pretrains=(None, "fgp"), pretrain_kwargs=pretrain_kwargs)
    ExperimentConfig(space="tnb101_macro", pretrains=(None, "zc"))
    ExperimentConfig(space="tnb101_macro", pretrains=("fgp",), pretrain_kwargs={"k": 4, "std": 0.1})
    out = tmp_path / "r.jsonl"
    assert main(["experiment", "--space", "tnb101_macro", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("fgp: error: no surrogate defaults for space 'tnb101_macro'")
    assert not out.exists()


def test_cli_rejects_bad_arguments_with_one_line(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    assert main(["experiment", "--space", "nbgraph", "--encoder", "nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown encoder 'nope'" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    assert main(["experiment", "--space", "nbgraph", "--ratio", "abc", "--out", str(out)]) == 2
    assert "--ratio" in capsys.readouterr().err
    assert main(["experiment", "--space", "nbgraph", "--finetune-opt", "epochs", "--out", str(out)]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["experiment", "--space", "nb201", "--space-opt", "pruned=yes", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "option 'pruned' of search space 'nb201' takes true or false, got 'yes'" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    # an option of a later (encoder, pre-training) pair is checked before the first run of the grid starts
    for opt, message in [("--pretrain-opt", "option 'l1' of pretext task 'fgp' takes a number, got 'abc'"),
                         ("--encoder-opt", "option 'hidden' of encoder 'gin' takes an integer, got 'abc'")]:
        key = "l1=abc" if opt == "--pretrain-opt" else "gin.hidden=abc"
        assert main(["experiment", "--space", "nbgraph", "--encoder", "gatedgcn,gin", "--pretrain", "none,fgp",
                     opt, key, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and not out.exists()
    assert main(["experiment", "--space", "nbgraph", "--pretrain", "none,zc", "--pretrain-opt", "l1=-1",
                 "--out", str(out)]) == 2  # a value out of range, found by building the pretext task
    assert "l1 and l2 must be >= 0" in capsys.readouterr().err and not out.exists()


def test_encoder_options_apply_to_the_whole_grid_or_to_one_encoder(capsys, tmp_path):
    from fgp.cli import build_parser
    from fgp.cli.experiment import _config

    def kwargs(*opts):
        args = ["experiment", "--space", "nb101", "--encoder", "gatedgcn,gin", "--out", "x.jsonl"]
        for opt in opts:
            args += ["--encoder-opt", opt]
        config = _config(build_parser().parse_args(args))
        return {e: config.run_config(e, None)["encoder_kwargs"] for e in ("gatedgcn", "gin")}

    default = kwargs()
    assert kwargs("layers=4")["gatedgcn"]["layers"] == 4 and kwargs("layers=4")["gin"]["layers"] == 4
    mine = kwargs("gatedgcn.hidden=64", "layers=2", "gin.layers=5")
    assert mine["gatedgcn"] == {**default["gatedgcn"], "hidden": 64, "layers": 2}
    assert mine["gin"] == {**default["gin"], "layers": 5}  # the encoder's own option wins over the grid's
    out = tmp_path / "x.jsonl"
    assert main(["experiment", "--space", "nb101", "--encoder", "gin", "--encoder-opt", "gatedgcn.hidden=64",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'gatedgcn' is not an encoder of this grid (gin)" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_main_job_takes_the_dataset_of_the_space_it_is_given():
    """`fgp run --space nb101` must not carry the main job's NAS-Bench-Graph dataset (cora) to another space."""
    from fgp.cli import build_parser
    from fgp.cli.experiment import _config

    assert _config(build_parser().parse_args(["run"])).space == "nbgraph"
    for space in ("nbgraph", "nb101", "nb201"):
        assert _config(build_parser().parse_args(["run", "--space", space])).dataset is None  # the space's default
    assert _config(build_parser().parse_args(["run", "--dataset", "citeseer"])).dataset == "citeseer"


def test_l_aux_proxy_is_a_column_or_a_computed_proxy(tmp_path, cache, monkeypatch):
    import fgp.experiment
    from fgp.datasets import load_benchmark

    # what each run's pre-training ranks: the values the predictor is given for the pre-training set
    asked, ranked = [], []
    real_values, real_fit = fgp.experiment.proxy_values, fgp.experiment.Predictor.fit
    monkeypatch.setattr(fgp.experiment, "proxy_values", lambda bench, name, *a, **k: asked.append(name) or real_values(
        bench, name, *a, **k))
    monkeypatch.setattr(fgp.experiment.Predictor, "fit", lambda self, *a, **k: ranked.append(
        k["unlabeled_proxy_values"]) or real_fit(self, *a, **k))
    from fgp.proxies import compute_proxies

    bench = load_benchmark("nbgraph", "proteins")
    columns = {"params": bench.columns["params"],  # shipped; flops is computed (closed form)
               "flops": compute_proxies("nbgraph", bench, ["flops"], progress=False)["flops"]}
    cfg = dict(TINY, pretrains=("fgp",), runs=1)
    with pytest.raises(ValueError, match="unknown proxy 'nope'"):
        run_experiment(ExperimentConfig(**dict(cfg, proxy="nope")), progress=False)
    by_flops = run_experiment(ExperimentConfig(**dict(cfg, proxy="flops")), progress=False)
    assert asked == ["nope", "flops"] and np.array_equal(ranked.pop(), columns["flops"])
    by_params = run_experiment(ExperimentConfig(**cfg), progress=False)
    assert asked.pop() == "params" and np.array_equal(ranked.pop(), columns["params"])
    assert not np.array_equal(columns["params"], columns["flops"])
    assert by_flops[0]["config"]["proxy"] == "flops" and by_flops[0]["config_id"] != by_params[0]["config_id"]
    assert by_flops[0]["kendall_tau"] != by_params[0]["kendall_tau"]
    both = run_experiment(ExperimentConfig(**dict(cfg, proxy="params,flops")), progress=False)
    assert asked.pop() == "params,flops"
    assert np.array_equal(ranked.pop(), np.column_stack([columns["params"], columns["flops"]]))
    assert both[0]["config"]["proxy"] == "params,flops" and both[0]["config_id"] != by_params[0]["config_id"]


def test_proxy_network_options(tmp_path, cache):
    plain = ExperimentConfig(**TINY)
    narrow = ExperimentConfig(**dict(TINY, proxy="nwot", proxy_network={"hidden": 8}))
    assert plain.run_config("gatedgcn", "fgp")["proxy_network"] == {}
    assert narrow.run_config("gatedgcn", "fgp")["proxy_network"] == {"hidden": 8}
    assert narrow.run_config("gatedgcn", None)["proxy_network"] is None  # a supervised run ranks no proxy
    from fgp.datasets import _take, load_benchmark
    from fgp.experiment import proxy_values
    from fgp.proxies import compute_proxies

    bench = _take(load_benchmark("nbgraph", "proteins"), np.arange(3))
    values = proxy_values(bench, "nwot", progress=False, network={"hidden": 8})
    expected = compute_proxies("nbgraph", bench, ["nwot"], progress=False, network={"hidden": 8})["nwot"]
    assert np.array_equal(values, expected) and not np.array_equal(values, proxy_values(bench, "nwot", False))
    with pytest.raises(ValueError, match="apply to computed proxies, but 'params' is read from the benchmark"):
        proxy_values(bench, "params", network={"hidden": 8})
    from fgp.cli import build_parser
    from fgp.cli.experiment import _config

    args = build_parser().parse_args(["experiment", "--space", "nbgraph", "--proxy", "nwot", "--proxy-opt", "hidden=8",
                                      "--out", str(tmp_path / "r.jsonl")])
    assert _config(args).proxy_network == {"hidden": 8}


def test_head_hidden_is_recorded(tmp_path):
    from fgp.cli import build_parser
    from fgp.cli.experiment import _config

    assert ExperimentConfig(**TINY).run_config("gatedgcn", None)["head_hidden"] is None
    linear = ExperimentConfig(**dict(TINY, head_hidden=0))
    assert linear.run_config("gatedgcn", None)["head_hidden"] == 0
    assert linear.run_config("gatedgcn", "fgp")["head_hidden"] == 0
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="head_hidden must be an integer >= 0"):
            ExperimentConfig(**dict(TINY, head_hidden=bad))
    args = build_parser().parse_args(
        ["experiment", "--space", "nbgraph", "--head-hidden", "0", "--out", str(tmp_path / "r.jsonl")]
    )
    assert _config(args).head_hidden == 0


def test_ensemble_is_recorded_and_runs(tmp_path, cache):
    cfg = dict(TINY, pretrains=(None,), runs=1)
    assert ExperimentConfig(**cfg).run_config("gatedgcn", None)["ensemble"] == 1
    with pytest.raises(ValueError, match="ensemble must be a positive integer"):
        ExperimentConfig(**dict(cfg, ensemble=0))
    single = run_experiment(ExperimentConfig(**cfg), progress=False)[0]
    pair = run_experiment(ExperimentConfig(**dict(cfg, ensemble=2)), progress=False)[0]
    assert pair["config"]["ensemble"] == 2 and pair["config_id"] != single["config_id"]
    assert len(pair["best_epoch"]) == 2 and pair["kendall_tau"] != single["kendall_tau"]


def test_default_fgp_options_per_space():
    def pretrain_kwargs(space, pretrain="fgp", **options):
        config = ExperimentConfig(space=space, pretrain_kwargs=options)
        return config.run_config("gatedgcn", pretrain)["pretrain_kwargs"]

    assert pretrain_kwargs("nb201")["standardize"] is False and pretrain_kwargs("nb101")["standardize"] is True
    assert pretrain_kwargs("nb201", standardize=True)["standardize"] is True  # an option wins
    assert pretrain_kwargs("nb201", "zc")["standardize"] is True  # ZC-only has no L_rec: FGP's options stay out


def test_default_l_aux_proxy_per_space_and_encoder():
    def proxy(space, encoder, **options):
        config = ExperimentConfig(space=space, encoders=(encoder,), **options).run_config(encoder, "fgp")
        return config["proxy"], config["proxy_network"]

    assert proxy("nb201", "gatedgcn") == ("snip", {})
    assert proxy("nb201", "flowerformer") == ("grad_norm", {})
    assert proxy("nbgraph", "gin") == ("params", {})
    assert proxy("nb101", "gatedgcn") == ("snip", {"stem_channels": 16})
    assert proxy("nb101", "flowerformer") == ("grad_norm", {"stem_channels": 16})
    assert proxy("nb201", "gin") == ("snip", {})
    assert proxy("nb101", "gin") == ("snip", {"stem_channels": 16})
    assert proxy("nb101", "gin", proxy_network={"batch_size": 8}) == ("snip", {"batch_size": 8})  # given: replaces
    assert proxy("nb101", "gin", proxy="params") == ("params", {})  # a given proxy wins, without the recipe's network


def test_each_encoder_pretrains_on_its_own_default_proxy(tmp_path, cache, monkeypatch):
    import fgp.recipes

    monkeypatch.setitem(fgp.recipes.RECIPES, ("nbgraph", "gin"), fgp.recipes.Recipe(proxy="latency"))
    cfg = dict(TINY, encoders=("gatedgcn", "gin"), pretrains=("fgp",), runs=1,
               encoder_kwargs={"gatedgcn": {"hidden": 16, "layers": 2}, "gin": {"hidden": 16, "layers": 2}})
    gated, gin = run_experiment(ExperimentConfig(**cfg), progress=False)
    assert gated["config"]["proxy"] == "params" and gin["config"]["proxy"] == "latency"
    for encoder, proxy, rec in (("gatedgcn", "params", gated), ("gin", "latency", gin)):
        given = run_experiment(ExperimentConfig(**dict(cfg, encoders=(encoder,), proxy=proxy)), progress=False)[0]
        assert given["config_id"] == rec["config_id"] and given["kendall_tau"] == rec["kendall_tau"]


def test_report_names_what_each_configuration_changed():
    def rec(cid, proxy, epochs, **extra):
        cfg = {"proxy": proxy, "finetune_kwargs": {"epochs": epochs}, **extra}
        return {"encoder": "gatedgcn", "pretrain": "fgp", "config_id": cid, "config": cfg}

    records = [rec("a", "params", 300), rec("b", "synflow", 300), rec("c", "params", 500, head_hidden=0),
               rec("d", "params", 300)]
    assert config_differences(records) == {
        "a": [], "b": ["proxy=synflow"], "c": ["finetune.epochs=500", "head_hidden=0"], "d": []
    }
    # a tie has no usual value: both configurations name theirs
    tie = [rec("e", "params", 300, seed=1), rec("f", "params", 300, seed=2)]
    assert config_differences(tie) == {"e": ["seed=1"], "f": ["seed=2"]}


def test_flowerformer_runs_with_its_authors_settings_unless_overridden():
    cfg = ExperimentConfig(space="nbgraph", encoders=("flowerformer", "gatedgcn"))
    ff = cfg.run_config("flowerformer", None)
    assert ff["encoder_kwargs"]["dim"] == 256 and ff["encoder_kwargs"]["num_layers"] == 4
    assert ff["finetune_kwargs"]["lr"] == 7e-3 and ff["finetune_kwargs"]["schedule"] == "cosine"
    assert ff["finetune_kwargs"]["max_pairs"] == 2 * 1024 and ff["finetune_kwargs"]["margin"] == 0.01
    assert cfg.run_config("gatedgcn", None)["finetune_kwargs"]["lr"] == 1e-3  # METHOD.md's shared GNN settings
    mine = ExperimentConfig(space="nbgraph", encoders=("flowerformer",), finetune_kwargs={"lr": 1e-4},
                            encoder_kwargs={"flowerformer": {"dim": 32}})
    assert mine.run_config("flowerformer", None)["finetune_kwargs"]["lr"] == 1e-4
    assert mine.run_config("flowerformer", None)["encoder_kwargs"]["dim"] == 32
    nb201 = ExperimentConfig(space="nb201", encoders=("flowerformer",)).run_config("flowerformer", None)
    assert nb201["finetune_kwargs"]["epochs"] == 600 and nb201["finetune_kwargs"]["max_pairs"] is None
    # FlowerFormer is pre-trained in batches of 1024 on NB201 (FGP and ZC-only alike), 256 elsewhere and for the GNNs
    for space, encoder, batch in (("nb201", "flowerformer", 1024), ("nb101", "flowerformer", 256),
                                  ("nb201", "gatedgcn", 256)):
        cfg = ExperimentConfig(space=space, encoders=(encoder,))
        assert cfg.run_config(encoder, "fgp")["pretrain_kwargs"]["batch_size"] == batch
        assert cfg.run_config(encoder, "zc")["pretrain_kwargs"]["batch_size"] == batch
        assert cfg.run_config(encoder, None)["pretrain_kwargs"] == {}
    pinned = ExperimentConfig(space="nb201", encoders=("flowerformer",), pretrain_kwargs={"batch_size": 256})
    assert pinned.run_config("flowerformer", "fgp")["pretrain_kwargs"]["batch_size"] == 256
    assert pinned.run_config("flowerformer", "zc")["pretrain_kwargs"]["l1"] == 0.0
    # ResGatedGCN is pre-trained for 50 epochs on NB101 and FlowerFormer for 20 (the measured validation choices),
    # FlowerFormer for 5 on NAS-Bench-Graph (the length measured there), 200 elsewhere; FlowerFormer's L_aux ranks
    # grad_norm on 16-channel stems on NB101
    for space, gatedgcn, flowerformer in (("nb101", 50, 20), ("nb201", 200, 200), ("nbgraph", 200, 5)):
        cfg = ExperimentConfig(space=space, encoders=("gatedgcn", "gin", "flowerformer"))
        for encoder, epochs in (("gatedgcn", gatedgcn), ("gin", 200), ("flowerformer", flowerformer)):
            assert cfg.run_config(encoder, "fgp")["pretrain_kwargs"]["epochs"] == epochs
            assert cfg.run_config(encoder, "zc")["pretrain_kwargs"]["epochs"] == epochs
    nb101 = ExperimentConfig(space="nb101", encoders=("flowerformer",)).run_config("flowerformer", "fgp")
    assert (nb101["proxy"], nb101["proxy_network"]) == ("grad_norm", {"stem_channels": 16})
    # FlowerFormer is pre-trained at lr 1e-4 on NB101 and NAS-Bench-Graph (the measured validation choices), 1e-3 on
    # NB201 and for the other encoders; a pinned 1e-3 records as FGP's default in a ZC-only row, as if left out
    for space, encoder, lr in (("nb101", "flowerformer", 1e-4), ("nb201", "flowerformer", 1e-3),
                               ("nbgraph", "flowerformer", 1e-4), ("nbgraph", "gatedgcn", 1e-3)):
        cfg = ExperimentConfig(space=space, encoders=(encoder,))
        assert cfg.run_config(encoder, "fgp")["pretrain_kwargs"]["lr"] == lr
        assert cfg.run_config(encoder, "zc")["pretrain_kwargs"]["lr"] == lr
    pinned101 = ExperimentConfig(space="nb101", pretrain_kwargs={"epochs": 200})
    assert pinned101.run_config("gatedgcn", "fgp")["pretrain_kwargs"]["epochs"] == 200
    # ResGatedGCN: both edge directions on NB201 and NB101 (the measured validation choice)
    assert ExperimentConfig(space="nb201").run_config("gatedgcn", "fgp")["encoder_kwargs"]["undirected"] is True
    assert ExperimentConfig(space="nb101").run_config("gatedgcn", "fgp")["encoder_kwargs"]["undirected"] is True
    assert ExperimentConfig(space="nbgraph").run_config("gatedgcn", "fgp")["encoder_kwargs"]["undirected"] is False
    # ResGatedGCN is 256 wide on NB101 only (the measured validation choice), 64 elsewhere
    widths = {s: ExperimentConfig(space=s).run_config("gatedgcn", None)["encoder_kwargs"]["hidden"]
              for s in ("nb101", "nb201", "nbgraph")}
    assert widths == {"nb101": 256, "nb201": 64, "nbgraph": 64}
    # GIN: directed on NB101 only (the measured validation choice), and an explicit option still wins
    assert ExperimentConfig(space="nb101").run_config("gin", "fgp")["encoder_kwargs"]["undirected"] is False
    assert ExperimentConfig(space="nb201").run_config("gin", "fgp")["encoder_kwargs"]["undirected"] is True
    both = ExperimentConfig(space="nb101", encoders=("gin",), encoder_kwargs={"gin": {"undirected": True}})
    assert both.run_config("gin", None)["encoder_kwargs"]["undirected"] is True
    # GIN trains the score head alone for the first 100 fine-tuning epochs on NB101; ResGatedGCN never
    for space, encoder, epochs in (("nb101", "gatedgcn", 0), ("nb201", "gatedgcn", 0), ("nbgraph", "gatedgcn", 0),
                                   ("nb101", "gin", 100), ("nb201", "gin", 0), ("nbgraph", "gin", 0)):
        for pretrain in (None, "fgp"):
            finetune = ExperimentConfig(space=space).run_config(encoder, pretrain)["finetune_kwargs"]
            assert finetune["freeze_encoder_epochs"] == epochs
    earlier = ExperimentConfig(space="nb101", finetune_kwargs={"freeze_encoder_epochs": 0})
    assert earlier.run_config("gin", "fgp")["finetune_kwargs"]["freeze_encoder_epochs"] == 0
    # FlowerFormer on NB201 freezes a pre-trained encoder (only) for the first 100 epochs; an option still wins
    head_first = {(space, pretrain): ExperimentConfig(space=space).run_config("flowerformer", pretrain)
                  ["finetune_kwargs"]["freeze_encoder_epochs"]
                  for space in ("nb101", "nb201") for pretrain in (None, "zc", "fgp")}
    assert head_first == {("nb101", None): 0, ("nb101", "zc"): 0, ("nb101", "fgp"): 0,
                          ("nb201", None): 0, ("nb201", "zc"): 100, ("nb201", "fgp"): 100}
    end_to_end = ExperimentConfig(space="nb201", finetune_kwargs={"freeze_encoder_epochs": 0})
    assert end_to_end.run_config("flowerformer", "fgp")["finetune_kwargs"]["freeze_encoder_epochs"] == 0


def test_pretrain_dataset_adds_its_other_architectures_to_pre_training_only(tmp_path, cache):
    from fgp.datasets import load_benchmark

    proteins, cora = load_benchmark("nbgraph", "proteins"), load_benchmark("nbgraph", "cora")
    others = np.setdiff1d(cora.index, proteins.index).size  # the same space: architectures keyed by index
    assert 0 < others < len(cora)
    cfg = dict(TINY, runs=1)
    plain = run_experiment(ExperimentConfig(**cfg), progress=False)
    wider = run_experiment(ExperimentConfig(**dict(cfg, pretrain_dataset="cora")), progress=False)
    none_plain, fgp_plain = plain
    none_wider, fgp_wider = wider
    assert none_wider["config_id"] == none_plain["config_id"] and none_wider["pretrain_graphs"] == 0
    assert none_wider["kendall_tau"] == none_plain["kendall_tau"]
    assert fgp_plain["pretrain_graphs"] == len(proteins)
    assert fgp_wider["pretrain_graphs"] == len(proteins) + others
    assert fgp_wider["config"]["pretrain_dataset"] == "cora" and fgp_plain["config"]["pretrain_dataset"] is None
    assert fgp_wider["n_test"] == fgp_plain["n_test"]  # the protocol stays on the benchmark's architectures
    with pytest.raises(ValueError, match="pre-training dataset of nbgraph must be one of"):
        ExperimentConfig(**dict(cfg, pretrain_dataset="nope"))
    with pytest.raises(ValueError, match="cannot be combined with pre-training on the training pool only"):
        ExperimentConfig(**dict(cfg, pretrain_dataset="cora", transductive=False))


def test_a_surrogate_only_grid_never_loads_its_proxy(tmp_path, cache, monkeypatch):
    import fgp.experiment

    asked = []
    real = fgp.experiment.proxy_values
    monkeypatch.setattr(fgp.experiment, "proxy_values", lambda bench, name, *a, **k: asked.append(name) or real(
        bench, name, *a, **k))
    surrogate_only = dict(TINY, pretrains=("fgp",), runs=1, proxy="nwot", pretrain_kwargs={"epochs": 1, "l2": 0.0})
    for train_only in (False, True):  # the transductive set and the training pool alike
        rec = run_experiment(ExperimentConfig(**surrogate_only, transductive=not train_only), progress=False)[0]
        assert asked == [] and rec["pretrain_seconds"] > 0  # nwot would be computed for every architecture
    run_experiment(ExperimentConfig(**dict(surrogate_only, pretrains=("zc",), proxy="params",
                                           pretrain_kwargs={"epochs": 1})), progress=False)
    assert asked == ["params"]  # ZC-only pre-training (l1=0, l2 by default 0.5) ranks it


def test_a_grid_of_tasks_that_rank_no_proxy_never_loads_one(cache, monkeypatch):
    import fgp.experiment
    from fgp.pretrain import create_pretext, list_pretexts

    monkeypatch.setattr(fgp.experiment, "proxy_values", lambda *a, **k: pytest.fail("a proxy was loaded"))
    tasks = tuple(n for n in list_pretexts() if not create_pretext(n).ranks_proxy)
    records = run_experiment(ExperimentConfig(**dict(TINY, pretrains=tasks, runs=1)), progress=False)
    assert [r["pretrain"] for r in records] == list(tasks)
    assert all(r["pretrain_graphs"] > 0 and np.isfinite(r["kendall_tau"]) for r in records)
    assert all(r["config"]["proxy"] is None for r in records)


def test_a_run_is_counted_once_and_concurrent_writers_never_duplicate_it(tmp_path, capsys):
    """`fgp report f f` and a run in two files count it once; an append whose run a concurrent writer already
    wrote is skipped, under an exclusive lock."""
    from multiprocessing import get_context

    from fgp.results import append_result, run_key

    records = _records("aaaaaaaaaa", "none", [0.7, 0.8], [0.9, 0.9])
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["report", str(path), str(path)]) == 0
    assert "| 2 |" in capsys.readouterr().out  # 2 runs, not 4
    assert append_result(path, records[0], key=run_key) is False and len(read_results(path)) == 2
    others = _records("bbbbbbbbbb", "fgp", [0.1, 0.2, 0.3, 0.4], [0.5] * 4)
    with get_context("fork").Pool(4) as pool:  # 4 writers append the same 4 runs at once
        written = pool.starmap(append_result, [(path, r, run_key) for r in others * 4])
    assert sum(written) == 4 and len(read_results(path)) == 6


def test_workers_give_the_numbers_of_one_process_and_the_same_file(tmp_path, monkeypatch):
    """Two processes: one pre-training (computed by the first run that needs it), every run seeded, so the records
    equal the serial ones; each is appended once."""
    cfg = ExperimentConfig(**dict(TINY, runs=3))
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "serial-cache"))
    serial = run_experiment(cfg, out=tmp_path / "serial.jsonl", progress=False)
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "parallel-cache"))  # the workers' own, empty cache
    parallel = run_experiment(cfg, out=tmp_path / "parallel.jsonl", progress=False, workers=2)
    drop = ("finished", "pretrain_seconds", "finetune_seconds", "inference_archs_per_second", "pretrain_cached")
    assert [{k: v for k, v in r.items() if k not in drop} for r in parallel] == [
        {k: v for k, v in r.items() if k not in drop} for r in serial]
    assert sorted(map(run_key, read_results(tmp_path / "parallel.jsonl"))) == sorted(map(run_key, serial))
    assert sum(r["pretrain_cached"] for r in parallel if r["pretrain"] == "fgp") == 2  # computed once of 3
    assert run_experiment(cfg, out=tmp_path / "parallel.jsonl", progress=False, workers=2) == parallel  # resumed
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        run_experiment(cfg, progress=False, workers=0)


def test_wins_table_names_the_best_pretraining_per_setting_and_counts_fgps_wins():
    from fgp.report import wins_table

    none = _records("a", "none", [0.70, 0.72], [0.6, 0.6])
    fgp = _records("b", "fgp", [0.80, 0.82], [0.6, 0.6])
    graphcl = _records("c", "graphcl", [0.75, 0.85], [0.6, 0.6])
    lines = wins_table(none + fgp + graphcl, ("kendall_tau", "precision_at_1")).splitlines()
    assert lines[0] == "| space | dataset | encoder | ratio | metric | best | runs | none | fgp | graphcl |"
    assert lines[2] == "| nb201 | cifar10 | gin | 0.01 | Kendall tau | fgp | 2 | 71.0 | 81.0 | 80.0 |"
    assert lines[3] == "| nb201 | cifar10 | gin | 0.01 | P@1% | fgp, graphcl, none | 2 | 50.0 | 50.0 | 50.0 |"  # a tie
    assert lines[-1] == "fgp is best in 2 of 2 settings"
    other = [dict(r, encoder="gatedgcn") for r in graphcl + none]
    assert wins_table(none + fgp + other, ("kendall_tau",)).splitlines()[-1] == "fgp is best in 1 of 2 settings"
    with pytest.raises(ValueError, match="two or more pre-training methods"):
        wins_table(fgp, ("kendall_tau",))
