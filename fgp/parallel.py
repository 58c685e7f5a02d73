"""Pools of worker processes for grids of independent jobs (experiment runs, search trials).

``backend="local"``: processes on this machine, started fresh (``spawn``: nothing of this process's torch state is
copied). ``backend="ray"``: Ray's drop-in pool, over the cluster at ``address`` (a local Ray instance when None;
``pip install 'fgp[ray]'``). Each worker runs ``initializer(*initargs)`` once, then jobs; only the calling process
writes results files, so their locking and resume work the same on both backends. Pre-training caches are per
machine (``$FGP_CACHE``): on a cluster each node computes a pre-training once unless the cache is on a shared file
system.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fgp.validation import positive_int

BACKENDS = ("local", "ray")


def check_pool(workers: int, backend: str = "local", address: str | None = None) -> bool:
    """Whether these settings ask for a pool at all (not one local process); ``ValueError`` for a bad worker count,
    backend or address, so a grid fails before its long loading."""
    positive_int(workers, "workers")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if address is not None and backend != "ray":
        raise ValueError("an address names a Ray cluster: use it with backend='ray'")
    return workers > 1 or backend != "local"


def run_in_phases(phases: Sequence[Iterable], job: Callable, finish: Callable[[Any], None], workers: int,
                  initializer: Callable, initargs: tuple, backend: str = "local", address: str | None = None) -> None:
    """``finish(job(item))`` for every item, in a pool, phase after phase: the items of a phase run at once, and a
    phase starts when the previous one has finished (e.g. first one job per pre-training, so that each pre-training
    is computed once and cached, then the jobs that share it)."""
    with worker_pool(workers, initializer, initargs, backend, address) as pool:
        for phase in phases:
            for result in pool.imap_unordered(job, list(phase)):
                finish(result)


@contextmanager
def worker_pool(workers: int, initializer: Callable, initargs: tuple, backend: str = "local",
                address: str | None = None) -> Iterator[Any]:
    """A pool of ``workers`` processes with ``imap_unordered``; ``ValueError`` for a bad backend or worker count."""
    check_pool(workers, backend, address)
    if backend == "local":
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(workers, initializer, initargs)
    else:
        try:
            import ray
            from ray.util.multiprocessing import Pool
        except ImportError:
            raise ValueError("backend 'ray' needs Ray: pip install 'fgp[ray]'") from None
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        pool = Pool(workers, initializer=initializer, initargs=initargs)
    try:
        yield pool
    finally:
        pool.terminate()
