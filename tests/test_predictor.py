"""The Predictor: fit/predict, errors, determinism, the safe save format and its rejection of bad files."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch, graph_keys, join_unseen
from fgp.encoders import list_encoders
from fgp.graph import ArchGraph
from fgp.predictor import FORMAT_VERSION, NotFittedError, Predictor
from fgp.pretrain import create_pretext, list_pretexts
from fgp.spaces import get_space


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))


def nb201(n: int, seed: int = 0) -> tuple[list[ArchGraph], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    space = get_space("nb201")
    graphs = [space.decode(space.sample(rng)) for _ in range(n)]
    value = {"none": 0.0, "skip_connect": 1.0, "avg_pool_3x3": 0.5, "nor_conv_1x1": 2.0, "nor_conv_3x3": 3.0}
    y = np.array([sum(value.get(op, 0.0) for op in g.ops) for g in graphs]) + rng.normal(0, 0.2, n)
    params = np.array([sum(op.startswith("nor_conv") for op in g.ops) for g in graphs], dtype=float)
    return graphs, y, params


SMALL = dict(
    unlabeled="train",  # no space: pre-training sees the labelled graphs unless given unlabelled ones
    encoder_kwargs={"hidden": 16, "layers": 2},
    pretrain_kwargs={"epochs": 2, "batch_size": 32},
    finetune_kwargs={"epochs": 3},
)


# the smallest networks of each encoder worth testing
TINY_ENCODERS = {
    "gatedgcn": SMALL["encoder_kwargs"],
    "gin": {"hidden": 16, "layers": 2},
    "flowerformer": {"dim": 16, "num_layers": 2, "num_heads": 4},
    "mlp": {"hidden": 16, "layers": 2, "max_nodes": 8},
    "transformer": {"dim": 16, "num_layers": 2, "num_heads": 4},
    "digcn": {"hidden": 16, "layers": 2},
}


def fitted(pretrain="fgp", seed=0, encoder="gatedgcn", **kw) -> tuple[Predictor, list[ArchGraph]]:
    graphs, y, params = nb201(40)
    unl, _, unl_params = nb201(60, seed=1)
    kw = {**SMALL, "encoder_kwargs": TINY_ENCODERS[encoder], **kw}
    pred = Predictor(encoder, pretrain=pretrain, seed=seed, **kw)
    pretraining = dict(unlabeled=unl, proxy_values=params[:30], unlabeled_proxy_values=unl_params) if pretrain else {}
    pred.fit(graphs[:30], y[:30], val_archs=graphs[30:], val_y=y[30:], **pretraining)
    return pred, graphs


def test_predict_before_fit_is_a_clear_error():
    pred = Predictor()
    with pytest.raises(NotFittedError, match="not fitted"):
        pred.predict(nb201(3)[0])
    with pytest.raises(ValueError, match="not fitted"):  # NotFittedError is a ValueError
        pred.save("x.pt")


@pytest.mark.parametrize("params, message", [
    ({"encoder": "mlp-9000"}, "unknown encoder 'mlp-9000'"),
    ({"pretrain": "no-such-task"}, "unknown pre-training 'no-such-task'"),
    ({"finetune_kwargs": {"epoch": 3}}, r"unknown option\(s\) \['epoch'\] of fine-tuning"),
    ({"pretrain_kwargs": {"lambda1": 1.0}}, r"unknown option\(s\) \['lambda1'\] of pretext task 'fgp'; known: alpha"),
    ({"encoder": "gin", "encoder_kwargs": {"hidden": "64"}}, "option 'hidden' of encoder 'gin' takes an integer"),
    ({"space": "nb999"}, "unknown search space 'nb999'"),
    ({"space": "nb201", "space_options": {"prune": True}}, r"unknown option\(s\) \['prune'\] of search space"),
    ({"space_options": {"pruned": True}}, "space_options choose the graphs of a space: set space as well"),
    ({"space": "nb201", "dataset": "imagenet"}, "unknown dataset 'imagenet' of nb201"),
    ({"unlabeled": "all"}, "unlabeled must be one of"),
    ({"unlabeled_size": 0}, "unlabeled_size must be a positive integer"),
    ({"ensemble": 0}, "ensemble must be a positive integer"),
    ({"ensemble": 10**6}, "ensemble must be at most 100 score models"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"head_hidden": 1.5}, "head_hidden must be an integer >= 0"),
    ({"encoder_kwargs": [("hidden", 8)]}, "encoder_kwargs must be a dict or None"),
    ({"space": "tnb101_macro"}, "no surrogate defaults for space 'tnb101_macro'"),
])
def test_parameters_are_stored_as_given_and_validated_in_fit(params, message):
    """scikit-learn's convention: the constructor stores, ``fit`` validates, before any data is used."""
    pred = Predictor(**params)
    assert {k: pred.get_params()[k] for k in params} == params
    with pytest.raises(ValueError, match=message):
        pred.fit(["never", "read"], [1.0, 2.0], progress=lambda *a: pytest.fail("work started"))


