"""Property test: whatever a decoder is given, it returns a graph or raises ValueError naming the problem, never
another exception (hypothesis, derandomized so CI sees the same examples every run)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fgp.graph import ArchGraph
from fgp.spaces import get_space, list_spaces


def _object_array(items: list) -> np.ndarray:
    """A 1-d object array holding ``items`` as they are (``np.array`` would try to broadcast nested arrays)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


ATOMS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 9), st.floats(allow_nan=True), st.complex_numbers(),
    st.sampled_from(["", "input", "output", "none", "skip", "gcn", "conv3x3-bn-relu", "nor_conv_3x3", "|", "~0",
                     "64-1234-basic", "sep_conv_3x3", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]),
    st.text(max_size=8), st.binary(max_size=4),
    st.builds(np.array, st.integers(-2, 9)), st.builds(lambda: np.zeros((2, 2), dtype=complex)),
)
NATIVES = st.recursive(
    ATOMS,
    lambda inner: st.one_of(st.lists(inner, max_size=8), st.tuples(inner, inner),
                            st.dictionaries(st.sampled_from(["adjacency", "ops", "x"]), inner, max_size=2),
                            st.builds(_object_array, st.lists(inner, max_size=4))),
    max_leaves=20,
)


@pytest.mark.parametrize("space", list_spaces())
@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(native=NATIVES)
def test_decode_returns_a_graph_or_raises_value_error(space, native):
    try:
        graph = get_space(space).decode(native)
    except ValueError:
        return
    assert isinstance(graph, ArchGraph)


@pytest.mark.parametrize("space", list_spaces())
@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(seed=st.integers(0, 2**32 - 1), position=st.integers(0, 7), value=ATOMS)
def test_a_sampled_architecture_with_one_part_replaced_decodes_or_raises_value_error(space, seed, position, value):
    s = get_space(space)
    native = s.sample(np.random.default_rng(seed))
    if isinstance(native, str):
        changed = native[:position] + str(value) + native[position + 1:]
    else:
        changed = list(native)
        changed[position % len(changed)] = value
    try:
        s.decode(changed)
    except ValueError:
        pass
