"""The bundle's `screening` section: checked like every section, part of the policy_version, read by the service."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance import PolicyError, load_policy
from clearance.registry.service import RegistryService
from clearance.screening.service import ScreeningService
from clearance.store.memory import MemoryRegistry
from clearance.store.screening_memory import MemoryListStore


def write(bundle: Path, text: str) -> None:
    (bundle / "screening.yaml").write_text(text, encoding="utf-8")


def test_bad_screening_settings_are_reported_as_file_line_field_problem(bundle_dir):
    write(bundle_dir, "screening:\n  match: 0.8\n  possible: 0.9\n  on_match: deny\n  treshold: 1\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(bundle_dir)
    problems = [str(p) for p in caught.value.problems]
    assert any(p.startswith("screening.yaml:4: screening.on_match:") for p in problems), problems
    assert any(p.startswith("screening.yaml:5: screening.treshold: unknown field") for p in problems), problems
    write(bundle_dir, "screening:\n  match: 0.8\n  possible: 0.9\n")
    with pytest.raises(PolicyError, match="possible must not exceed match"):
        load_policy(bundle_dir)


def test_thresholds_are_part_of_the_policy_version(bundle_dir, example_snapshot):
    assert load_policy(bundle_dir).version == example_snapshot.version
    write(bundle_dir, "screening:\n  match: 0.92\n  possible: 0.84\n  on_match: listed\n  country_agrees: 0.02\n"
                      "  country_differs: 0.05\n  kind_differs: 0.08\n")
    same = load_policy(bundle_dir).version
    assert same == example_snapshot.version  # the shipped file states the defaults, written another way
    write(bundle_dir, "screening:\n  possible: 0.8\n")
    assert load_policy(bundle_dir).version != same
    (bundle_dir / "screening.yaml").unlink()
    assert load_policy(bundle_dir).version != same  # no section at all: another policy text


def test_the_service_takes_its_thresholds_from_the_bundle(bundle_dir, clock):
    write(bundle_dir, "screening:\n  match: 0.97\n  possible: 0.9\n  on_match: possible\n")
    registry = RegistryService(MemoryRegistry(clock), clock, bundle_dir)
    service = ScreeningService(MemoryListStore(clock), registry)
    assert (service.thresholds.match, service.thresholds.possible, service.on_match) == (0.97, 0.9, "possible")
