"""FGP pre-training: registry, options, target standardisation, the disk cache, determinism and learning on NB201."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.encoders import create_encoder, list_encoders
from fgp.graph import ArchGraph
from fgp.pretrain import FGPPretext, create_pretext, list_pretexts, standardize_targets
from fgp.pretrain.base import batch_digest, cache_dir
from fgp.spaces import get_space
from fgp.surrogate import SurrogateDraws, flow_surrogate


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "cache"))


def toy(n: int = 40, seed: int = 0) -> tuple[GraphBatch, np.ndarray]:
    rng = np.random.default_rng(seed)
    space = get_space("nb201")
    graphs = [space.decode(space.sample(rng)) for _ in range(n)]
    proxy = np.array([sum(op.startswith("nor_conv") for op in g.ops) for g in graphs], dtype=float)
    return GraphBatch.from_graphs(graphs), proxy


def encoder(num_ops: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_encoder("gatedgcn", num_ops, hidden=16, layers=2)


FAST = dict(epochs=2, batch_size=16)


def test_registry():
    assert {"fgp", "zc"} <= set(list_pretexts())
    with pytest.raises(ValueError, match="unknown pretext"):
        create_pretext("no-such-task")
    zc = create_pretext("zc")
    assert zc.l1 == 0.0 and zc.l2 > 0 and zc.name == "zc"
    assert create_pretext("fgp").config()["l1"] == 0.5


@pytest.mark.parametrize(
    "kwargs, match",
    [({"l1": 0, "l2": 0}, "not both 0"), ({"l1": -1}, "l1"), ({"epochs": 0}, "epochs"),
     ({"forward": False, "backward": False}, "forward and backward"), ({"rounds": 0}, "rounds"),
     ({"aux_max_pairs": 0}, "aux_max_pairs must be a positive number of pairs"), ({"clip_norm": 0}, "clip_norm")],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FGPPretext(**kwargs)


def test_standardize_targets():
    s = torch.tensor([[1.0, 5.0, 2.0], [3.0, 5.0, 2.0], [5.0, 5.0, 2.0 + 1e-9]])
    z, mean, std = standardize_targets(s)
    torch.testing.assert_close(z[:, 0], torch.tensor([-1.0, 0.0, 1.0]) * (1.5**0.5))
    torch.testing.assert_close(z[:, 1:], torch.zeros(3, 2))  # constant (and numerically constant) columns
    torch.testing.assert_close(mean, s.mean(0))
    assert std[1] == 0 and std[2] == 0 and std[0] > 0


def test_needs_proxy_space_and_matching_lengths():
    batch, proxy = toy(10)
    with pytest.raises(ValueError, match="proxy"):
        FGPPretext(**FAST).run(encoder(batch.num_ops), batch, space="nb201", cache=False)
    with pytest.raises(ValueError, match="9 values for 10 graphs"):
        FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy[:9], space="nb201", cache=False)
    bad = proxy.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="1 NaN"):
        FGPPretext(**FAST).run(encoder(batch.num_ops), batch, bad, space="nb201", cache=False)
    with pytest.raises(ValueError, match="k and std"):
        FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, cache=False)
    # explicit k/std need no space; l2=0 needs no proxy; the zc baseline needs no surrogate constants
    FGPPretext(k=3, std=0.5, l2=0, **FAST).run(encoder(batch.num_ops), batch, cache=False)
    res = create_pretext("zc", **FAST).run(encoder(batch.num_ops), batch, proxy, cache=False)
    assert res.history[-1]["l_rec"] is None and res.history[-1]["l_aux"] > 0
    assert "draws" not in res.meta


def test_updates_encoder_and_records_history_and_draws():
    batch, proxy = toy()
    enc = encoder(batch.num_ops)
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    res = FGPPretext(**FAST).run(enc, batch, proxy, space="nb201", cache=False)
    assert [h["epoch"] for h in res.history] == [1, 2]
    for h in res.history:
        assert h["loss"] == pytest.approx(0.5 * h["l_rec"] + 0.5 * h["l_aux"], rel=1e-6)
    assert all(not torch.equal(before[k], v) for k, v in enc.state_dict().items())
    for k, v in res.encoder_state.items():
        assert torch.equal(enc.state_dict()[k], v)
    draws = SurrogateDraws.sample(batch.num_ops, 7, 0.1, seed=0)  # nb201's constants, default surrogate seed
    np.testing.assert_array_equal(np.asarray(res.meta["draws"]["W"], dtype=np.float32), draws.W)
    s, _ = flow_surrogate(batch, draws=draws)
    np.testing.assert_allclose(res.meta["target_mean"], s.mean(0).numpy(), rtol=1e-5, atol=1e-7)


def test_same_seed_same_weights_other_seed_other_weights():
    batch, proxy = toy()
    states = []
    for seed in (1, 1, 2):
        enc = encoder(batch.num_ops)
        FGPPretext(seed=seed, aux_max_pairs=30, **FAST).run(enc, batch, proxy, space="nb201", cache=False)
        states.append(enc.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert any(not torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_cache_round_trip_and_key():
    batch, proxy = toy()
    first = encoder(batch.num_ops)
    r1 = FGPPretext(**FAST).run(first, batch, proxy, space="nb201")
    assert not r1.cached and (cache_dir() / f"{r1.key}.pt").is_file()
    meta = json.loads((cache_dir() / f"{r1.key}.json").read_text())
    assert meta["parts"]["graphs"] == batch_digest(batch) and meta["parts"]["config"]["epochs"] == 2

    second = encoder(batch.num_ops)
    r2 = FGPPretext(**FAST).run(second, batch, proxy, space="nb201")
    assert r2.cached and r2.key == r1.key and r2.history == r1.history
    for k, v in first.state_dict().items():
        assert torch.equal(second.state_dict()[k], v)

    # everything that determines the weights is in the key
    keys = {r1.key}
    keys.add(FGPPretext(**FAST, l1=0.3).run(encoder(batch.num_ops), batch, proxy, space="nb201").key)
    keys.add(FGPPretext(**FAST, seed=4).run(encoder(batch.num_ops), batch, proxy, space="nb201").key)
    keys.add(FGPPretext(**FAST).run(encoder(batch.num_ops, seed=9), batch, proxy, space="nb201").key)
    keys.add(FGPPretext(**FAST).run(encoder(batch.num_ops), batch.subset(range(39)), proxy[:39], space="nb201").key)
    keys.add(FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy + 1, space="nb201").key)
    keys.add(FGPPretext(**FAST, backward=False).run(encoder(batch.num_ops), batch, proxy, space="nb201").key)
    assert len(keys) == 7


def test_corrupt_cache_entry_is_recomputed():
    batch, proxy = toy()
    r1 = FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, space="nb201")
    path = cache_dir() / f"{r1.key}.pt"
    path.write_bytes(path.read_bytes()[:100])
    enc = encoder(batch.num_ops)
    r2 = FGPPretext(**FAST).run(enc, batch, proxy, space="nb201")
    assert not r2.cached
    for k, v in r1.encoder_state.items():
        assert torch.equal(enc.state_dict()[k], v)
    assert FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, space="nb201").cached  # rewritten


@pytest.mark.parametrize("change", ["flip", "inf", "meta"])
def test_an_altered_cache_entry_is_recomputed_and_says_so(change, capsys):
    """A flipped bit in the cached weights (or a non-finite weight, or edited metadata) fails the entry's checksum:
    the pre-training is recomputed, with one line naming the entry, and the fresh entry is used next time."""
    batch, proxy = toy()
    first = FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, space="nb201")
    weights, meta = cache_dir() / f"{first.key}.pt", cache_dir() / f"{first.key}.json"
    saved = torch.load(weights, weights_only=True)
    name = next(k for k in saved["encoder"] if k.endswith("weight"))
    if change == "flip":
        saved["encoder"][name].view(torch.int32).reshape(-1)[0] ^= 1 << 22
    elif change == "inf":
        saved["encoder"][name].reshape(-1)[0] = float("inf")
    torch.save(saved, weights)
    if change == "meta":
        meta.write_text(meta.read_text().replace('"seconds": ', '"seconds": 1'))
    capsys.readouterr()
    enc = encoder(batch.num_ops)
    again = FGPPretext(**FAST).run(enc, batch, proxy, space="nb201")
    assert not again.cached and capsys.readouterr().err == (
        f"fgp: recomputing the pre-training cache entry {first.key}: its checksum does not match its content\n")
    assert all(torch.equal(enc.state_dict()[k], v) for k, v in first.encoder_state.items())
    assert FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, space="nb201").cached


@pytest.mark.parametrize("switch", [{"forward": False}, {"backward": False}])
def test_surrogate_ablation_switches_shape_the_reconstruction_target(switch):
    """``rounds``/``forward``/``backward`` reach ``L_rec``'s target: the z-scored surrogate of those passes."""
    batch, _ = toy()
    draws = SurrogateDraws.sample(batch.num_ops, 7, 0.1, 0)
    pretext = FGPPretext(l2=0, rounds=2, **switch, **FAST)
    target, stats = pretext._targets(batch, draws, torch.device("cpu"))
    raw = flow_surrogate(batch, draws=draws, rounds=2, **switch)[0]
    assert torch.equal(target, standardize_targets(raw)[0])
    assert stats["target_mean"] == raw.mean(0).tolist()
    # the switches change the target: neither the paper's passes nor one round give it
    for other in ({"rounds": 2}, {"rounds": 1, **switch}):
        assert not torch.allclose(target, standardize_targets(flow_surrogate(batch, draws=draws, **other)[0])[0])
    # ... and run() trains on that target (its statistics are recorded with the result)
    res = pretext.run(encoder(batch.num_ops), batch, space="nb201", cache=False)
    assert res.meta["target_mean"] == stats["target_mean"] and res.meta["target_std"] == stats["target_std"]


