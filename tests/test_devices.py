"""Batches, encoders, fine-tuning and the FGP loss on every device at hand: the CPU, and CUDA when present.

Numpy cannot read a tensor that lives off the CPU. So that the CPU run catches such a conversion too (not only a
GPU run), every test here makes tensors refuse numpy, as CUDA tensors do.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.encoders import create_encoder, list_encoders
from fgp.finetune import FinetuneConfig, ScoreModel, finetune, predict_scores
from fgp.graph import ArchGraph
from fgp.spaces import get_space

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
FIELDS = ("op_index", "edge_index", "batch", "generation", "node_ptr", "edge_ptr")
VOCAB = ("input", "output", "a", "b")


@pytest.fixture(autouse=True)
def tensors_refuse_numpy(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise TypeError(f"can't convert {self.device} tensor to numpy (as off the CPU)")

    monkeypatch.setattr(torch.Tensor, "__array__", refuse)
    monkeypatch.setattr(torch.Tensor, "numpy", refuse)


def nb201_batch(n: int, seed: int = 0) -> GraphBatch:
    space, rng = get_space("nb201"), np.random.default_rng(seed)
    return GraphBatch.from_graphs([space.decode(space.sample(rng)) for _ in range(n)])


def test_tensors_refuse_numpy():
    with pytest.raises(TypeError, match="can't convert cpu tensor to numpy"):
        np.asarray(torch.arange(3))


@pytest.mark.parametrize("device", DEVICES)
def test_subset_and_node_ids_stay_on_the_device(device):
    gs = [
        ArchGraph(["input", "a", "output"], [(0, 1), (1, 2)], VOCAB),
        ArchGraph(["input", "a", "b", "output"], [(0, 1), (0, 2), (1, 2), (2, 3)], VOCAB),
        ArchGraph(["input", "input", "b", "output"], [(0, 2), (1, 2), (2, 3)], VOCAB),
    ]
    batch = GraphBatch.from_graphs(gs).to(device)
    ref = GraphBatch.from_graphs([gs[2], gs[0]])
    for ids in ([2, 0], np.array([2, 0]), torch.tensor([2, 0]), torch.tensor([2, 0], device=device)):
        sub = batch.subset(ids)
        assert sub.device.type == device
        for name in FIELDS:
            assert torch.equal(getattr(sub, name).cpu(), getattr(ref, name)), name
        nodes = batch.node_ids(ids)
        assert nodes.device.type == device and nodes.tolist() == [7, 8, 9, 10, 0, 1, 2]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list_encoders())
def test_encoder_forward_and_backward_on_the_device(name, device):
    batch = nb201_batch(6)
    torch.manual_seed(0)
    enc = create_encoder(name, batch.num_ops).eval()
    on_device = copy.deepcopy(enc).to(device)
    nodes, graphs = on_device(batch.to(device))
    graphs.sum().backward()
    assert nodes.device.type == graphs.device.type == device
    assert all(p.grad is not None and p.grad.device.type == device for p in on_device.parameters())
    if device != "cpu":  # the same numbers as on the CPU (on the CPU itself this would compare a copy with itself)
        with torch.no_grad():
            ref_nodes, ref_graphs = enc(batch)
        torch.testing.assert_close(nodes.detach().cpu(), ref_nodes, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(graphs.detach().cpu(), ref_graphs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_finetune_on_the_device(device):
    """One epoch of fine-tuning (mini-batches taken with ``subset``)."""
    batch = nb201_batch(10)
    y = np.linspace(0.0, 1.0, batch.num_graphs)
    torch.manual_seed(0)
    model = ScoreModel(create_encoder("gatedgcn", batch.num_ops, hidden=16, layers=2))
    data = batch.to(device)
    g = batch.num_graphs
    before = copy.deepcopy(model.state_dict())
    res = finetune(model, batch, y, config=FinetuneConfig(epochs=1, batch_size=4), device=device)
    assert np.isfinite(res.history[0]["loss"])
    assert all(p.device.type == device for p in model.parameters())
    assert all(not torch.equal(before[k].cpu(), v.cpu()) for k, v in model.state_dict().items() if "weight" in k)
    scores = predict_scores(model, data)
    assert scores.device.type == "cpu" and scores.shape == (g,) and torch.isfinite(scores).all()
