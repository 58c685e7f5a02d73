"""Arch2vec pre-training: its loss parts, options, and learning on real and synthetic architectures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fgp.encoders import create_encoder
from fgp.pretrain import Arch2vecPretext, create_pretext


@pytest.mark.parametrize("options, match", [
    ({"latent": 0}, "latent must be a positive width"), ({"kl_weight": -0.1}, "kl_weight must be >= 0"),
    ({"decoder_dropout": 1.0}, "decoder_dropout must be in"), ({"decoder_dropout": -0.1}, "decoder_dropout"),
])
def test_bad_options_raise_value_error_naming_them(options, match):
    with pytest.raises(ValueError, match=match):
        Arch2vecPretext(**options)


def test_defaults_are_arch2vec_nb201_settings():
    p = create_pretext("arch2vec")
    assert (p.epochs, p.batch_size, p.lr, p.latent, p.decoder_dropout) == (10, 32, 1e-3, 16, 0.3)
    assert p.kl_weight == pytest.approx(1 / 256) and not p.ranks_proxy


def test_reports_its_parts_and_reduces_them_on_synthetic_architectures(random_dags):
    batch = random_dags(128)
    torch.manual_seed(0)
    enc = create_encoder("gatedgcn", batch.num_ops, hidden=32, layers=2, undirected=True)
    res = Arch2vecPretext(kl_weight=0.01, epochs=15, batch_size=32, lr=3e-3).run(enc, batch, cache=False)
    for h in res.history:  # the loss is the weighted sum of its parts (batch means, weighted the same way)
        assert h["loss"] == pytest.approx(h["l_ops"] + h["l_adj"] + 0.01 * h["l_kl"], rel=1e-5)
    first, last = res.history[0], res.history[-1]
    assert last["l_ops"] < 0.9 * first["l_ops"] and last["l_adj"] < 0.7 * first["l_adj"], res.history
    assert set(res.head_states) == {"mean", "logvar", "ops"}
    assert res.head_states["ops"]["weight"].shape == (batch.num_ops, 16)


@pytest.mark.data
def test_reduces_its_loss_on_real_nb201():
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nb201", space_options={"pruned": True})
    batch = bench.batch().subset(np.random.default_rng(0).permutation(len(bench))[:256])
    torch.manual_seed(0)
    enc = create_encoder("gatedgcn", batch.num_ops, hidden=32, layers=2, undirected=True)
    res = Arch2vecPretext(epochs=8).run(enc, batch, cache=False)
    first, last = res.history[0], res.history[-1]
    assert last["loss"] < 0.8 * first["loss"] and last["l_adj"] < 0.6 * first["l_adj"], res.history
