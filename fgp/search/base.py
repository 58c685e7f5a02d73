"""The ask/tell interface every search algorithm implements, and the registry that finds them by name.

An algorithm proposes one architecture at a time (``ask``) and is told the value it got (``tell``); higher values
are better. It never proposes an architecture it has already been told about (the space's ``identity`` says which
encodings are the same architecture). Randomness comes from the ``numpy.random.Generator`` it is built with, so a
seed reproduces a search.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable
from typing import Any

import numpy as np

from fgp.registry import Registry
from fgp.spaces import SearchSpace

SEARCHERS = Registry("search algorithm")
register_searcher = SEARCHERS.register
list_searchers = SEARCHERS.names


class SearchExhausted(ValueError):
    """The algorithm found no architecture it has not queried yet (a small space, all of it queried)."""


class SearchAlgorithm:
    """Base class: the queried architectures and their values, and unqueried proposals.

    Subclasses implement :meth:`propose`; ``ask`` turns a proposal that was already queried into another one (up to
    ``max_tries`` proposals, then :class:`SearchExhausted`).
    """

    max_tries = 1000

    def __init__(self, space: SearchSpace, rng: np.random.Generator):
        self.space = space
        self.rng = rng
        self.history: list[tuple[Any, float]] = []  # (native, value) in the order told
        self.seen: set[Hashable] = set()

    def propose(self) -> Any:
        raise NotImplementedError

    def ask(self) -> Any:
        for _ in range(self.max_tries):
            arch = self.propose()
            if self.space.identity(arch) not in self.seen:
                return arch
        raise SearchExhausted(f"{self.name}: no unqueried architecture in {self.max_tries} proposals")

    def tell(self, arch: Any, value: float) -> None:
        self.seen.add(self.space.identity(arch))
        self.history.append((arch, float(value)))

    def unseen(self, archs: list[Any]) -> list[Any]:
        """``archs`` without the queried ones and without repeats, in order."""
        out, keys = [], set(self.seen)
        for arch in archs:
            key = self.space.identity(arch)
            if key not in keys:
                keys.add(key)
                out.append(arch)
        return out

    def best(self, k: int = 1) -> list[tuple[Any, float]]:
        """The ``k`` best queried architectures with their values, best first."""
        return sorted(self.history, key=lambda item: -item[1])[:k]


def create_searcher(name: str, space: SearchSpace, seed: int = 0, **options: Any) -> SearchAlgorithm:
    """The search algorithm registered under ``name`` on ``space``, its randomness seeded with ``seed``."""
    return SEARCHERS.create(name, space, np.random.default_rng(seed), **options)


def uses_predictor(name: str) -> bool:
    """Whether the algorithm registered under ``name`` is guided by a performance predictor (takes ``predictor``)."""
    return "predictor" in inspect.signature(SEARCHERS.get(name).__init__).parameters
