"""FGP pre-training (METHOD.md section 3): ``L = l1 * L_rec + l2 * L_aux``.

- ``L_rec``: batch mean of ``||s - g(z)||^2``, the flow head ``g`` = Linear(d,128)-ReLU-Linear(128,k) reconstructing
  the flow surrogate ``s`` (:func:`fgp.surrogate.flow_surrogate`) from the mean-pooled graph embedding ``z``.
- ``L_aux``: pairwise hinge ranking loss between the proxy head Linear(d,64)-ReLU-Linear(64,1) and a zero-cost
  proxy value per architecture, passed in as an array (by default the benchmark's parameter count; any other proxy
  plugs in the same way). A ``(G, m)`` table of several proxies gives the head ``m`` outputs and ``L_aux`` the mean
  of the ``m`` ranking losses. ``l1=0`` is the ZC-proxy-only baseline (registered as ``zc``), ``l2=0`` surrogate-only.

The whole pre-training set is held as one :class:`GraphBatch` and the surrogates are computed once; mini-batches
are ``batch.subset(ids)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from fgp.batch import GraphBatch
from fgp.losses import pairwise_hinge_loss
from fgp.pretrain.base import (
    Pretext,
    PretrainResult,
    array_digest,
    check_pretrain_set,
    encoder_device,
    mlp,
    register_pretext,
)
from fgp.surrogate import SurrogateDraws, flow_surrogate, resolve_constants
from fgp.validation import per_graph_values


def standardize_targets(s: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Z-score every surrogate dimension over the pre-training set; constant dimensions become all-zero targets.

    Surrogate scales differ by orders of magnitude between spaces (NB101's reach ~80; NB201's 8-node graphs vary by
    0.003-0.05 per dimension, one dimension constant), so z-scoring gives ``L_rec`` the same weight everywhere.
    """
    mean = s.mean(0)
    std = s.std(0, unbiased=False)
    constant = std <= eps * mean.abs().clamp(min=1.0)
    safe = torch.where(constant, torch.ones_like(std), std)
    z = (s - mean) / safe
    z[:, constant] = 0.0
    return z, mean, torch.where(constant, torch.zeros_like(std), std)


@register_pretext("fgp")
class FGPPretext(Pretext):
    """FGP pre-training with all of METHOD.md section 3's options and its ablation switches.

    ``k``/``std`` default to the space's surrogate constants (:func:`fgp.surrogate.surrogate_defaults`);
    ``surrogate_seed`` fixes the draws ``r, P, W`` (shared by all architectures), ``seed`` the heads, shuffling
    and dropout. ``standardize`` z-scores the surrogate per dimension (see :func:`standardize_targets`).
    """

    name = "fgp"

    def __init__(
        self,
        l1: float = 0.5,
        l2: float = 0.5,
        epochs: int = 200,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-6,
        k: int | None = None,
        std: float | None = None,
        surrogate_seed: int = 0,
        alpha: float = 0.5,
        rounds: int = 1,
        forward: bool = True,
        backward: bool = True,
        standardize: bool = True,
        aux_margin: float = 0.5,
        aux_max_pairs: int | None = None,
        flow_hidden: int = 128,
        proxy_hidden: int = 64,
        clip_norm: float | None = None,
        seed: int = 0,
    ):
        if l1 < 0 or l2 < 0 or l1 + l2 == 0:
            raise ValueError(f"l1 and l2 must be >= 0 and not both 0, got l1={l1}, l2={l2}")
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         clip_norm=clip_norm, seed=seed)
        if not (forward or backward):
            raise ValueError("at least one of the surrogate's forward and backward passes must be enabled")
        if int(rounds) != rounds or rounds < 1:
            raise ValueError(f"rounds must be a positive integer, got {rounds}")
        if aux_max_pairs is not None and not aux_max_pairs >= 1:
            raise ValueError(f"aux_max_pairs must be a positive number of pairs or None, got {aux_max_pairs}")
        self.l1, self.l2 = float(l1), float(l2)
        self.k, self.std = (None if k is None else int(k)), (None if std is None else float(std))
        self.surrogate_seed, self.alpha, self.rounds = int(surrogate_seed), float(alpha), int(rounds)
        self.forward, self.backward, self.standardize = bool(forward), bool(backward), bool(standardize)
        self.aux_margin, self.aux_max_pairs = float(aux_margin), aux_max_pairs
        self.flow_hidden, self.proxy_hidden = int(flow_hidden), int(proxy_hidden)

    # ------------------------------------------------------------------------------------------------------

    @property
    def uses_surrogate(self) -> bool:
        """Whether ``L_rec`` computes flow surrogates, which needs the space's constants."""
        return self.l1 > 0

    @property
    def ranks_proxy(self) -> bool:
        """Whether ``L_aux`` ranks a zero-cost proxy (``l2 > 0``), so that proxy values are needed."""
        return self.l2 > 0

    def surrogate_constants(self, space: str | None) -> tuple[int, float]:
        return resolve_constants(self.k, self.std, space)

    def run(
        self,
        encoder: nn.Module,
        batch: GraphBatch,
        proxy: np.ndarray | None = None,
        space: str | None = None,
        device: torch.device | str | None = None,
        progress: Callable[[int, dict], None] | None = None,
        cache: bool = True,
        draws: SurrogateDraws | None = None,
    ) -> PretrainResult:
        """Pre-train ``encoder`` in place on every graph of ``batch``; ``proxy`` holds one value per graph (or a row of
        several proxies).

        With ``cache`` the result is looked up in, and stored to, the disk cache; explicit ``draws`` replace the
        seeded ones (and enter the key).
        """
        check_pretrain_set(batch)
        proxy = self._ranked_proxy(proxy, batch.num_graphs)
        k = std = None
        if self.uses_surrogate:
            if draws is None:
                k, std = self.surrogate_constants(space)
            else:
                k = draws.k
        device = encoder_device(encoder, device)
        parts = {
            **self.cache_parts(encoder, batch, space, device),
            "k_std": [k, std],
            "draws": None if draws is None else [array_digest(draws.r), array_digest(draws.P),
                                                 array_digest(draws.W), draws.alpha],
            "proxy": array_digest(proxy),
        }
        return self.cached_run(encoder, parts, cache, lambda: self._train(
            encoder, batch.to(device), proxy, k, std, draws, device, progress))

    def _ranked_proxy(self, proxy, num_graphs: int) -> np.ndarray | None:
        """The checked proxy values ``L_aux`` ranks (one per graph, or a row of several), None when ``l2 == 0``."""
        if not self.ranks_proxy:
            return None
        if proxy is None:
            raise ValueError("L_aux (l2 > 0) needs the zero-cost proxy values, one per graph: pass proxy=, or set l2=0")
        return per_graph_values(proxy, num_graphs, "proxy", columns=True)

    def _targets(self, data: GraphBatch, draws: SurrogateDraws | None, device: torch.device):
        """``L_rec``'s target per graph (None without surrogate), and the statistics it was z-scored with (None
        unless ``standardize``)."""
        if draws is None:
            return None, None
        s = flow_surrogate(data, draws=draws, rounds=self.rounds, forward=self.forward, backward=self.backward)[0]
        stats = None
        if self.standardize:
            s, mean, sd = standardize_targets(s)
            stats = {"target_mean": mean.tolist(), "target_std": sd.tolist()}
        return s.to(device), stats

    def _train(self, encoder, data, proxy, k, std, draws, device, progress) -> PretrainResult:
        meta: dict[str, Any] = {}
        used = None
        if self.uses_surrogate:
            used = draws
            if used is None:
                used = SurrogateDraws.sample(data.num_ops, k, std, self.surrogate_seed, self.alpha)
            meta["draws"] = {"r": used.r.tolist(), "P": used.P.tolist(), "W": used.W.tolist(), "alpha": used.alpha}
        target, stats = self._targets(data, used, device)
        meta.update(stats or {})
        proxy_t = None if proxy is None else _proxy_table(proxy, device)
        return self.fit(encoder, data, device, progress,
                        lambda d: FGPObjective(self, d, encoder, target, proxy_t), meta)


