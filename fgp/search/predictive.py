"""Predictor-guided search: a performance predictor, refit on every queried label, chooses what to query next.

``predictor`` is ``"fgp"`` (FGP-pre-trained, the space's recipe), ``"supervised"`` (the same encoder without
pre-training) or a :class:`fgp.predictor.Predictor` to clone. Pre-training needs no labels, so it happens once per
space, before the first refit, and the disk cache serves every later refit and trial (the pre-training set is the
whole space where it is enumerable, a seeded sample otherwise; the queried architectures join it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fgp.search.algorithms import LocalSearch
from fgp.search.base import SearchAlgorithm, register_searcher
from fgp.spaces import SearchSpace

#: FGP pre-training of a search's predictor: the surrogate term only (``l2=0``, no ``L_aux`` ranking a proxy).
#: Chosen on the validation accuracy NB201 search trials found (benchmarks/search_study.py, 20 paired trials):
#: local-predictor 91.33 / 91.53 at 30 / 50 queries against 91.13 / 91.37 with the prediction recipe's ``L_aux``,
#: which pulls the queries towards the cells its proxy favours.
SEARCH_PRETRAIN = {"l2": 0.0}


def make_predictor(space: SearchSpace, predictor: Any, seed: int, finetune_epochs: int | None,
                   pretrain_kwargs: dict | None = None):
    """A fresh predictor for one refit: the space's recipe with or without FGP, or a clone of a given one.
    ``pretrain_kwargs`` go over FGP's recipe; None: :data:`SEARCH_PRETRAIN` (``{}``: the recipe as it is)."""
    from fgp.predictor import Predictor

    if isinstance(predictor, Predictor):
        return Predictor(**{**predictor.get_params(), "seed": seed})
    if predictor not in ("fgp", "supervised"):
        raise ValueError(f"predictor must be 'fgp', 'supervised' or a Predictor, got {predictor!r}")
    finetune = {"epochs": int(finetune_epochs)} if finetune_epochs else None
    if pretrain_kwargs and predictor != "fgp":
        raise ValueError("pretrain_kwargs set the FGP predictor's pre-training: use them with predictor='fgp'")
    if pretrain_kwargs is None and predictor == "fgp":
        pretrain_kwargs = SEARCH_PRETRAIN
    return Predictor.for_space(space.name, "gatedgcn", "fgp" if predictor == "fgp" else None, seed=seed,
                               finetune_kwargs=finetune, pretrain_kwargs=pretrain_kwargs)


class _Refit:
    """The predictor of the current history, refit when new labels arrived since the last fit."""

    def __init__(self, space: SearchSpace, predictor: Any, seed: int, finetune_epochs: int | None,
                 pretrain_kwargs: dict | None):
        self.space, self.spec, self.seed, self.epochs = space, predictor, seed, finetune_epochs
        self.pretrain_kwargs = pretrain_kwargs
        make_predictor(space, predictor, seed, finetune_epochs, pretrain_kwargs)  # bad settings fail now
        self.fitted_on = -1
        self.model = None
        self.fits = 0
        self.pretrain_set: list[Any] | None = None

    def unlabeled(self, model: Any) -> list[Any] | None:
        """What pre-training sees: the space searched where it is enumerable (a benchmark's table), else the
        predictor's own default (a seeded sample of the space)."""
        if model.pretrain is None or model.unlabeled != "space":
            return None
        if self.pretrain_set is None:
            try:
                self.pretrain_set = list(self.space.enumerate())
            except NotImplementedError:
                self.pretrain_set = []
        return self.pretrain_set or None

    def scores(self, history: list[tuple[Any, float]], candidates: list[Any]) -> np.ndarray:
        if len(history) != self.fitted_on:
            archs, values = [a for a, _ in history], np.array([v for _, v in history])
            self.model = make_predictor(self.space, self.spec, self.seed + self.fits, self.epochs,
                                        self.pretrain_kwargs)
            self.model.fit(archs, values, unlabeled=self.unlabeled(self.model))
            self.fitted_on, self.fits = len(history), self.fits + 1
        return self.model.predict(candidates)


@register_searcher("npenas")
class PredictorGuidedEvolution(SearchAlgorithm):
    """NPENAS-style search (Wei et al. 2022): ``initial`` random queries; then each round mutates the ``parents``
    best queried architectures into a pool of ``pool`` unqueried candidates, ranks the pool with the predictor refit
    on every queried label, and queries the ``per_round`` best-ranked."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator, predictor: Any = "fgp", initial: int = 10,
                 per_round: int = 10, parents: int = 10, pool: int = 100, finetune_epochs: int | None = None,
                 pretrain_kwargs: dict | None = None, seed: int = 0):
        super().__init__(space, rng)
        if min(initial, per_round, parents, pool) < 1 or initial < 2:
            raise ValueError("npenas needs initial >= 2 and per_round, parents, pool >= 1")
        self.initial, self.per_round, self.parents, self.pool = int(initial), int(per_round), int(parents), int(pool)
        self.refit = _Refit(space, predictor, seed, finetune_epochs, pretrain_kwargs)
        self.batch: list[Any] = []

    def propose(self) -> Any:
        if len(self.history) < self.initial:
            return self.space.sample(self.rng)
        while self.batch:
            arch = self.batch.pop(0)
            if self.space.identity(arch) not in self.seen:
                return arch
        parents = [a for a, _ in self.best(self.parents)]
        pool: list[Any] = []
        for _ in range(20 * self.pool):  # mutate the parents in turn until the pool is full of unqueried candidates
            pool = self.unseen(pool + [self.space.mutate(parents[len(pool) % len(parents)], self.rng)])
            if len(pool) >= self.pool:
                break
        if not pool:
            return self.space.sample(self.rng)
        scores = self.refit.scores(self.history, pool)
        order = np.argsort(-scores, kind="stable")[: self.per_round]
        self.batch = [pool[int(i)] for i in order]
        return self.batch.pop(0)


@register_searcher("local-predictor")
class PredictorGuidedLocalSearch(LocalSearch):
    """Local search whose neighbours are queried in the order a predictor (refit on every queried label) ranks
    them, best first, instead of at random; ``initial`` random queries train it first."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator, predictor: Any = "fgp", initial: int = 10,
                 finetune_epochs: int | None = None, pretrain_kwargs: dict | None = None, seed: int = 0):
        super().__init__(space, rng)
        if initial < 2:
            raise ValueError("local-predictor needs initial >= 2 random queries to fit its predictor")
        self.initial = int(initial)
        self.refit = _Refit(space, predictor, seed, finetune_epochs, pretrain_kwargs)

    def propose(self) -> Any:
        if len(self.history) < self.initial:
            return self.space.sample(self.rng)
        return super().propose()

    def tell(self, arch: Any, value: float) -> None:
        if len(self.history) < self.initial - 1:  # the initial random queries: no walk yet
            SearchAlgorithm.tell(self, arch, value)
            return
        if len(self.history) == self.initial - 1:  # the walk starts from the best of them
            SearchAlgorithm.tell(self, arch, value)
            self.current, self.queue = self.best(1)[0], []
            return
        super().tell(arch, value)

    def order(self, neighbours: list[Any]) -> list[Any]:
        if not neighbours:
            return []
        scores = self.refit.scores(self.history, neighbours)
        return [neighbours[int(i)] for i in np.argsort(-scores, kind="stable")]

