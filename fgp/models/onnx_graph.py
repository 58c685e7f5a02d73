"""``from_onnx``: an ONNX model as an operation DAG over :data:`fgp.models.VOCAB` (needs ``pip install fgp[onnx]``).

The ONNX reader gives the same graph as :func:`~fgp.models.from_torch` for a model exported from PyTorch with
``torch.onnx.export(..., dynamo=False, training=torch.onnx.TrainingMode.TRAINING)``, except where ONNX has no
operator for what torch traced, or the exporter rewrote it:

* **Modules written as several ONNX operators.** ``nn.MultiheadAttention`` and ``F.scaled_dot_product_attention``
  become MatMul / Softmax / Mul chains (``matmul``, ``softmax``, ``mul`` nodes instead of one ``attention``),
  ``nn.GroupNorm`` becomes InstanceNormalization with affine Mul / Add (``instance_norm``, ``mul``, ``add``),
  ``nn.SiLU`` becomes Sigmoid + Mul, ``nn.Mish`` / ``nn.GELU`` before the opsets that have them (18 / 20) become
  their formulas. Exporting such classes with ``export_modules_as_functions={nn.MultiheadAttention, ...}`` keeps
  them as one function node named by the class, which this reader maps like the torch module; ONNX functions keep
  no head count, so such an ``attention`` node has ``heads`` 0.
* **Eval-mode exports fold batch norm into the convolution before it** (``do_constant_folding``): the
  ``batch_norm`` node is missing. Export in training mode (as above) to keep it.
* **Adaptive pooling** to an output other than 1 is exported as fixed AveragePool / MaxPool (``avg_pool`` /
  ``max_pool`` with a kernel, instead of ``adaptive_avg_pool``); to 1 it is global pooling on both sides.
* **Custom autograd Functions and Python code** are exported as the operators they run (or as a custom operator,
  ``other:<op type>``), where torch.fx shows ``other:<class>``.
* **Clamping**: ``Clip(0, 6)`` is ``relu6`` and ``Clip(-1, 1)`` ``hardtanh`` (as torch exports them); any other
  Clip is ``other:clamp``, like ``torch.clamp``.
* **Repeated weight-free operations**: the exporter merges identical operations without weights that read the same
  tensor (common-subexpression elimination): two ``nn.ReLU`` or two ``nn.AvgPool2d`` calls on one input are one
  ``relu`` / ``avg_pool`` node here and two under fx. NB201's networks show it wherever two edges out of one cell
  node start with a ReLU or an average pooling (benchmarks/RESULTS.md, "Your own architectures").
* **Names of unknown operations** are ONNX operator types here (``other:Erf``) and torch function, method or
  module class names there (``other:erf``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fgp.graph import ArchGraph
from fgp.models import ops as O
from fgp.models.dag import DagBuilder


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # an optional extra
        raise ImportError("from_onnx needs the onnx package: pip install 'fgp[onnx]'") from exc
    return onnx


class _Node:
    """One ONNX node, as its op handler sees it."""

    def __init__(self, node: Any, model: _Model, builder: DagBuilder):
        onnx = _onnx()
        self.node, self._model, self._builder = node, model, builder
        self.attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        self.inputs = list(node.input)

    def get(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def input(self, i: int) -> str:
        return self.inputs[i] if i < len(self.inputs) else ""

    def shape(self, i: int) -> tuple | None:
        return self._model.shapes.get(self.input(i))

    def shapes(self) -> tuple[tuple | None, tuple | None]:
        return self.shape(0), self._model.shapes.get(self.node.output[0])

    def const(self, i: int) -> np.ndarray | None:
        return self._model.const(self.input(i))

    def is_data(self, i: int) -> bool:
        return bool(self.input(i)) and bool(self._builder.sources([self.input(i)]))


class _Model:
    """Shapes (from ONNX shape inference) and constant values of a model's tensors."""

    def __init__(self, model: Any):
        onnx = _onnx()
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception:  # shapes stay where the file has them
            pass
        graph = model.graph
        self.initializers = {t.name: t for t in graph.initializer}
        self.producers = {out: node for node in graph.node for out in node.output}
        self.shapes: dict[str, tuple] = {t.name: tuple(t.dims) for t in graph.initializer}
        for info in list(graph.input) + list(graph.value_info) + list(graph.output):
            dims = info.type.tensor_type.shape.dim
            if info.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                self.shapes[info.name] = tuple(d.dim_value for d in dims)

    def const(self, name: str) -> np.ndarray | None:
        """The value of a constant tensor: an initializer, a Constant node, or a cast, copy or concatenation of them."""
        from onnx import numpy_helper

        if name in self.initializers:
            return numpy_helper.to_array(self.initializers[name])
        node = self.producers.get(name)
        if node is None:
            return None
        if node.op_type == "Constant":
            attrs = {a.name: _onnx().helper.get_attribute_value(a) for a in node.attribute}
            if "value" in attrs:
                return numpy_helper.to_array(attrs["value"])
            for key in ("value_float", "value_int", "value_floats", "value_ints"):
                if key in attrs:
                    return np.array(attrs[key])
            return None
        if node.op_type in ("Cast", "Identity"):
            return self.const(node.input[0])
        if node.op_type == "Concat":  # e.g. Resize's scales, written as the concatenation of two constants
            parts = [self.const(i) for i in node.input]
            if all(p is not None for p in parts):
                return np.concatenate([np.atleast_1d(p) for p in parts])
        return None


