"""The README's own-labels example runs as printed (with a shrunken recipe, so it takes seconds)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def own_labels_example() -> str:
    section = README.read_text().split("## Rank your own architectures", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


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
