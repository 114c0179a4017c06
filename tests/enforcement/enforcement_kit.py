"""Helpers shared by the enforcement tests."""

from __future__ import annotations


async def close(pair: tuple[object, object]) -> None:
    for counters in {id(c): c for c in pair}.values():
        await counters.close()  # type: ignore[attr-defined]
