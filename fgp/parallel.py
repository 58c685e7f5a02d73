"""Pools of worker processes for grids of independent jobs (experiment runs, search trials).

``backend="local"``: processes on this machine, started fresh (``spawn``: nothing of this process's torch state is
copied). ``backend="ray"``: Ray's drop-in pool, over the cluster at ``address`` (a local Ray instance when None;
``pip install 'fgp[ray]'``). Each worker runs ``initializer(*initargs)`` once, then jobs; only the calling process
writes results files, so their locking and resume work the same on both backends. Pre-training caches are per
machine (``$FGP_CACHE``): on a cluster each node computes a pre-training once unless the cache is on a shared file
system.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

BACKENDS = ("local", "ray")


@contextmanager
def worker_pool(workers: int, initializer: Callable, initargs: tuple, backend: str = "local",
                address: str | None = None) -> Iterator[Any]:
    """A pool of ``workers`` processes with ``imap_unordered``; ``ValueError`` for a bad backend or worker count."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if address is not None and backend != "ray":
        raise ValueError("an address names a Ray cluster: use it with backend='ray'")
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