def test_get_params_round_trips_through_the_constructor_for_every_parameter():
    import inspect

    names = [p for p in inspect.signature(Predictor.__init__).parameters if p != "self"]
    values = dict(encoder="gin", pretrain="zc", space="nb101", space_options={}, dataset="cifar10", proxy="snip",
                  proxy_network={"stem_channels": 16}, unlabeled="train", unlabeled_size=5,
                  encoder_kwargs={"hidden": 8}, pretrain_kwargs={"epochs": 1}, finetune_kwargs={"epochs": 2},
                  head_hidden=0, ensemble=2, seed=3,
                  device="cpu", cache=False)
    assert sorted(values) == sorted(names)  # every parameter is covered here
    pred = Predictor(**values)
    assert pred.get_params() == values and Predictor(**pred.get_params()).get_params() == values
    for name in names:  # set_params reaches each one
        other = Predictor().set_params(**{name: values[name]})
        assert other.get_params()[name] == values[name]
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['epochs'\] of Predictor"):
        Predictor().set_params(epochs=3)


def test_nan_labels_are_counted():
    graphs, y, _ = nb201(10)
    y[[0, 3, 7]] = np.nan
    with pytest.raises(ValueError, match="3 NaN"):
        Predictor(pretrain=None, **{k: v for k, v in SMALL.items() if k != "pretrain_kwargs"}).fit(graphs, y)


def test_labels_and_validation_set_are_checked_before_pretraining():
    graphs, y, params = nb201(30)
    calls = []
    fit = Predictor("gatedgcn", pretrain="fgp", **SMALL).fit
    kw = dict(proxy_values=params[:20], progress=lambda *a: calls.append(a))
    with pytest.raises(ValueError, match=r"^y is constant: no pair of architectures can be ranked, so the score head"):
        fit(graphs[:20], np.ones(20), **kw)
    with pytest.raises(ValueError, match="^val_y has 1 value: validation Kendall tau needs at least 2 architectures$"):
        fit(graphs[:20], y[:20], val_archs=graphs[20:21], val_y=y[20:21], **kw)
    with pytest.raises(ValueError, match="^val_y is constant: validation Kendall tau would be 0 at every epoch; pass"):
        fit(graphs[:20], y[:20], val_archs=graphs[20:], val_y=np.full(10, 0.7), **kw)
    assert calls == []  # no epoch of pre-training ran
    # two distinct labels are enough
    fit(graphs[:20], np.r_[np.zeros(19), 1.0], val_archs=graphs[20:22], val_y=[1.0, 2.0], **kw)
    assert calls


def test_arguments_that_would_be_unused_are_rejected():
    graphs, y, params = nb201(20)
    supervised = Predictor(pretrain=None, **{k: v for k, v in SMALL.items() if k != "pretrain_kwargs"})
    unused = "would be unused: only pre-training uses them, and pretrain=None$"
    with pytest.raises(ValueError, match=f"^unlabeled {unused}"):
        supervised.fit(graphs, y, unlabeled=graphs)
    with pytest.raises(ValueError, match=f"^proxy_values, unlabeled_proxy_values {unused}"):
        supervised.fit(graphs, y, proxy_values=params, unlabeled_proxy_values=params)
    no_aux = Predictor(pretrain="fgp", **{**SMALL, "pretrain_kwargs": {**SMALL["pretrain_kwargs"], "l2": 0}})
    unused = "would be unused: fgp pre-training with these pretrain_kwargs ranks no zero-cost proxy$"
    with pytest.raises(ValueError, match=f"^proxy_values {unused}"):
        no_aux.fit(graphs, y, proxy_values=params)
    with pytest.raises(ValueError, match=f"^unlabeled_proxy_values {unused}"):
        no_aux.fit(graphs[:10], y[:10], unlabeled=graphs, unlabeled_proxy_values=params)
    no_aux.fit(graphs[:10], y[:10], unlabeled=graphs)  # L_rec pre-trains on the unlabelled graphs
    assert no_aux.info_["pretrain"]["graphs"] == 20


