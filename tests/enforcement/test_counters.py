"""Usage counters: reservations are atomic, so concurrent calls in several processes never pass a cap."""

from __future__ import annotations

import asyncio

from enforcement_kit import close
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.enforcement.counters import MemoryCounters

DAY = "2026-07-20"


def test_64_concurrent_reservations_from_two_processes_never_pass_the_cap(counter_pair, scope):
    first, second = counter_pair
    cap, want = 500, 37

    async def run() -> tuple[list[int], int]:
        calls = [(first if i % 2 else second).reserve(scope, DAY, want, cap, want) for i in range(64)]
        granted = [granted for granted, _ in await asyncio.gather(*calls)]
        used = await first.used(scope, DAY)
        await close(counter_pair)
        return granted, used

    granted, used = asyncio.run(run())
    assert sum(granted) <= cap
    assert sum(granted) == (cap // want) * want  # and nothing that fitted was refused
    assert used == sum(granted)


def test_a_reservation_is_cut_to_what_is_left_and_refused_below_the_least(counter_pair, scope):
    first, second = counter_pair

    async def run() -> None:
        assert await first.reserve(scope, DAY, 80, 100, 10) == (80, 80)
        assert await second.reserve(scope, DAY, 50, 100, 10) == (20, 100)  # cut to the room left
        assert await first.reserve(scope, DAY, 5, 100, 1) == (0, 100)  # full: refused, nothing added
        assert await second.settle(scope, DAY, -30) == 70  # unused tokens given back
        assert await first.reserve(scope, DAY, 50, 100, 40) == (0, 70)  # 30 left, 40 needed at least
        assert await first.reserve(scope, DAY, 50, 100, 30) == (30, 100)  # exactly at the cap is allowed
        assert await first.settle(scope, DAY, -1000) == 0  # never below zero
        await close(counter_pair)

    asyncio.run(run())


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500), st.lists(st.tuples(st.integers(0, 120), st.integers(0, 60), st.integers(-40, 10)), max_size=30))
def test_whatever_is_reserved_and_settled_the_count_stays_within_the_cap_and_matches(cap, calls):
    counters = MemoryCounters()

    async def run() -> None:
        total = 0
        for tokens, least, overrun in calls:
            granted, used = await counters.reserve("s", DAY, tokens, cap, least)
            assert granted == 0 or least <= granted <= tokens
            total += granted
            assert used == total <= cap
            if granted and overrun < 0:  # settling to what was really used never passes the cap
                total = max(0, total + max(overrun, -granted))
                await counters.settle("s", DAY, max(overrun, -granted))
        assert await counters.used("s", DAY) == total

    asyncio.run(run())
