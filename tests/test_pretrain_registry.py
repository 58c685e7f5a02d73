"""Every registered pretext task, with every registered encoder on every search space: it trains the encoder in place,
reports finite losses per epoch, repeats itself under the same seed, caches what it computed, and rejects bad
options and unused arguments with a ValueError naming them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.encoders import create_encoder, list_encoders
from fgp.pretrain import create_pretext, list_pretexts
from fgp.spaces import get_space, list_spaces, space_class

FAST = dict(epochs=2, batch_size=8)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))


def sampled(space: str, n: int = 12, seed: int = 0) -> GraphBatch:
    sp = get_space(space)
    rng = np.random.default_rng(seed)
    return GraphBatch.from_graphs([sp.decode(sp.sample(rng)) for _ in range(n)])


def run(name: str, batch: GraphBatch, space: str = "nb201", encoder: str = "gatedgcn", cache: bool = False,
        **options):
    """``(encoder, result)`` of pre-training a fresh small encoder (seed 0) with the task's fast options."""
    pretext = create_pretext(name, **{**FAST, **options})
    torch.manual_seed(0)
    enc = create_encoder(encoder, batch.num_ops)
    proxy = np.arange(batch.num_graphs, dtype=float) if pretext.ranks_proxy else None
    return enc, pretext.run(enc, batch, proxy, space=space, cache=cache)


@pytest.mark.parametrize("space", list_spaces())
@pytest.mark.parametrize("encoder", list_encoders())
@pytest.mark.parametrize("name", list_pretexts())
def test_trains_every_encoder_on_every_space(name, encoder, space):
    if getattr(create_pretext(name), "uses_surrogate", False) and space_class(space).surrogate is None:
        pytest.skip(f"{space} has no flow-surrogate constants for {name}")
    batch = sampled(space)
    torch.manual_seed(0)
    before = create_encoder(encoder, batch.num_ops).state_dict()
    enc, result = run(name, batch, space, encoder)
    after = enc.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())
    assert all(torch.equal(after[k], v) for k, v in result.encoder_state.items())
    assert not enc.training  # left ready for fine-tuning's own mode switches
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert all(np.isfinite(h["loss"]) for h in result.history)
    assert result.head_states and all(all(torch.isfinite(t).all() for t in s.values())
                                      for s in result.head_states.values())


@pytest.mark.parametrize("name", list_pretexts())
def test_same_seed_same_weights_and_losses_other_seed_other_weights(name):
    batch = sampled("nb201", 24)
    (a, ra), (b, rb), (c, _) = (run(name, batch, seed=s) for s in (3, 3, 4))
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    assert ra.history == rb.history
    assert any(not torch.equal(a.state_dict()[k], v) for k, v in c.state_dict().items() if v.is_floating_point())


@pytest.mark.parametrize("name", list_pretexts())
def test_a_cache_hit_restores_identical_weights(name):
    batch = sampled("nb201", 24)
    first, r1 = run(name, batch, cache=True)
    second, r2 = run(name, batch, cache=True)
    assert not r1.cached and r2.cached and r2.key == r1.key and r2.history == r1.history
    assert all(torch.equal(second.state_dict()[k], v) for k, v in first.state_dict().items())
    assert all(torch.equal(r2.head_states[h][k], v) for h, s in r1.head_states.items() for k, v in s.items())
    _, other = run(name, batch, cache=True, seed=1)  # the seed is part of the key
    assert not other.cached and other.key != r1.key


@pytest.mark.parametrize("name", list_pretexts())
def test_config_is_json_and_rebuilds_the_same_task(name):
    pretext = create_pretext(name, **FAST)
    config = pretext.config()
    assert json.loads(json.dumps(config)) == config
    assert create_pretext(name, **config).config() == config
    assert {"epochs", "batch_size", "lr", "weight_decay", "seed"} <= set(config)


@pytest.mark.parametrize("name", list_pretexts())
@pytest.mark.parametrize("option, value, match", [
    ("epochs", 0, "epochs must be >= 1"), ("batch_size", 1, "batch_size >= 2"), ("lr", 0.0, "lr must be > 0"),
    ("weight_decay", -1.0, "weight_decay >= 0"), ("clip_norm", 0.0, "clip_norm must be positive"),
    ("no_such_option", 1, r"unknown option\(s\) \['no_such_option'\]"),
])
def test_bad_shared_options_raise_value_error_naming_them(name, option, value, match):
    with pytest.raises(ValueError, match=match):
        create_pretext(name, **{option: value})


@pytest.mark.parametrize("name", [n for n in list_pretexts() if not create_pretext(n).ranks_proxy])
def test_a_task_ranking_no_proxy_rejects_one(name):
    batch = sampled("nb201")
    enc = create_encoder("gatedgcn", batch.num_ops)
    with pytest.raises(ValueError, match="ranks no zero-cost proxy: pass proxy=None"):
        create_pretext(name, **FAST).run(enc, batch, np.ones(batch.num_graphs), cache=False)


@pytest.mark.parametrize("name", list_pretexts())
def test_needs_two_graphs(name):
    batch = sampled("nb201", 1)
    with pytest.raises(ValueError, match="at least 2 graphs, got 1"):
        run(name, batch)


@pytest.mark.parametrize("name", list_pretexts())
def test_trains_on_traced_models_with_node_attributes(name, traced_graphs):
    """Traced models of 5 to 302 nodes with node attributes: every task keeps the attributes with their nodes (a
    task that rebuilt graphs without them would meet an encoder built for them)."""
    from fgp.spaces import ModelSpace

    batch = GraphBatch.from_graphs(traced_graphs * 2)
    uses_surrogate = getattr(create_pretext(name), "uses_surrogate", False)
    pretext = create_pretext(name, **FAST, **(dict(zip(("k", "std"), ModelSpace.surrogate)) if uses_surrogate else {}))
    torch.manual_seed(0)
    enc = create_encoder("gatedgcn", batch.num_ops, num_attrs=batch.num_attrs, hidden=16, layers=2)
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    proxy = np.array([g.num_nodes for g in traced_graphs * 2], dtype=float) if pretext.ranks_proxy else None
    result = pretext.run(enc, batch, proxy, cache=False)
    assert [h["epoch"] for h in result.history] == [1, 2] and all(np.isfinite(h["loss"]) for h in result.history)
    assert not torch.equal(enc.state_dict()["input.weight"], before["input.weight"])
