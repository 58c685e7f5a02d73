"""Pre-training (pretext tasks) for architecture encoders; importing this package registers every task: ``fgp`` and
``zc`` (:mod:`fgp.pretrain.fgp`), ``graphcl``, ``arch2vec`` and ``gmae`` (one module each)."""

from fgp.pretrain.arch2vec import Arch2vecPretext
from fgp.pretrain.base import Pretext, PretrainResult, create_pretext, list_pretexts, register_pretext
from fgp.pretrain.fgp import FGPPretext, ZCPretext, standardize_targets
from fgp.pretrain.gmae import GMAEPretext
from fgp.pretrain.graphcl import GraphCLPretext

__all__ = [
    "Arch2vecPretext",
    "FGPPretext",
    "GMAEPretext",
    "GraphCLPretext",
    "PretrainResult",
    "Pretext",
    "ZCPretext",
    "create_pretext",
    "list_pretexts",
    "register_pretext",
    "standardize_targets",
]
