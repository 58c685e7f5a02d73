import numpy as np
import pytest

from fgp.metrics import kendall_tau, precision_at_k, ranking_metrics, spearman


def test_kendall_tau_hand_computed():
    # pairs of (1,2,3,4) vs (1,3,2,4): 5 concordant, 1 discordant -> (5-1)/6
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # tau-b with a tie in the labels: n0=6 pairs, n1=1 tied in the labels (the first two), the other 5 concordant
    # (P=5, Q=0) -> (P - Q) / sqrt(n0 * (n0 - n1)) = 5/sqrt(6*5)
    assert kendall_tau([1, 2, 3, 4], [1, 1, 2, 4]) == pytest.approx((5 - 0) / np.sqrt(6 * 5))
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert kendall_tau([1, 1, 1], [1, 2, 3]) == 0.0


def test_spearman_hand_computed():
    # d = (0, 1, -1, 0): 1 - 6*2/(4*15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def test_precision_at_k_hand_computed():
    true = np.arange(10.0)  # best is index 9
    pred = np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 8.0])
    assert precision_at_k(pred, true, 10) == 0.0  # top-1: predicted 8, true 9
    assert precision_at_k(pred, true, 20) == 1.0  # top-2: {8, 9} both ways
    assert precision_at_k(pred, true, 50) == 1.0
    pred2 = -true
    assert precision_at_k(pred2, true, 50) == 0.0
    # K = floor(n * p / 100), at least 1
    assert precision_at_k(np.arange(7.0), np.arange(7.0), 1) == 1.0


def test_precision_at_k_breaks_ties_by_row_position():
    # a constant predictor "picks" the first K rows: its P@K follows the row order of the labels
    assert precision_at_k(np.zeros(4), [3.0, 2.0, 1.0, 0.0], 50) == 1.0
    assert precision_at_k(np.zeros(4), [0.0, 1.0, 2.0, 3.0], 50) == 0.0
    # tied predictions at the cut: the earlier of rows 1 and 2 (equal scores) is in the top 1
    assert precision_at_k([0.0, 2.0, 2.0, 1.0], [0.0, 3.0, 1.0, 2.0], 25) == 1.0
    assert precision_at_k([0.0, 2.0, 2.0, 1.0], [0.0, 1.0, 3.0, 2.0], 25) == 0.0
    # tied labels: the true top 1 is the earlier best row, so predicting the later one scores 0
    assert precision_at_k([3.0, 2.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0], 25) == 1.0
    assert precision_at_k([2.0, 3.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0], 25) == 0.0


def test_ranking_metrics_keys_and_bad_input():
    m = ranking_metrics(np.arange(100.0), np.arange(100.0))
    assert set(m) == {"kendall_tau", "spearman", "precision_at_1", "precision_at_5", "precision_at_10",
                      "precision_at_50"}
    assert all(v == pytest.approx(1.0) for v in m.values())
    with pytest.raises(ValueError, match="non-finite"):
        kendall_tau([1, np.nan, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="differ in length"):
        spearman([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="percent"):
        precision_at_k([1, 2], [1, 2], 0)
