"""GraphCL pre-training (You et al., "Graph Contrastive Learning with Augmentations", NeurIPS 2020).

Every architecture of a mini-batch gets two augmented views, each by one augmentation drawn per graph from
``augmentations`` (:mod:`fgp.pretrain.augment`: node dropping, edge perturbation, op masking and subgraph, all
adapted so that a view is again a legal architecture graph) changing a ``share`` of its op nodes or edges. The
encoder's graph embeddings of the views go through a projection head Linear(d, d) -> ReLU -> Linear(d, d), and
the paper's NT-Xent loss (cosine similarity at ``temperature``) pulls the two views of an architecture together
and pushes the other architectures' second views away:

    loss = mean_i [ -s(i, i) + log sum_{j != i} exp s(i, j) ],   s(i, j) = cos(p1_i, p2_j) / temperature

Defaults are those of GraphCL's pre-train-then-fine-tune experiments (transfer learning): two augmented views,
``share`` 0.2, temperature 0.1, 100 epochs in batches of 256 at lr 1e-3; the optimiser is FGP's (AdamW, weight
decay 1e-6; GraphCL's Adam without decay is the same up to that decay). 100 epochs of two views cost about what
FGP's 200 epochs of one do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fgp.batch import GraphBatch
from fgp.pretrain.augment import AUGMENTATIONS, augment
from fgp.pretrain.base import Pretext, mlp, register_pretext


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """GraphCL's NT-Xent between two views (rows paired); negatives are the other rows of the second view. A
    single pair has no negative and gives 0."""
    if z1.shape[0] < 2:
        return (z1.sum() + z2.sum()) * 0.0
    sim = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    others = sim.masked_fill(torch.eye(sim.shape[0], dtype=torch.bool, device=sim.device), float("-inf"))
    return (others.logsumexp(1) - sim.diagonal()).mean()


@register_pretext("graphcl")
class GraphCLPretext(Pretext):
    """GraphCL: NT-Xent between the projected graph embeddings of two augmented views (module docstring).

    ``augmentations``: comma-separated names from :data:`fgp.pretrain.augment.AUGMENTATIONS`, each graph of each
    view getting one of them at random; ``share``: the share of op nodes (node dropping, subgraph, op masking) or
    edges (edge perturbation) changed.
    """

    def __init__(
        self,
        augmentations: str = ",".join(AUGMENTATIONS),
        share: float = 0.2,
        temperature: float = 0.1,
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-6,
        clip_norm: float | None = None,
        seed: int = 0,
    ):
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, clip_norm=clip_norm,
                         seed=seed)
        if not isinstance(augmentations, str):
            raise ValueError(f"augmentations must be comma-separated names from {list(AUGMENTATIONS)}, got "
                             f"{augmentations!r}")
        names = tuple(a.strip() for a in augmentations.split(",") if a.strip())
        unknown = sorted(set(names) - set(AUGMENTATIONS))
        if unknown or not names:
            raise ValueError(f"augmentations must be comma-separated names from {list(AUGMENTATIONS)}, got "
                             f"{augmentations!r}")
        if not 0 < share < 1:
            raise ValueError(f"share must be in (0, 1), got {share}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.augmentations, self.share, self.temperature = augmentations, float(share), float(temperature)
        self._names = tuple(dict.fromkeys(names))

    def objective(self, data: GraphBatch, encoder: nn.Module) -> nn.Module:
        return GraphCLObjective(self, data, int(encoder.out_dim))


class GraphCLObjective(nn.Module):
    parts: tuple[str, ...] = ()

    def __init__(self, pretext: GraphCLPretext, data: GraphBatch, dim: int):
        super().__init__()
        self.pretext, self.data = pretext, data
        self.projection = mlp(dim, dim, dim)

    def heads(self) -> dict[str, nn.Module]:
        return {"projection": self.projection}

    def forward(self, encoder: nn.Module, ids: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, dict]:
        graphs = self.data.subset(ids)
        # both views in one batch: one augmentation call and one encoder pass (graphs do not interact)
        views = augment(graphs.concat(graphs), self.pretext.share, gen, self.pretext._names)
        z = self.projection(encoder(views)[1])
        return nt_xent(z[: len(ids)], z[len(ids) :], self.pretext.temperature), {}