def test_a_proxy_for_only_one_set_of_graphs_is_rejected_even_when_nothing_is_new():
    graphs, y, params = nb201(20)
    both = "^pass a proxy \\(proxy_values and unlabeled_proxy_values\\) for both sets of graphs, or for neither$"
    calls = []
    pred = Predictor("gatedgcn", pretrain="fgp", **SMALL)
    # every labelled graph is among the unlabelled ones: the labelled proxy alone must not be silently dropped
    with pytest.raises(ValueError, match=both):
        pred.fit(graphs, y, unlabeled=graphs, proxy_values=params, progress=lambda *a: calls.append(a))
    with pytest.raises(ValueError, match=both):
        pred.fit(graphs, y, unlabeled=graphs, unlabeled_proxy_values=params, progress=lambda *a: calls.append(a))
    assert calls == []
    pred.fit(graphs, y, unlabeled=graphs, proxy_values=params, unlabeled_proxy_values=params)
    assert pred.info_["pretrain"]["graphs"] == 20


def test_bad_devices_are_value_errors(tmp_path):
    pred, _ = fitted(pretrain=None)
    path = tmp_path / "p.pt"
    pred.save(path)
    bad = "^device 'gpu' is not a torch device; use cpu, cuda or cuda:N$"
    with pytest.raises(ValueError, match=bad):
        Predictor(device="gpu").resolved_config()
    with pytest.raises(ValueError, match=bad):
        Predictor.load(path, device="gpu")
    on_cpu = Predictor.load(path, device=torch.device("cpu"))
    assert all(t.device.type == "cpu" for t in on_cpu.model_.state_dict().values())
    np.testing.assert_array_equal(on_cpu.predict(nb201(40)[0]), pred.predict(nb201(40)[0]))
    if not torch.cuda.is_available():
        no_cuda = "^device 'cuda': CUDA is not available on this machine$"
        with pytest.raises(ValueError, match=no_cuda):
            Predictor(device="cuda").resolved_config()
        with pytest.raises(ValueError, match=no_cuda):
            Predictor.load(path, device="cuda")
    else:
        with pytest.raises(ValueError, match=f"^device 'cuda:{torch.cuda.device_count()}' is not usable on this"):
            Predictor(device=f"cuda:{torch.cuda.device_count()}").resolved_config()


@pytest.mark.parametrize("pretrain", [None, "fgp", "zc"])
def test_fit_predict_and_info(pretrain):
    pred, graphs = fitted(pretrain)
    scores = pred.predict(graphs)
    assert scores.shape == (40,) and scores.dtype == np.float64 and np.isfinite(scores).all()
    assert pred.info_["finetune"]["best_epoch"] in (1, 2, 3)
    if pretrain is None:
        assert pred.draws_ is None and "pretrain" not in pred.info_
    else:
        # the 30 labelled graphs that are not among the 60 unlabelled ones are added to the pre-training set
        assert pred.info_["pretrain"]["graphs"] == 90
        assert (pred.draws_ is not None) == (pretrain == "fgp")


@pytest.mark.parametrize("pretrain", [n for n in list_pretexts() if not create_pretext(n).ranks_proxy])
def test_a_task_that_ranks_no_proxy_pretrains_on_the_unlabelled_set_without_one(pretrain, monkeypatch):
    graphs, y, params = nb201(40)
    unl, _, _ = nb201(60, seed=1)
    monkeypatch.setattr(Predictor, "_proxy_values", lambda *a, **k: pytest.fail("a proxy was computed"))
    pred = Predictor("gatedgcn", pretrain=pretrain, **SMALL)
    assert pred.resolved_config()["proxy"] is None
    pred.fit(graphs[:30], y[:30], unlabeled=unl)
    assert pred.info_["pretrain"]["graphs"] == 90 and pred.draws_ is None
    assert np.isfinite(pred.predict(graphs)).all()
    with pytest.raises(ValueError, match=f"^proxy_values would be unused: {pretrain} pre-training with these "):
        pred.fit(graphs[:30], y[:30], proxy_values=params[:30])


