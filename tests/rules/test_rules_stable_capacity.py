"""Declared capacities are rounded to coarse steps so small rule changes update in place."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from egress_net.rules.capacity import STABLE_CAPACITY_FLOOR, stable_capacity

GROUP_MAX = 30_000


@given(st.integers(min_value=1, max_value=GROUP_MAX))
def test_stable_capacity_covers_the_need_and_respects_the_group_maximum(need: int) -> None:
    declared = stable_capacity(need, group_capacity_max=GROUP_MAX)
    assert need <= declared <= GROUP_MAX
    assert declared >= min(STABLE_CAPACITY_FLOOR, GROUP_MAX)
    # At most half an order of magnitude above the need: room to grow, not waste.
    assert declared <= max(STABLE_CAPACITY_FLOOR, need + 10 ** (len(str(need)) - 1) // 2)


@given(st.integers(min_value=1, max_value=GROUP_MAX - 1))
def test_stable_capacity_never_shrinks_as_the_need_grows(need: int) -> None:
    assert stable_capacity(need, group_capacity_max=GROUP_MAX) <= stable_capacity(
        need + 1, group_capacity_max=GROUP_MAX
    )


def test_steps() -> None:
    got = [stable_capacity(n, group_capacity_max=GROUP_MAX) for n in (1, 87, 101, 1234, 16_330)]
    assert got == [100, 100, 150, 1500, 20_000]
    assert stable_capacity(29_999, group_capacity_max=GROUP_MAX) == GROUP_MAX
