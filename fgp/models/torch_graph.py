"""``from_torch``: a PyTorch module as an operation DAG over :data:`fgp.models.VOCAB`.

How a module is read:

* **torch.fx first.** ``torch.fx`` symbolic tracing runs ``forward`` on proxy objects, never on tensors: no data
  (the hooks of modules it traces into see proxies), no change to parameters or buffers. Modules whose class has a
  meaning in the vocabulary (``nn.Conv2d``, ``nn.MultiheadAttention``, ...), the classes in ``leaf_modules`` and
  the primitive ``torch.nn`` layers outside it (``nn.LSTM``, ``nn.Bilinear``: ``other:<class>`` nodes) are kept
  whole; every other module is traced into. A custom ``torch.autograd.Function`` stays one ``other:<class>`` node.
  Forward arguments after the example inputs are fixed at their defaults (``concrete_args``).
* **torch.export where fx cannot trace** (data-dependent Python control flow such as ``nn.TransformerEncoderLayer``'s
  checks; ``method="auto"``): ``torch.export.export`` (non-strict) runs ``forward`` on fake tensors, which carry
  shapes and no data, so forward hooks see fake tensors only and parameters and buffers are left as they were. The
  resulting ATen operations inside a module kept whole under fx are grouped back into that module's node (from
  each operation's module stack), so both readers give the same graph for a module both can read. It sees inside
  custom autograd Functions (their operations, not ``other:<class>``), and ``method="export"`` forces it.

``example_inputs`` are tensors or shapes (a shape is a float32 tensor of that shape: give a tensor for integer inputs
such as token ids), one per model input; only their shapes and dtypes are used, as fake tensors. fx needs them only
where an attribute depends on a shape (``F.interpolate`` to a size, the heads of ``F.scaled_dot_product_attention``,
a functional convolution whose weight is computed): then the traced program is run once on fake tensors, on a copy
of the module whose parameters and buffers are fake, calling each kept module's ``forward`` directly. Model inputs
are the graph's input nodes, in ``forward``'s order (an input that reaches no output is dropped, like every node on
no input-to-output path); every tensor the model returns feeds the one output node.
"""

from __future__ import annotations

import copy
import inspect
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.fx as fx
from torch import nn
from torch.utils import _pytree as pytree

from fgp.graph import ArchGraph
from fgp.models import ops as O
from fgp.models.dag import DagBuilder

TRACE_METHODS = ("auto", "fx", "export")


# what each torch function, tensor method and ATen operator becomes ----------------------------------------------


class _Call:
    """One traced call, as its op handler sees it: raw arguments, shapes of tensor arguments, constancy."""

    def __init__(self, args: Sequence[Any], kwargs: dict[str, Any], shape: Callable[[Any], tuple | None],
                 out: Any, builder: DagBuilder):
        self.args, self.kwargs, self._shape, self._out, self._builder = args, kwargs, shape, out, builder

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        if index < len(self.args):
            return self.args[index]
        return self.kwargs.get(name, default)

    def shape(self, value: Any) -> tuple | None:
        return self._shape(value) if isinstance(value, fx.Node) else None

    def shapes(self) -> tuple[tuple | None, tuple | None]:
        """(first operand, result) shapes."""
        return self.shape(self.arg(0, "input")), self._shape(self._out)

    def is_data(self, value: Any) -> bool:
        return isinstance(value, fx.Node) and bool(self._builder.sources([value]))


def _conv(call: _Call, transposed: bool = False, dilation_at: int = 5, groups_at: int = 6) -> O.Op:
    """Argument positions are F.conv2d's (and aten.conv2d's) unless given."""
    return O.conv_from_weight(call.shape(call.arg(1, "weight")), call.arg(3, "stride", 1),
                              call.arg(dilation_at, "dilation", 1), int(call.arg(groups_at, "groups", 1)), transposed)


def _linear(call: _Call) -> O.Op:
    weight = call.shape(call.arg(1, "weight"))
    return O.linear(weight[-1], weight[0]) if weight is not None and len(weight) == 2 else O.Op("linear")


