"""Search: every algorithm on a small space with a known optimum, the budget, no repeats, seeds, objectives, files."""

import json

import numpy as np
import pytest

from fgp.graph import ArchGraph
from fgp.search import (
    BenchmarkObjective,
    CallableObjective,
    create_searcher,
    list_searchers,
    read_search,
    run_searches,
    run_trial,
    search,
    search_table,
)
from fgp.search.base import uses_predictor
from fgp.spaces import get_space
from fgp.spaces.base import SPACES, SearchSpace

OPS = ("a", "b", "c", "d")


class ToySpace(SearchSpace):
    """Chains of 4 ops out of 4 (256 architectures); the optimum scores every op at its best ("d")."""

    vocab = ("input", "output", *OPS)
    surrogate = (4, 0.5)

    def decode(self, native):
        ops = [OPS[int(i)] for i in native]
        return ArchGraph(["input", *ops, "output"], [(i, i + 1) for i in range(len(ops) + 1)], self.vocab)

    def sample(self, rng):
        return tuple(int(i) for i in rng.integers(len(OPS), size=4))

    def neighbours(self, native):
        return [(*native[:i], op, *native[i + 1:]) for i in range(4) for op in range(len(OPS)) if op != native[i]]

    def mutate(self, native, rng):
        moves = self.neighbours(native)
        return moves[int(rng.integers(len(moves)))]

    def enumerate(self):
        return iter(np.ndindex(4, 4, 4, 4))


def score(native) -> float:
    return float(sum((i + 1) * op for i, op in enumerate(native)))  # (3, 3, 3, 3) is the unique optimum, 30


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))
    SPACES.register("toy-search")(ToySpace)
    yield ToySpace()
    SPACES._entries.pop("toy-search")


def toy_predictor():
    from fgp.predictor import Predictor

    return Predictor("gatedgcn", "fgp", space="toy-search", encoder_kwargs={"hidden": 8, "layers": 2},
                     pretrain_kwargs={"epochs": 2, "l2": 0.0}, finetune_kwargs={"epochs": 20, "lr": 1e-2})


def options(name):
    """A small predictor for every algorithm that takes one (found from its signature, so new ones are covered)."""
    return {"predictor": toy_predictor(), "initial": 5} if uses_predictor(name) else {}


@pytest.mark.parametrize("name", list_searchers())
def test_every_algorithm_finds_the_optimum_within_its_budget_and_never_repeats(toy, name):
    objective = CallableObjective(score, toy)
    budget = 256 if name == "random" else 120  # random search needs the whole space to be sure
    trial = run_trial(create_searcher(name, toy, seed=0, **options(name)), objective, budget)
    assert len(trial.queries) == budget  # never more than the budget
    keys = [toy.identity(a) for a, _, _ in trial.queries]
    assert len(set(keys)) == len(keys)  # no architecture twice
    assert trial.best[1] == 30.0 and tuple(trial.best[0]) == (3, 3, 3, 3)
    assert all(b is None for b in trial.best_so_far())  # a function reports nothing beyond what it scores
    so_far = trial.best_so_far(reported=False)
    assert so_far == sorted(so_far) and so_far[-1] == 30.0


@pytest.mark.parametrize("name", list_searchers())
def test_the_same_seed_gives_the_same_trial(toy, name):
    objective = CallableObjective(score, toy)
    runs = [run_trial(create_searcher(name, toy, seed=s, **options(name)), objective, 15).queries for s in (3, 3, 4)]
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_a_small_space_is_exhausted_with_a_clear_error(toy):
    from fgp.search import SearchExhausted

    with pytest.raises(SearchExhausted, match="no unqueried architecture"):
        run_trial(create_searcher("random", toy, seed=0), CallableObjective(score, toy), 257)


def test_a_user_function_that_raises_names_the_architecture(toy):
    def train(arch):
        if arch[0] == 2:
            raise RuntimeError("out of memory")
        return score(arch)

    with pytest.raises(ValueError, match=r"the objective raised on architecture \(2, .*RuntimeError: out of memory"):
        search(train, toy, algorithm="random", budget=200, seed=0)
    with pytest.raises(ValueError, match="scores must be finite"):
        search(lambda arch: float("nan"), toy, algorithm="random", budget=3)
    with pytest.raises(ValueError, match="needs the space to search"):
        search(score, algorithm="random", budget=3)
    with pytest.raises(ValueError, match="budget must be a positive integer"):
        search(score, toy, algorithm="random", budget=0)
    trial = search(score, toy, algorithm="evolution", budget=40, seed=1, population=10, tournament=3)
    assert len(trial.queries) == 40
    with pytest.raises(ValueError, match="tournament"):
        search(score, toy, algorithm="evolution", budget=4, population=3, tournament=5)


