"""The README's own-labels example runs as printed (with a shrunken recipe, so it takes seconds)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def example(section: str) -> str:
    text = README.read_text().split(section, 1)[1]
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def own_labels_example() -> str:
    return example("## Rank your own architectures")


def test_the_example_is_at_most_ten_lines():
    lines = [ln for ln in own_labels_example().splitlines() if ln.strip()]
    assert len(lines) <= 10


@pytest.mark.data
def test_the_own_labels_example_runs_and_ranks_the_whole_space(tmp_path, monkeypatch, capsys):
    import fgp.recipes
    from fgp.predictor import Predictor

    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(fgp.recipes.RECIPES, ("nb201", "gatedgcn"), fgp.recipes.Recipe(
        encoder={"undirected": True, "hidden": 8, "layers": 1}, finetune={"epochs": 2},
        pretrain={"epochs": 1, "batch_size": 4096}))
    exec(compile(own_labels_example(), "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 10 and all(line.startswith("|") for line in printed)
    model = Predictor.load(tmp_path / "nb201.fgp")
    assert model.info_["pretrain"]["graphs"] == 15_625 and model.representation_ == "nb201(pruned=True)"


def test_the_search_example_runs_and_finds_a_cell_of_six_3x3_convolutions(tmp_path, monkeypatch, capsys):
    import fgp.recipes

    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(fgp.recipes.RECIPES, ("nb201", "gatedgcn"), fgp.recipes.Recipe(
        encoder={"undirected": True, "hidden": 8, "layers": 1}, finetune={"epochs": 30, "lr": 1e-2},
        pretrain={"epochs": 1, "batch_size": 4096}))
    exec(compile(example("## Search with a training budget"), "README.md", "exec"), {})
    arch, score = capsys.readouterr().out.split()
    assert float(score) == 6.0 and arch.count("nor_conv_3x3") == 6


def test_the_own_space_example_traces_pretrains_on_and_ranks_its_candidates(tmp_path, monkeypatch, capsys):
    import fgp.recipes
    from fgp.metrics import kendall_tau
    from fgp.spaces.base import SPACES

    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(SPACES, "_entries", dict(SPACES._entries))  # the example registers small_cnn for this test
    monkeypatch.setitem(fgp.recipes.RECIPES, ("small_cnn", "gatedgcn"), fgp.recipes.Recipe(
        encoder={"hidden": 16, "layers": 2}, finetune={"epochs": 60}, pretrain={"epochs": 10}))
    namespace: dict = {}
    exec(compile(example("## Your own architectures"), "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(("input", "conv_3x3", "batch_norm", "relu", "conv_5x5", "batch_norm", "relu",
                              "global_avg_pool", "linear", "output"))
    assert len(printed) == 6 and all(line.startswith("((") for line in printed[1:])
    model, candidates, score = namespace["model"], namespace["candidates"], namespace["train_and_evaluate"]
    assert model.info_["pretrain"]["graphs"] == len(candidates) > 300 and model.num_attrs_ == 7
    # ranked from 20 scores: the ranking of all candidates follows the stand-in score
    assert kendall_tau(model.predict(candidates), [score(a) for a in candidates]) > 0.5
