"""The universal op vocabulary of traced models, its node attributes, and the torch module classes that map onto it.

Every importer (:mod:`fgp.models.torch_graph`, :mod:`fgp.models.onnx_graph`) names a node with an op of
:data:`VOCAB` or, for an operation outside it, ``other:<name>``; a node's numeric attributes are one row over
:data:`ATTRIBUTES` (``0`` where an attribute does not apply to the op).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fgp.graph import INPUT, OUTPUT

#: kernel sizes that get their own convolution op; any other kernel is ``*_other`` (its size is the attribute)
CONV_KERNELS = (1, 3, 5, 7)
#: plain (``groups == 1``; ``conv_1x1`` is the pointwise convolution), depthwise (``groups == in_channels``) and
#: grouped (anything between) convolutions
CONV_KINDS = ("conv", "dwconv", "gconv")
CONV_OPS = tuple(f"{kind}_{size}" for kind in CONV_KINDS for size in [f"{k}x{k}" for k in CONV_KERNELS] + ["other"])
ACTIVATIONS = ("relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid",
               "tanh", "hardswish", "hardsigmoid", "hardtanh", "softplus", "softmax", "log_softmax")
NORMS = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm")
POOLS = ("max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool", "global_max_pool", "global_avg_pool")

#: every op a traced node can have, besides ``other:<name>`` for operations outside it; ``zero`` is the one node
#: between the inputs and the output of a model whose outputs depend on no input (an NB201 network whose cell is
#: cut by ``none`` edges computes a constant), as NB201's pruned graphs show such a cell
VOCAB: tuple[str, ...] = (
    INPUT, OUTPUT,
    *CONV_OPS, "conv_transpose", "linear", "matmul", "attention",
    *NORMS, *ACTIVATIONS, *POOLS, "reduce_mean",
    "add", "sub", "mul", "div", "concat", "split",
    "upsample", "downsample", "pad", "embedding", "zero",
)  # fmt: skip
OTHER_PREFIX = "other:"

#: columns of a traced graph's ``attrs``: kernel extent (largest over the spatial dimensions), stride and dilation
#: (largest), convolution groups (normalisation groups for group_norm), output over input channels (convolutions,
#: linear layers), resampling factor (output over input size), attention heads
ATTRIBUTES: tuple[str, ...] = ("kernel", "stride", "dilation", "groups", "channel_ratio", "scale", "heads")

#: ops an add of a constant right after is the bias of (an ONNX export writes a linear layer on a 3-D input as
#: MatMul + Add)
BIAS_HOSTS = frozenset(CONV_OPS) | {"conv_transpose", "linear"}


class UnknownOpWarning(UserWarning):
    """Warned when a traced model holds operations outside :data:`VOCAB` (they become ``other:<name>`` nodes)."""


@dataclass(frozen=True)
class Op:
    """What one traced operation becomes: a node of op ``name`` with the given :data:`ATTRIBUTES` values."""

    name: str
    attrs: dict[str, float] = field(default_factory=dict)

    def row(self) -> list[float]:
        return [float(self.attrs.get(a, 0.0)) for a in ATTRIBUTES]


def other(name: str) -> Op:
    return Op(f"{OTHER_PREFIX}{name}")


class Role:
    """What an operation that becomes no node does to the data flow (see :class:`fgp.models.dag.DagBuilder`)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: identity-like (reshapes, casts, dropout, indexing): its successors read its first operand's producers
COLLAPSE = Role("COLLAPSE")
#: a value that carries no model data: size queries, tensor factories (``zeros``, ``arange``), constants
NO_DATA = Role("NO_DATA")

Classified = Op | Role