def test_learns_labels_that_depend_on_the_ops_far_better_than_shuffled_ones():
    """Fitted on 100 labelled cells (a per-op value summed over the cell, plus noise), the ranking of 200 held-out
    cells follows the labels (tau ~0.9); the same fit on shuffled labels does not (mean tau ~0.07 over 3
    shuffles, each below 0.7)."""
    from fgp.metrics import kendall_tau

    graphs, y, _ = nb201(300)
    train, test = slice(0, 100), slice(100, None)

    def held_out_tau(labels) -> float:
        pred = Predictor("gatedgcn", pretrain=None, encoder_kwargs=SMALL["encoder_kwargs"],
                         finetune_kwargs={"epochs": 20, "lr": 3e-3})
        return kendall_tau(pred.fit(graphs[train], labels).predict(graphs[test]), y[test])

    real = held_out_tau(y[train])
    rng = np.random.default_rng(0)
    shuffled = [held_out_tau(rng.permutation(y[train])) for _ in range(3)]
    assert real > 0.8, (real, shuffled)
    assert real - np.mean(shuffled) > 0.4, (real, shuffled)


def test_labelled_graphs_already_in_the_unlabelled_set_are_not_repeated():
    graphs, y, params = nb201(30)
    pred = Predictor("gatedgcn", pretrain="fgp", **SMALL)
    pred.fit(graphs[:10], y[:10], unlabeled=GraphBatch.from_graphs(graphs), proxy_values=params[:10],
             unlabeled_proxy_values=params)
    assert pred.info_["pretrain"]["graphs"] == 30
    # ... so every split of the same space shares one pre-training (one cache entry)
    other = Predictor("gatedgcn", pretrain="fgp", **SMALL)
    other.fit(graphs[10:25], y[10:25], unlabeled=graphs, proxy_values=params[10:25], unlabeled_proxy_values=params)
    assert other.info_["pretrain"]["cached"] and other.info_["pretrain"]["key"] == pred.info_["pretrain"]["key"]


def test_graph_keys_and_concat():
    graphs, _, _ = nb201(6)
    a, b = GraphBatch.from_graphs(graphs[:4]), GraphBatch.from_graphs(graphs[4:])
    joined = a.concat(b)
    ref = GraphBatch.from_graphs(graphs)
    for name in ("op_index", "edge_index", "batch", "generation", "node_ptr", "edge_ptr"):
        assert torch.equal(getattr(joined, name), getattr(ref, name)), name
    keys = graph_keys(ref)
    assert keys == graph_keys(a) + graph_keys(b)
    same = [g.canonical_hash() == h.canonical_hash() and g.edges == h.edges and g.ops == h.ops
            for g, h in zip(graphs, graphs[1:] + graphs[:1])]
    assert [k1 == k2 for k1, k2 in zip(keys, keys[1:] + keys[:1])] == same


def test_graph_keys_do_not_depend_on_the_batch_and_join_unseen_skips_duplicates():
    space = get_space("nb201", pruned=True)  # 3 to 8 nodes per cell
    rng = np.random.default_rng(1)
    graphs = [space.decode(space.sample(rng)) for _ in range(40)]
    sizes = [g.num_nodes for g in graphs]
    assert min(sizes) < max(sizes)
    full = GraphBatch.from_graphs(graphs)
    keys = graph_keys(full)
    assert keys == [graph_keys(GraphBatch.from_graphs([g]))[0] for g in graphs]
    distinct = {(tuple(g.ops), tuple(g.edges)) for g in graphs}
    assert len(set(keys)) == len(distinct)
    small = [i for i, n in enumerate(sizes) if n < max(sizes)]
    values = np.arange(40.0)
    assert join_unseen(full, values, full.subset(small), values[small]) == (full, values)
    extra = GraphBatch.from_graphs([space.decode(space.sample(rng)) for _ in range(5)])
    joined, joined_values = join_unseen(full.subset(small), values[small], full.concat(extra), np.arange(45.0))
    new = [k not in set(graph_keys(full)) for k in graph_keys(extra)]
    assert joined.num_graphs == len(small) + (40 - len(small)) + sum(new)
    np.testing.assert_array_equal(joined_values[len(small):len(small) + 40 - len(small)],
                                  [v for i, v in enumerate(values) if i not in small])
    with pytest.raises(ValueError, match="pass a proxy for both sets of graphs, or for neither"):
        join_unseen(full.subset(small), None, full, values, what="proxy")
    with pytest.raises(ValueError, match="pass a proxy for both sets of graphs, or for neither"):
        join_unseen(full, None, full.subset(small), values[small], what="proxy")  # nothing new, values still given
    assert join_unseen(full, None, full.subset(small), None) == (full, None)


