"""Pre-training (pretext tasks) for architecture encoders; importing this package registers ``fgp`` and ``zc``."""

from fgp.pretrain.base import PretrainResult, create_pretext, list_pretexts, register_pretext

from fgp.pretrain import fgp as _fgp  # noqa: E402,F401  registers "fgp" and "zc"  isort: skip
from fgp.pretrain.fgp import FGPPretext, ZCPretext, standardize_targets  # noqa: E402  isort: skip

__all__ = [
    "FGPPretext",
    "PretrainResult",
    "ZCPretext",
    "create_pretext",
    "list_pretexts",
    "register_pretext",
    "standardize_targets",
]
