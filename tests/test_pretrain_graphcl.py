"""GraphCL pre-training: the NT-Xent loss, its options, and learning on real and synthetic architectures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fgp.encoders import create_encoder
from fgp.pretrain import GraphCLPretext, create_pretext
from fgp.pretrain.graphcl import nt_xent


def test_nt_xent_known_values():
    # two pairs: views of a graph identical, the other graph orthogonal -> -1/T + log(exp(0))
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert float(nt_xent(z, z, 0.5)) == pytest.approx(-2.0)
    # three pairs with cosines: positives 1, negatives 0 and -1 (row 0), ...: checked against the formula
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    z2 = torch.tensor([[2.0, 0.0], [0.0, 3.0], [-1.0, 1e-9]])
    sim = (torch.nn.functional.normalize(z1, dim=1) @ torch.nn.functional.normalize(z2, dim=1).T).numpy() / 0.1
    expected = np.mean([-sim[i, i] + math.log(sum(math.exp(sim[i, j]) for j in range(3) if j != i))
                        for i in range(3)])
    assert float(nt_xent(z1, z2, 0.1)) == pytest.approx(expected, rel=1e-5)
    # scale-free, and a single pair (no negative) gives 0 with a gradient path
    assert float(nt_xent(3 * z1, z2, 0.1)) == pytest.approx(expected, rel=1e-5)
    one = torch.ones(1, 4, requires_grad=True)
    loss = nt_xent(one, one, 0.1)
    loss.backward()
    assert float(loss.detach()) == 0.0 and one.grad is not None


@pytest.mark.parametrize("options, match", [
    ({"augmentations": "drop_nodes,shuffle"}, "augmentations must be comma-separated names from"),
    ({"augmentations": ""}, "augmentations must be"),
    ({"augmentations": 3}, "augmentations must be"),
    ({"share": 0.0}, "share must be in"), ({"share": 1.0}, "share must be in"),
    ({"temperature": 0.0}, "temperature must be > 0"),
])
def test_bad_options_raise_value_error_naming_them(options, match):
    with pytest.raises(ValueError, match=match):
        GraphCLPretext(**options)


def test_defaults_are_graphcl_transfer_learning_settings():
    p = create_pretext("graphcl")
    assert (p.epochs, p.batch_size, p.lr, p.share, p.temperature) == (100, 256, 1e-3, 0.2, 0.1)
    assert p.augmentations == "drop_nodes,perturb_edges,mask_ops,subgraph" and not p.ranks_proxy


@pytest.mark.parametrize("augmentations", ["drop_nodes,perturb_edges,mask_ops,subgraph", "mask_ops"])
def test_reduces_its_loss_on_synthetic_architectures(random_dags, augmentations):
    batch = random_dags(128)
    torch.manual_seed(0)
    enc = create_encoder("gin", batch.num_ops, hidden=16)
    res = GraphCLPretext(augmentations=augmentations, epochs=12, batch_size=32, lr=3e-3).run(enc, batch, cache=False)
    assert res.history[-1]["loss"] < 0.8 * res.history[0]["loss"], res.history


@pytest.mark.data
def test_reduces_its_loss_on_real_nb201():
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nb201", space_options={"pruned": True})
    batch = bench.batch().subset(np.random.default_rng(0).permutation(len(bench))[:256])
    torch.manual_seed(0)
    enc = create_encoder("gatedgcn", batch.num_ops, hidden=32, layers=2, undirected=True)
    res = GraphCLPretext(epochs=10, batch_size=64).run(enc, batch, cache=False)
    assert res.history[-1]["loss"] < 0.9 * res.history[0]["loss"], res.history
