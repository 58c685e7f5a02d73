"""What a search space can do, and the registry that finds spaces by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from fgp.graph import ArchGraph


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


_SPACES: dict[str, Callable[[], SearchSpace]] = {}


def register_space(name: str) -> Callable[[type[SearchSpace]], type[SearchSpace]]:
    def deco(cls: type[SearchSpace]) -> type[SearchSpace]:
        if name in _SPACES:
            raise ValueError(f"search space {name!r} is already registered")
        cls.name = name
        _SPACES[name] = cls
        return cls

    return deco


def list_spaces() -> list[str]:
    return sorted(_SPACES)


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """The search space registered under ``name`` (e.g. ``"nb201"``), built with ``kwargs``."""
    if name not in _SPACES:
        raise ValueError(f"unknown search space {name!r}; choose one of {list_spaces()}")
    return _SPACES[name](**kwargs)
