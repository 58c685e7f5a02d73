"""What a search space can do, and the registry that finds spaces by name."""

from __future__ import annotations

import importlib
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

import numpy as np

from fgp.graph import ArchGraph
from fgp.registry import Registry


class SearchSpace:
    """A search space: its op vocabulary and conversions between its native encoding and :class:`ArchGraph`.

    Subclasses implement ``decode`` and ``sample``; ``encode``, ``mutate`` and ``enumerate`` where they make
    sense for the space (the defaults raise ``NotImplementedError`` naming the space). Randomness always comes
    from a ``numpy.random.Generator`` passed in, so a seed reproduces the result. A space of PyTorch models
    subclasses :class:`fgp.spaces.ModelSpace`, which decodes an architecture by tracing its network.
    """

    name: str = ""
    vocab: tuple[str, ...] = ()
    # What is specific to the space beside its graphs (the space's half of a recipe; fgp.recipes holds the half
    # that depends on the encoder too):
    #: the flow surrogate's ``(k, std)`` (METHOD.md's constants where published); None: pass them explicitly
    surrogate: tuple[int, float] | None = None
    #: benchmark datasets of the space and their label columns, the first being the default label
    datasets: Mapping[str, tuple[str, ...]] = {}
    default_dataset: str | None = None
    #: the dataset whose file order is the published protocol's first permutation (fgp.splits)
    protocol_dataset: str | None = None
    #: the graph representation predictors use by default (constructor options, e.g. NB201's ``pruned``)
    graph_options: Mapping[str, Any] = {}
    #: the zero-cost proxy FGP's ``L_aux`` ranks by default (a recipe may choose another for an encoder)
    default_proxy: str = "params"
    #: a benchmark search's (dataset, label it queries, label it reports or None); None: no benchmark search
    search_labels: tuple[str, str, str | None] | None = None

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

    def neighbours(self, native: Any) -> list[Any]:
        """Every architecture one legal change away (the moves ``mutate`` draws from), in a fixed order."""
        raise NotImplementedError(f"{self.name}: neighbours are not available for this space")

    def identity(self, native: Any) -> Hashable:
        """What makes two native encodings the same architecture (a search never queries one twice): by default
        the decoded graph's ops and wiring in node order."""
        graph = self.decode(native)
        return repr((graph.ops, graph.edges))

    def load_table(self, dataset: str) -> Any:
        """The :class:`fgp.tables.Benchmark` of one of ``datasets``, in the table's row order, labels not chosen
        (:func:`fgp.datasets.load_benchmark` calls this and chooses them)."""
        raise NotImplementedError(f"{self.name}: no benchmark data exist for this space")


class SpaceRegistry(Registry):
    """Search spaces by registered name, or by import path: ``"package.module:Class"`` names a user's own
    :class:`SearchSpace` subclass (imported on first use, so a space needs no registration to be used by name on the
    command line or in a saved predictor)."""

    def get(self, name: str) -> type:
        if isinstance(name, str) and ":" in name and name not in self._entries:
            return _import_space(name)
        if isinstance(name, str) and name not in self._entries:
            raise ValueError(f"unknown search space {name!r}; choose one of {self.names()}, or give your own as "
                             "'package.module:Class'")
        return super().get(name)


def _import_space(path: str) -> type[SearchSpace]:
    """The SearchSpace subclass at ``"module:Class"`` (``Class`` may be dotted: ``Outer.Inner``)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a search space's import path is 'package.module:Class', got {path!r}")
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001  the user's module: any failure to import it is theirs to see
        raise ValueError(f"cannot import search space {path!r}: {type(exc).__name__}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"cannot import search space {path!r}: {found.__name__!r} has no attribute {part!r}")
        found = getattr(found, part)
    if not (isinstance(found, type) and issubclass(found, SearchSpace)):
        raise ValueError(f"{path!r} is not a search space: expected a subclass of fgp.spaces.SearchSpace "
                         f"(fgp.spaces.ModelSpace for PyTorch models), got {found!r}")
    if not found.name:
        found.name = path
    return found


SPACES = SpaceRegistry("search space")
register_space = SPACES.register
list_spaces = SPACES.names


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """The search space registered under ``name`` (e.g. ``"nb201"``) or found at the import path
    ``"package.module:Class"``, built with ``kwargs``."""
    return SPACES.create(name, **kwargs)


def space_class(name: str) -> type[SearchSpace]:
    """The class registered under ``name`` (or at the import path ``"package.module:Class"``): its attributes
    (surrogate constants, datasets, ...) without building it."""
    return SPACES.get(name)


def representation(name: str, options: Mapping[str, Any] | None = None) -> str:
    """How graphs of space ``name`` built with ``options`` look, as one string, e.g. ``"nb201(pruned=True)"``: every
    option resolved, so two spellings of the same graphs give the same string."""
    resolved = SPACES.resolved_kwargs(name, non_default_options(name, options))
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in sorted(resolved.items()))})"


def non_default_options(name: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options of space ``name`` (e.g. ``{"pruned": True}`` on NB201) that differ from its defaults.

    An unknown option raises a ``ValueError`` naming it and the known ones. What is left is everything that makes
    the space's graphs differ from its default representation.
    """
    SPACES.check_kwargs(name, dict(options or {}))
    defaults = SPACES.resolved_kwargs(name)
    return {k: v for k, v in (options or {}).items() if v != defaults[k]}
