import pytest
import torch

from fgp.encoders.common import check_probabilities, check_sizes, fast_dropout


def test_fast_dropout_keeps_the_mean_and_drops_the_rate():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = fast_dropout(x, 0.3, training=True)
    assert y.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert (y == 0).float().mean().item() == pytest.approx(0.3, abs=0.005)
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)


def test_fast_dropout_is_the_identity_when_evaluating_or_at_zero():
    x = torch.randn(5, 3)
    assert fast_dropout(x, 0.5, training=False) is x
    assert fast_dropout(x, 0.0, training=True) is x


def test_checks_name_every_argument():
    check_sizes(hidden=1, layers=3)
    check_probabilities(dropout=0.0, attn_dropout=0.99)
    with pytest.raises(ValueError, match=r"hidden, layers must be positive, got 0, 3"):
        check_sizes(hidden=0, layers=3)
    with pytest.raises(ValueError, match=r"attn_dropout must be in \[0, 1\), got 1.0"):
        check_probabilities(dropout=0.1, attn_dropout=1.0)