def _matmul(call: _Call, first: int = 0) -> O.Op:
    a, b = call.arg(first, "input"), call.arg(first + 1, "other")
    return O.product(call.is_data(a), call.is_data(b), call.shape(b if call.is_data(a) else a))


def _attention(call: _Call) -> O.Op:
    query = call.shape(call.arg(0, "query"))
    return O.Op("attention", {"heads": query[-3] if query is not None and len(query) == 4 else 1})


def _resample(call: _Call, scale_at: int | None = 2) -> O.Op:
    scale = O.spatial_scale(*call.shapes())
    if scale is None and scale_at is not None:
        scale = O.first_scale(call.arg(scale_at, "scale_factor"))
    return O.resample(scale)


def _hardtanh(call: _Call) -> O.Op:
    bounds = (call.arg(1, "min_val", -1.0), call.arg(2, "max_val", 1.0))
    return O.Op("relu6" if bounds == (0, 6) else "hardtanh")


def _getattr(call: _Call) -> O.Classified:
    return O.COLLAPSE if call.arg(1, "name") in ("T", "mT", "H", "mH") else O.NO_DATA


def _same(op: O.Classified) -> Callable[[_Call], O.Classified]:
    return lambda call: op


_COLLAPSED = (
    "view", "_unsafe_view", "reshape", "flatten", "unflatten", "permute", "transpose", "t", "swapaxes", "swapdims",
    "movedim", "contiguous", "clone", "detach", "alias", "squeeze", "unsqueeze", "expand", "expand_as", "view_as",
    "reshape_as", "repeat", "getitem", "select", "slice", "narrow", "to", "type", "type_as", "float", "double", "half",
    "bfloat16", "cpu", "cuda", "_to_copy", "lift_fresh_copy", "identity", "dropout", "native_dropout", "alpha_dropout",
    "feature_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d", "requires_grad_",
)
_NO_DATA = (
    # size queries and checks
    "size", "dim", "numel", "nelement", "ndimension", "len", "stride", "sym_size", "sym_numel", "sym_stride",
    "is_contiguous", "is_floating_point", "element_size", "_assert", "_assert_async", "_assert_scalar",
    "_assert_is_none", "_assert_tensor_metadata",
    # tensor factories
    "zeros", "ones", "full", "empty", "arange", "linspace", "logspace", "eye", "rand", "randn", "randint", "randperm",
    "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "randint_like", "new_zeros",
    "new_ones", "new_full", "new_empty", "new_tensor", "tensor", "as_tensor", "scalar_tensor",
)
_SIMPLE = {
    **{name: name for name in O.ACTIVATIONS},
    "_softmax": "softmax", "_log_softmax": "log_softmax", "_prelu_kernel": "prelu",
    **dict.fromkeys(("batch_norm", "native_batch_norm", "_native_batch_norm_legit",
                     "_native_batch_norm_legit_no_training", "_native_batch_norm_legit_functional"), "batch_norm"),
    **dict.fromkeys(("layer_norm", "native_layer_norm"), "layer_norm"),
    **dict.fromkeys(("group_norm", "native_group_norm"), "group_norm"),
    "instance_norm": "instance_norm", "rms_norm": "rms_norm", "mean": "reduce_mean",
    **dict.fromkeys(("add", "iadd", "radd"), "add"), **dict.fromkeys(("sub", "isub", "rsub"), "sub"),
    **dict.fromkeys(("mul", "imul", "rmul"), "mul"),
    **dict.fromkeys(("div", "truediv", "itruediv", "rtruediv"), "div"),
    **dict.fromkeys(("cat", "concat", "concatenate", "stack"), "concat"),
    **dict.fromkeys(("split", "split_with_sizes", "chunk", "unbind", "tensor_split"), "split"),
    **dict.fromkeys(("pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
                     "replication_pad1d", "replication_pad2d", "replication_pad3d"), "pad"),
    "embedding": "embedding",
}
_FUNCTIONS: dict[str, Callable[[_Call], O.Classified]] = {
    **{name: _same(O.Op(op)) for name, op in _SIMPLE.items()},
    **dict.fromkeys(_COLLAPSED, _same(O.COLLAPSE)),
    **dict.fromkeys(_NO_DATA, _same(O.NO_DATA)),
    **dict.fromkeys(("conv1d", "conv2d", "conv3d"), _conv),
    # F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)
    **dict.fromkeys(("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"),
                    lambda call: _conv(call, transposed=True, dilation_at=7)),
    # aten.convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    **dict.fromkeys(("convolution", "_convolution"),
                    lambda call: _conv(call, transposed=bool(call.arg(6, "transposed")), groups_at=8)),
    "linear": _linear,
    **dict.fromkeys(("matmul", "mm", "bmm"), _matmul),
    "addmm": lambda call: _matmul(call, first=1),
    **dict.fromkeys(("scaled_dot_product_attention", "multi_head_attention_forward"), _attention),
    "hardtanh": _hardtanh,
    **dict.fromkeys(("max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices", "max_pool3d_with_indices"),
                    lambda call: O.pool("max", call.arg(1, "kernel_size", 1), call.arg(2, "stride", None))),
    **dict.fromkeys(("avg_pool1d", "avg_pool2d", "avg_pool3d"),
                    lambda call: O.pool("avg", call.arg(1, "kernel_size", 1), call.arg(2, "stride", None))),
    **dict.fromkeys(("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d",
                     "_adaptive_avg_pool3d"), lambda call: O.adaptive_pool("avg", call.arg(1, "output_size", 0))),
    **dict.fromkeys(("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"),
                    lambda call: O.adaptive_pool("max", call.arg(1, "output_size", 0))),
    **dict.fromkeys(("interpolate", "upsample"), _resample),
    **dict.fromkeys((f"upsample_{mode}" for mode in ("nearest1d", "nearest2d", "nearest3d", "linear1d", "bilinear2d",
                                                     "bicubic2d", "trilinear3d", "nearest_exact2d")),
                    lambda call: _resample(call, scale_at=None)),
    "pixel_shuffle": lambda call: O.resample(float(call.arg(1, "upscale_factor", 0))),
    "pixel_unshuffle": lambda call: O.resample(1.0 / float(call.arg(1, "downscale_factor", 1))),
    "getattr": _getattr,
}