def test_an_entry_of_another_cache_format_is_not_reused(monkeypatch):
    import fgp.pretrain.base

    batch, proxy = toy()
    first = FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, space="nb201")
    assert not first.cached and FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, space="nb201").cached
    monkeypatch.setattr(fgp.pretrain.base, "CACHE_FORMAT", fgp.pretrain.base.CACHE_FORMAT + 1)
    stale = FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, space="nb201")
    assert not stale.cached and stale.key == first.key  # same key, recomputed: the entry's format is stale
    again = FGPPretext(**FAST).run(encoder(batch.num_ops), batch, proxy, space="nb201")
    assert again.cached  # the recomputed entry was written in the current format
    meta = json.loads((cache_dir() / f"{first.key}.json").read_text())
    assert meta["cache_format"] == fgp.pretrain.base.CACHE_FORMAT


@pytest.mark.data
def test_reduces_reconstruction_loss_on_real_nb201():
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nb201")
    ids = np.random.default_rng(0).permutation(len(bench))[:600]
    batch = bench.batch().subset(ids)
    enc = encoder(batch.num_ops)
    res = FGPPretext(epochs=12, batch_size=64, lr=3e-3).run(
        enc, batch, bench.columns["params"][ids], space="nb201", cache=False
    )
    first, last = res.history[0], res.history[-1]
    assert last["l_rec"] < 0.5 * first["l_rec"], res.history
    assert last["l_aux"] < first["l_aux"], res.history
    # the trained encoder's embeddings carry the surrogate better than random ones: a fresh ridge fit on them
    # leaves less than half the unexplained variance (random GNN features already explain ~95% on NB201)
    s, _ = flow_surrogate(batch, space="nb201")
    target, _, _ = standardize_targets(s)

    def ridge_r2(e: torch.nn.Module) -> float:
        e.eval()
        with torch.no_grad():
            z = e(batch)[1].double()
        z = torch.cat([z, torch.ones(len(z), 1, dtype=z.dtype)], 1)
        tr, te = slice(0, 400), slice(400, None)
        gram = z[tr].T @ z[tr] + 1e-3 * torch.eye(z.shape[1], dtype=z.dtype)
        w = torch.linalg.solve(gram, z[tr].T @ target[tr].double())
        resid = ((z[te] @ w - target[te]) ** 2).sum()
        return float(1 - resid / ((target[te] - target[te].mean(0)) ** 2).sum())

    trained, random = ridge_r2(enc), ridge_r2(encoder(batch.num_ops))
    assert 1 - trained < 0.5 * (1 - random), (trained, random)


