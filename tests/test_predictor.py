"""The Predictor: fit/predict, errors, determinism, the safe save format and its rejection of bad files."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.encoders import list_encoders
from fgp.graph import ArchGraph
from fgp.predictor import FORMAT_VERSION, NotFittedError, Predictor, graph_keys, join_unseen
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
    encoder_kwargs={"hidden": 16, "layers": 2},
    pretrain_kwargs={"epochs": 2, "batch_size": 32},
    finetune_kwargs={"epochs": 3},
)


# the smallest networks of each encoder worth testing
TINY_ENCODERS = {
    "gatedgcn": SMALL["encoder_kwargs"],
    "gin": {"hidden": 16, "layers": 2},
    "flowerformer": {"dim": 16, "num_layers": 2, "num_heads": 4},
}


def fitted(pretrain="fgp", seed=0, encoder="gatedgcn", **kw) -> tuple[Predictor, list[ArchGraph]]:
    graphs, y, params = nb201(40)
    unl, _, unl_params = nb201(60, seed=1)
    kw = {**SMALL, "encoder_kwargs": TINY_ENCODERS[encoder], **kw}
    pred = Predictor(encoder, pretrain=pretrain, seed=seed, **kw)
    pretraining = dict(unlabeled_graphs=unl, proxy=params[:30], unlabeled_proxy=unl_params) if pretrain else {}
    pred.fit(graphs[:30], y[:30], val_graphs=graphs[30:], val_y=y[30:], **pretraining)
    return pred, graphs


def test_predict_before_fit_is_a_clear_error():
    pred = Predictor()
    with pytest.raises(NotFittedError, match="not fitted"):
        pred.predict(nb201(3)[0])
    with pytest.raises(ValueError, match="not fitted"):  # NotFittedError is a ValueError
        pred.save("x.pt")


def test_constructor_validates_names_and_options():
    with pytest.raises(ValueError, match="unknown encoder"):
        Predictor(encoder="mlp-9000")
    with pytest.raises(ValueError, match="unknown pretraining"):
        Predictor(pretrain="graphcl")
    with pytest.raises(ValueError, match="epoch"):
        Predictor(finetune_kwargs={"epoch": 3})
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['lambda1'\] of pretext task 'fgp'; known: alpha"):
        Predictor(pretrain_kwargs={"lambda1": 1.0})
    with pytest.raises(ValueError, match="pretext_weight > 0 keeps the pre-training loss: it needs pretrain="):
        Predictor(pretrain=None, finetune_kwargs={"pretext_weight": 0.5})
    with pytest.raises(ValueError, match="option 'hidden' of encoder 'gin' takes an integer, got '64'"):
        Predictor(encoder="gin", encoder_kwargs={"hidden": "64"})  # before any data is seen


def test_nan_labels_are_counted():
    graphs, y, _ = nb201(10)
    y[[0, 3, 7]] = np.nan
    with pytest.raises(ValueError, match="3 NaN"):
        Predictor(pretrain=None, **{k: v for k, v in SMALL.items() if k != "pretrain_kwargs"}).fit(graphs, y)


def test_labels_and_validation_set_are_checked_before_pretraining():
    graphs, y, params = nb201(30)
    calls = []
    fit = Predictor("gatedgcn", pretrain="fgp", **SMALL).fit
    kw = dict(proxy=params[:20], progress=lambda *a: calls.append(a))
    with pytest.raises(ValueError, match=r"^y is constant: no pair of architectures can be ranked, so the score head"):
        fit(graphs[:20], np.ones(20), **kw)
    with pytest.raises(ValueError, match="^val_y has 1 value: validation Kendall tau needs at least 2 architectures$"):
        fit(graphs[:20], y[:20], val_graphs=graphs[20:21], val_y=y[20:21], **kw)
    with pytest.raises(ValueError, match="^val_y is constant: validation Kendall tau would be 0 at every epoch; pass"):
        fit(graphs[:20], y[:20], val_graphs=graphs[20:], val_y=np.full(10, 0.7), **kw)
    assert calls == []  # no epoch of pre-training ran
    # two distinct labels are enough
    fit(graphs[:20], np.r_[np.zeros(19), 1.0], val_graphs=graphs[20:22], val_y=[1.0, 2.0], **kw)
    assert calls


def test_arguments_that_would_be_unused_are_rejected():
    graphs, y, params = nb201(20)
    supervised = Predictor(pretrain=None, **{k: v for k, v in SMALL.items() if k != "pretrain_kwargs"})
    unused = "would be unused: only pre-training uses them, and pretrain=None$"
    with pytest.raises(ValueError, match=f"^unlabeled_graphs {unused}"):
        supervised.fit(graphs, y, unlabeled_graphs=graphs)
    with pytest.raises(ValueError, match=f"^proxy, unlabeled_proxy {unused}"):
        supervised.fit(graphs, y, proxy=params, unlabeled_proxy=params)
    no_aux = Predictor(pretrain="fgp", **{**SMALL, "pretrain_kwargs": {**SMALL["pretrain_kwargs"], "l2": 0}})
    unused = "would be unused: only L_aux ranks the proxy, and pretrain_kwargs l2=0 leaves it out$"
    with pytest.raises(ValueError, match=f"^proxy {unused}"):
        no_aux.fit(graphs, y, proxy=params)
    with pytest.raises(ValueError, match=f"^unlabeled_proxy {unused}"):
        no_aux.fit(graphs[:10], y[:10], unlabeled_graphs=graphs, unlabeled_proxy=params)
    no_aux.fit(graphs[:10], y[:10], unlabeled_graphs=graphs)  # L_rec pre-trains on the unlabelled graphs
    assert no_aux.info_["pretrain"]["graphs"] == 20


def test_a_proxy_for_only_one_set_of_graphs_is_rejected_even_when_nothing_is_new():
    graphs, y, params = nb201(20)
    both = "^pass a proxy \\(proxy and unlabeled_proxy\\) for both sets of graphs, or for neither$"
    calls = []
    pred = Predictor("gatedgcn", pretrain="fgp", **SMALL)
    # every labelled graph is among the unlabelled ones: the labelled proxy alone must not be silently dropped
    with pytest.raises(ValueError, match=both):
        pred.fit(graphs, y, unlabeled_graphs=graphs, proxy=params, progress=lambda *a: calls.append(a))
    with pytest.raises(ValueError, match=both):
        pred.fit(graphs, y, unlabeled_graphs=graphs, unlabeled_proxy=params, progress=lambda *a: calls.append(a))
    assert calls == []
    pred.fit(graphs, y, unlabeled_graphs=graphs, proxy=params, unlabeled_proxy=params)
    assert pred.info_["pretrain"]["graphs"] == 20


def test_bad_devices_are_value_errors(tmp_path):
    pred, _ = fitted(pretrain=None)
    path = tmp_path / "p.pt"
    pred.save(path)
    bad = "^device 'gpu' is not a torch device; use cpu, cuda or cuda:N$"
    with pytest.raises(ValueError, match=bad):
        Predictor(device="gpu")
    with pytest.raises(ValueError, match=bad):
        Predictor.load(path, device="gpu")
    on_cpu = Predictor.load(path, device=torch.device("cpu"))
    assert all(t.device.type == "cpu" for t in on_cpu.model_.state_dict().values())
    np.testing.assert_array_equal(on_cpu.predict(nb201(40)[0]), pred.predict(nb201(40)[0]))
    if not torch.cuda.is_available():
        no_cuda = "^device 'cuda': CUDA is not available on this machine$"
        with pytest.raises(ValueError, match=no_cuda):
            Predictor(device="cuda")
        with pytest.raises(ValueError, match=no_cuda):
            Predictor.load(path, device="cuda")
    else:
        with pytest.raises(ValueError, match=f"^device 'cuda:{torch.cuda.device_count()}' is not usable on this"):
            Predictor(device=f"cuda:{torch.cuda.device_count()}")


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
    pred.fit(graphs[:10], y[:10], unlabeled_graphs=GraphBatch.from_graphs(graphs), proxy=params[:10],
             unlabeled_proxy=params)
    assert pred.info_["pretrain"]["graphs"] == 30
    # ... so every split of the same space shares one pre-training (one cache entry)
    other = Predictor("gatedgcn", pretrain="fgp", **SMALL)
    other.fit(graphs[10:25], y[10:25], unlabeled_graphs=graphs, proxy=params[10:25], unlabeled_proxy=params)
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


def test_fine_tuning_can_keep_the_pretraining_loss():
    plain, graphs = fitted()
    kept, _ = fitted(finetune_kwargs={"epochs": 3, "pretext_weight": 1.0})
    again, _ = fitted(finetune_kwargs={"epochs": 3, "pretext_weight": 1.0})
    assert kept.info_["pretrain"]["key"] == plain.info_["pretrain"]["key"]  # the same pre-training
    assert not np.allclose(kept.predict(graphs), plain.predict(graphs))
    np.testing.assert_array_equal(kept.predict(graphs), again.predict(graphs))


def test_predict_batch_size_does_not_change_predictions():
    pred, graphs = fitted(pretrain=None)
    full = pred.predict(graphs)
    np.testing.assert_allclose(pred.predict(graphs, batch_size=3), full, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pred.predict(GraphBatch.from_graphs(graphs)), full, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "encoder, pretrain, head_init, head_hidden",
    [(e, p, "random", None) for e in list_encoders() for p in (None, "fgp")]
    + [("gin", "fgp", "proxy", None), ("flowerformer", "fgp", "random", 0)],
)
def test_save_load_round_trip(encoder, pretrain, head_init, head_hidden, tmp_path):
    pred, graphs = fitted(pretrain, encoder=encoder, head_init=head_init, head_hidden=head_hidden)
    path = tmp_path / "p.pt"
    pred.save(path)
    back = Predictor.load(path)
    np.testing.assert_array_equal(back.predict(graphs), pred.predict(graphs))
    assert back.get_params() == pred.get_params()
    assert (back.encoder, back.pretrain, back.head_init) == (encoder, pretrain, head_init)
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
        "config": ({**payload, "config": "{not json"}, "damaged or mismatched"),
        "missing": ({k: v for k, v in payload.items() if k != "vocab"}, "damaged or mismatched"),
    }
    for name, (bad, match) in cases.items():
        path = tmp_path / f"{name}.pt"
        torch.save(bad, path)
        with pytest.raises(ValueError, match=match):
            Predictor.load(path)
    with pytest.raises(ValueError, match="no predictor file"):
        Predictor.load(tmp_path / "absent.pt")


def test_score_head_can_start_from_the_pretrained_proxy_head():
    from fgp.pretrain import create_pretext

    with pytest.raises(ValueError, match="head_init"):
        Predictor(pretrain=None, head_init="proxy")
    with pytest.raises(ValueError, match="proxy head"):
        Predictor(pretrain="fgp", head_init="proxy", pretrain_kwargs={"l2": 0})
    with pytest.raises(ValueError, match="head_hidden"):
        Predictor(pretrain="fgp", head_init="proxy", head_hidden=16)
    graphs, y, params = nb201(30)
    kw = {**SMALL, "finetune_kwargs": {"epochs": 1, "lr": 1e-12}}
    pred = Predictor("gatedgcn", pretrain="fgp", head_init="proxy", **kw)
    assert pred.head_hidden == 64
    pred.fit(graphs, y, proxy=params)
    # the same pre-training again (from the cache) gives the proxy head the score head started from
    torch.manual_seed(0)
    enc = pred._build(len(pred.vocab_), pred.seed).encoder
    res = create_pretext("fgp", seed=0, **SMALL["pretrain_kwargs"]).run(
        enc, GraphBatch.from_graphs(graphs), params, space="nb201"
    )
    assert res.cached
    for k, v in pred.model_.head.state_dict().items():
        torch.testing.assert_close(v, res.head_states["proxy"][k], rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="single proxy"):
        Predictor("gatedgcn", pretrain="fgp", head_init="proxy", **kw).fit(
            graphs, y, proxy=np.column_stack([params, params])
        )


def test_ensemble_averages_members_fine_tuned_from_one_pretrained_encoder(tmp_path):
    from fgp.finetune import ScoreEnsemble, predict_scores
    from fgp.metrics import kendall_tau

    with pytest.raises(ValueError, match="ensemble must be a positive integer"):
        Predictor(ensemble=0)
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
    assert len(info["best_epoch"]) == 3 and len(info["member_val_tau"]) == 3
    assert info["best_val_tau"] == pytest.approx(kendall_tau(pred.predict(graphs[30:]), nb201(40)[1][30:]))
    path = tmp_path / "ens.pt"
    pred.save(path)
    loaded = Predictor.load(path)
    assert loaded.ensemble == 3
    np.testing.assert_array_equal(loaded.predict(graphs), pred.predict(graphs))


def test_ensemble_members_start_from_the_pretraining_seed_or_their_own():
    # pre-trained: every member's encoder starts from the pre-training seed (then gets the pre-trained weights);
    # supervised-only: each member draws its encoder from its own seed, so the members differ from the start
    # ensemble_pretrain="each": each member starts from (and is pre-trained with) its own pre-training seed
    for pretrain, each, same in (("fgp", "shared", True), (None, "shared", False), ("fgp", "each", False)):
        pred = Predictor(pretrain=pretrain, ensemble=2, ensemble_pretrain=each, seed=5, **SMALL)
        a, b = (pred._build(7, i).encoder.state_dict() for i in range(2))
        assert all(torch.equal(a[k], b[k]) for k in a) is same


def test_ensemble_pretrain_each_pretrains_every_member_with_its_own_seed(tmp_path):
    from fgp.finetune import predict_scores

    with pytest.raises(ValueError, match="ensemble_pretrain must be one of"):
        Predictor(ensemble=2, ensemble_pretrain="all")
    single, graphs = fitted()
    pred, _ = fitted(ensemble=2, ensemble_pretrain="each")
    # member i is pre-trained with seed i and fine-tuned with seed i: exactly the single predictor of seed i
    batch = GraphBatch.from_graphs(graphs)
    member_scores = [predict_scores(m, batch).double().numpy() for m in pred.model_.members]
    np.testing.assert_array_equal(member_scores[0], single.predict(graphs))
    np.testing.assert_array_equal(member_scores[1], fitted(seed=1)[0].predict(graphs))
    assert len(pred.info_["pretrain"]["key"]) == 2  # two pre-trainings
    path = tmp_path / "each.pt"
    pred.save(path)
    loaded = Predictor.load(path)
    assert loaded.ensemble_pretrain == "each"
    np.testing.assert_array_equal(loaded.predict(graphs), pred.predict(graphs))


@pytest.mark.parametrize("space", ["nb201", "nb101", "nbgraph", "nb301"])
def test_for_space_has_the_settings_experiments_run_with(space):
    """``Predictor.for_space`` is what ``fgp experiment`` builds for a run on that space; options go over it."""
    from fgp.encoders import list_encoders
    from fgp.experiment import ExperimentConfig

    for encoder in list_encoders():
        for pretrain in (None, "zc", "fgp"):
            grid = ExperimentConfig(space=space, encoders=(encoder,), pretrains=(pretrain,))
            run = grid.run_config(encoder, pretrain)
            model = Predictor.for_space(space, encoder, pretrain)
            assert (model.encoder_kwargs, model.pretrain_kwargs, model.finetune_kwargs, model.space) == (
                run["encoder_kwargs"], run["pretrain_kwargs"], run["finetune_kwargs"], space)
    mine = Predictor.for_space(space, "gatedgcn", "fgp", encoder_kwargs={"layers": 2},
                               finetune_kwargs={"epochs": 7}, seed=4, ensemble=2)
    assert mine.encoder_kwargs["layers"] == 2 and mine.finetune_kwargs["epochs"] == 7
    assert mine.seed == 4 and mine.ensemble == 2


def test_for_space_rejects_what_the_experiments_reject():
    with pytest.raises(ValueError, match="unknown encoder 'gcn'"):
        Predictor.for_space("nb201", "gcn")
    with pytest.raises(ValueError, match="unknown option"):
        Predictor.for_space("nb201", finetune_kwargs={"epoch": 3})
    with pytest.raises(ValueError, match="nb999"):
        Predictor.for_space("nb999")


@pytest.mark.data
def test_default_proxy_values_are_the_shipped_snip_on_nb201():
    from fgp.datasets import load_benchmark
    from fgp.experiment import DEFAULT_SPACE_OPTIONS, default_proxy_values, proxy_values

    bench = load_benchmark("nb201", space_options=DEFAULT_SPACE_OPTIONS["nb201"])
    snip = default_proxy_values(bench, "gatedgcn", progress=False)
    assert snip.shape == (15_625,) and np.array_equal(snip, proxy_values(bench, "snip", progress=False))
    assert np.array_equal(default_proxy_values(bench, "flowerformer", progress=False),
                          proxy_values(bench, "grad_norm", progress=False))