def _function_name(target: Any) -> str:
    """The name an fx call target is looked up by: ATen overloads by their packet, in-place names without ``_``."""
    if isinstance(target, torch._ops.OpOverload):
        name = target.overloadpacket.__name__
    elif isinstance(target, str):
        name = target
    else:
        name = getattr(target, "__name__", type(target).__name__)
    if name not in _FUNCTIONS and name.endswith("_") and not name.endswith("__") and name[:-1] in _FUNCTIONS:
        name = name[:-1]
    return name


class _FunctionCall:
    """The fx call target standing for one custom autograd Function (shown as ``other:<class>``)."""

    def __init__(self, function: type):
        self.function = function
        self.__name__ = function.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function.apply(*args, **kwargs)


def _classify_function(target: Any, call: _Call) -> O.Classified:
    if isinstance(target, _FunctionCall):
        return O.other(target.__name__)
    name = _function_name(target)
    handler = _FUNCTIONS.get(name)
    return handler(call) if handler is not None else O.other(name)


# modules kept whole --------------------------------------------------------------------------------------------


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _is_kept_whole(module: nn.Module, leaf_modules: tuple[type, ...]) -> bool:
    if isinstance(module, leaf_modules) or O.module_class_name(type(module)) is not None:
        return True
    return (type(module).__module__.startswith(("torch.nn.", "torch.ao.nn.")) and not isinstance(module, _CONTAINERS)
            and next(module.children(), None) is None)


