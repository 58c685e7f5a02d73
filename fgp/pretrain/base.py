"""Pretext-task registry (``register_pretext`` / ``create_pretext`` / ``list_pretexts``) and the on-disk cache.

A pretext task is an object built as ``cls(**options)`` with

- ``name`` (its registry name) and ``config() -> dict`` (its JSON-able options, all that determines the result);
- ``run(encoder, batch, proxy=None, space=None, device=None, progress=None, cache=True) -> PretrainResult``,
  which leaves ``encoder`` holding the pre-trained weights.

Pre-training is the expensive step and it does not depend on the labels, so its result is cached on disk
(``$FGP_CACHE``, default ``~/.cache/fgp``) under a hash of everything that determines it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fgp.batch import GraphBatch
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
    history: list[dict] = field(default_factory=list)  # per epoch: epoch, loss, l_rec, l_aux
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
