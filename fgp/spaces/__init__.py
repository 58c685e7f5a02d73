"""Search spaces: one module per benchmark, all decoding into :class:`fgp.graph.ArchGraph`."""

from fgp.spaces.base import (
    SearchSpace,
    get_space,
    list_spaces,
    non_default_options,
    register_space,
    representation,
    space_class,
)

# importing a space module registers it
from fgp.spaces import nb101, nb201, nb301, nbgraph, tnb101_macro  # noqa: E402,F401  isort: skip

__all__ = ["SearchSpace", "get_space", "list_spaces", "non_default_options", "register_space", "representation",
           "space_class"]
