"""Shared fixtures: the example bundle as a policy, as a snapshot, and as an editable copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clearance import CompiledPolicy, default_bundle_path, read_policy, snapshot
from clearance.core.model import Policy


@pytest.fixture(scope="session")
def example_policy() -> Policy:
    """The shipped scenario-2026 bundle, read and checked once per session."""
    return read_policy()


@pytest.fixture(scope="session")
def example_snapshot(example_policy: Policy) -> CompiledPolicy:
    """The example policy compiled; its verdict memo is shared by every test that uses it."""
    return snapshot(example_policy)


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    """A private copy of the example bundle directory that a test may break at will."""
    target = tmp_path / "bundle"
    shutil.copytree(default_bundle_path(), target)
    return target
