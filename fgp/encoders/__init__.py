"""Neural architecture encoders, one module each, found through the registry."""

from fgp.encoders.registry import ENCODERS, create_encoder, list_encoders, register_encoder

# importing an encoder module registers it
from fgp.encoders import digcn, flowerformer, gatedgcn, gin, mlp, transformer  # noqa: E402,F401  isort: skip

__all__ = ["ENCODERS", "create_encoder", "list_encoders", "register_encoder"]
