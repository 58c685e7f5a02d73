"""Property tests: whatever bytes a results file, a search file or a predictor file holds, reading it returns
records or raises ValueError naming the problem, never another exception (hypothesis, derandomized)."""

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fgp.results import read_results
from fgp.search import read_search

SETTINGS = dict(derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None)
GOOD = {"space": "nb201", "dataset": "cifar10", "label": "acc", "encoder": "gin", "pretrain": "none", "ratio": 0.01,
        "seed": 21, "permutation": 21, "config_id": "aaaaaaaaaa", "kendall_tau": 0.5, "spearman": 0.5,
        "precision_at_1": 0.5, "precision_at_5": 0.5, "precision_at_10": 0.5, "precision_at_50": 0.5,
        "best_val_tau": 0.5}
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=5), st.lists(st.integers(), max_size=3))
LINES = st.one_of(
    st.binary(max_size=40),
    st.builds(lambda k, v: json.dumps({**GOOD, k: v}).encode(), st.sampled_from(sorted(GOOD)), VALUES),
    st.builds(lambda k: json.dumps({x: y for x, y in GOOD.items() if x != k}).encode(), st.sampled_from(sorted(GOOD))),
    st.just(json.dumps(GOOD).encode()),
)
FILES = st.builds(lambda lines, tail: b"\n".join(lines) + tail, st.lists(LINES, max_size=5),
                  st.sampled_from([b"", b"\n", b"\n\n", b"\x00" * 8, b'{"kend']))


@settings(max_examples=300, **SETTINGS)
@given(data=FILES)
def test_results_and_search_files_parse_or_raise_value_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("f") / "r.jsonl"
    path.write_bytes(data)
    for read in (read_results, read_search):
        try:
            records = read(path)
        except ValueError:
            continue
        assert all(isinstance(r, dict) for r in records)
        if read is read_results:
            assert all(np.isfinite(r["kendall_tau"]) and -1 <= r["kendall_tau"] <= 1 for r in records)


@pytest.fixture(scope="module")
def saved_predictor(tmp_path_factory):
    from fgp.graph import ArchGraph
    from fgp.predictor import Predictor

    vocab = ("input", "output", "a", "b")
    graphs = [ArchGraph(["input", op, "output"], [(0, 1), (1, 2)], vocab) for op in "abab"]
    model = Predictor(pretrain=None, encoder_kwargs={"hidden": 4, "layers": 1}, finetune_kwargs={"epochs": 1})
    model.fit(graphs, [1.0, 2.0, 1.5, 2.5])
    path = tmp_path_factory.mktemp("p") / "model.fgp"
    model.save(path)
    return path.read_bytes(), model.model_.state_dict()


@settings(max_examples=150, **SETTINGS)
@given(cut=st.integers(0, 10**6), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 7)), max_size=3))
def test_altered_predictor_files_load_identically_or_raise_value_error(tmp_path_factory, saved_predictor, cut,
                                                                      flips):
    from fgp.predictor import Predictor

    saved, state = saved_predictor
    data = bytearray(saved[: max(1, cut % (len(saved) + 1))])
    for position, bit in flips:
        data[position % len(data)] ^= 1 << bit
    path = tmp_path_factory.mktemp("p") / "altered.fgp"
    path.write_bytes(bytes(data))
    try:
        loaded = Predictor.load(path)
    except ValueError:
        return
    # a change that loads (a flip in the archive's padding) left every weight as it was
    assert all(torch.equal(v, state[k]) for k, v in loaded.model_.state_dict().items())