def test_same_seed_same_numbers_other_seed_other_numbers():
    p1, graphs = fitted(seed=3)
    p2, _ = fitted(seed=3)
    p3, _ = fitted(seed=4)
    np.testing.assert_array_equal(p1.predict(graphs), p2.predict(graphs))
    assert not np.array_equal(p1.predict(graphs), p3.predict(graphs))


def test_predict_batch_size_does_not_change_predictions():
    pred, graphs = fitted(pretrain=None)
    full = pred.predict(graphs)
    np.testing.assert_allclose(pred.predict(graphs, batch_size=3), full, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pred.predict(GraphBatch.from_graphs(graphs)), full, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "encoder, pretrain, head_hidden",
    [(e, p, None) for e in list_encoders() for p in (None, "fgp")] + [("flowerformer", "fgp", 0)],
)
def test_save_load_round_trip(encoder, pretrain, head_hidden, tmp_path):
    pred, graphs = fitted(pretrain, encoder=encoder, head_hidden=head_hidden)
    path = tmp_path / "p.pt"
    pred.save(path)
    back = Predictor.load(path)
    np.testing.assert_array_equal(back.predict(graphs), pred.predict(graphs))
    assert back.get_params() == pred.get_params()
    assert (back.encoder, back.pretrain, back.head_hidden) == (encoder, pretrain, head_hidden)
    assert back.vocab_ == pred.vocab_ == get_space("nb201").vocab
    assert back.draws_ == pred.draws_
    if pretrain is None:
        assert back.draws_ is None
    else:
        assert len(back.draws_["r"]) == 7 and back.draws_["alpha"] == 0.5
    assert back.info_ == json.loads(json.dumps(pred.info_))
    state = pred.model_.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in back.model_.state_dict().items())
    # the file is tensors + JSON strings only: the restricted unpickler reads it
    payload = torch.load(path, weights_only=True)
    assert json.loads(payload["vocab"]) == list(pred.vocab_)
    assert payload["format_version"] == FORMAT_VERSION


def test_vocabulary_mismatch_at_predict(tmp_path):
    pred, _ = fitted(pretrain=None)
    vocab = ("input", "output", "conv")
    other = [ArchGraph(["input", "conv", "output"], [(0, 1), (1, 2)], vocab)]
    with pytest.raises(ValueError, match="vocabulary"):
        pred.predict(other)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_bad_files_are_rejected_with_value_error(tmp_path, capfd):
    pred, _ = fitted(pretrain=None)
    good = tmp_path / "good.pt"
    pred.save(good)
    data = good.read_bytes()

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a predictor at all" * 10)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"format": "fgp-predictor", "x": _Evil()}))
    code = tmp_path / "code.pt"
    torch.save({"format": "fgp-predictor", "x": _Evil()}, code)
    for path in (truncated, garbage, evil, code):
        with pytest.raises(ValueError, match="not a readable fgp predictor"):
            Predictor.load(path)
    assert "must never run" not in capfd.readouterr().out  # the pickled callable was refused, not called

    payload = torch.load(good, weights_only=True)
    cases = {
        "version": ({**payload, "format_version": 99}, "format version 99"),
        "format": ({**payload, "format": "other"}, "not an fgp predictor"),
        "state": ({**payload, "state_dict": {"head.0.weight": torch.zeros(2, 2)}}, "damaged or mismatched"),
        "params": ({**payload, "params": "{not json"}, "damaged or mismatched"),
        "unknown": ({**payload, "params": json.dumps({"epochs": 3})}, "damaged or mismatched"),
        "missing": ({k: v for k, v in payload.items() if k != "vocab"}, "damaged or mismatched"),
    }
    for name, (bad, match) in cases.items():
        path = tmp_path / f"{name}.pt"
        torch.save(bad, path)
        with pytest.raises(ValueError, match=match):
            Predictor.load(path)
    with pytest.raises(ValueError, match="no predictor file"):
        Predictor.load(tmp_path / "absent.pt")


