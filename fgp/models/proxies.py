"""Zero-cost proxies of any PyTorch module, with :mod:`fgp.proxies`' definitions.

``params`` and ``flops`` are counts; ``synflow``, ``nwot``, ``snip`` and ``grad_norm`` are computed by
:func:`fgp.proxies.synflow_score`, :func:`~fgp.proxies.nwot_score` and :func:`~fgp.proxies.gradient_scores` on
copies of the module (the module itself, its weights, gradients and batch-norm statistics, is left as it was), from
the same seeded inputs and random labels as :func:`fgp.proxies.compute_proxies` draws for the benchmark networks:
given the benchmark's network, the values are the same.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils import _pytree as pytree
from torch.utils.flop_counter import FlopCounterMode

from fgp.models.torch_graph import fake_copy, input_specs, module_device
from fgp.networks import count_parameters, smooth_noise
from fgp.proxies import DEFAULT_SEED, _derive, gradient_scores, nwot_score, synflow_score
from fgp.validation import torch_device

MODULE_PROXIES = ("params", "flops", "synflow", "nwot", "snip", "grad_norm")


class _FirstOutput(nn.Module):
    """The module with its first output tensor as its only output (what the proxies score)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        tensors = [t for t in pytree.tree_leaves(self.net(*inputs)) if isinstance(t, torch.Tensor)]
        if not tensors:
            raise ValueError(f"{type(self.net).__name__} returns no tensor to score")
        return tensors[0]


def _without_batch_norm(net: nn.Module) -> nn.Module:
    """``net`` (a copy) with every batch norm replaced by the identity, as synflow's BN-free networks are built."""
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return net


def count_flops(module: nn.Module, input_shapes: Sequence[Sequence[int]], dtypes: Sequence[torch.dtype] | None = None
                ) -> float:
    """Multiply-accumulates per sample of every matrix-product-like operation (convolutions, linear layers, matmuls,
    attention) of one forward pass, counted by ``torch.utils.flop_counter.FlopCounterMode`` (whose count is halved:
    it counts a multiply-add as two FLOPs). This is what fgp's ``flops`` proxy counts for the benchmark networks.
    Runs on fake tensors (shapes only) on a copy of the module."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode(allow_non_fake_inputs=True)
    shadow = fake_copy(module, mode)
    dtypes = list(dtypes) if dtypes is not None else [torch.float32] * len(input_shapes)
    device = module_device(module)
    with mode:
        inputs = [torch.zeros(tuple(s), dtype=d, device=device) for s, d in zip(input_shapes, dtypes)]
        # attention as its matrix products: FlopCounterMode knows no count for the CPU's fused attention kernel
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
            shadow(*inputs)
    return counter.get_total_flops() / 2 / input_shapes[0][0]


def _random_inputs(specs: list, seed: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """The proxies' batch: images (4-D float inputs) are :func:`fgp.networks.smooth_noise`, as the benchmark
    proxies use; other float inputs standard normal; all drawn from the generator ``compute_proxies`` uses."""
    gen = torch.Generator().manual_seed(_derive(seed, "batch"))
    out = []
    for shape, dtype in specs:
        if not dtype.is_floating_point:
            raise ValueError(f"random inputs are floating point; give an example tensor for the {dtype} input")
        x = smooth_noise(shape, gen, dtype=dtype) if len(shape) == 4 else torch.randn(shape, generator=gen, dtype=dtype)
        out.append(x.to(device))
    return tuple(out)


def module_proxies(module: nn.Module, example_inputs: Any, names: str | Sequence[str] = MODULE_PROXIES, *,
                   seed: int = DEFAULT_SEED, device: str | torch.device | None = None) -> dict[str, float]:
    """Proxy values of ``module`` (``{name: value}`` for ``names``, any of :data:`MODULE_PROXIES`).

    ``example_inputs`` as for :func:`~fgp.models.from_torch`: shapes (then the batch is drawn with ``seed``, as
    :func:`fgp.proxies.compute_proxies` draws it; synflow always sees one all-ones sample) or tensors (used as the
    batch). The proxies score the module's first output tensor; snip and grad_norm use random labels over its
    dimension 1 (classes, as in ``cross_entropy``). ``device`` defaults to CUDA when available.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module_proxies needs a torch.nn.Module, got {type(module).__name__}")
    names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in MODULE_PROXIES]
    if unknown or not names:
        raise ValueError(f"unknown proxy name(s) {unknown}; choose from {list(MODULE_PROXIES)}")
    specs = input_specs(example_inputs)
    given = [example_inputs] if isinstance(example_inputs, torch.Tensor) else example_inputs
    tensors_given = all(isinstance(x, torch.Tensor) for x in given)
    dev = torch_device(device)
    values: dict[str, float] = {}
    if "params" in names:
        values["params"] = float(count_parameters(module))
    if "flops" in names:
        values["flops"] = count_flops(module, [s for s, _ in specs], [d for _, d in specs])
    if "synflow" in names:
        net = _FirstOutput(_without_batch_norm(copy.deepcopy(module))).to(dev)
        ones = tuple(torch.ones((1, *s[1:]), dtype=torch.float64, device=dev) if d.is_floating_point
                     else torch.as_tensor(x[:1], device=dev)
                     for (s, d), x in zip(specs, given if tensors_given else [None] * len(specs)))
        values["synflow"] = synflow_score(net, ones)
    rest = [n for n in names if n in ("nwot", "snip", "grad_norm")]
    if rest:
        net = _FirstOutput(copy.deepcopy(module)).to(dev).train()
        batch = (tuple(x.to(dev) for x in given) if tensors_given else _random_inputs(specs, seed, dev))
        if "nwot" in rest:
            values["nwot"] = nwot_score(net, batch)
        if "snip" in rest or "grad_norm" in rest:
            with torch.no_grad():
                out_shape = net(*batch).shape
            if len(out_shape) < 2:
                raise ValueError(f"snip and grad_norm need an output with a class dimension (dim 1), got shape "
                                 f"{tuple(out_shape)}")
            gen = torch.Generator().manual_seed(_derive(seed, "targets"))
            targets = torch.randint(0, out_shape[1], (out_shape[0], *out_shape[2:]), generator=gen).to(dev)
            scores = gradient_scores(net, batch, targets)
            values.update({k: v for k, v in scores.items() if k in rest})
    return {n: values[n] for n in names}