def _classify_module(module: nn.Module, shapes: O.Shapes) -> O.Classified:
    name = O.module_class_name(type(module))
    if name is None:
        return O.other(type(module).__name__)
    return O.classify_module(name, lambda attr, default: getattr(module, attr, default), shapes)


class _Tracer(fx.Tracer):
    def __init__(self, leaf_modules: tuple[type, ...]):
        super().__init__()
        self.leaf_modules = leaf_modules

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return _is_kept_whole(m, self.leaf_modules)


@contextmanager
def _autograd_functions_as_calls(tracer: fx.Tracer) -> Iterator[None]:
    """While tracing, a custom autograd Function applied to traced values is recorded as one call instead of being
    traced through (fx would otherwise inline its forward)."""
    original = torch.autograd.Function.__dict__["apply"]

    def apply(cls: type, *args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, fx.Proxy) for a in pytree.tree_leaves((args, kwargs))):
            return tracer.create_proxy("call_function", _FunctionCall(cls), args, kwargs)
        return original.__get__(None, cls)(*args, **kwargs)

    torch.autograd.Function.apply = classmethod(apply)
    try:
        yield
    finally:
        torch.autograd.Function.apply = original


# inputs ---------------------------------------------------------------------------------------------------------


def input_specs(example_inputs: Any) -> list[tuple[tuple[int, ...], torch.dtype]]:
    """``(shape, dtype)`` of every example input: a tensor, a shape, or a sequence of them."""

    def is_shape(x: Any) -> bool:
        return (isinstance(x, (tuple, list, torch.Size)) and len(x) > 0
                and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in x))

    items = [example_inputs] if isinstance(example_inputs, torch.Tensor) or is_shape(example_inputs) else example_inputs
    if not isinstance(items, (tuple, list)) or not items:
        raise ValueError("example_inputs must be a tensor, a shape (tuple of ints) or a non-empty sequence of them, "
                         f"got {type(example_inputs).__name__}")
    specs = []
    for x in items:
        if isinstance(x, torch.Tensor):
            specs.append((tuple(x.shape), x.dtype))
        elif is_shape(x):
            specs.append((tuple(int(d) for d in x), torch.float32))
        else:
            raise ValueError(f"an example input must be a tensor or a shape (tuple of non-negative ints), got {x!r}")
    return specs