def test_altered_predictor_files_are_refused_before_any_model_is_built(tmp_path):
    """A flipped bit fails the checksum; a file re-checksummed after the change (a crafted one) is refused for
    non-finite weights, a wrong dtype, or parameters its weights do not fit, checked on the meta device before
    anything is allocated."""
    from fgp.io import content_digest

    pred, graphs = fitted(pretrain=None)
    good = tmp_path / "good.pt"
    pred.save(good)
    payload = torch.load(good, weights_only=True)
    texts = {k: payload[k] for k in ("params", "representation", "info", "vocab", "draws")}

    def save(name, state=None, **changes):
        state = payload["state_dict"] if state is None else state
        texts_now = {**texts, **changes}
        path = tmp_path / name
        torch.save({**payload, **texts_now, "state_dict": state, "checksum": content_digest(texts_now, state)}, path)
        return path

    weight = next(k for k in payload["state_dict"] if k.endswith("weight"))
    flipped = {**payload["state_dict"], weight: payload["state_dict"][weight].clone()}
    flipped[weight].view(torch.int32)[0] ^= 1 << 20
    path = tmp_path / "flipped.pt"
    torch.save({**payload, "state_dict": flipped}, path)
    with pytest.raises(ValueError, match="checksum does not match its content"):
        Predictor.load(path)
    inf = {**payload["state_dict"], weight: payload["state_dict"][weight].clone()}
    inf[weight][0, 0] = float("inf")
    with pytest.raises(ValueError, match=f"weight {weight} holds non-finite values"):
        Predictor.load(save("inf.pt", inf))
    ints = {**payload["state_dict"], weight: payload["state_dict"][weight].long()}
    with pytest.raises(ValueError, match=f"weight {weight} has dtype torch.int64"):
        Predictor.load(save("int.pt", ints))
    params = json.loads(texts["params"])
    huge = json.dumps({**params, "encoder_kwargs": {**params["encoder_kwargs"], "hidden": 20000}})
    with pytest.raises(ValueError, match="its weights do not fit its parameters"):
        Predictor.load(save("huge.pt", params=huge))
    np.testing.assert_array_equal(Predictor.load(save("same.pt")).predict(graphs), pred.predict(graphs))


def test_ensemble_averages_members_fine_tuned_from_one_pretrained_encoder(tmp_path):
    from fgp.finetune import ScoreEnsemble, predict_scores
    from fgp.metrics import kendall_tau

    single, graphs = fitted()
    pred, _ = fitted(ensemble=3)
    assert isinstance(pred.model_, ScoreEnsemble) and len(pred.model_.members) == 3
    # member 0 is exactly the single predictor of the same seed; the others differ (own head seed and batches)
    batch = GraphBatch.from_graphs(graphs)
    member_scores = [predict_scores(m, batch).double().numpy() for m in pred.model_.members]
    np.testing.assert_array_equal(member_scores[0], single.predict(graphs))
    assert not np.array_equal(member_scores[0], member_scores[1])
    np.testing.assert_allclose(pred.predict(graphs), np.mean(member_scores, axis=0), rtol=0, atol=1e-6)
    info = pred.info_["finetune"]
    assert len(info["best_epoch"]) == 3
    assert info["best_val_tau"] == pytest.approx(kendall_tau(pred.predict(graphs[30:]), nb201(40)[1][30:]))
    path = tmp_path / "ens.pt"
    pred.save(path)
    loaded = Predictor.load(path)
    assert loaded.ensemble == 3
    np.testing.assert_array_equal(loaded.predict(graphs), pred.predict(graphs))


@pytest.mark.parametrize("space", ["nb201", "nb101", "nbgraph", "nb301"])
def test_for_space_has_the_settings_experiments_run_with(space):
    """``Predictor.for_space`` is what ``fgp experiment`` builds for a run on that space; options go over it."""
    from fgp.experiment import ExperimentConfig

    for encoder in list_encoders():
        for pretrain in (None, "zc", "fgp"):
            grid = ExperimentConfig(space=space, encoders=(encoder,), pretrains=(pretrain,))
            run = grid.run_config(encoder, pretrain)
            model = Predictor.for_space(space, encoder, pretrain)
            assert {**model.resolved_config(), "transductive": run["transductive"],
                    "pretrain_dataset": None} == run
            assert model.space == space
    mine = Predictor.for_space(space, "gatedgcn", "fgp", encoder_kwargs={"layers": 2},
                               finetune_kwargs={"epochs": 7}, seed=4, ensemble=2)
    assert mine.encoder_kwargs["layers"] == 2 and mine.finetune_kwargs["epochs"] == 7
    assert mine.seed == 4 and mine.ensemble == 2


def test_for_space_rejects_what_the_experiments_reject():
    with pytest.raises(ValueError, match="unknown encoder 'gcn'"):
        Predictor.for_space("nb201", "gcn")
    with pytest.raises(ValueError, match="unknown option"):
        Predictor.for_space("nb201", finetune_kwargs={"epoch": 3}).resolved_config()
    with pytest.raises(ValueError, match="nb999"):
        Predictor.for_space("nb999")


