"""Search spaces: one module per benchmark, all decoding into :class:`fgp.graph.ArchGraph`, and
:class:`ModelSpace`, the base class of your own space of PyTorch models."""

from fgp.spaces.base import (
    SearchSpace,
    get_space,
    list_spaces,
    non_default_options,
    register_space,
    representation,
    space_class,
)
from fgp.spaces.model_space import ModelSpace

# importing a space module registers it
from fgp.spaces import nb101, nb201, nb301, nbgraph, tnb101_macro  # noqa: E402,F401  isort: skip

__all__ = ["ModelSpace", "SearchSpace", "get_space", "list_spaces", "non_default_options", "register_space",
           "representation", "space_class"]