def test_search_files_resume_without_losing_or_repeating_a_trial(tmp_path):
    out = tmp_path / "runs.jsonl"
    first = run_searches("nbgraph", ["random", "local"], budget=15, trials=3, out=out, dataset="proteins")
    assert len(read_search(out)) == 6
    again = run_searches("nbgraph", ["random", "local"], budget=15, trials=3, out=out, dataset="proteins")
    assert again == first and len(read_search(out)) == 6  # nothing rerun
    # a run killed while writing its last line: the torn line goes, every finished trial stays
    data = out.read_bytes()
    out.write_bytes(data + data.splitlines(keepends=True)[0][:40])
    resumed = run_searches("nbgraph", ["random", "local"], budget=15, trials=4, out=out, dataset="proteins")
    records = read_search(out)
    assert len(records) == 8 and resumed[:3] == first[:3] and resumed[4:7] == first[3:]
    assert len({(r["algorithm"], r["trial"]) for r in records}) == 8
    # the reported value is the test label (perf) of the best architecture by validation (valid_perf), not the best
    # test label
    objective = BenchmarkObjective("nbgraph", "proteins")
    for r in records:
        best = max(r["queries"], key=lambda q: q[1])
        assert best[2] == objective.report(tuple(map(tuple, best[0])))
        assert best[1] == max(objective.query(tuple(map(tuple, q[0]))) for q in r["queries"])
    table = search_table(records, at=(5, 15))
    assert "| nbgraph | proteins | random | 4 |" in table and "| nbgraph | proteins | local | 4 |" in table
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"space": "nbgraph"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1 is not a search record"):
        run_searches("nbgraph", ["random"], budget=2, trials=1, out=bad, dataset="proteins")
    assert bad.read_text() == json.dumps({"space": "nbgraph"}) + "\n"  # untouched


@pytest.mark.data
def test_nb201_reports_the_test_accuracy_of_the_best_by_validation_cell():
    from fgp.datasets import load_benchmark

    objective = BenchmarkObjective("nb201")
    bench = load_benchmark("nb201")
    trial = run_trial(create_searcher("random", objective.space, seed=0), objective, 30)
    archs = [a for a, _, _ in trial.queries]
    rows = [list(bench.natives).index(a) for a in archs]
    valid, test = bench.columns["c10_valid_acc_200"][rows], bench.columns["c10_test_acc_200"][rows]
    assert [q for _, q, _ in trial.queries] == list(valid) and [r for _, _, r in trial.queries] == list(test)
    assert trial.best_so_far()[-1] == test[int(np.argmax(valid))]
    assert objective.best_possible() == (91.606667, 94.373333)


