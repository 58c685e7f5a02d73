"""The pairwise hinge ranking loss against hand computations: margins, ties, gradients and pair subsampling."""

from __future__ import annotations

import itertools

import pytest
import torch

from fgp.losses import pairwise_hinge_loss


def test_hand_computed_value_and_gradient():
    # pairs: (0,1) y0>y1, p0-p1=1.0 -> max(0, .5-1.0)=0;  (0,2) y0>y2, p0-p2=0.7 -> 0;
    #        (1,2) y1<y2, p1-p2=-0.3 -> max(0, .5-(-1)(-0.3)) = 0.2          mean over 3 pairs = 0.2/3
    pred = torch.tensor([1.0, 0.0, 0.3], requires_grad=True)
    loss = pairwise_hinge_loss(pred, torch.tensor([3.0, 1.0, 2.0]), margin=0.5)
    assert loss.item() == pytest.approx(0.2 / 3)
    loss.backward()
    # only pair (1,2) is active: d/dp1 (0.5 + p1 - p2)/3 = 1/3, d/dp2 = -1/3
    torch.testing.assert_close(pred.grad, torch.tensor([0.0, 1 / 3, -1 / 3]))


def test_ties_are_left_out():
    # (0,1) tie -> skipped; (0,2) y0<y2, p0-p2=0 -> 0.5; (1,2) y1<y2, p1-p2=5 -> 0.5+5 = 5.5; mean over 2 pairs
    loss = pairwise_hinge_loss(torch.tensor([0.0, 5.0, 0.0]), torch.tensor([1.0, 1.0, 2.0]), margin=0.5)
    assert loss.item() == pytest.approx(3.0)


def test_all_ties_give_zero_that_still_backpropagates():
    pred = torch.tensor([0.3, -1.0, 2.0], requires_grad=True)
    loss = pairwise_hinge_loss(pred, torch.ones(3))
    assert loss.item() == 0.0
    loss.backward()
    torch.testing.assert_close(pred.grad, torch.zeros(3))


@pytest.mark.parametrize("margin, expected", [(0.0, 0.0), (0.1, 0.0), (1.0, 0.5), (2.0, 1.5)])
def test_margin(margin, expected):
    # one correctly ordered pair with p0 - p1 = 0.5: loss = max(0, margin - 0.5)
    loss = pairwise_hinge_loss(torch.tensor([1.0, 0.5]), torch.tensor([2.0, 1.0]), margin=margin)
    assert loss.item() == pytest.approx(expected)


def test_order_and_scale_of_labels_do_not_matter_only_their_order():
    pred = torch.tensor([0.2, -0.4, 0.9, 0.1])
    y = torch.tensor([1.0, 2.0, 3.0, 4.0])
    a = pairwise_hinge_loss(pred, y)
    b = pairwise_hinge_loss(pred, y * 100 - 7)
    perm = torch.tensor([2, 0, 3, 1])
    c = pairwise_hinge_loss(pred[perm], y[perm])
    assert a.item() == pytest.approx(b.item()) == pytest.approx(c.item())


def _pair_losses(pred, y, margin):
    out = []
    for a, b in itertools.combinations(range(len(y)), 2):
        if y[a] != y[b]:
            s = 1.0 if y[a] > y[b] else -1.0
            out.append(max(0.0, margin - s * (pred[a] - pred[b])))
    return out


def test_subsampling_takes_a_deterministic_subset_of_the_pairs():
    pred = torch.tensor([0.5, -0.2, 0.1, 0.9, -1.0, 0.3])
    y = torch.tensor([1.0, 4.0, 2.0, 2.0, 5.0, 0.0])  # one tie: 14 untied pairs
    per_pair = _pair_losses(pred.tolist(), y.tolist(), 0.5)
    assert len(per_pair) == 14
    full = pairwise_hinge_loss(pred, y)
    assert full.item() == pytest.approx(sum(per_pair) / 14)
    # max_pairs at or above the number of pairs keeps them all
    assert pairwise_hinge_loss(pred, y, max_pairs=14).item() == pytest.approx(full.item())
    subset_means = {round(sum(c) / 3, 6) for c in itertools.combinations(per_pair, 3)}
    values = []
    for seed in range(40):
        v = pairwise_hinge_loss(pred, y, max_pairs=3, generator=torch.Generator().manual_seed(seed)).item()
        again = pairwise_hinge_loss(pred, y, max_pairs=3, generator=torch.Generator().manual_seed(seed)).item()
        assert v == again  # same seed, same subset
        assert round(v, 6) in subset_means  # a mean over exactly 3 of the real pairs
        values.append(v)
    assert len(set(values)) > 3  # different seeds pick different subsets
    # uniform subsets: the average over seeds approaches the full loss
    many = [
        pairwise_hinge_loss(pred, y, max_pairs=3, generator=torch.Generator().manual_seed(s)).item()
        for s in range(600)
    ]
    assert sum(many) / len(many) == pytest.approx(full.item(), rel=0.1)


def test_bad_input():
    with pytest.raises(ValueError, match="3 values but y has 2"):
        pairwise_hinge_loss(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="margin"):
        pairwise_hinge_loss(torch.zeros(3), torch.arange(3.0), margin=-1)
    with pytest.raises(ValueError, match="max_pairs"):
        pairwise_hinge_loss(torch.zeros(3), torch.arange(3.0), max_pairs=0)
    with pytest.raises(ValueError, match="1 NaN"):
        pairwise_hinge_loss(torch.zeros(3), torch.tensor([1.0, float("nan"), 2.0]))
