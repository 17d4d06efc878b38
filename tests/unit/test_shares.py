"""Co-insurers' parts always add up to the total, to the cent (largest remainder)."""

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervision.shares import split

D = Decimal


def test_exact_shares_split_exactly():
    assert split(D("345.00"), [D("0.5"), D("0.3"), D("0.2")]) == [D("172.50"), D("103.50"), D("69.00")]


def test_the_leftover_cent_goes_to_the_largest_remainder():
    assert split(D("100.00"), [D("0.3333"), D("0.3333"), D("0.3334")]) == [D("33.33"), D("33.33"), D("33.34")]
    assert split(D("0.01"), [D("0.4"), D("0.35"), D("0.25")]) == [D("0.01"), D("0.00"), D("0.00")]
    assert split(D("0.02"), [D("0.5"), D("0.5")]) == [D("0.01"), D("0.01")]


def test_a_negative_total_splits_like_a_positive_one():
    assert split(D("-0.05"), [D("0.5"), D("0.3"), D("0.2")]) == [D("-0.03"), D("-0.01"), D("-0.01")]


def test_shares_that_do_not_add_up_to_one_are_refused():
    with pytest.raises(ValueError):
        split(D("1.00"), [D("0.5"), D("0.4")])


@st.composite
def weights(draw):
    cuts = sorted(draw(st.lists(st.integers(1, 9999), min_size=0, max_size=5, unique=True)))
    edges = [0, *cuts, 10000]
    return [D(b - a) / D(10000) for a, b in pairwise(edges) if b > a]


@given(total=st.decimals(min_value=D("-10000000"), max_value=D("10000000"), places=2), shares=weights())
def test_parts_always_add_up_to_the_total(total, shares):
    parts = split(total, shares)
    assert sum(parts) == total
    assert all(abs(p - total * s) < D("0.01") for p, s in zip(parts, shares, strict=True))
