"""Supervised fine-tuning of an encoder + score head with the pairwise hinge ranking loss (METHOD.md section 4).

Few labels (78 on NB201 at 1%) make training noisy, so the protocol keeps the epoch with the best validation Kendall
tau; the weights of that epoch are deep-copied (a later epoch must not overwrite them).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from fgp.batch import GraphBatch
from fgp.losses import pairwise_hinge_loss
from fgp.metrics import kendall_tau
from fgp.registry import check_options
from fgp.validation import per_graph_values

SCHEDULES = ("none", "cosine")
SELECTIONS = ("best", "last")


class ScoreModel(nn.Module):
    """An encoder followed by the score head Linear(d, h) -> ReLU -> Linear(h, 1), or Linear(d, 1) when
    ``head_hidden`` is 0 (FlowerFormer's own head); returns one score per graph."""

    def __init__(self, encoder: nn.Module, head_hidden: int | None = None):
        super().__init__()
        d = int(encoder.out_dim)
        h = d if head_hidden is None else int(head_hidden)
        if h < 0:
            raise ValueError(f"head_hidden must be >= 0 (0: a linear head), got {head_hidden}")
        self.encoder = encoder
        self.head = nn.Linear(d, 1) if h == 0 else nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, 1))

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        _, z = self.encoder(batch)
        return self.head(z).squeeze(-1)


class ScoreEnsemble(nn.Module):
    """Score models fine-tuned from different seeds; the score is their mean (averaging damps the run-to-run
    variance of a ranking head trained on a few dozen labels)."""

    def __init__(self, members: list[ScoreModel]):
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        self.members = nn.ModuleList(members)

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        return torch.stack([m(batch) for m in self.members]).mean(0)


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning options; the defaults are METHOD.md's GNN settings (AdamW 1e-3 / 1e-6, batch 16, clip 1)."""

    epochs: int = 300
    lr: float = 1e-3
    weight_decay: float = 1e-6
    batch_size: int = 16
    margin: float = 0.5
    max_pairs: int | None = None  # cap on hinge pairs per mini-batch (None: all pairs)
    clip_norm: float | None = 1.0
    schedule: str = "none"  # "none" | "cosine" (linear warm-up then cosine decay to 0, per step)
    warmup_epochs: int = 0
    select: str = "best"  # "best" validation Kendall tau epoch, or the "last" epoch
    freeze_encoder_epochs: int = 0  # train only the head for this many epochs first

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (a ranking loss needs pairs), got {self.batch_size}")
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0, got {self.margin}")
        if self.max_pairs is not None and self.max_pairs < 1:
            raise ValueError(f"max_pairs must be positive or None, got {self.max_pairs}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm must be positive or None, got {self.clip_norm}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {list(SCHEDULES)}")
        if not 0 <= self.warmup_epochs < self.epochs or (self.warmup_epochs and self.schedule == "none"):
            raise ValueError(
                f"warmup_epochs must be in [0, epochs) and needs schedule='cosine', got {self.warmup_epochs}"
            )
        if not 0 <= self.freeze_encoder_epochs <= self.epochs:
            raise ValueError(f"freeze_encoder_epochs must be in [0, epochs], got {self.freeze_encoder_epochs}")
        if self.select not in SELECTIONS:
            raise ValueError(f"unknown select {self.select!r}; choose one of {list(SELECTIONS)}")

    @classmethod
    def from_kwargs(cls, kwargs: dict | None) -> FinetuneConfig:
        check_options(cls, kwargs or {}, "fine-tuning")
        return cls(**(kwargs or {}))


@dataclass
class FinetuneResult:
    best_epoch: int  # 1-based epoch whose weights the model holds at the end
    best_val_tau: float | None  # None without a validation set
    history: list[dict] = field(default_factory=list)  # per epoch: epoch, loss, val_tau
    seconds: float = 0.0