def _concrete_args(module: nn.Module, num_inputs: int) -> dict[str, Any]:
    """The forward parameters after the example inputs, fixed at their defaults for fx."""
    what = type(module).__name__
    params = list(inspect.signature(module.forward).parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return {}
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if num_inputs > len(positional):
        raise ValueError(f"{what}.forward takes {len(positional)} input(s), got {num_inputs} example inputs")
    rest = [p for p in params if p not in positional[:num_inputs]]
    missing = [p.name for p in rest if p.default is p.empty]
    if missing:
        raise ValueError(f"{what}.forward needs {missing} too: give an example input for each")
    return {p.name: p.default for p in rest}


# shapes ---------------------------------------------------------------------------------------------------------


def module_device(module: nn.Module) -> torch.device:
    """Where the module's parameters (or buffers) are: the fake or zero example inputs are made there."""
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    return first.device if first is not None else torch.device("cpu")


def fake_copy(module: nn.Module, mode: Any) -> nn.Module:
    """A copy of ``module`` whose parameters and buffers are fake tensors of ``mode`` (a FakeTensorMode): running it
    under the mode computes shapes only and leaves ``module`` as it is (batch norm statistics included)."""
    tensors = itertools.chain(module.parameters(), module.buffers())
    return copy.deepcopy(module, {id(t): mode.from_tensor(t) for t in tensors})


class _FakeShapes:
    """Shapes of fx graph values, from one run of the graph on fake tensors (made on first use)."""

    def __init__(self, module: nn.Module, graph: fx.Graph, specs: list[tuple[tuple[int, ...], torch.dtype]]):
        self.module, self.graph, self.specs = module, graph, specs
        self._values: dict[fx.Node, Any] | None = None

    def __call__(self, node: fx.Node) -> tuple | None:
        if node.op == "get_attr":
            value = _fetch(self.module, node.target)
        else:
            if self._values is None:
                self._values = self._propagate()
            value = self._values.get(node)
        return tuple(value.shape) if isinstance(value, torch.Tensor) else None

    def _propagate(self) -> dict[fx.Node, Any]:
        from torch._subclasses.fake_tensor import FakeTensorMode

        values: dict[fx.Node, Any] = {}
        mode = FakeTensorMode(allow_non_fake_inputs=True)
        try:
            shadow = fake_copy(self.module, mode)
        except Exception:  # a module that cannot be copied: attributes that need shapes stay unknown (0)
            return values

        class Run(fx.Interpreter):
            def call_module(self, target: str, args: tuple, kwargs: dict) -> Any:
                return self.fetch_attr(target).forward(*args, **kwargs)  # no hooks

            def run_node(self, n: fx.Node) -> Any:
                try:
                    values[n] = super().run_node(n)
                except Exception:  # an op fake tensors cannot run: its shape (and its users') stay unknown
                    values[n] = None
                return values[n]

        with mode:
            device = module_device(self.module)
            inputs = [torch.empty(shape, dtype=dtype, device=device) for shape, dtype in self.specs]
            try:
                Run(shadow, graph=self.graph).run(*inputs)
            except Exception:
                pass  # the output node or argument binding failed: what ran before is recorded
        return values


def _fetch(module: nn.Module, target: str) -> Any:
    value: Any = module
    for part in target.split("."):
        value = getattr(value, part)
    return value


# the two readers ------------------------------------------------------------------------------------------------


def _fx_trace(module: nn.Module, concrete_args: dict[str, Any], leaf_modules: tuple[type, ...]) -> fx.Graph:
    tracer = _Tracer(leaf_modules)
    with _autograd_functions_as_calls(tracer):
        return tracer.trace(module, concrete_args=concrete_args or None)


def _fx_dag(module: nn.Module, graph: fx.Graph, specs: list, builder: DagBuilder) -> ArchGraph:
    shapes = _FakeShapes(module, graph, specs)
    placeholders = 0
    outputs: list[fx.Node] = []
    for node in graph.nodes:
        if node.op == "placeholder":
            if placeholders < len(specs):
                builder.add_input(node)
            placeholders += 1
        elif node.op == "get_attr":
            builder.add(node, O.NO_DATA, [])
        elif node.op == "output":
            outputs = _nodes_in(node.args)
        else:
            call = _Call(node.args, node.kwargs, shapes, node, builder)
            if node.op == "call_module":
                what = _classify_module(module.get_submodule(node.target), call.shapes)
            else:
                what = _classify_function(node.target, call)
            builder.add(node, what, _nodes_in((node.args, node.kwargs)))
    return builder.build(outputs)


def _export(module: nn.Module, specs: list) -> torch.export.ExportedProgram:
    device = module_device(module)
    args = tuple(torch.zeros(shape, dtype=dtype, device=device) for shape, dtype in specs)
    return torch.export.export(module, args, strict=False)


def _export_dag(module: nn.Module, program: torch.export.ExportedProgram, leaf_modules: tuple[type, ...],
                builder: DagBuilder) -> ArchGraph:
    from torch.export.graph_signature import InputKind, OutputKind

    signature = program.graph_signature
    user_inputs = {s.arg.name for s in signature.input_specs if s.kind == InputKind.USER_INPUT}
    user_outputs = {s.arg.name for s in signature.output_specs if s.kind == OutputKind.USER_OUTPUT}

    def shape(node: fx.Node) -> tuple | None:
        value = node.meta.get("val")
        return tuple(value.shape) if isinstance(value, torch.Tensor) else None

    groups = _module_groups(module, program.graph, leaf_modules)
    done: set[str] = set()
    outputs: list[fx.Node] = []
    for node in program.graph.nodes:
        if node.op == "placeholder":
            if node.name in user_inputs:
                builder.add_input(node)
            else:  # parameters, buffers, lifted constants
                builder.add(node, O.NO_DATA, [])
        elif node.op == "output":
            outputs = [n for n in _nodes_in(node.args) if n.name in user_outputs]
        elif node.op == "get_attr":
            builder.add(node, O.NO_DATA, [])
        elif node in groups:
            key, sub, members = groups[node]
            if key not in done:  # the whole call of a module kept whole: one node, read from outside the group
                done.add(key)
                inner = set(members)
                operands = [a for m in members for a in _nodes_in((m.args, m.kwargs)) if a not in inner]
                what = _classify_module(sub, lambda: (shape(operands[0]) if operands else None, shape(members[-1])))
                builder.add(members[0], what, operands)
                for m in members[1:]:
                    builder.alias(m, members[0])
        else:
            call = _Call(node.args, node.kwargs, shape, node, builder)
            builder.add(node, _classify_function(node.target, call), _nodes_in((node.args, node.kwargs)))
    return builder.build(outputs)


def _module_groups(module: nn.Module, graph: fx.Graph, leaf_modules: tuple[type, ...]) -> dict:
    """The export graph's operations inside a call of a module kept whole: node -> (call key, module, members)."""
    members: dict[str, list[fx.Node]] = {}
    owner: dict[str, nn.Module] = {}
    for node in graph.nodes:
        for key, (path, _) in (node.meta.get("nn_module_stack") or {}).items():
            if not path:
                continue
            sub = module.get_submodule(path)
            if _is_kept_whole(sub, leaf_modules):
                members.setdefault(key, []).append(node)
                owner[key] = sub
                break
    return {n: (key, owner[key], nodes) for key, nodes in members.items() for n in nodes}


def _nodes_in(args: Any) -> list[fx.Node]:
    found: list[fx.Node] = []
    fx.node.map_arg(args, found.append)
    return found


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def from_torch(module: nn.Module, example_inputs: Any, *, method: str = "auto",
               leaf_modules: Sequence[type] = ()) -> ArchGraph:
    """The operation DAG of ``module`` over :data:`fgp.models.VOCAB`, with :data:`fgp.models.ATTRIBUTES` per node.

    ``example_inputs``: one tensor or shape per model input (only shapes and dtypes are used; the module is never
    run on data, see the module docstring). ``method``: ``"auto"`` (torch.fx, torch.export where fx cannot trace),
    ``"fx"`` or ``"export"``. ``leaf_modules``: module classes to keep as one ``other:<class>`` node each instead of
    tracing into them. Operations outside the vocabulary become ``other:<name>`` nodes and are reported with an
    :class:`~fgp.models.UnknownOpWarning`.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    if method not in TRACE_METHODS:
        raise ValueError(f"unknown trace method {method!r}; choose one of {TRACE_METHODS}")
    leaf_modules = tuple(leaf_modules)
    bad = [c for c in leaf_modules if not (isinstance(c, type) and issubclass(c, nn.Module))]
    if bad:
        raise ValueError(f"leaf_modules must be nn.Module classes, got {bad[0]!r}")
    specs = input_specs(example_inputs)
    concrete_args = _concrete_args(module, len(specs))
    what = type(module).__name__
    fx_failure = ""
    if method != "export":
        try:
            graph = _fx_trace(module, concrete_args, leaf_modules)
        except Exception as exc:  # fx runs forward's Python on proxies: any failure means fx cannot trace it
            if method == "fx":
                raise ValueError(f"torch.fx cannot trace {what} ({_first_line(exc)})") from exc
            fx_failure = f"; torch.fx failed first ({_first_line(exc)})"
        else:
            return _fx_dag(module, graph, specs, DagBuilder(what))
    try:
        program = _export(module, specs)
    except Exception as exc:
        raise ValueError(f"cannot trace {what} with torch.export ({_first_line(exc)}){fx_failure}") from exc
    return _export_dag(module, program, leaf_modules, DagBuilder(what))
