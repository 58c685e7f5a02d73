"""Arch2vec pre-training (Yan et al., "Does Unsupervised Architecture Representation Learning Help Neural
Architecture Search?", NeurIPS 2020): the encoder as the encoder of a variational graph autoencoder.

Two linear heads map the encoder's node embeddings ``h`` to the mean and log-variance of a ``latent``-dimensional
Gaussian per node; a sample ``z = mu + eps * exp(logvar / 2)``, with dropout ``decoder_dropout`` (0.3 in the
authors' code), is decoded into

- the ops: a linear layer, cross-entropy against every node's op (``l_ops``);
- the wiring: the inner product ``z_u . z_v`` as the logit of "u and v are joined by an edge", binary cross-entropy
  over every pair of nodes of a graph (``l_adj``). The inner product is symmetric, so, as arch2vec does with its
  upper-triangular adjacency, the pair target is an edge in either direction: in a DAG the direction follows from
  the topological order, which the encoder sees.

``loss = l_ops + l_adj + kl_weight * l_kl`` with ``l_kl`` the KL divergence from the standard normal, summed over
the latent dimensions and averaged over nodes. Arch2vec divides its KL term by the number of nodes in a batch (32
cells of 8 nodes on NB201: 1/256), so it barely regularises; ``kl_weight`` defaults to that 1/256, fixed rather than
tied to the batch size.

Defaults are arch2vec's NB201 pre-training: 10 epochs in batches of 32 at lr 1e-3, latent width 16, decoder dropout
0.3; the optimiser is FGP's (AdamW, weight decay 1e-6; arch2vec's Adam without decay is the same up to that decay).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import to_dense_adj, to_dense_batch

from fgp.batch import GraphBatch
from fgp.pretrain.base import Pretext, node_dim, register_pretext


@register_pretext("arch2vec")
class Arch2vecPretext(Pretext):
    """Arch2vec's variational graph autoencoder objective (module docstring)."""

    def __init__(
        self,
        latent: int = 16,
        kl_weight: float = 1 / 256,
        decoder_dropout: float = 0.3,
        epochs: int = 10,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-6,
        clip_norm: float | None = None,
        seed: int = 0,
    ):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, clip_norm=clip_norm,
                         seed=seed)
        if latent < 1:
            raise ValueError(f"latent must be a positive width, got {latent}")
        if kl_weight < 0:
            raise ValueError(f"kl_weight must be >= 0, got {kl_weight}")
        if not 0 <= decoder_dropout < 1:
            raise ValueError(f"decoder_dropout must be in [0, 1), got {decoder_dropout}")
        self.latent, self.kl_weight, self.decoder_dropout = int(latent), float(kl_weight), float(decoder_dropout)

    def objective(self, data: GraphBatch, encoder: nn.Module) -> nn.Module:
        return Arch2vecObjective(self, data, node_dim(encoder, data))


class Arch2vecObjective(nn.Module):
    parts = ("l_ops", "l_adj", "l_kl")

    def __init__(self, pretext: Arch2vecPretext, data: GraphBatch, dim: int):
        super().__init__()
        self.pretext, self.data = pretext, data
        self.mean = nn.Linear(dim, pretext.latent)
        self.logvar = nn.Linear(dim, pretext.latent)
        self.ops = nn.Linear(pretext.latent, data.num_ops)

    def heads(self) -> dict[str, nn.Module]:
        return {"mean": self.mean, "logvar": self.logvar, "ops": self.ops}

    def forward(self, encoder: nn.Module, ids: torch.Tensor, gen: torch.Generator):
        graphs = self.data.subset(ids)
        h, _ = encoder(graphs)
        mu, logvar = self.mean(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        z = F.dropout(z, self.pretext.decoder_dropout, training=True)
        l_ops = F.cross_entropy(self.ops(z), graphs.op_index)
        dense, valid = to_dense_batch(z, graphs.batch, batch_size=graphs.num_graphs)
        n = dense.shape[1]
        adj = to_dense_adj(graphs.edge_index, graphs.batch, max_num_nodes=n, batch_size=graphs.num_graphs) > 0
        pairs = valid[:, :, None] & valid[:, None, :] & torch.ones(n, n, dtype=torch.bool, device=z.device).triu(1)
        logits = dense @ dense.transpose(1, 2)
        l_adj = F.binary_cross_entropy_with_logits(logits[pairs], (adj | adj.transpose(1, 2))[pairs].float())
        l_kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        loss = l_ops + l_adj + self.pretext.kl_weight * l_kl
        return loss, {"l_ops": l_ops, "l_adj": l_adj, "l_kl": l_kl}