def test_cli_search_and_report(tmp_path, capsys):
    from fgp.cli import main

    out = tmp_path / "runs.jsonl"
    argv = ["search", "--space", "nbgraph", "--dataset", "proteins", "--algorithm", "random,evolution",
            "--budget", "12", "--trials", "2", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| nbgraph | proteins | random | 2 |" in printed and len(read_search(out)) == 4
    assert main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip() == printed.strip()
    for bad, message in ((["--algorithm", "bogo"], "unknown search algorithm(s) ['bogo']"),
                         (["--budget", "0"], "--budget must be a positive integer"),
                         (["--predictor", "oracle"], "--predictor must be fgp or supervised")):
        assert main([*argv[:-3], "--out", str(tmp_path / "x.jsonl"), *bad]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "x.jsonl").exists()


def test_overhead_is_timed_in_wall_and_cpu_seconds(toy):
    trial = search(score, toy, algorithm="local-predictor", budget=8, predictor=toy_predictor(), initial=4)
    assert 0 < trial.overhead_cpu_seconds and 0 < trial.overhead_seconds <= trial.seconds


def test_workers_run_the_same_trials_as_one_process(tmp_path):
    serial = run_searches("nbgraph", ["random", "evolution"], budget=10, trials=3, dataset="proteins")
    parallel = run_searches("nbgraph", ["random", "evolution"], budget=10, trials=3, dataset="proteins",
                            out=tmp_path / "runs.jsonl", workers=2)
    times = ("seconds", "overhead_seconds", "overhead_cpu_seconds")
    assert [{k: v for k, v in r.items() if k not in times} for r in parallel] == [
        {k: v for k, v in json.loads(json.dumps(r)).items() if k not in times} for r in serial]
    assert len(read_search(tmp_path / "runs.jsonl")) == 6


class LineSpace(ToySpace):
    """Architectures 0..63 on a line whose only mutation is one step right: a parent's one neighbour is soon
    queried, as in NB101's table, where most cells have few neighbours inside the table."""

    def decode(self, native):
        return super().decode(tuple((native >> shift) & 3 for shift in (0, 2, 4)))

    def sample(self, rng):
        return int(rng.integers(64))

    def neighbours(self, native):
        return [(native + 1) % 64]

    def mutate(self, native, rng):
        return (native + 1) % 64


def test_evolution_mutates_a_queried_child_again_instead_of_giving_up():
    trial = search(lambda arch: -float(arch), LineSpace(), algorithm="evolution", budget=30, seed=0, population=2,
                   tournament=2)  # the best parent stays the lowest cell; its neighbour is queried at once
    archs = [q[0] for q in trial.queries]
    assert len(set(archs)) == 30
    parent = max(archs[:2], key=lambda a: -a)
    assert archs[2] == (parent + 1) % 64 or (parent + 1) % 64 in archs[:2]


class PairSpace(LineSpace):
    """Cells in pairs that are each other's only neighbour: a walk from a queried pair never leaves it."""

    def neighbours(self, native):
        return [native ^ 1]

    def mutate(self, native, rng):
        return native ^ 1


def test_evolution_draws_a_random_child_when_every_walk_stays_among_queried_cells():
    trial = search(lambda arch: -float(arch), PairSpace(), algorithm="evolution", budget=30, seed=0, population=2,
                   tournament=2)
    assert len({q[0] for q in trial.queries}) == 30


def test_search_predictors_pretrain_on_the_surrogate_alone_unless_told_otherwise():
    from fgp.search.predictive import SEARCH_PRETRAIN, make_predictor

    space = get_space("nb201")
    assert SEARCH_PRETRAIN == {"l2": 0.0}
    assert make_predictor(space, "fgp", 0, None).pretrain_kwargs["l2"] == 0.0
    assert make_predictor(space, "fgp", 0, None, {}).pretrain_kwargs.get("l2", 0.5) == 0.5  # the recipe's L_aux
    assert make_predictor(space, "supervised", 0, None).pretrain is None
    with pytest.raises(ValueError, match="use them with predictor='fgp'"):
        make_predictor(space, "supervised", 0, None, {"l2": 0.0})


def test_a_benchmark_search_proposes_architectures_in_the_tables_own_encoding():
    """NAS-Bench-Graph writes one architecture several ways; a neighbour in another encoding would decode to a
    renumbered graph, which a predictor would take for a new one (and pre-train again)."""
    objective = BenchmarkObjective("nbgraph", "proteins")
    space, rng = objective.space, np.random.default_rng(0)
    table = {repr(a) for a in space.natives}
    renumbered = 0
    for _ in range(20):
        arch = space.sample(rng)
        for b in space.base.neighbours(arch):
            row = space.row(b)
            renumbered += row is not None and space.decode(b) != space.decode(space.natives[row])
        assert all(repr(b) in table for b in space.neighbours(arch))
        assert repr(space.mutate(arch, rng)) in table
    assert renumbered > 0  # the case this guards against occurs


def test_trial_labels_name_the_predictor_and_its_pretraining_options():
    from fgp.search.run import trial_label

    assert trial_label({"algorithm": "local", "options": {}}) == "local"
    assert trial_label({"algorithm": "npenas", "options": {"predictor": "supervised"}}) == "npenas (supervised)"
    fgp = {"algorithm": "local-predictor", "options": {"predictor": "fgp", "pretrain_kwargs": {"l2": 0.0}}}
    assert trial_label(fgp) == "local-predictor (fgp, l2=0.0)"
    fgp["options"]["pretrain_kwargs"] = {}
    assert trial_label(fgp) == "local-predictor (fgp, recipe's pre-training)"
