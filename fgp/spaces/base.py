"""What a search space can do, and the registry that finds spaces by name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from fgp.graph import ArchGraph
from fgp.registry import Registry


class SearchSpace:
    """A search space: its op vocabulary and conversions between its native encoding and :class:`ArchGraph`.

    Subclasses implement ``decode`` and ``sample``; ``encode``, ``mutate`` and ``enumerate`` where they make
    sense for the space (the defaults raise ``NotImplementedError`` naming the space). Randomness always comes
    from a ``numpy.random.Generator`` passed in, so a seed reproduces the result.
    """

    name: str = ""
    vocab: tuple[str, ...] = ()

    def decode(self, native: Any) -> ArchGraph:
        raise NotImplementedError(f"{self.name}: decode is not implemented")

    def encode(self, graph: ArchGraph) -> Any:
        raise NotImplementedError(f"{self.name}: encode is not available for this space")

    def sample(self, rng: np.random.Generator) -> Any:
        """A uniformly random architecture in the native encoding."""
        raise NotImplementedError(f"{self.name}: sample is not implemented")

    def mutate(self, native: Any, rng: np.random.Generator) -> Any:
        """One random legal change of an architecture (native encoding in, native encoding out)."""
        raise NotImplementedError(f"{self.name}: mutate is not available for this space")

    def enumerate(self) -> Iterator[Any]:
        raise NotImplementedError(f"{self.name}: enumerate is not available (the space is not small and finite)")


SPACES = Registry("search space")
register_space = SPACES.register
list_spaces = SPACES.names


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """The search space registered under ``name`` (e.g. ``"nb201"``), built with ``kwargs``."""
    return SPACES.create(name, **kwargs)


def non_default_options(name: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options of space ``name`` (e.g. ``{"pruned": True}`` on NB201) that differ from its defaults.

    An unknown option raises a ``ValueError`` naming it and the known ones. What is left is everything that makes
    the space's graphs differ from its default representation.
    """
    SPACES.check_kwargs(name, dict(options or {}))
    defaults = SPACES.resolved_kwargs(name)
    return {k: v for k, v in (options or {}).items() if v != defaults[k]}