def test_several_proxies_each_get_a_ranked_output():
    """A (G, 2) proxy table: the proxy head gets two outputs, each learning its own column's order."""
    from fgp.metrics import kendall_tau

    batch, proxy = toy(60)
    table = np.column_stack([proxy, -proxy])
    pretext = create_pretext("zc", epochs=60, batch_size=32, lr=3e-3, seed=0)
    res = pretext.run(encoder(batch.num_ops), batch, table, cache=False)
    assert res.head_states["proxy"]["2.weight"].shape == (2, 64)
    enc = encoder(batch.num_ops)
    enc.load_state_dict(res.encoder_state)
    head = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
    head.load_state_dict(res.head_states["proxy"])
    with torch.no_grad():
        scores = head(enc.eval()(batch)[1]).numpy()
    assert kendall_tau(scores[:, 0], proxy) > 0.6
    assert kendall_tau(scores[:, 1], proxy) < -0.6
    with pytest.raises(ValueError, match="59 rows for 60 graphs"):
        pretext.run(encoder(batch.num_ops), batch, table[:59], cache=False)


# produced by this code and, identically, by v0.1's (the last commit before the options l3, log_target and
# surrogate_draws were retired); mlp, transformer and digcn by the code that added them
PINNED = {
    "digcn": ([3.2541972001393638, 3.2098196347554526], 3413.960031299961),
    "flowerformer": ([2.8510453701019287, 2.015762209892273], 51782.21307923127),
    "gatedgcn": ([3.2566468715667725, 3.2483378251393638], 3197.2245737361773),
    "gin": ([3.215820074081421, 3.0438196659088135], 3855.9660264041713),
    "mlp": ([3.251669486363729, 3.2384780248006186], 4566.443771575367),
    "transformer": ([3.1912945906321206, 2.64966615041097], 6751.269417659456),
}