def _ints(value: Any, dims: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ints (a torch or ONNX kernel, stride, ...) as a tuple."""
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    return (int(value),) * dims


def conv(kernel: Any, stride: Any = 1, dilation: Any = 1, groups: int = 1, in_channels: int = 0,
         out_channels: int = 0) -> Op:
    """The convolution op for a kernel and its channel grouping, with its attributes."""
    kernel = _ints(kernel)
    groups = int(groups)
    size = f"{kernel[0]}x{kernel[0]}" if len(set(kernel)) == 1 and kernel[0] in CONV_KERNELS else "other"
    kind = "conv" if groups == 1 else "dwconv" if groups == in_channels else "gconv"
    return Op(f"{kind}_{size}", {
        "kernel": max(kernel), "stride": max(_ints(stride)), "dilation": max(_ints(dilation)), "groups": groups,
        "channel_ratio": out_channels / in_channels if in_channels else 0.0,
    })


def conv_transpose(kernel: Any, stride: Any = 1, dilation: Any = 1, groups: int = 1, in_channels: int = 0,
                   out_channels: int = 0) -> Op:
    op = conv(kernel, stride, dilation, groups, in_channels, out_channels)
    return Op("conv_transpose", op.attrs)


def conv_from_weight(weight: Sequence[int] | None, stride: Any = 1, dilation: Any = 1, groups: int = 1,
                     transposed: bool = False) -> Op:
    """A convolution from its weight's shape: ``(out, in / groups, *kernel)``, transposed ``(in, out / groups,
    *kernel)``; kernel and channels unknown (0) without it."""
    build = conv_transpose if transposed else conv
    if weight is None:
        return build(0, stride, dilation, groups)
    c_in, c_out = (weight[0], weight[1] * groups) if transposed else (weight[1] * groups, weight[0])
    return build(tuple(weight[2:]) or 1, stride, dilation, groups, c_in, c_out)


def product(first_is_data: bool, second_is_data: bool, constant: Sequence[int] | None) -> Op:
    """A matrix product: with one constant factor (shape ``constant``) a linear layer (``x @ W`` or ``W @ x``),
    else a data-by-data ``matmul``."""
    if first_is_data == second_is_data:
        return Op("matmul")
    if constant is None or len(constant) < 2:
        return Op("linear")
    return linear(*((constant[-2], constant[-1]) if first_is_data else (constant[-1], constant[-2])))


def linear(in_features: int, out_features: int) -> Op:
    return Op("linear", {"channel_ratio": out_features / in_features if in_features else 0.0})


def pool(kind: str, kernel: Any, stride: Any = None) -> Op:
    """``max_pool`` or ``avg_pool``; a missing stride is the kernel (as in torch and ONNX)."""
    return Op(f"{kind}_pool", {"kernel": max(_ints(kernel)), "stride": max(_ints(stride if stride else kernel))})


def adaptive_pool(kind: str, output_size: Any) -> Op:
    """Adaptive pooling to one value per channel is global pooling."""
    sizes = output_size if isinstance(output_size, (list, tuple)) else [output_size]
    return Op(f"global_{kind}_pool" if all(s == 1 for s in sizes) else f"adaptive_{kind}_pool")


def resample(scale: float | None) -> Op:
    """``upsample`` (factor above 1) or ``downsample`` (below 1); without a known factor, ``upsample`` with 0."""
    if scale is None or not math.isfinite(scale) or scale <= 0:
        return Op("upsample")
    return Op("upsample" if scale >= 1 else "downsample", {"scale": float(scale)})


def spatial_scale(in_shape: Sequence[int] | None, out_shape: Sequence[int] | None) -> float | None:
    """Output over input extent of the first spatial dimension (dims from 2 on), or None if unknown."""
    if in_shape is None or out_shape is None or len(in_shape) < 3 or len(in_shape) != len(out_shape):
        return None
    return out_shape[2] / in_shape[2] if in_shape[2] else None


def first_scale(value: Any) -> float | None:
    """A scale factor given as a number or a sequence of numbers (one per spatial dimension)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return float(value[0]) if value else None
    return float(value)


# torch module classes ------------------------------------------------------------------------------------------

#: ``get(name, default)`` reads a module attribute (or an ONNX function node's attribute of the same name);
#: ``shapes()`` gives the (input, output) shapes of the call where known
Getter = Callable[[str, Any], Any]
Shapes = Callable[[], tuple[Sequence[int] | None, Sequence[int] | None]]


def _conv_module(get: Getter, shapes: Shapes) -> Op:
    return conv(get("kernel_size", 1), get("stride", 1), get("dilation", 1), get("groups", 1),
                get("in_channels", 0), get("out_channels", 0))


