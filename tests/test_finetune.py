"""Fine-tuning: options, best-epoch selection (a real copy), determinism, schedule, and learning on real NB201."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import fgp.finetune
from fgp.batch import GraphBatch
from fgp.encoders import create_encoder
from fgp.finetune import FinetuneConfig, ScoreModel, _lr_factor, adamw, finetune, predict_scores
from fgp.metrics import kendall_tau
from fgp.spaces import get_space


def nb201_toy(n: int, seed: int = 0) -> tuple[GraphBatch, np.ndarray]:
    """Sampled NB201 cells with a synthetic label that depends on the ops (so there is something to learn)."""
    rng = np.random.default_rng(seed)
    space = get_space("nb201")
    graphs = [space.decode(space.sample(rng)) for _ in range(n)]
    score = {"none": 0.0, "skip_connect": 1.0, "avg_pool_3x3": 0.5, "nor_conv_1x1": 2.0, "nor_conv_3x3": 3.0}
    y = np.array([sum(score.get(op, 0.0) for op in g.ops) for g in graphs]) + rng.normal(0, 0.1, n)
    return GraphBatch.from_graphs(graphs), y


def model(num_ops: int, seed: int = 0, hidden: int = 16) -> ScoreModel:
    torch.manual_seed(seed)
    return ScoreModel(create_encoder("gatedgcn", num_ops, hidden=hidden, layers=2))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "epochs"),
        ({"lr": 0}, "lr"),
        ({"batch_size": 1}, "batch_size"),
        ({"margin": -0.1}, "margin"),
        ({"schedule": "step"}, "schedule"),
        ({"warmup_epochs": 5}, "warmup"),
        ({"select": "median"}, "select"),
        ({"max_pairs": 0}, "max_pairs"),
    ],
)
def test_config_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FinetuneConfig(**kwargs)


def test_config_from_kwargs_names_unknown_options_and_values_of_the_wrong_kind():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['learning_rate'\] of fine-tuning; known: batch_size"):
        FinetuneConfig.from_kwargs({"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="option 'epochs' of fine-tuning takes an integer, got 'abc'"):
        FinetuneConfig.from_kwargs({"epochs": "abc"})  # as `--finetune-opt epochs=abc` passes it
    with pytest.raises(ValueError, match="option 'lr' of fine-tuning takes a number, got None"):
        FinetuneConfig.from_kwargs({"lr": None})
    assert FinetuneConfig.from_kwargs({"clip_norm": None, "lr": 1}).clip_norm is None  # None where it is allowed


def test_cosine_schedule_warms_up_then_decays_to_zero():
    cfg = FinetuneConfig(epochs=10, schedule="cosine", warmup_epochs=2)
    f = _lr_factor(cfg, steps_per_epoch=5)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)  # linear warm-up over 10 steps
    assert f(10) == pytest.approx(1.0)
    assert f(30) == pytest.approx(0.5 * (1 + math.cos(math.pi * 20 / 40)))
    assert f(49) < 0.01
    assert _lr_factor(FinetuneConfig(epochs=10), 5)(37) == 1.0


@pytest.mark.parametrize("n, steps", [(8, 6), (9, 6), (10, 9)])
def test_cosine_schedule_reaches_zero_after_the_steps_taken(n, steps, monkeypatch):
    """Batch 4 over 3 epochs: 9 graphs take 2 steps an epoch, as 8 do (the ninth graph alone has no pair)."""
    opts = []

    def spy(params, lr, weight_decay):
        opts.append(adamw(params, lr, weight_decay))
        return opts[-1]

    monkeypatch.setattr(fgp.finetune, "adamw", spy)
    train, y = nb201_toy(n)
    m = model(train.num_ops)
    finetune(m, train, y, config=FinetuneConfig(epochs=3, batch_size=4, schedule="cosine", warmup_epochs=1))
    (opt,) = opts
    assert int(opt.state[m.head[0].weight]["step"]) == steps
    assert [group["lr"] for group in opt.param_groups] == [0.0, 0.0]


def test_score_head_width_and_the_linear_head():
    enc = create_encoder("gatedgcn", 4, hidden=8, layers=1)
    with pytest.raises(ValueError, match=r"head_hidden must be >= 0 \(0: a linear head\), got -1"):
        ScoreModel(enc, head_hidden=-1)
    assert ScoreModel(enc).head[0].out_features == enc.out_dim
    linear = ScoreModel(enc, head_hidden=0)
    assert isinstance(linear.head, torch.nn.Linear) and linear.head.in_features == enc.out_dim
    batch, _ = nb201_toy(6)
    linear = ScoreModel(create_encoder("gatedgcn", batch.num_ops, hidden=8, layers=1), head_hidden=0)
    enc = linear.encoder
    linear.eval()
    with torch.no_grad():  # the score is the head's affine map of the graph embedding
        _, z = enc(batch)
        torch.testing.assert_close(linear(batch), z @ linear.head.weight[0] + linear.head.bias[0])


def test_keeps_the_best_validation_epoch_as_a_copy():
    train, y = nb201_toy(48, seed=0)
    val, val_y = nb201_toy(40, seed=1)
    m = model(train.num_ops)
    res = finetune(m, train, y, val, val_y, FinetuneConfig(epochs=12, lr=3e-3), seed=0)
    taus = [r["val_tau"] for r in res.history]
    assert len(taus) == 12
    assert res.best_val_tau == max(taus)
    assert res.best_epoch == taus.index(max(taus)) + 1  # the first epoch reaching the best tau
    # the model holds that epoch's weights (a reference to the live state_dict would hold the last epoch's)
    assert kendall_tau(predict_scores(m, val).numpy(), val_y) == pytest.approx(res.best_val_tau)
    assert not m.training


def test_select_last_and_no_validation_keep_the_last_epoch():
    train, y = nb201_toy(32)
    val, val_y = nb201_toy(20, seed=1)
    m1, m2 = model(train.num_ops), model(train.num_ops)
    r1 = finetune(m1, train, y, config=FinetuneConfig(epochs=4), seed=3)
    r2 = finetune(m2, train, y, val, val_y, FinetuneConfig(epochs=4, select="last"), seed=3)
    assert r1.best_epoch == r2.best_epoch == 4 and r1.best_val_tau is None
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)


def test_same_seed_same_numbers_and_global_rng_untouched():
    train, y = nb201_toy(40)
    val, val_y = nb201_toy(20, seed=1)
    states, histories = [], []
    for seed in (5, 5, 6):
        m = model(train.num_ops)
        before = torch.get_rng_state()
        res = finetune(m, train, y, val, val_y, FinetuneConfig(epochs=3, max_pairs=20), seed=seed)
        assert torch.equal(before, torch.get_rng_state())
        states.append(m.state_dict())
        histories.append(res.history)
    assert histories[0] == histories[1]
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]), k
    assert any(not torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_bad_labels_and_mismatches():
    train, y = nb201_toy(10)
    m = model(train.num_ops)
    y_nan = y.copy()
    y_nan[[1, 4]] = np.nan
    with pytest.raises(ValueError, match="2 NaN"):
        finetune(m, train, y_nan)
    with pytest.raises(ValueError, match="9 values for 10 graphs"):
        finetune(m, train, y[:9])
    with pytest.raises(ValueError, match="both"):
        finetune(m, train, y, val_batch=train)


def test_predict_scores_does_not_depend_on_chunk_size():
    batch, _ = nb201_toy(30)
    m = model(batch.num_ops).train()
    full = predict_scores(m, batch)
    assert m.training  # restored
    torch.testing.assert_close(predict_scores(m, batch, batch_size=7), full, rtol=1e-6, atol=1e-6)


@pytest.mark.data
def test_learns_real_nb201_accuracy_far_better_than_shuffled_labels():
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nb201")
    rng = np.random.default_rng(0)
    ids = rng.permutation(len(bench))
    tr, va, te = ids[:200], ids[200:240], ids[240:2240]
    full = bench.batch()
    taus = {}
    for name, labels in (("real", bench.y[tr]), ("shuffled", rng.permutation(bench.y[tr]))):
        torch.manual_seed(0)
        m = ScoreModel(create_encoder("gatedgcn", full.num_ops, hidden=32, layers=3))
        val_labels = bench.y[va] if name == "real" else rng.permutation(bench.y[va])
        finetune(m, full.subset(tr), labels, full.subset(va), val_labels, FinetuneConfig(epochs=25), seed=0)
        taus[name] = kendall_tau(predict_scores(m, full.subset(te)).numpy(), bench.y[te])
    assert taus["real"] > 0.5, taus
    assert taus["real"] - taus["shuffled"] > 0.3, taus


def test_frozen_encoder_and_encoder_learning_rate_scale():
    train, y = nb201_toy(32)
    m = model(train.num_ops)
    enc_before = {k: v.clone() for k, v in m.encoder.state_dict().items()}
    head_before = {k: v.clone() for k, v in m.head.state_dict().items()}
    finetune(m, train, y, config=FinetuneConfig(epochs=2, freeze_encoder_epochs=2), seed=0)
    assert all(torch.equal(enc_before[k], v) for k, v in m.encoder.state_dict().items())
    assert any(not torch.equal(head_before[k], v) for k, v in m.head.state_dict().items())
    assert all(p.requires_grad for p in m.parameters())  # unfrozen again afterwards
    # frozen for 1 of 2 epochs: the encoder moves, but only in the second epoch (the head in both)
    m2 = model(train.num_ops)
    snapshots = []

    def snapshot(epoch, record):
        snapshots.append(({k: v.clone() for k, v in m2.encoder.state_dict().items()},
                          {k: v.clone() for k, v in m2.head.state_dict().items()}))

    finetune(m2, train, y, config=FinetuneConfig(epochs=2, freeze_encoder_epochs=1), seed=0, progress=snapshot)
    (enc1, head1), (enc2, head2) = snapshots
    assert all(torch.equal(enc_before[k], v) for k, v in enc1.items())
    assert any(not torch.equal(enc1[k], v) for k, v in enc2.items())
    assert any(not torch.equal(head_before[k], v) for k, v in head1.items())
    assert any(not torch.equal(head1[k], v) for k, v in head2.items())
    with pytest.raises(ValueError, match="freeze_encoder_epochs"):
        FinetuneConfig(epochs=3, freeze_encoder_epochs=4)
