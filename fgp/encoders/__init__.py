"""Neural architecture encoders, one module each, found through the registry."""

from fgp.encoders.registry import create_encoder, list_encoders, recommended_settings, register_encoder

# importing an encoder module registers it
from fgp.encoders import flowerformer, gatedgcn, gin  # noqa: E402,F401  isort: skip

__all__ = ["create_encoder", "list_encoders", "recommended_settings", "register_encoder"]