def _conv(n: _Node, transposed: bool = False) -> O.Op:
    return O.conv_from_weight(n.shape(1), n.get("strides", 1), n.get("dilations", 1), int(n.get("group", 1)),
                              transposed)


def _gemm(n: _Node) -> O.Op:
    """Gemm computes ``A @ B``, ``B`` transposed first when ``transB``."""
    weight = n.shape(1)
    if weight is not None and len(weight) == 2 and n.get("transB", 0):
        weight = weight[::-1]
    return O.product(n.is_data(0), n.is_data(1), weight if n.is_data(0) else n.shape(0))


def _matmul(n: _Node) -> O.Op:
    return O.product(n.is_data(0), n.is_data(1), n.shape(1 if n.is_data(0) else 0))


def _pool(kind: str) -> Callable[[_Node], O.Op]:
    def make(n: _Node) -> O.Op:
        kernel = n.get("kernel_shape", [1])
        return O.pool(kind, kernel, n.get("strides", [1] * len(kernel)))

    return make


def _clip(n: _Node) -> O.Op:
    low, high = n.const(1), n.const(2)
    bounds = (n.get("min", None if low is None else float(low)), n.get("max", None if high is None else float(high)))
    return O.Op("relu6") if bounds == (0, 6) else O.Op("hardtanh") if bounds == (-1, 1) else O.other("clamp")


def _resize(n: _Node) -> O.Op:
    scale = O.spatial_scale(*n.shapes())
    if scale is None:
        scales = n.const(2) if n.node.op_type == "Resize" else n.const(1)
        scale = float(scales[2]) if scales is not None and scales.size > 2 else None
    return O.resample(scale)


def _gather(n: _Node) -> O.Classified:
    """A lookup of data indices in a constant table is an embedding; any other Gather is indexing."""
    return O.Op("embedding") if not n.is_data(0) and n.is_data(1) else O.COLLAPSE


def _same(op: O.Classified) -> Callable[[_Node], O.Classified]:
    return lambda n: op


