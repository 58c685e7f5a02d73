"""Pretext-task registry (``register_pretext`` / ``create_pretext`` / ``list_pretexts``), the on-disk cache and
:class:`Pretext`, the base every task shares.

A pretext task is an object built as ``cls(**options)`` with

- ``name`` (its registry name) and ``config() -> dict`` (its JSON-able options, all that determines the result);
- ``run(encoder, batch, proxy=None, space=None, device=None, progress=None, cache=True) -> PretrainResult``,
  which leaves ``encoder`` holding the pre-trained weights;
- ``ranks_proxy``: whether ``run`` needs zero-cost proxy values (callers compute none otherwise).

Pre-training is the expensive step and it does not depend on the labels, so its result is cached on disk
(``$FGP_CACHE``, default ``~/.cache/fgp``) under a hash of everything that determines it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import fgp
from fgp.batch import GraphBatch
from fgp.finetune import adamw
from fgp.io import cache_root, check_weights, content_digest, write_atomic
from fgp.registry import Registry

CACHE_FORMAT = 3  # bump when pre-training computes other numbers from the same key (tests/test_pretrain.py pins them)

PRETEXTS = Registry("pretext task")
register_pretext = PRETEXTS.register
list_pretexts = PRETEXTS.names


def create_pretext(name: str, **options: Any) -> Any:
    """The pretext task registered under ``name`` built with ``options``."""
    return PRETEXTS.create(name, **options)


@dataclass
class PretrainResult:
    """What a pre-training produced; the encoder passed to ``run`` already holds ``encoder_state``."""

    encoder_state: dict[str, torch.Tensor]
    history: list[dict] = field(default_factory=list)  # per epoch: epoch, loss and the task's loss parts
    seconds: float = 0.0  # time of the pre-training itself (the original run when loaded from cache)
    cached: bool = False  # True when loaded from the disk cache
    key: str = ""
    meta: dict = field(default_factory=dict)  # JSON-able extras (surrogate draws, target statistics, ...)
    head_states: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # e.g. "flow", "proxy"


# hashing ---------------------------------------------------------------------------------------------------


def _update_tensor(h: "hashlib._Hash", t: torch.Tensor) -> None:
    t = t.detach().cpu().contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())


def batch_digest(batch: GraphBatch) -> str:
    """Hash of the graphs of a batch (ops, wiring, grouping, vocabulary and node attributes where the graphs have
    them), i.e. of the pre-training set."""
    h = hashlib.sha256()
    h.update(json.dumps(list(batch.vocab)).encode())
    for name in ("op_index", "edge_index", "node_ptr", "edge_ptr"):
        _update_tensor(h, getattr(batch, name))
    if batch.attrs is not None:  # graphs without attributes keep the keys they always had
        _update_tensor(h, batch.attrs)
    return h.hexdigest()


def state_digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        _update_tensor(h, state[name])
    return h.hexdigest()


def array_digest(a: np.ndarray | None) -> str | None:
    if a is None:
        return None
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    return hashlib.sha256(a.tobytes()).hexdigest()


def cache_key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


# cache -----------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """``$FGP_CACHE/pretrain`` (default ``~/.cache/fgp/pretrain``)."""
    return cache_root() / "pretrain"


def load_cached(key: str) -> PretrainResult | None:
    """The cached result for ``key``, or None when absent. An entry that is unreadable, of another cache format,
    or fails its checksum (changed after it was written) is not trusted: it is recomputed, and a line says so."""
    d = cache_dir()
    weights, meta_path = d / f"{key}.pt", d / f"{key}.json"
    if not (weights.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        saved = torch.load(weights, map_location="cpu", weights_only=True)
        if not isinstance(meta, dict) or meta.get("cache_format") != CACHE_FORMAT or meta.get("key") != key:
            raise ValueError("it is of another cache format")
        state, heads = saved["encoder"], saved.get("heads", {})
        if meta.get("checksum") != _entry_digest(state, heads, meta):
            raise ValueError("its checksum does not match its content")
        check_weights(state)
        for head in heads.values():
            check_weights(head)
    except Exception as exc:  # noqa: BLE001  any unreadable or altered entry is recomputed, never used
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"fgp: recomputing the pre-training cache entry {key}: {reason}", file=sys.stderr)
        return None
    return PretrainResult(
        encoder_state=state,
        head_states=heads,
        history=meta.get("history", []),
        seconds=float(meta.get("seconds", 0.0)),
        cached=True,
        key=key,
        meta=meta.get("meta", {}),
    )


def _entry_digest(encoder: dict, heads: dict, meta: dict) -> str:
    """Checksum of a cache entry: its weights and everything of its metadata but the checksum itself."""
    tensors = {f"encoder.{k}": v for k, v in encoder.items()}
    tensors.update({f"heads.{h}.{k}": v for h, state in heads.items() for k, v in state.items()})
    texts = {"meta": json.dumps({k: v for k, v in meta.items() if k != "checksum"}, sort_keys=True, default=str)}
    return content_digest(texts, tensors)


def save_cached(result: PretrainResult, parts: dict) -> None:
    """Write weights then metadata atomically (rename), so a crash never leaves a half-written entry in use."""
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    cpu = lambda sd: {k: v.detach().cpu().clone() for k, v in sd.items()}  # noqa: E731
    state = {"encoder": cpu(result.encoder_state), "heads": {n: cpu(sd) for n, sd in result.head_states.items()}}
    meta = {
        "cache_format": CACHE_FORMAT,
        "key": result.key,
        "parts": parts,
        "seconds": result.seconds,
        "history": result.history,
        "meta": result.meta,
    }
    meta["checksum"] = _entry_digest(state["encoder"], state["heads"], meta)
    write_atomic(d / f"{result.key}.pt", lambda f: torch.save(state, f))
    write_atomic(d / f"{result.key}.json", lambda f: f.write(json.dumps(meta).encode()))


# the shared base -------------------------------------------------------------------------------------------


class Pretext:
    """What every pretext task shares: the optimisation options, the cache key, and the seeded epoch loop.

    A task takes its own options and these (``super().__init__(epochs=..., ...)``), and builds its loss as an
    ``nn.Module`` in :meth:`objective`: ``heads()`` names its trainable heads, ``parts`` names the loss parts it
    reports, and ``objective(encoder, ids, gen)`` returns ``(loss, {part: tensor or None})`` for the graphs ``ids``
    (CPU indices) of the pre-training set, drawing any randomness of its own from ``gen``. The heads are created
    from the task's seed, which also drives shuffling and dropout. AdamW over the encoder and the heads, every graph
    once per epoch in mini-batches of ``batch_size``.
    """

    name = ""
    ranks_proxy = False  # whether run() needs zero-cost proxy values
    uses_surrogate = False  # whether run() computes flow surrogates (needs the space's constants)

    def __init__(self, epochs: int = 200, batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 1e-6,
                 clip_norm: float | None = None, seed: int = 0):
        if epochs < 1 or batch_size < 2:
            raise ValueError(f"epochs must be >= 1 and batch_size >= 2, got {epochs} and {batch_size}")
        if not lr > 0 or weight_decay < 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {lr} and {weight_decay}")
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"clip_norm must be positive or None, got {clip_norm}")
        self.epochs, self.batch_size = int(epochs), int(batch_size)
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.clip_norm, self.seed = clip_norm, int(seed)

    def config(self) -> dict[str, Any]:
        """Every constructor option (of this class and the classes it extends), as stored."""
        names: list[str] = []
        for klass in type(self).__mro__:
            if klass is object or "__init__" not in vars(klass):
                continue
            for p in list(inspect.signature(klass.__init__).parameters.values())[1:]:
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names:
                    names.append(p.name)
        return {n: getattr(self, n) for n in names}

    def objective(self, data: GraphBatch, encoder: nn.Module) -> nn.Module:
        """The task's loss on mini-batches of ``data`` (see the class docstring)."""
        raise NotImplementedError

    def run(
        self,
        encoder: nn.Module,
        batch: GraphBatch,
        proxy: np.ndarray | None = None,
        space: str | None = None,
        device: torch.device | str | None = None,
        progress: Callable[[int, dict], None] | None = None,
        cache: bool = True,
    ) -> PretrainResult:
        """Pre-train ``encoder`` in place on every graph of ``batch`` (looked up in, and stored to, the disk cache
        with ``cache``). This task ranks no proxy, so ``proxy`` must be None."""
        if proxy is not None:
            raise ValueError(f"{self.name} pre-training ranks no zero-cost proxy: pass proxy=None")
        check_pretrain_set(batch)
        device = encoder_device(encoder, device)
        parts = self.cache_parts(encoder, batch, space, device)
        return self.cached_run(encoder, parts, cache, lambda: self.fit(
            encoder, batch.to(device), device, progress, lambda data: self.objective(data, encoder)))

    # shared steps ----------------------------------------------------------------------------------------

    def cache_parts(self, encoder: nn.Module, batch: GraphBatch, space: str | None, device: torch.device) -> dict:
        """What determines the result besides task-specific inputs: options, graphs, encoder and versions."""
        return {
            "pretext": self.name,
            "config": self.config(),
            "space": space,
            "graphs": batch_digest(batch),
            "encoder_class": f"{type(encoder).__module__}.{type(encoder).__qualname__}",
            "encoder_repr": repr(encoder),
            "encoder_init": state_digest(encoder.state_dict()),
            "fgp_version": fgp.__version__,
            "torch": ".".join(torch.__version__.split(".")[:2]),
            "device": device.type,
        }

    @staticmethod
    def cached_run(encoder: nn.Module, parts: dict, cache: bool,
                   compute: Callable[[], PretrainResult]) -> PretrainResult:
        """The cached result of ``parts`` loaded into ``encoder``, else ``compute()`` (timed, and stored)."""
        key = cache_key(parts)
        if cache:
            hit = load_cached(key)
            if hit is not None:
                try:
                    encoder.load_state_dict(hit.encoder_state)
                    return hit
                except (RuntimeError, KeyError):
                    pass  # stale entry: recompute and overwrite
        start = time.perf_counter()
        result = compute()
        result.seconds, result.key = time.perf_counter() - start, key
        if cache:
            save_cached(result, parts)
        return result

    def fit(self, encoder: nn.Module, data: GraphBatch, device: torch.device,
            progress: Callable[[int, dict], None] | None, make_objective: Callable[[GraphBatch], nn.Module],
            meta: dict | None = None) -> PretrainResult:
        """The seeded epoch loop over ``data`` (already on ``device``); the global RNG is restored afterwards."""
        G = data.num_graphs
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            objective = make_objective(data).to(device)
            heads = objective.heads()
            modules = [encoder, *heads.values()]
            params = [p for m in modules for p in m.parameters()]
            opt = adamw(params, self.lr, self.weight_decay)
            gen = torch.Generator().manual_seed(self.seed)
            bs = min(self.batch_size, G)
            history: list[dict] = []
            for m in modules:
                m.train()
            for epoch in range(1, self.epochs + 1):
                order = torch.randperm(G, generator=gen)
                sums = {"loss": 0.0, **dict.fromkeys(objective.parts, 0.0)}
                reported: set[str] = set()
                seen = 0
                for start in range(0, G, bs):
                    ids = order[start : start + bs]
                    loss, parts = objective(encoder, ids, gen)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if self.clip_norm is not None:
                        nn.utils.clip_grad_norm_(params, self.clip_norm)
                    opt.step()
                    w = ids.numel()
                    seen += w
                    sums["loss"] += float(loss.detach()) * w
                    for name, part in parts.items():
                        if part is not None:
                            sums[name] += float(part.detach()) * w
                            reported.add(name)
                record = {"epoch": epoch, **{n: v / seen if n == "loss" or n in reported else None
                                             for n, v in sums.items()}}
                history.append(record)
                if progress is not None:
                    progress(epoch, record)
        encoder.eval()
        cpu = lambda m: {n: t.detach().cpu().clone() for n, t in m.state_dict().items()}  # noqa: E731
        return PretrainResult(encoder_state=cpu(encoder), head_states={n: cpu(m) for n, m in heads.items()},
                              history=history, meta=dict(meta or {}))


def check_pretrain_set(batch: GraphBatch) -> None:
    if batch.num_graphs < 2:
        raise ValueError(f"pre-training needs at least 2 graphs, got {batch.num_graphs}")


def encoder_device(encoder: nn.Module, device: torch.device | str | None) -> torch.device:
    """``device``, or the encoder's; the encoder is moved there."""
    device = torch.device(device) if device is not None else next(encoder.parameters()).device
    encoder.to(device)
    return device


def mlp(d_in: int, hidden: int, d_out: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """A head: Linear(d_in, hidden) -> activation -> Linear(hidden, d_out)."""
    return nn.Sequential(nn.Linear(d_in, hidden), activation(), nn.Linear(hidden, d_out))


def node_dim(encoder: nn.Module, data: GraphBatch) -> int:
    """Width of ``encoder``'s node embeddings, from a forward pass on one graph in eval mode (which draws no
    random numbers: dropout is off), so any encoder of the forward contract works."""
    training = encoder.training
    encoder.eval()
    with torch.no_grad():
        nodes, _ = encoder(data.subset([0]))
    encoder.train(training)
    return int(nodes.shape[1])
