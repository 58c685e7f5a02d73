"""``fgp fit`` and ``fgp predict``: a user's own labelled architectures in, a saved model and a ranking out."""

import csv
import json

import numpy as np
import pytest

from fgp.cli import main
from fgp.spaces import get_space

# small settings through the recipe's own options, so each fit takes a second or two
SMALL = ["--pretrain", "none"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def small(monkeypatch):
    """The recipe of ResGatedGCN on NB201 shrunk to 2 fine-tuning epochs of a narrow encoder."""
    import fgp.recipes

    monkeypatch.setitem(fgp.recipes.RECIPES, ("nb201", "gatedgcn"), fgp.recipes.Recipe(
        encoder={"undirected": True, "hidden": 8, "layers": 1}, finetune={"epochs": 2},
        pretrain={"epochs": 1, "batch_size": 4096}))


def cells(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    space = get_space("nb201")
    return list(dict.fromkeys(space.sample(rng) for _ in range(n)))


def label(arch: str) -> float:
    return sum(3.0 * ("conv_3x3" in p) + ("conv_1x1" in p) for p in arch.split("|"))


def write_csv(path, archs, labels=None):
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arch", "label"])
        for a, y in zip(archs, labels if labels is not None else [label(a) for a in archs]):
            writer.writerow([a, y])
    return path


def test_fit_then_predict_ranks_candidates_best_first(tmp_path, capsys, small):
    train = write_csv(tmp_path / "train.csv", cells(40))
    model = tmp_path / "model.fgp"
    assert main(["fit", "--space", "nb201", "--train", str(train), "--out", str(model), "--quiet", *SMALL]) == 0
    assert model.exists() and "fitted on 40 architectures" in capsys.readouterr().err
    candidates = tmp_path / "candidates.txt"
    archs = cells(60, seed=1)
    candidates.write_text("\n".join(archs) + "\n")
    scores = tmp_path / "scores.csv"
    assert main(["predict", "--model", str(model), "--archs", str(candidates), "--out", str(scores)]) == 0
    rows = list(csv.DictReader(scores.open()))
    assert [int(r["rank"]) for r in rows] == list(range(1, 61)) and {r["arch"] for r in rows} == set(archs)
    values = [float(r["score"]) for r in rows]
    assert values == sorted(values, reverse=True)
    # the file holds what the saved predictor computes
    from fgp.predictor import Predictor

    expected = Predictor.load(model).predict(archs)
    assert values[0] == pytest.approx(expected.max(), rel=1e-5)
    top = tmp_path / "top.csv"
    assert main(["predict", "--model", str(model), "--archs", str(candidates), "--out", str(top), "--top", "5"]) == 0
    assert [r["arch"] for r in csv.DictReader(top.open())] == [r["arch"] for r in rows[:5]]
    # an existing scores file is kept unless --force
    before = scores.read_bytes()
    assert main(["predict", "--model", str(model), "--archs", str(candidates), "--out", str(scores)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err and scores.read_bytes() == before


def test_fit_reads_jsonl_and_predicts_the_whole_space(tmp_path, monkeypatch, small):
    from fgp.spaces import space_class

    archs = cells(30)
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"arch": a, "label": label(a)}) + "\n" for a in archs))
    model = tmp_path / "m.fgp"
    assert main(["fit", "--space", "nb201", "--train", str(train), "--out", str(model), "--quiet", *SMALL]) == 0
    some = cells(100, seed=3)
    monkeypatch.setattr(space_class("nb201"), "enumerate", lambda self: iter(some))  # a stand-in for 15,625
    out = tmp_path / "all.csv"
    assert main(["predict", "--model", str(model), "--space-all", "--out", str(out), "--top", "10"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 10 and all(r["arch"] in some for r in rows)


@pytest.mark.parametrize("rows, message", [
    ("arch,label\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1.0\nnot-a-cell,2.0\n",
     r"train.csv:3: not a nb201 architecture: malformed NB201 arch string"),
    ("arch,label\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1.0\n"
     "|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|,2.0\n", "train.csv:3: not a nb201 architecture: .*conv_5x5"),
    ("arch,label\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,nan\n",
     r"train.csv:2: label 'nan' is not a finite number"),
    ("arch,label\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,abc\n", r"train.csv:2: label 'abc' is not a number"),
    ("arch,label\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1.0,extra\n",
     r"train.csv:2: 3 fields, the header has 2"),
    ("arch,label\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1.0\n"
     "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|,2.0\n"
     "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,3.0\n",
     r"train.csv:4: duplicate architecture \(first at line 2\)"),
    ("cell,accuracy\nx,1\n", r"train.csv:1: the header must name the columns arch,label"),
    ("", r"train.csv:1: the header must name the columns arch,label"),
])
def test_bad_training_rows_are_one_line_errors_with_their_line_number(tmp_path, capsys, rows, message):
    train = tmp_path / "train.csv"
    train.write_text(rows)
    model = tmp_path / "model.fgp"
    assert main(["fit", "--space", "nb201", "--train", str(train), "--out", str(model), *SMALL]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("fgp: error: ")
    import re

    assert re.search(message, err), err
    assert not model.exists() and list(tmp_path.iterdir()) == [train]  # nothing half-written


def test_bad_command_lines_fail_before_any_work(tmp_path, capsys, small):
    train = write_csv(tmp_path / "train.csv", cells(10))
    out = tmp_path / "model.fgp"
    for args, message in [
        (["--space", "nb999"], "unknown search space 'nb999'"),
        (["--space", "nb201", "--encoder", "mlp9"], "unknown encoder 'mlp9'"),
        (["--space", "nb201", "--pretrain", "graphcl9"], "unknown pre-training 'graphcl9'"),
        (["--space", "nb201", "--seed", "-1"], "--seed must be a non-negative integer"),
        (["--space", "nb201", "--train", str(tmp_path / "absent.csv")], "no architecture file at"),
        (["--space", "nb201", "--train", str(tmp_path / "t.txt")], "no architecture file at"),
    ]:
        argv = ["fit", "--train", str(train), "--out", str(out), *args]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and not out.exists(), (args, err)
    (tmp_path / "t.txt").write_text("x\n")
    assert main(["fit", "--space", "nb201", "--train", str(tmp_path / "t.txt"), "--out", str(out)]) == 2
    assert "labelled architectures come as .csv" in capsys.readouterr().err
    scores = str(tmp_path / "s.csv")
    assert main(["predict", "--model", str(tmp_path / "none.fgp"), "--space-all", "--out", scores]) == 2
    assert "no predictor file at" in capsys.readouterr().err and not (tmp_path / "s.csv").exists()
    model = tmp_path / "m.fgp"
    assert main(["fit", "--space", "nb201", "--train", str(train), "--out", str(model), "--quiet", *SMALL]) == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\nnope\n")
    assert main(["predict", "--model", str(model), "--archs", str(bad), "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.txt:2: not a nb201 architecture" in err and not (tmp_path / "s.csv").exists()
    assert main(["predict", "--model", str(model), "--space-all", "--out", str(tmp_path / "s.csv"), "--top", "0"]) == 2
    assert "--top must be a positive integer" in capsys.readouterr().err
