"""Real PyTorch networks for architectures of the search spaces, and their closed-form costs.

``build_network(space, arch)`` turns an :class:`~fgp.graph.ArchGraph` (or the space's native encoding) into the
network the benchmark trained, so that zero-cost proxies (:mod:`fgp.proxies`) can run on it. Each space's family
also knows its input (a CIFAR batch, or a graph with node features) and, where the architecture alone fixes them,
its parameter and FLOP counts in closed form (fast for a whole space; the tests check them against the built
networks and the benchmarks' shipped counts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from fgp.graph import ArchGraph
from fgp.networks import nb101, nb201, nbgraph


@dataclass(frozen=True)
class NetworkFamily:
    """How to build, feed and cost the networks of one search space.

    ``datasets`` maps a dataset name to builder keyword arguments (``None`` is the default dataset);
    ``input_kwargs`` gives the matching keyword arguments of ``example_input``.
    """

    space: str
    build: Callable[..., nn.Module]
    example_input: Callable[..., tuple[torch.Tensor, ...]]
    datasets: dict[str | None, dict[str, Any]]
    input_kwargs: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda cfg: {})
    param_counts: Callable[..., np.ndarray] | None = None
    flop_counts: Callable[..., np.ndarray] | None = None
    default_batch: int = 16

    def config(self, dataset: str | None) -> dict[str, Any]:
        if dataset not in self.datasets:
            names = sorted(k for k in self.datasets if k is not None)
            raise ValueError(f"unknown dataset {dataset!r} for space {self.space!r}; choose one of {names}")
        return dict(self.datasets[dataset])


def _nb201_params(graphs: Sequence[ArchGraph], num_classes: int = 10, **_: Any) -> np.ndarray:
    for g in graphs:
        nb201.check_graph(g)
    return nb201.param_counts(*nb201.conv_counts(graphs), num_classes=num_classes)


def _nb201_flops(graphs: Sequence[ArchGraph], num_classes: int = 10, resolution: int = 32, **_: Any) -> np.ndarray:
    for g in graphs:
        nb201.check_graph(g)
    return nb201.flop_counts(*nb201.conv_counts(graphs), num_classes=num_classes, resolution=resolution)


def _nb201_build(graph: ArchGraph, num_classes: int = 10, bn: bool = True, resolution: int = 32, **kw: Any):
    return nb201.build(graph, num_classes=num_classes, bn=bn, **kw)


def smooth_noise(shape: tuple[int, ...], generator: torch.Generator, alpha: float = 2.0,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Random images whose spatial amplitude spectrum falls as ``1 / f**alpha``, each standardised.

    Natural images put most of their energy in low frequencies; white noise does not, and ReLU-pattern proxies
    (nwot) rank NB201 cells noticeably worse on it (Kendall tau with accuracy 0.49 vs 0.56 for ``alpha=2`` on 150
    NASLib cells, where NASLib's real CIFAR-10 batches give 0.59).
    """
    x = torch.randn(shape, generator=generator, dtype=torch.float64)
    fy = torch.fft.fftfreq(shape[-2], dtype=torch.float64)
    fx = torch.fft.fftfreq(shape[-1], dtype=torch.float64)
    f = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    f[0, 0] = 1.0 / max(shape[-2:])  # keep the mean component finite (as strong as the lowest frequency)
    x = torch.fft.ifft2(torch.fft.fft2(x) / f**alpha).real
    dims = tuple(range(1, x.dim()))
    x = (x - x.mean(dim=dims, keepdim=True)) / x.std(dim=dims, keepdim=True)
    return x.to(dtype)


def _cifar_input(resolution: int) -> Callable[..., tuple[torch.Tensor]]:
    def make(batch_size: int, generator: torch.Generator, ones: bool = False, dtype: torch.dtype = torch.float32,
             resolution: int = resolution) -> tuple[torch.Tensor]:
        """A batch of smooth random images (:func:`smooth_noise`), or of all-ones images (synflow)."""
        shape = (batch_size, 3, resolution, resolution)
        x = torch.ones(shape, dtype=dtype) if ones else smooth_noise(shape, generator, dtype=dtype)
        return (x,)

    return make


def _nb101_params(graphs: Sequence[ArchGraph], num_classes: int = 10, **_: Any) -> np.ndarray:
    return np.array([nb101.costs(g, num_classes)[0] for g in graphs], dtype=np.int64)


def _nb101_flops(graphs: Sequence[ArchGraph], num_classes: int = 10, resolution: int = 32, **_: Any) -> np.ndarray:
    return np.array([nb101.costs(g, num_classes, resolution=resolution)[1] for g in graphs], dtype=np.int64)


def _nb101_build(graph: ArchGraph, num_classes: int = 10, bn: bool = True, resolution: int = 32, **kw: Any):
    return nb101.build(graph, num_classes=num_classes, bn=bn, **kw)


def _nbg_setup(cfg: dict[str, Any]) -> nbgraph.GraphSetup:
    return nbgraph._override(nbgraph.setup_for(cfg.get("dataset")), cfg.get("num_classes"), cfg.get("in_dim"),
                             cfg.get("hidden"))


