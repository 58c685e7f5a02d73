"""GMAE pre-training: it reconstructs the true ops of masked nodes from their context; options; learning on real
and synthetic architectures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fgp.encoders import create_encoder
from fgp.pretrain import GMAEPretext, create_pretext


@pytest.mark.parametrize("share", [0.0, 1.0, -0.5])
def test_bad_share_raises_value_error_naming_it(share):
    with pytest.raises(ValueError, match="share must be in"):
        GMAEPretext(share=share)


def test_defaults():
    p = create_pretext("gmae")
    assert (p.epochs, p.batch_size, p.lr, p.share) == (200, 256, 1e-3, 0.15) and not p.ranks_proxy


def test_learns_ops_that_the_context_determines(random_dags):
    """Every op node's op is fixed by its in-degree (a: 1, b: 2, c: 3 or more). The masked node shows a wrong op,
    so only a loss on the true op can fall near 0 (predicting the shown op would stay high)."""
    batch = random_dags(256)
    indegree = torch.bincount(batch.edge_index[1], minlength=batch.num_nodes)
    core = ~(batch.is_input() | batch.is_output())
    ops = torch.where(core, 2 + (indegree - 1).clamp(0, 2), batch.op_index)
    batch = dataclasses.replace(batch, op_index=ops)
    torch.manual_seed(0)
    enc = create_encoder("gin", batch.num_ops, hidden=32, undirected=False)  # sums over predecessors: in-degree
    res = GMAEPretext(share=0.3, epochs=30, batch_size=64, lr=3e-3).run(enc, batch, cache=False)
    assert res.history[0]["loss"] > 0.7 and res.history[-1]["loss"] < 0.1, res.history
    assert set(res.head_states) == {"ops"}


def test_reduces_its_loss_on_synthetic_architectures(random_dags):
    batch = random_dags(128)
    torch.manual_seed(0)
    enc = create_encoder("gin", batch.num_ops, hidden=16)
    res = GMAEPretext(epochs=15, batch_size=32, lr=3e-3).run(enc, batch, cache=False)
    assert res.history[-1]["loss"] < 0.9 * res.history[0]["loss"], res.history


@pytest.mark.data
def test_reduces_its_loss_on_real_nb201():
    """NB201's ops are drawn independently of each other and of the wiring, so the best guess for a masked node is
    any op but the wrong one it shows: the loss falls from above log 4 (4 ops in the pruned graphs) towards log 3."""
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nb201", space_options={"pruned": True})
    batch = bench.batch().subset(np.random.default_rng(0).permutation(len(bench))[:256])
    torch.manual_seed(0)
    enc = create_encoder("gatedgcn", batch.num_ops, hidden=32, layers=2, undirected=True)
    res = GMAEPretext(epochs=10, batch_size=64, lr=3e-3).run(enc, batch, cache=False)
    assert res.history[-1]["loss"] < 0.8 * res.history[0]["loss"], res.history
    assert res.history[-1]["loss"] > np.log(3) - 0.1, res.history
