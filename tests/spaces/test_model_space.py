"""Your own search space: a ModelSpace subclass in a user's module, found by import path, traced, pre-trained on,
fitted, searched, and used from the command line."""

from __future__ import annotations

import csv
import textwrap

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.cli import main
from fgp.graph import ArchGraph
from fgp.models import VOCAB, from_torch
from fgp.spaces import ModelSpace, get_space, list_spaces, representation, space_class

# a user's package: a space of 18 small CNNs (two kernel sizes and a width), plus things that are not spaces
USER_MODULE = '''
import itertools

from torch import nn

from fgp.spaces import ModelSpace

KERNELS, WIDTHS = (1, 3, 5), (4, 8)


class TinyCNN(ModelSpace):
    example_inputs = (2, 3, 8, 8)

    def enumerate(self):
        return iter(itertools.product(KERNELS, KERNELS, WIDTHS))

    def sample(self, rng):
        return (int(rng.choice(KERNELS)), int(rng.choice(KERNELS)), int(rng.choice(WIDTHS)))

    def neighbours(self, arch):
        choices = (KERNELS, KERNELS, WIDTHS)
        return [arch[:i] + (c,) + arch[i + 1:] for i in range(3) for c in choices[i] if c != arch[i]]

    def mutate(self, arch, rng):
        moves = self.neighbours(arch)
        return moves[int(rng.integers(len(moves)))]

    def build(self, arch):
        k1, k2, width = arch
        return nn.Sequential(nn.Conv2d(3, width, k1, padding=k1 // 2), nn.BatchNorm2d(width), nn.ReLU(),
                             nn.Conv2d(width, width, k2, padding=k2 // 2), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


class WithCustomOp(TinyCNN):
    def build(self, arch):
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.LSTMCell(4, 4))


class WithoutInputs(ModelSpace):
    def build(self, arch):
        return nn.Linear(2, 2)


def not_a_space():
    pass
'''
PATH = "my_spaces:TinyCNN"


def score(arch) -> float:
    """A stand-in for training: bigger kernels and the wider model are better."""
    k1, k2, width = arch
    return k1 + 2 * k2 + width / 4


