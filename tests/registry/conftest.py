"""A registry service over a bundle whose Preferred Networks suspension is left to the registry."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from clearance import default_bundle_path
from clearance.core.instant import parse_instant
from clearance.registry.service import RegistryService
from clearance.store.clock import FixedClock
from clearance.store.memory import MemoryRegistry
from clearance.store.sql import SqlRegistry, make_engine, migrate


def at(text: str) -> int:
    return int(parse_instant(text))


@pytest.fixture
def bare_bundle(tmp_path: Path) -> Path:
    """The example bundle without the suspension text: the registry must supply it."""
    target = tmp_path / "bundle"
    shutil.copytree(default_bundle_path(), target)
    path = target / "authorizations.yaml"
    text, removed = re.subn(r"    suspensions:\n(?:      .*\n|        .*\n)+", "", path.read_text())
    assert removed == 1
    path.write_text(text)
    return target


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at("2026-07-20T08:00:00-04:00"))


@pytest.fixture
def store(clock, any_store_url):
    """The same service tests on memory, SQLite and PostgreSQL."""
    if any_store_url == "memory:":
        yield MemoryRegistry(clock)
        return
    migrate(any_store_url)
    engine = make_engine(any_store_url)
    yield SqlRegistry(engine, clock)
    engine.dispose()


@pytest.fixture
def registry(store, clock, bare_bundle) -> RegistryService:
    return RegistryService(store, clock, bare_bundle)
