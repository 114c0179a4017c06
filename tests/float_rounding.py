"""Comparing a retrained artifact with the shipped one across machines.

Training is deterministic on one machine (tests train twice and compare bytes). On another
CPU, numpy's vector code may add in another order, and a value that lies on a rounding
boundary of the decimals an artifact stores can land one unit away; an iterative solver that
stops at its tolerance can land a few units away (the prompt guard retrained on an AMD EPYC
host, 2026-12-01: 2,800 of its 214,640 weights moved, 2,781 by one unit, 19 by two or three,
and no prompt of its corpus changed label). So a shipped artifact "reproduces" when its
structure and every non-number are equal and only a few stored numbers differ, each by at
most ``units`` units of the coarsest rounding the artifact uses; a test says what "a few" is
and checks what the numbers decide as well.
"""

from __future__ import annotations

from typing import Any


def rounding_differences(again: Any, shipped: Any, unit: float, where: str = "",
                         units: int = 1) -> list[tuple[str, float]]:
    """(path, difference) of every number that differs; raises AssertionError on any other difference, or on a
    number more than ``units`` units away."""
    if isinstance(shipped, dict):
        assert isinstance(again, dict) and again.keys() == shipped.keys(), f"{where}: keys differ"
        return [d for k in shipped for d in rounding_differences(again[k], shipped[k], unit, f"{where}/{k}", units)]
    if isinstance(shipped, list):
        assert isinstance(again, list) and len(again) == len(shipped), f"{where}: lengths differ"
        return [d for i, (a, s) in enumerate(zip(again, shipped, strict=True))
                for d in rounding_differences(a, s, unit, f"{where}[{i}]", units)]
    if isinstance(shipped, float) and isinstance(again, float | int) and not isinstance(again, bool):
        if again == shipped:
            return []
        off = abs(again - shipped)
        assert off <= units * unit * 1.0001, f"{where}: {again} vs {shipped} is more than {units} rounding unit(s)"
        return [(where, off)]
    assert again == shipped, f"{where}: {again!r} vs {shipped!r}"
    return []


def assert_reproduces(again: Any, shipped: Any, unit: float, most: int, units: int = 1) -> None:
    differences = rounding_differences(again, shipped, unit, units=units)
    assert len(differences) <= most, f"{len(differences)} numbers moved, not float rounding: {differences[:5]}"
