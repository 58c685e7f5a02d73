"""Your own search space of PyTorch models: subclass :class:`ModelSpace`, say how to draw an architecture and how
to build its network, and every part of fgp (pre-training, ``Predictor``, ``fgp fit`` / ``fgp predict``,
``fgp.search.search``) works on it as on a benchmark space.

An architecture is whatever value you choose (a tuple of choices, a dict, a string: its ``repr`` must tell two
architectures apart, see :meth:`ModelSpace.identity`); its graph is the traced network
(:func:`fgp.models.from_torch` of :meth:`ModelSpace.build` on ``example_inputs``), with the kernel sizes, strides,
groups and channel ratios of :data:`fgp.models.ATTRIBUTES` as node attributes. Use it by name after
``@register_space("my_space")``, or by import path without registering (``fgp fit --space mypkg.spaces:SmallCNN``,
``Predictor(space="mypkg.spaces:SmallCNN")``)::

    class SmallCNN(ModelSpace):
        example_inputs = (1, 3, 32, 32)

        def sample(self, rng):
            return tuple(int(k) for k in rng.choice([1, 3, 5], size=3))  # a kernel size per block

        def mutate(self, arch, rng):  # optional: for the evolution and local searches
            ...

        def build(self, arch):
            return nn.Sequential(...)

A space whose architectures are not PyTorch modules subclasses :class:`~fgp.spaces.SearchSpace` instead and
implements ``decode`` (architecture -> :class:`~fgp.graph.ArchGraph`) itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from fgp.graph import ArchGraph
from fgp.spaces.base import SearchSpace

#: traced graphs kept per process (a search decodes the same neighbours at every refit)
TRACED_KEPT = 100_000
_TRACED: OrderedDict[tuple, ArchGraph] = OrderedDict()


class _ModelVocab:
    """``fgp.models.VOCAB``, read on first use: importing fgp.spaces does not load the tracers."""

    def __get__(self, instance: Any, owner: type) -> tuple[str, ...]:
        from fgp.models import VOCAB

        return VOCAB


class ModelSpace(SearchSpace):
    """Base class of a search space of PyTorch models (see the module docstring).

    Implement :meth:`sample` and :meth:`build`, and set ``example_inputs`` (what :func:`fgp.models.from_torch`
    takes: one shape or tensor per model input; only shapes and dtypes are used). Optional: :meth:`mutate` and
    :meth:`neighbours` (evolution and local searches), :meth:`enumerate` (a small finite space, pre-trained on
    whole). Randomness comes from the ``numpy.random.Generator`` passed in.
    """

    #: the ops a traced model may hold: fgp.models.VOCAB; add the ``other:<name>`` ops your models hold, if any
    vocab: Any = _ModelVocab()
    #: the flow surrogate's (k, std) for traced models. std 0.1 (NB201's and NB301's) keeps the surrogate's step a
    #: contraction, so values stay within an order of magnitude however deep the graph: on 300 traced NB201
    #: networks (up to 187 generations) |s| spans 0.03-0.21 at std 0.1, 0.3-24 at 0.3 and reaches 3e29 at 1.0
    #: (NB101's) with k 8 (``python benchmarks/traced_nb201.py scales``); k 8 lies between NB201's 7 and NB301's 12.
    surrogate = (8, 0.1)
    #: what FGP's L_aux ranks: the built module's parameter count (fgp.models.module_proxies)
    default_proxy = "params"
    #: one shape (or tensor) per model input, as :func:`fgp.models.from_torch` takes them
    example_inputs: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = f"{cls.__module__}:{cls.__qualname__}"  # its import path; @register_space replaces it

    def build(self, native: Any):
        """The architecture's network, a ``torch.nn.Module`` (its weights are never trained or read by fgp)."""
        raise NotImplementedError(f"{self.name}: build is not implemented")

    def identity(self, native: Any) -> Hashable:
        """What makes two architectures the same: their ``repr`` (override when several encodings build one
        network)."""
        return repr(native)

    def decode(self, native: Any) -> ArchGraph:
        """The graph of the built network, traced once per process."""
        key = (type(self), repr(sorted(vars(self).items())), self.identity(native))
        graph = _TRACED.get(key)
        if graph is None:
            graph = _TRACED[key] = self.trace(native)
            while len(_TRACED) > TRACED_KEPT:
                _TRACED.popitem(last=False)
        return graph

    def trace(self, native: Any) -> ArchGraph:
        """:meth:`build` the network and trace it (no forward pass on data; see :func:`fgp.models.from_torch`)."""
        import torch

        from fgp.models import from_torch

        if self.example_inputs is None:
            raise ValueError(f"{self.name}: set example_inputs (one shape per model input, e.g. (1, 3, 32, 32)) to "
                             "trace its networks")
        with torch.random.fork_rng(devices=[]):  # building initialises weights: the caller's seed stays as it was
            module = self.build(native)
        if not isinstance(module, torch.nn.Module):
            raise ValueError(f"{self.name}: build({native!r}) must return a torch.nn.Module, got "
                             f"{type(module).__name__}")
        graph = from_torch(module, self.example_inputs)
        outside = sorted(set(graph.ops) - set(self.vocab))
        if outside:
            raise ValueError(f"{self.name}: the network of {native!r} holds {outside}, which the space's vocab lacks; "
                             f"add them: vocab = fgp.models.VOCAB + {tuple(outside)!r}")
        return ArchGraph(graph.ops, graph.edges, self.vocab, graph.attrs)

    def proxies(self, natives: Sequence[Any], names: Sequence[str], seed: int = 0) -> dict[str, np.ndarray]:
        """Zero-cost proxies of every architecture's built network (:func:`fgp.models.module_proxies` on
        ``example_inputs``): ``{name: values aligned with natives}``."""
        import torch

        from fgp.models import module_proxies

        rows = []
        for native in natives:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                rows.append(module_proxies(self.build(native), self.example_inputs, list(names), seed=seed))
        return {name: np.array([row[name] for row in rows], dtype=np.float64) for name in names}
