"""Screening fixtures: small list files written per test, a clock, a wired world."""

from __future__ import annotations

from pathlib import Path

import pytest
from screening_kit import CSL_ROWS, NOW, World, write_jsonl

from clearance.core.instant import parse_instant
from clearance.store.clock import FixedClock


@pytest.fixture
def csl_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "csl_2026-07-31.jsonl", CSL_ROWS)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(int(parse_instant(NOW)))


@pytest.fixture
def world(clock, tmp_path) -> World:
    built = World(clock, tmp_path / "keys")
    yield built
    built.audit.close()