NB201_SMALL = dict(encoder_kwargs={"hidden": 16, "layers": 2}, pretrain_kwargs={"epochs": 1, "batch_size": 512},
                   finetune_kwargs={"epochs": 3})


def nb201_strings(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    space = get_space("nb201")
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(n)))
    return archs, np.array([sum(3.0 * ("conv_3x3" in p) + ("conv_1x1" in p) for p in a.split("|")) for a in archs])


@pytest.mark.parametrize("pretrain", [None, "fgp"])
def test_fit_and_predict_on_native_architectures_equal_the_graph_path(pretrain):
    """Arch strings are decoded into the predictor's representation (NB201: pruned graphs); the same fit on those
    graphs, with the same unlabelled set and proxy values, gives the same numbers."""
    from fgp.proxies import compute_proxies
    from fgp.spaces import representation

    archs, y = nb201_strings(40)
    unl, _ = nb201_strings(200, seed=1)
    kw = dict(NB201_SMALL, pretrain_kwargs=NB201_SMALL["pretrain_kwargs"] if pretrain else None)
    native = Predictor.for_space("nb201", "gatedgcn", pretrain, **kw).fit(archs[:30], y[:30],
                                                                          unlabeled=unl if pretrain else None)
    pruned = get_space("nb201", pruned=True)
    graphs = GraphBatch.from_graphs([pruned.decode(a) for a in archs]).with_representation(
        representation("nb201", {"pruned": True}))
    extra = {}
    if pretrain:
        snip = compute_proxies("nb201", archs + unl, ["snip"], progress=False)["snip"]
        extra = dict(unlabeled=GraphBatch.from_graphs([pruned.decode(a) for a in unl]), proxy_values=snip[:30],
                     unlabeled_proxy_values=snip[40:])
    by_graphs = Predictor.for_space("nb201", "gatedgcn", pretrain, **kw).fit(graphs.subset(range(30)), y[:30], **extra)
    np.testing.assert_array_equal(native.predict(archs), by_graphs.predict(graphs))
    assert native.representation_ == "nb201(pruned=True)"
    ranking = native.rank(archs[30:], top=3)
    scores = native.predict(archs[30:])
    assert [i for i, _ in ranking] == list(np.argsort(-scores, kind="stable")[:3])
    assert [s for _, s in ranking] == sorted(scores, reverse=True)[:3]
    with pytest.raises(ValueError, match=r"archs\[1\] is not a nb201 architecture"):
        native.predict([archs[0], "|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(ValueError, match="top must be a positive integer"):
        native.rank(archs, top=0)


@pytest.mark.parametrize("encoder", list_encoders())
def test_every_encoder_fits_and_predicts_nb201_architectures_with_fgp(encoder):
    archs, y = nb201_strings(40)
    unl, _ = nb201_strings(100, seed=1)
    pred = Predictor(encoder, pretrain="fgp", space="nb201", encoder_kwargs=TINY_ENCODERS[encoder],
                     pretrain_kwargs={"epochs": 1, "batch_size": 64}, finetune_kwargs={"epochs": 2})
    pred.fit(archs[:30], y[:30], unlabeled=unl)
    scores = pred.predict(archs[30:])
    assert scores.shape == (len(archs) - 30,) and np.isfinite(scores).all() and np.unique(scores).size > 1
    assert pred.info_["pretrain"]["graphs"] >= len(unl)
    np.testing.assert_allclose(pred.predict(archs[35:]), scores[5:], rtol=1e-6, atol=1e-6)  # alone = in a batch


def test_the_whole_space_is_the_default_unlabelled_set(monkeypatch):
    """Without unlabelled architectures, pre-training sees every architecture of an enumerable space (here a
    stand-in enumeration of 300 cells) or a seeded sample of ``unlabeled_size`` of the others."""
    from fgp.spaces import space_class

    archs, y = nb201_strings(30)
    some, _ = nb201_strings(300, seed=2)
    monkeypatch.setattr(space_class("nb201"), "enumerate", lambda self: iter(some))
    pred = Predictor.for_space("nb201", **NB201_SMALL).fit(archs, y)
    pruned = get_space("nb201", pruned=True)
    known = set(graph_keys(GraphBatch.from_graphs([pruned.decode(a) for a in some])))
    new = [k not in known for k in graph_keys(GraphBatch.from_graphs([pruned.decode(a) for a in archs]))]
    assert pred.info_["pretrain"]["graphs"] == len(some) + sum(new) and sum(new) > 0
    nb101 = Predictor.for_space("nb101", pretrain_kwargs={"epochs": 1, "l2": 0.0}, unlabeled_size=50,
                                encoder_kwargs={"hidden": 8, "layers": 1}, finetune_kwargs={"epochs": 1})
    rng = np.random.default_rng(0)
    cells = [get_space("nb101").sample(rng) for _ in range(10)]
    nb101.fit(cells, np.arange(10.0))
    assert 50 <= nb101.info_["pretrain"]["graphs"] <= 60
    key = nb101.info_["pretrain"]["key"]
    other_seed = nb101.set_params(seed=7).fit(cells, np.arange(10.0))  # the sample follows pre-training's seed
    assert other_seed.info_["pretrain"]["key"] == key and other_seed.info_["pretrain"]["cached"]


def test_refits_decode_and_score_an_unlabelled_set_once_with_the_same_numbers(monkeypatch):
    """Refitting as labels arrive (a search) reuses the decoded unlabelled set and its proxy values; a fit that
    finds them remembered gives exactly the numbers of one that computes them."""
    import fgp.predictor as predictor_module
    from fgp.spaces import space_class

    archs, y = nb201_strings(40)
    unl = archs + nb201_strings(200, seed=1)[0]  # as in a search: the labelled ones are among them
    first = Predictor.for_space("nb201", **NB201_SMALL).fit(archs[:20], y[:20], unlabeled=unl)
    decoded = []
    monkeypatch.setattr(space_class("nb201"), "decode",
                        lambda self, a, _decode=space_class("nb201").decode: decoded.append(a) or _decode(self, a))
    again = Predictor.for_space("nb201", **NB201_SMALL).fit(archs[:30], y[:30], unlabeled=list(unl))
    assert len(decoded) == 2 * 30  # only the labelled architectures (their graphs and their proxy)
    assert again.info_["pretrain"]["key"] == first.info_["pretrain"]["key"]
    predictor_module._UNLABELED_SETS.clear()
    fresh = Predictor.for_space("nb201", **NB201_SMALL).fit(archs[:30], y[:30], unlabeled=list(unl))
    assert len(decoded) == 2 * (30 + 30 + len(unl))
    np.testing.assert_array_equal(again.predict(archs), fresh.predict(archs))


def test_a_saved_model_refuses_graphs_of_another_representation(tmp_path):
    archs, y = nb201_strings(30)
    pred = Predictor.for_space("nb201", "gatedgcn", None, encoder_kwargs=NB201_SMALL["encoder_kwargs"],
                               finetune_kwargs={"epochs": 2}).fit(archs, y)
    path = tmp_path / "model.fgp"
    pred.save(path)
    back = Predictor.load(path)
    assert back.representation_ == "nb201(pruned=True)" and back.graph_options_ == {"pruned": True}
    np.testing.assert_array_equal(back.predict(archs), pred.predict(archs))
    from fgp.datasets import Benchmark  # noqa: F401  (the benchmark batches carry their representation too)
    from fgp.spaces import representation

    eight_nodes = GraphBatch.from_graphs([get_space("nb201").decode(a) for a in archs]).with_representation(
        representation("nb201", {"pruned": False}))
    with pytest.raises(ValueError, match=r"archs are nb201\(pruned=False\) graphs, but this predictor uses "
                                         r"nb201\(pruned=True\) graphs"):
        back.predict(eight_nodes)
    # a file whose recorded representation disagrees with its parameters is refused at load
    payload = torch.load(path, weights_only=True)
    payload["representation"] = json.dumps(["nb201(pruned=False)", {"pruned": False}])
    torch.save(payload, tmp_path / "altered.fgp")
    with pytest.raises(ValueError, match="damaged or mismatched"):
        Predictor.load(tmp_path / "altered.fgp")


@pytest.mark.data
def test_the_default_l_aux_proxy_is_the_shipped_snip_on_nb201():
    from fgp.datasets import load_benchmark
    from fgp.experiment import proxy_values
    from fgp.proxies import compute_proxies

    bench = load_benchmark("nb201")
    natives = list(bench.natives)
    assert Predictor.for_space("nb201").resolved_config()["proxy"] == "snip"
    assert Predictor.for_space("nb201", "flowerformer").resolved_config()["proxy"] == "grad_norm"
    snip = compute_proxies("nb201", natives, ["snip"], progress=False)["snip"]
    assert snip.shape == (15_625,) and np.array_equal(snip, proxy_values(bench, "snip", progress=False))
