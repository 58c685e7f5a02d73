"""The search algorithms without a predictor: random search, regularized evolution and local search."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from fgp.search.base import SearchAlgorithm, register_searcher
from fgp.spaces import SearchSpace


@register_searcher("random")
class RandomSearch(SearchAlgorithm):
    """Uniform samples of the space (the baseline every search must beat)."""

    def propose(self) -> Any:
        return self.space.sample(self.rng)


@register_searcher("evolution")
class RegularizedEvolution(SearchAlgorithm):
    """Regularized evolution (Real et al. 2019): ``population`` random architectures first; then each child is a
    one-change mutation of the best of ``tournament`` members drawn from the population, and joins it while its
    oldest member leaves. A child already queried is mutated again (up to ``max_walk`` changes, then a random
    architecture), so a parent whose few neighbours were all queried (NB101's table holds 7% of its space) still
    yields a new child."""

    max_walk = 50

    def __init__(self, space: SearchSpace, rng: np.random.Generator, population: int = 20, tournament: int = 5):
        super().__init__(space, rng)
        if population < 2 or not 1 <= tournament <= population:
            raise ValueError(f"evolution needs population >= 2 and 1 <= tournament <= population, got {population} "
                             f"and {tournament}")
        self.population_size, self.tournament = int(population), int(tournament)
        self.population: deque[tuple[Any, float]] = deque(maxlen=self.population_size)

    def propose(self) -> Any:
        if len(self.population) < self.population_size:
            return self.space.sample(self.rng)
        picks = self.rng.choice(len(self.population), size=self.tournament, replace=False)
        child = max((self.population[int(i)] for i in picks), key=lambda item: item[1])[0]
        for _ in range(self.max_walk):
            child = self.space.mutate(child, self.rng)
            if self.space.identity(child) not in self.seen:
                return child
        return self.space.sample(self.rng)  # every architecture the walk reached was queried

    def tell(self, arch: Any, value: float) -> None:
        super().tell(arch, value)
        self.population.append((arch, float(value)))


@register_searcher("local")
class LocalSearch(SearchAlgorithm):
    """First-improvement local search (White et al. 2021): from a random architecture, query its one-change
    neighbours in random order and move to the first that is better; at a local optimum (every neighbour queried
    and none better) restart from a new random architecture."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator):
        super().__init__(space, rng)
        self.current: tuple[Any, float] | None = None
        self.queue: list[Any] = []

    def order(self, neighbours: list[Any]) -> list[Any]:
        """The order in which to query the current architecture's neighbours: random here."""
        return [neighbours[int(i)] for i in self.rng.permutation(len(neighbours))]

    def propose(self) -> Any:
        while self.current is not None:
            if not self.queue:
                self.queue = self.order(self.unseen(self.space.neighbours(self.current[0])))
                if not self.queue:  # a local optimum: restart
                    self.current = None
                    break
            arch = self.queue.pop(0)
            if self.space.identity(arch) not in self.seen:
                return arch
        return self.space.sample(self.rng)

    def tell(self, arch: Any, value: float) -> None:
        super().tell(arch, value)
        if self.current is None or value > self.current[1]:
            self.current, self.queue = (arch, float(value)), []