def _nbg_params(graphs: Sequence[ArchGraph], **cfg: Any) -> np.ndarray:
    s = _nbg_setup(cfg)
    return np.array([nbgraph.param_count(*nbgraph.cell_from_graph(g), s) for g in graphs], dtype=np.int64)


def _nbg_flops(graphs: Sequence[ArchGraph], **cfg: Any) -> np.ndarray:
    s = _nbg_setup(cfg)
    return np.array([nbgraph.flop_count(*nbgraph.cell_from_graph(g), s) for g in graphs], dtype=np.int64)


def _nbg_build(graph: ArchGraph, num_classes: int | None = None, bn: bool = True, dataset: str | None = None,
               **kw: Any):
    return nbgraph.build(graph, num_classes=num_classes, dataset=dataset, bn=bn, **kw)


_CIFAR = {"resolution": 32}
_FAMILIES: dict[str, NetworkFamily] = {
    "nb201": NetworkFamily(
        space="nb201",
        build=_nb201_build,
        example_input=_cifar_input(32),
        # the benchmark tables of fgp.datasets ("naslib-zc", "tnb101-micro") are scored on the CIFAR-10 network
        datasets={
            **dict.fromkeys((None, "cifar10", "naslib-zc", "tnb101-micro"), {"num_classes": 10, **_CIFAR}),
            "cifar100": {"num_classes": 100, **_CIFAR},
            "imagenet16-120": {"num_classes": 120, "resolution": 16},
        },
        input_kwargs=lambda cfg: {"resolution": cfg["resolution"]},
        param_counts=_nb201_params,
        flop_counts=_nb201_flops,
    ),
    "nb101": NetworkFamily(
        space="nb101",
        build=_nb101_build,
        example_input=_cifar_input(32),
        datasets=dict.fromkeys((None, "cifar10", "cifar10-30k", "space"), {"num_classes": 10, **_CIFAR}),
        input_kwargs=lambda cfg: {"resolution": cfg["resolution"]},
        param_counts=_nb101_params,
        flop_counts=_nb101_flops,
    ),
    "nbgraph": NetworkFamily(
        space="nbgraph",
        build=_nbg_build,
        example_input=nbgraph.example_input,
        datasets={None: {"dataset": None}, **{name: {"dataset": name} for name in nbgraph.DATASETS}},
        input_kwargs=lambda cfg: {"in_dim": _nbg_setup(cfg).in_dim},
        param_counts=_nbg_params,
        flop_counts=_nbg_flops,
        default_batch=64,
    ),
}


def list_network_spaces() -> list[str]:
    """The search spaces that have a network builder."""
    return sorted(_FAMILIES)


def get_family(space: str) -> NetworkFamily:
    if space not in _FAMILIES:
        raise ValueError(
            f"search space {space!r} has no network builder; networks exist for {list_network_spaces()}"
        )
    return _FAMILIES[space]


def as_graph(space: str, arch: Any) -> ArchGraph:
    """``arch`` itself if it is an :class:`ArchGraph`, else the space's decoding of its native encoding."""
    if isinstance(arch, ArchGraph):
        return arch
    from fgp.spaces import get_space

    return get_space(space).decode(arch)


def build_network(space: str, arch: Any, num_classes: int | None = None, dataset: str | None = None,
                  bn: bool = True, **kwargs: Any) -> nn.Module:
    """The benchmark's network for ``arch`` (an ArchGraph or the space's native encoding).

    ``num_classes`` defaults to the dataset's (10 for CIFAR-10; NAS-Bench-Graph: the dataset's classes).
    ``bn=False`` builds it without batch norm (what data-free proxies such as synflow use). Further keyword
    arguments go to the space's builder (e.g. ``channels`` for NB201, ``heads``/``hidden`` for NAS-Bench-Graph).
    """
    family = get_family(space)
    cfg = family.config(dataset)
    if num_classes is not None:
        cfg["num_classes"] = int(num_classes)
    cfg.update(kwargs)
    return family.build(as_graph(space, arch), bn=bn, **cfg)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def measure_flops(module: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-accumulates of the convolutions and linear layers in one forward pass, per sample.

    Counted with forward hooks on ``Conv2d``, ``nn.Linear`` and PyG's ``Linear``; the reference the closed forms
    are tested against.
    """
    from torch_geometric.nn.dense.linear import Linear as PygLinear

    total = 0

    def conv_hook(m: nn.Conv2d, args: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total += out[0].numel() * k

    def linear_hook(m: nn.Module, args: tuple, out: torch.Tensor) -> None:
        nonlocal total
        total += out[0].numel() * m.weight.shape[1]  # per sample (CNN) or per node (GNN)

    handles = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, (nn.Linear, PygLinear)):
            handles.append(m.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total


__all__ = [
    "NetworkFamily",
    "as_graph",
    "build_network",
    "count_parameters",
    "get_family",
    "list_network_spaces",
    "measure_flops",
    "smooth_noise",
]