@pytest.fixture(autouse=True)
def user_module(tmp_path, monkeypatch):
    package = tmp_path / "user"
    package.mkdir()
    (package / "my_spaces.py").write_text(USER_MODULE)
    (package / "broken_spaces.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))
    yield
    import sys

    for name in ("my_spaces", "broken_spaces"):
        sys.modules.pop(name, None)


@pytest.fixture
def small(monkeypatch):
    """Short pre-training and fine-tuning for the space (the recipe of an own space is the shared defaults)."""
    import fgp.recipes

    monkeypatch.setitem(fgp.recipes.RECIPES, (PATH, "gatedgcn"), fgp.recipes.Recipe(
        encoder={"hidden": 16, "layers": 2}, finetune={"epochs": 20}, pretrain={"epochs": 5}))


def test_a_space_by_import_path_needs_no_registration():
    space = get_space(PATH)
    assert isinstance(space, ModelSpace) and space.name == PATH and PATH not in list_spaces()
    assert space_class(PATH) is type(space) and space_class(PATH).surrogate == ModelSpace.surrogate
    assert representation(PATH) == f"{PATH}()"
    assert len(list(space.enumerate())) == 18


@pytest.mark.parametrize("path, message", [
    ("no_such_module:Space", "cannot import search space 'no_such_module:Space': ModuleNotFoundError: No module "
                             "named 'no_such_module'"),
    ("broken_spaces:Space", "cannot import search space 'broken_spaces:Space': RuntimeError: boom"),
    ("my_spaces:Nope", "cannot import search space 'my_spaces:Nope': 'my_spaces' has no attribute 'Nope'"),
    ("my_spaces:not_a_space", "'my_spaces:not_a_space' is not a search space: expected a subclass of "
                              "fgp.spaces.SearchSpace"),
    ("my_spaces:", "a search space's import path is 'package.module:Class', got 'my_spaces:'"),
    ("tiny_cnn", "unknown search space 'tiny_cnn'; choose one of .*, or give your own as 'package.module:Class'"),
])
def test_bad_import_paths_name_the_problem(path, message):
    with pytest.raises(ValueError, match=message):
        get_space(path)


def test_an_architecture_is_its_traced_network():
    space = get_space(PATH)
    state = torch.random.get_rng_state()
    graph = space.decode((3, 5, 8))
    assert torch.equal(torch.random.get_rng_state(), state)  # building the network drew no numbers of the caller's
    traced = from_torch(space.build((3, 5, 8)), (2, 3, 8, 8))
    assert graph == ArchGraph(traced.ops, traced.edges, VOCAB, traced.attrs) and graph.vocab == space.vocab
    assert graph.ops == ("input", "conv_3x3", "batch_norm", "relu", "conv_5x5", "relu", "global_avg_pool", "linear",
                         "output")
    assert space.decode((3, 5, 8)) is graph  # traced once
    assert space.decode((3, 5, 4)) != graph  # only the width differs: the channel ratios tell them apart
    assert space.identity((3, 5, 8)) != space.identity((3, 5, 4))


def test_ops_outside_the_vocabulary_and_missing_inputs_are_errors():
    with pytest.warns(UserWarning, match="LSTMCell"), pytest.raises(
            ValueError, match=r"holds \['other:LSTMCell'\], which the space's vocab lacks; add them: vocab = "
                              r"fgp.models.VOCAB \+ \('other:LSTMCell',\)"):
        get_space("my_spaces:WithCustomOp").decode((1, 1, 4))
    with pytest.raises(ValueError, match="my_spaces:WithoutInputs: set example_inputs"):
        get_space("my_spaces:WithoutInputs").decode(None)


def test_proxies_of_the_built_networks():
    space = get_space(PATH)
    values = space.proxies([(1, 1, 4), (5, 5, 8)], ["params", "synflow"])
    assert values["params"].tolist() == [sum(p.numel() for p in space.build(a).parameters())
                                         for a in [(1, 1, 4), (5, 5, 8)]]
    assert values["synflow"][1] > values["synflow"][0]


def test_predictor_fits_on_an_own_space_and_round_trips(tmp_path, small):
    from fgp.predictor import Predictor

    space = get_space(PATH)
    archs = list(space.enumerate())
    model = Predictor.for_space(PATH)
    model.fit(archs[::2], [score(a) for a in archs[::2]])  # pre-trains on all 18 (labels unused), params proxy
    info = model.info_
    assert info["pretrain"]["graphs"] == 18 and model.num_attrs_ == len(space.decode(archs[0]).attrs[0])
    assert len(model.draws_["r"]) == ModelSpace.surrogate[0]
    scores = model.predict(archs)
    model.save(tmp_path / "tiny.fgp")
    loaded = Predictor.load(tmp_path / "tiny.fgp")
    np.testing.assert_array_equal(loaded.predict(archs), scores)
    batch = GraphBatch.from_graphs([space.decode(a) for a in archs])
    np.testing.assert_array_equal(loaded.predict(batch), scores)
    plain = GraphBatch.from_graphs([ArchGraph(g.ops, g.edges, g.vocab) for g in map(space.decode, archs)])
    with pytest.raises(ValueError, match="archs have 0 node attributes but the predictor was built for 7"):
        loaded.predict(plain)
    with pytest.raises(ValueError, match="encoder_kwargs cannot set num_attrs"):
        Predictor(space=PATH, encoder_kwargs={"num_attrs": 3}).fit(archs, [score(a) for a in archs])


@pytest.mark.parametrize("algorithm", ["evolution", "local-predictor"])
def test_search_with_your_own_objective(algorithm, small):
    from fgp.search import search

    options = {"population": 4, "tournament": 2} if algorithm == "evolution" else {"initial": 4}
    space = get_space(PATH)
    trial = search(score, space=space, algorithm=algorithm, budget=12, seed=0, **options)
    assert len({q[0] for q in trial.queries}) == 12 and {q[0] for q in trial.queries} <= set(space.enumerate())
    assert [q[1] for q in trial.queries] == [score(q[0]) for q in trial.queries]
    assert trial.best[1] == max(q[1] for q in trial.queries)


def test_fit_and_predict_from_the_command_line(tmp_path, capsys, small):
    space = get_space(PATH)
    archs = list(space.enumerate())
    train = tmp_path / "train.csv"
    with train.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arch", "label"])
        writer.writerows([list(a), score(a)] for a in archs[:8])
    model = tmp_path / "tiny.fgp"
    assert main(["fit", "--space", PATH, "--train", str(train), "--out", str(model), "--quiet"]) == 0
    assert "fitted on 8 architectures, pre-trained on 18" in capsys.readouterr().err
    out = tmp_path / "scores.csv"
    assert main(["predict", "--model", str(model), "--space-all", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 18 and rows[0]["rank"] == "1"


@pytest.mark.parametrize("command", [
    ["fit", "--space", "no_such_module:Space", "--train", "t.csv", "--out", "m.fgp"],
    ["search", "--space", "no_such_module:Space", "--out", "s.jsonl"],
])
def test_a_bad_import_path_is_a_one_line_error(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err == ("fgp: error: cannot import search space 'no_such_module:Space': ModuleNotFoundError: No module "
                   "named 'no_such_module'\n")


def test_fgp_search_on_an_own_space_points_to_the_python_api(tmp_path, capsys):
    assert main(["search", "--space", PATH, "--out", str(tmp_path / "s.jsonl")]) == 2
    assert "fgp.search.search(your_objective, space=...)" in capsys.readouterr().err


def test_the_base_class_says_what_is_missing():
    class Bare(ModelSpace):
        pass

    assert Bare.name == f"{__name__}:test_the_base_class_says_what_is_missing.<locals>.Bare"
    with pytest.raises(NotImplementedError, match="build is not implemented"):
        Bare().build(None)
    with pytest.raises(NotImplementedError, match="sample is not implemented"):
        Bare().sample(np.random.default_rng(0))


def test_csv_architectures_are_json(tmp_path):
    """``fgp fit`` reads an architecture cell that parses as JSON as JSON: a tuple is written as a list."""
    from fgp.archfile import read_archs

    path = tmp_path / "a.csv"
    path.write_text(textwrap.dedent('''\
        arch,label
        "[3, 5, 8]",1.0
        "[3, 5, 8]",2.0
    '''))
    with pytest.raises(ValueError, match=r"a.csv:3: duplicate architecture \(first at line 2\)"):
        read_archs(path, PATH, labelled=True)
    path.write_text('arch,label\n"[3, 5, 8]",1.0\n"[3, 5, 4]",2.0\n')  # one graph, other channel ratios: no duplicate
    assert read_archs(path, PATH, labelled=True).archs == [[3, 5, 8], [3, 5, 4]]
