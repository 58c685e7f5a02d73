import numpy as np
import pytest
import torch

from fgp.validation import per_graph_values


def test_values_come_back_as_float64_vectors_or_tables():
    out = per_graph_values(torch.tensor([[1.0], [2.0], [3.0]]), 3, "y")
    assert out.dtype == np.float64 and out.shape == (3,)
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])
    table = per_graph_values(np.arange(6).reshape(3, 2), 3, "proxy", columns=True)
    assert table.shape == (3, 2)
    # without columns a table is read as one value per entry, so its length no longer matches
    with pytest.raises(ValueError, match="y has 6 values for 3 graphs"):
        per_graph_values(np.arange(6).reshape(3, 2), 3, "y")


@pytest.mark.parametrize(
    "values, message",
    [
        ([1.0, 2.0], "proxy has 2 values for 3 graphs"),
        ([[1.0, 2.0]] * 2, "proxy has 2 rows for 3 graphs"),
        ([1.0, np.nan, np.nan], "proxy holds 2 NaN value"),
        ([[1.0, 2.0], [np.nan, 1.0], [3.0, 4.0]], "proxy holds 1 NaN value\\(s\\) of 6"),
        ([1.0, np.inf, 3.0], "proxy holds 1 infinite value"),
    ],
)
def test_bad_values_are_named(values, message):
    with pytest.raises(ValueError, match=message):
        per_graph_values(values, 3, "proxy", columns=True)