def _conv_transpose_module(get: Getter, shapes: Shapes) -> Op:
    return conv_transpose(get("kernel_size", 1), get("stride", 1), get("dilation", 1), get("groups", 1),
                          get("in_channels", 0), get("out_channels", 0))


def _resample_module(get: Getter, shapes: Shapes) -> Op:
    scale = first_scale(get("scale_factor", None))
    return resample(scale if scale is not None else spatial_scale(*shapes()))


def _constant(op: Classified) -> Callable[[Getter, Shapes], Classified]:
    return lambda get, shapes: op


_MODULES: dict[str, Callable[[Getter, Shapes], Classified]] = {
    **dict.fromkeys(("Conv1d", "Conv2d", "Conv3d"), _conv_module),
    **dict.fromkeys(("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"), _conv_transpose_module),
    "Linear": lambda get, shapes: linear(get("in_features", 0), get("out_features", 0)),
    "MultiheadAttention": lambda get, shapes: Op("attention", {"heads": get("num_heads", 0)}),
    **dict.fromkeys(("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"), _constant(Op("batch_norm"))),
    **dict.fromkeys(("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"), _constant(Op("instance_norm"))),
    "LayerNorm": _constant(Op("layer_norm")),
    "GroupNorm": lambda get, shapes: Op("group_norm", {"groups": get("num_groups", 0)}),
    "RMSNorm": _constant(Op("rms_norm")),
    **{cls: _constant(Op(op)) for cls, op in (
        ("ReLU", "relu"), ("ReLU6", "relu6"), ("LeakyReLU", "leaky_relu"), ("PReLU", "prelu"), ("ELU", "elu"),
        ("SELU", "selu"), ("CELU", "celu"), ("GELU", "gelu"), ("SiLU", "silu"), ("Mish", "mish"),
        ("Sigmoid", "sigmoid"), ("Tanh", "tanh"), ("Hardswish", "hardswish"), ("Hardsigmoid", "hardsigmoid"),
        ("Hardtanh", "hardtanh"), ("Softplus", "softplus"), ("Softmax", "softmax"), ("LogSoftmax", "log_softmax"),
    )},
    **dict.fromkeys(("MaxPool1d", "MaxPool2d", "MaxPool3d"),
                    lambda get, shapes: pool("max", get("kernel_size", 1), get("stride", None))),
    **dict.fromkeys(("AvgPool1d", "AvgPool2d", "AvgPool3d"),
                    lambda get, shapes: pool("avg", get("kernel_size", 1), get("stride", None))),
    **dict.fromkeys(("AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"),
                    lambda get, shapes: adaptive_pool("max", get("output_size", 0))),
    **dict.fromkeys(("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"),
                    lambda get, shapes: adaptive_pool("avg", get("output_size", 0))),
    **dict.fromkeys(("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"), _resample_module),
    "PixelShuffle": lambda get, shapes: resample(float(get("upscale_factor", 0))),
    "PixelUnshuffle": lambda get, shapes: resample(1.0 / float(get("downscale_factor", 1))),
    **dict.fromkeys([f"{kind}Pad{d}d" for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
                     for d in (1, 2, 3)], _constant(Op("pad"))),
    "Embedding": _constant(Op("embedding")),
    **dict.fromkeys(("Identity", "Flatten", "Unflatten", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
                     "AlphaDropout", "FeatureAlphaDropout"), _constant(COLLAPSE)),
}

#: the torch module classes (by name) with a meaning in the vocabulary; a subclass of one has its meaning
MODULE_CLASSES: frozenset[str] = frozenset(_MODULES)


def module_class_name(cls: type) -> str | None:
    """The name of the first class in ``cls``'s method resolution order that :data:`MODULE_CLASSES` knows."""
    for base in cls.__mro__:
        if base.__name__ in _MODULES and base.__module__.startswith("torch.nn"):
            return base.__name__
    return None


def classify_module(class_name: str, get: Getter, shapes: Shapes) -> Classified:
    """What a call of a module of class ``class_name`` (one of :data:`MODULE_CLASSES`, else ``other``) becomes."""
    handler = _MODULES.get(class_name)
    return handler(get, shapes) if handler is not None else other(class_name)
