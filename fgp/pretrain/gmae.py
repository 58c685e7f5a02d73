"""GMAE pre-training (Jing et al., "Graph Masked Autoencoder Enhanced Predictor for Neural Architecture Search",
IJCAI 2022): masked graph autoencoding.

In every graph of a mini-batch ``max(1, round(share * op nodes))`` random op nodes (never input or output) are
masked, and a head Linear(d, d) -> Tanh -> Linear(d, |ops|) on the encoder's node embeddings of the masked graph
reconstructs their ops: cross-entropy over the masked nodes only (the authors' default target, ``masked``).

What was chosen, and why:

- **Ops only, not the structure.** The authors' released pre-training (``MAELearning``) reconstructs the op types
  of the masked nodes and nothing of the wiring; the masked graph keeps all its edges.
- **Masking by a wrong op.** The authors zero a masked node's op embedding; fgp's encoders take ops as one-hot
  indices of the space's vocabulary (no mask token), so a masked node shows another op of the vocabulary drawn at
  random (:func:`fgp.pretrain.augment.mask_ops`) and the encoder must tell from the context which op it really is.
- **An exact share per graph.** The authors mask every node with probability ``share``, so small graphs often get
  no masked node; here every graph with an op node contributes. ``share`` defaults to their NB201 setting, 0.15
  (their NB101 setting is 0.75).

The optimisation is FGP's (AdamW, lr 1e-3, weight decay 1e-6, 200 epochs in batches of 256). The authors' own
(AdamW, lr 1e-4, weight decay 0.01, 10,000 steps of 4,096 NB201 cells with a cosine schedule) passes every NB201
cell about 2,600 times, 13 times FGP's budget: hours on a CPU core for these encoders.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from fgp.batch import GraphBatch
from fgp.pretrain.augment import DenseGraphs, mask_ops, op_nodes, share_counts
from fgp.pretrain.base import Pretext, mlp, node_dim, register_pretext


@register_pretext("gmae")
class GMAEPretext(Pretext):
    """GMAE's masked op reconstruction (module docstring); ``share``: the share of op nodes masked."""

    def __init__(
        self,
        share: float = 0.15,
        epochs: int = 200,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-6,
        clip_norm: float | None = None,
        seed: int = 0,
    ):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, clip_norm=clip_norm,
                         seed=seed)
        if not 0 < share < 1:
            raise ValueError(f"share must be in (0, 1), got {share}")
        self.share = float(share)

    def objective(self, data: GraphBatch, encoder: nn.Module) -> nn.Module:
        return GMAEObjective(self, data, node_dim(encoder, data))


class GMAEObjective(nn.Module):
    parts: tuple[str, ...] = ()

    def __init__(self, pretext: GMAEPretext, data: GraphBatch, dim: int):
        super().__init__()
        self.pretext, self.data = pretext, data
        self.ops = mlp(dim, dim, data.num_ops, activation=nn.Tanh)

    def heads(self) -> dict[str, nn.Module]:
        return {"ops": self.ops}

    def forward(self, encoder: nn.Module, ids: torch.Tensor, gen: torch.Generator):
        graphs = self.data.subset(ids)
        dense = DenseGraphs.from_batch(graphs)
        counts = share_counts(op_nodes(dense, graphs.vocab), self.pretext.share, at_least_one=True)
        masked_dense, masked = mask_ops(dense, graphs.vocab, counts, gen)
        valid = dense.valid
        masked = masked[valid]  # dense slots in row-major order are the batch's nodes in order
        h, _ = encoder(dataclasses.replace(graphs, op_index=masked_dense.ops[valid]))
        if not bool(masked.any()):  # no graph of the batch has an op node
            return h.sum() * 0.0, {}
        return F.cross_entropy(self.ops(h[masked]), graphs.op_index[masked]), {}