@pytest.mark.parametrize("name", list_encoders())
def test_pretraining_numbers_are_pinned_to_the_cache_format(name):
    batch, proxy = toy(48)
    torch.manual_seed(0)
    enc = create_encoder(name, batch.num_ops)
    result = FGPPretext(epochs=2, batch_size=16).run(enc, batch, proxy, space="nb201", cache=False)
    weights = sum(float(v.double().abs().sum()) for v in enc.state_dict().values() if v.is_floating_point())
    losses, weight_sum = PINNED[name]
    assert [h["loss"] for h in result.history] == pytest.approx(losses, rel=1e-5), "bump CACHE_FORMAT"
    assert weights == pytest.approx(weight_sum, rel=1e-5), "bump CACHE_FORMAT"


def test_fgp_pretrains_on_traced_models_of_several_sizes(traced_graphs):
    """Traced models (5 to 302 nodes, node attributes, two inputs and outputs) in one pre-training set: a couple of
    epochs with your own spaces' surrogate constants, the attribute weights learn, and the attributes are part of
    the cache key."""
    from fgp.spaces import ModelSpace

    batch = GraphBatch.from_graphs(traced_graphs * 4)  # 20 graphs, mini-batches of 8 mix the sizes
    proxy = np.array([g.num_nodes for g in traced_graphs * 4], dtype=float)
    k, std = ModelSpace.surrogate
    torch.manual_seed(0)
    enc = create_encoder("gatedgcn", batch.num_ops, num_attrs=batch.num_attrs, hidden=16, layers=2)
    before = enc.input.weight.detach().clone()
    result = FGPPretext(epochs=2, batch_size=8, k=k, std=std).run(enc, batch, proxy)
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert all(np.isfinite([h["loss"], h["l_rec"], h["l_aux"]]).all() for h in result.history)
    assert len(result.meta["draws"]["r"]) == k
    attribute_columns = slice(batch.num_ops, None)
    assert not torch.equal(enc.input.weight[:, attribute_columns], before[:, attribute_columns])
    # the same graphs with one stride changed are another pre-training set
    g = traced_graphs[2]
    attrs = g.attrs.copy()
    attrs[1, 1] = 2.0
    changed = GraphBatch.from_graphs([*traced_graphs[:2], ArchGraph(g.ops, g.edges, g.vocab, attrs),
                                      *traced_graphs[3:]] * 4)
    assert batch_digest(changed) != batch_digest(batch)
    assert batch_digest(GraphBatch.from_graphs(traced_graphs * 4)) == batch_digest(batch)
