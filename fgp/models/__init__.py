"""Your own architectures: a PyTorch model or an ONNX file as an :class:`~fgp.graph.ArchGraph`.

``from_torch(module, example_inputs)`` and ``from_onnx(path_or_model)`` read a model into an operation DAG over one
universal vocabulary (:data:`VOCAB`, plus ``other:<name>`` for operations outside it, reported with an
:class:`UnknownOpWarning`), with numeric attributes per node (``graph.attrs``, columns :data:`ATTRIBUTES`).
Identity-like operations (reshapes, casts, dropout, indexing) leave no node: their producers feed their consumers.
Values that carry no model data (parameters, constants, size queries, tensor factories, and whatever is computed
from them alone) leave no node and no edge. A model's inputs are the graph's input nodes; every output it returns
feeds the graph's single output node (an :class:`ArchGraph` has exactly one). :func:`module_proxies` scores any
module with fgp's zero-cost proxies.
"""

from fgp.models.dag import unify_vocab
from fgp.models.onnx_graph import from_onnx
from fgp.models.ops import ATTRIBUTES, VOCAB, UnknownOpWarning
from fgp.models.proxies import MODULE_PROXIES, count_flops, module_proxies
from fgp.models.torch_graph import from_torch

__all__ = ["ATTRIBUTES", "MODULE_PROXIES", "VOCAB", "UnknownOpWarning", "count_flops", "from_onnx", "from_torch",
           "module_proxies", "unify_vocab"]