_OPS: dict[str, Callable[[_Node], O.Classified]] = {
    "Conv": _conv, "ConvTranspose": lambda n: _conv(n, transposed=True), "Gemm": _gemm, "MatMul": _matmul,
    **{name: _same(O.Op(op)) for name, op in (
        ("BatchNormalization", "batch_norm"), ("LayerNormalization", "layer_norm"),
        ("InstanceNormalization", "instance_norm"), ("RMSNormalization", "rms_norm"),
        ("Relu", "relu"), ("LeakyRelu", "leaky_relu"), ("PRelu", "prelu"), ("Elu", "elu"), ("Selu", "selu"),
        ("Celu", "celu"), ("Gelu", "gelu"), ("Mish", "mish"), ("Sigmoid", "sigmoid"), ("Tanh", "tanh"),
        ("HardSwish", "hardswish"), ("HardSigmoid", "hardsigmoid"), ("Softplus", "softplus"), ("Softmax", "softmax"),
        ("LogSoftmax", "log_softmax"), ("GlobalAveragePool", "global_avg_pool"), ("GlobalMaxPool", "global_max_pool"),
        ("ReduceMean", "reduce_mean"), ("Add", "add"), ("Sub", "sub"), ("Mul", "mul"), ("Div", "div"),
        ("Concat", "concat"), ("Split", "split"), ("Pad", "pad"),
    )},
    "GroupNormalization": lambda n: O.Op("group_norm", {"groups": n.get("num_groups", 0)}),
    "Clip": _clip, "MaxPool": _pool("max"), "AveragePool": _pool("avg"), "Resize": _resize, "Upsample": _resize,
    "DepthToSpace": lambda n: O.resample(float(n.get("blocksize", 0))),
    "SpaceToDepth": lambda n: O.resample(1.0 / float(n.get("blocksize", 1))),
    "Gather": _gather,
    **dict.fromkeys(("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Cast",
                     "CastLike", "Expand", "Slice", "Tile"), _same(O.COLLAPSE)),
    **dict.fromkeys(("Shape", "Size", "Constant", "ConstantOfShape", "Range", "RandomNormal", "RandomNormalLike",
                     "RandomUniform", "RandomUniformLike", "EyeLike"), _same(O.NO_DATA)),
}


def _classify(n: _Node) -> O.Classified:
    if n.node.domain.startswith("torch.nn"):  # a module exported as an ONNX function (export_modules_as_functions)
        return O.classify_module(n.node.op_type, n.get, n.shapes)
    handler = _OPS.get(n.node.op_type) if n.node.domain in ("", "ai.onnx") else None
    return handler(n) if handler is not None else O.other(n.node.op_type)


def _load(path_or_model: Any) -> tuple[Any, str]:
    """The ModelProto and a name for it in messages."""
    onnx = _onnx()
    if isinstance(path_or_model, onnx.ModelProto):
        model, what = path_or_model, f"ONNX model {path_or_model.graph.name or '(unnamed)'}"
    elif isinstance(path_or_model, (str, os.PathLike)):
        path = Path(path_or_model)
        what = f"ONNX file {path}"
        if not path.is_file():
            raise ValueError(f"{what} does not exist")
        try:
            model = onnx.load(path)
        except Exception as exc:
            raise ValueError(f"{what} is not an ONNX model ({type(exc).__name__}: {exc})") from None
    else:
        raise ValueError(f"from_onnx needs a path to an ONNX file or an onnx.ModelProto, got "
                         f"{type(path_or_model).__name__}")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ValueError(f"{what} is not a valid ONNX model ({type(exc).__name__}: {exc})") from None
    return model, what


def from_onnx(path_or_model: str | os.PathLike | Any) -> ArchGraph:
    """The operation DAG of an ONNX model (a file path or an ``onnx.ModelProto``) over :data:`fgp.models.VOCAB`,
    with :data:`fgp.models.ATTRIBUTES` per node, as :func:`~fgp.models.from_torch` reads a PyTorch module (see
    this module's docstring for where the two differ). Operators outside the vocabulary become ``other:<op type>``
    nodes and are reported with an :class:`~fgp.models.UnknownOpWarning`."""
    model, what = _load(path_or_model)
    info = _Model(model)
    builder = DagBuilder(what)
    for value in model.graph.input:
        if value.name not in info.initializers:
            builder.add_input(value.name)
    for node in model.graph.node:
        outputs = [o for o in node.output if o]
        if not outputs:
            continue
        n = _Node(node, info, builder)
        builder.add(outputs[0], _classify(n), [i for i in node.input if i])
        for extra in outputs[1:]:  # Split's parts, BatchNormalization's running statistics, Dropout's mask
            builder.alias(extra, outputs[0])
    return builder.build(o.name for o in model.graph.output)