def _proxy_table(proxy: np.ndarray, device: torch.device) -> torch.Tensor:
    """One column per proxy: the proxy head ranks each, ``L_aux`` is their mean. A copy (``torch.tensor``): a proxy
    array may be read-only, which ``torch.as_tensor`` warns about."""
    proxy = np.asarray(proxy)
    return torch.tensor(proxy, dtype=torch.float64, device=device).reshape(proxy.shape[0], -1)


class FGPObjective(nn.Module):
    """FGP's loss on mini-batches of one pre-training set: the heads, and the targets of every graph of the set.
    The heads are created in the order flow, proxy from the current torch seed."""

    parts = ("l_rec", "l_aux")

    def __init__(self, pretext: FGPPretext, data: GraphBatch, encoder: nn.Module, target: torch.Tensor | None,
                 proxy: torch.Tensor | None):
        super().__init__()
        self.pretext, self.data, self.target, self.proxy = pretext, data, target, proxy
        d = int(encoder.out_dim)
        self.flow_head = mlp(d, pretext.flow_hidden, target.shape[1]) if target is not None else None
        self.proxy_head = mlp(d, pretext.proxy_hidden, proxy.shape[1]) if proxy is not None else None

    def heads(self) -> dict[str, nn.Module]:
        """The trained heads by the names ``PretrainResult.head_states`` uses."""
        named = (("flow", self.flow_head), ("proxy", self.proxy_head))
        return {name: m for name, m in named if m is not None}

    def forward(self, encoder: nn.Module, ids: torch.Tensor, gen: torch.Generator):
        """``(loss, {"l_rec", "l_aux"})`` of the graphs ``ids`` (CPU ids); a part is None when unused."""
        ids_dev = ids.to(self.data.device)
        _, z = encoder(self.data.subset(ids))  # CPU ids: subset moves them
        loss = z.new_zeros(())
        l_rec = l_aux = None
        if self.flow_head is not None:
            l_rec = (self.flow_head(z) - self.target[ids_dev]).pow(2).sum(1).mean()
            loss = loss + self.pretext.l1 * l_rec
        if self.proxy_head is not None:
            scores, values = self.proxy_head(z), self.proxy[ids_dev]
            margin, max_pairs = self.pretext.aux_margin, self.pretext.aux_max_pairs
            l_aux = sum(
                pairwise_hinge_loss(scores[:, j], values[:, j], margin, max_pairs, gen) for j in range(values.shape[1])
            ) / values.shape[1]
            loss = loss + self.pretext.l2 * l_aux
        return loss, {"l_rec": l_rec, "l_aux": l_aux}


@register_pretext("zc")
class ZCPretext(FGPPretext):
    """The ZC-proxy-only baseline: FGP without the flow surrogate (``l1=0``), only ``L_aux``."""

    def __init__(self, l1: float = 0.0, **options: Any):
        super().__init__(l1=l1, **options)