def predict_scores(model: nn.Module, batch: GraphBatch, batch_size: int = 4096) -> torch.Tensor:
    """Scores of every graph (eval mode, no gradients), computed ``batch_size`` graphs at a time on the model's
    device and returned on the CPU."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, batch.num_graphs, batch_size):
            ids = torch.arange(start, min(start + batch_size, batch.num_graphs))
            part = batch if (start == 0 and ids.numel() == batch.num_graphs) else batch.subset(ids)
            out.append(model(part.to(device)).float().cpu())
    model.train(was_training)
    return torch.cat(out)


def adamw(params, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW, fused into one kernel where torch supports it (5x faster steps for these small models).

    ``params`` is an iterable of tensors or of param-group dicts."""
    params = list(params)
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _lr_factor(config: FinetuneConfig, steps_per_epoch: int) -> Callable[[int], float]:
    total = config.epochs * steps_per_epoch
    warm = config.warmup_epochs * steps_per_epoch

    def factor(step: int) -> float:
        if config.schedule == "none":
            return 1.0
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def finetune(
    model: nn.Module,
    batch: GraphBatch,
    y: np.ndarray | torch.Tensor,
    val_batch: GraphBatch | None = None,
    val_y: np.ndarray | torch.Tensor | None = None,
    config: FinetuneConfig | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: Callable[[int, dict], None] | None = None,
) -> FinetuneResult:
    """Train ``model`` (graphs -> scores) in place on ``(batch, y)`` and leave it holding the selected epoch.

    Without a validation set (or with ``select="last"``) the last epoch is kept. Shuffling, pair subsampling and
    dropout draw from generators seeded with ``seed``, so a CPU run is reproducible; the global torch RNG state is
    restored afterwards. ``progress(epoch, record)`` is called after every epoch.
    """
    config = config or FinetuneConfig()
    y_t = _labels(y, batch.num_graphs, "y")
    if (val_batch is None) != (val_y is None):
        raise ValueError("pass both val_batch and val_y, or neither")
    if val_batch is not None:
        val_y_np = _labels(val_y, val_batch.num_graphs, "val_y").numpy()
        if val_batch.vocab != batch.vocab:
            raise ValueError("the validation graphs use a different op vocabulary from the training graphs")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    data = batch.to(device)
    val_data = val_batch.to(device) if val_batch is not None else None
    y_dev = y_t.to(device)
    n = batch.num_graphs
    bs = min(config.batch_size, n)
    steps_per_epoch = n // bs + (n % bs >= 2)  # the optimiser steps taken: a last mini-batch of one has no pair
    encoder = getattr(model, "encoder", None)
    enc_params = list(encoder.parameters()) if isinstance(encoder, nn.Module) else []
    enc_ids = {id(p) for p in enc_params}
    rest = [p for p in model.parameters() if id(p) not in enc_ids]
    groups = [{"params": rest}] + ([{"params": enc_params}] if enc_params else [])  # the encoder's may freeze
    clipped = list(model.parameters())
    opt = adamw(groups, config.lr, config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_factor(config, steps_per_epoch))
    gen = torch.Generator().manual_seed(int(seed))
    use_val = val_batch is not None and config.select == "best"

    t0 = time.perf_counter()
    best_tau, best_epoch, best_state = -math.inf, config.epochs, None
    history: list[dict] = []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(seed))
        for epoch in range(1, config.epochs + 1):
            model.train()
            frozen = epoch <= config.freeze_encoder_epochs
            for p in enc_params:  # a frozen parameter gets no gradient, and AdamW skips it entirely
                p.requires_grad_(not frozen)
            order = torch.randperm(n, generator=gen)
            losses = []
            for start in range(0, n, bs):
                ids = order[start : start + bs]
                if ids.numel() < 2:
                    continue
                scores = model(data.subset(ids))  # CPU ids: subset moves them
                loss = pairwise_hinge_loss(scores, y_dev[ids.to(device)], config.margin, config.max_pairs, gen)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if config.clip_norm is not None:
                    nn.utils.clip_grad_norm_(clipped, config.clip_norm)
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
            record = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else 0.0}
            if use_val:
                tau = kendall_tau(predict_scores(model, val_data).numpy(), val_y_np)
                record["val_tau"] = tau
                if tau > best_tau:
                    best_tau, best_epoch = tau, epoch
                    best_state = copy.deepcopy(model.state_dict())
            history.append(record)
            if progress is not None:
                progress(epoch, record)
    for p in enc_params:
        p.requires_grad_(True)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return FinetuneResult(
        best_epoch=best_epoch if use_val else config.epochs,
        best_val_tau=best_tau if use_val else None,
        history=history,
        seconds=time.perf_counter() - t0,
    )


def _labels(y, n: int, name: str) -> torch.Tensor:
    return torch.as_tensor(per_graph_values(y, n, name), dtype=torch.float64)  # float64: near-equal labels must not tie
