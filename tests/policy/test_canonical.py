"""``policy_version``: the same policy however it is written, a new version whenever it changes.

The bundle is rewritten on disk in ways that must not matter (comments, layout,
JSON instead of YAML, split files, reordered items, instants in other offsets) and
in ways that must (any value a decision or its text depends on).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearance import decide_json, default_bundle_path, load_policy, read_policy, snapshot
from clearance.policy.source import read_document

INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})")


def version(root: Path) -> str:
    return load_policy(root).version


def data_of(path: Path) -> Any:
    """A bundle file's data, with strings kept as written (``NO``, instants)."""
    doc, problems = read_document(path, path.name)
    assert doc is not None and not problems, problems
    return doc.data


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=60), encoding="utf-8")


def files(root: Path) -> list[Path]:
    return sorted(root.glob("*.yaml"))


@pytest.fixture
def base_version(example_snapshot) -> str:
    return example_snapshot.version


# --- the same policy ---------------------------------------------------------------------------


def test_the_version_is_a_stable_content_hash(bundle_dir, example_policy, base_version):
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", base_version)
    assert load_policy().version == base_version
    assert snapshot(read_policy()).version == base_version
    assert version(bundle_dir) == base_version  # a copy elsewhere: the path is not part of it
    assert snapshot(replace(example_policy)).version == base_version


def test_comments_and_blank_lines_do_not_matter(bundle_dir, example_policy, base_version):
    for path in files(bundle_dir):
        text = path.read_text(encoding="utf-8")
        text = (
            "# a new header comment\n\n"
            + text.replace("\n  - id:", "\n\n  # an item follows\n  - id:")
            + "\n\n# the end\n"
        )
        path.write_text(text, encoding="utf-8")
    assert read_policy(bundle_dir) == example_policy
    assert version(bundle_dir) == base_version


@pytest.mark.parametrize("writer", [write_json, write_yaml], ids=["json", "block-yaml"])
def test_reformatting_every_file_does_not_matter(bundle_dir, example_policy, base_version, writer):
    for path in files(bundle_dir):
        before = path.read_text(encoding="utf-8")
        writer(path, data_of(path))
        assert path.read_text(encoding="utf-8") != before
    assert read_policy(bundle_dir) == example_policy
    assert version(bundle_dir) == base_version


def test_splitting_files_does_not_matter(bundle_dir, base_version):
    entities = data_of(bundle_dir / "entities.yaml")["entities"]
    half = len(entities) // 2
    (bundle_dir / "entities.yaml").unlink()
    write_yaml(bundle_dir / "entities-a.yaml", {"entities": entities[:half]})
    write_yaml(bundle_dir / "more-entities.yaml", {"entities": entities[half:]})

    sections = data_of(bundle_dir / "policy.yaml")
    (bundle_dir / "policy.yaml").unlink()
    write_yaml(bundle_dir / "policy.yaml", {k: sections[k] for k in ("policy", "jurisdiction")})
    write_yaml(bundle_dir / "rules.yaml", {k: v for k, v in sections.items() if k not in ("policy", "jurisdiction")})

    models = data_of(bundle_dir / "models.yaml")
    write_yaml(bundle_dir / "models.yaml", {"models": models["models"]})
    write_yaml(bundle_dir / "directives.yaml", {"directives": models["directives"]})

    auths = data_of(bundle_dir / "authorizations.yaml")["authorizations"]
    (bundle_dir / "authorizations.yaml").unlink()
    for i, auth in enumerate(auths):
        write_yaml(bundle_dir / f"auth-{i}.yaml", {"authorizations": [auth]})

    assert len(files(bundle_dir)) > 6
    assert version(bundle_dir) == base_version


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


def test_reordering_items_and_keys_does_not_matter(bundle_dir, base_version):
    for path in files(bundle_dir):
        data = data_of(path)
        for section in ("entities", "authorizations", "models", "directives", "country_groups", "use_case_classes"):
            if section in data:
                data[section] = list(reversed(data[section]))
        for entity in data.get("entities", []):
            for key in ("designations", "named_use_cases"):
                if key in entity:
                    entity[key] = list(reversed(entity[key]))
        for group in data.get("country_groups", []):
            group["countries"] = list(reversed(group["countries"]))
        for auth in data.get("authorizations", []):
            auth["covers"] = {k: list(reversed(v)) if isinstance(v, list) else v for k, v in auth["covers"].items()}
        write_yaml(path, _reversed_keys(data))
    assert "id: ai4health" in (bundle_dir / "entities.yaml").read_text(encoding="utf-8").split("id: darpa")[0]
    assert version(bundle_dir) == base_version


def _at_offset(text: str, minutes: int) -> str:
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    local = instant.astimezone(timezone(timedelta(minutes=minutes)))
    if minutes == 0:
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{hours:02d}:{mins:02d}"


def test_writing_instants_with_other_offsets_does_not_matter(bundle_dir, example_policy, base_version):
    offsets = iter([0, 330, -600, 840, -720, 345, 60, -210] * 10)
    count = 0
    for path in files(bundle_dir):
        text = path.read_text(encoding="utf-8")
        found = INSTANT.findall(text)
        count += len(found)
        path.write_text(INSTANT.sub(lambda m: _at_offset(m.group(0), next(offsets)), text), encoding="utf-8")
    assert count >= 10
    assert "2026-06-27T00:00:00-04:00" not in (bundle_dir / "authorizations.yaml").read_text(encoding="utf-8")
    assert read_policy(bundle_dir) == example_policy
    assert version(bundle_dir) == base_version


def test_offset_helper_keeps_the_instant():
    assert _at_offset("2026-12-31T23:59:59-05:00", 0) == "2027-01-01T04:59:59Z"
    assert _at_offset("2026-12-31T23:59:59-05:00", 330) == "2027-01-01T10:29:59+05:30"
    assert _at_offset("2027-01-01T04:59:59Z", -210) == "2027-01-01T01:29:59-03:30"


# --- a different policy -----------------------------------------------------------------------------


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


CHANGES = {
    "entity cmmc level": (
        "entities.yaml",
        "facts: {cmmc_level: 2, conduct_commitment: true, audit_access: false}",
        "facts: {cmmc_level: 3, conduct_commitment: true, audit_access: false}",
    ),
    "entity fact value": (
        "entities.yaml",
        "facts: {cmmc_level: 2, conduct_commitment: true, audit_access: false}",
        "facts: {cmmc_level: 2.5, conduct_commitment: true, audit_access: false}",
    ),
    "entity name": (
        "entities.yaml",
        "    name: Qihoo 360 Technology Co. Ltd.\n",
        "    name: Qihoo 360 Technology Company Limited\n",
    ),
    "entity designation": (
        "entities.yaml",
        "  - id: northwind\n    name: Northwind Analytics LLC\n    country: US\n    kind: company\n    designations: [annex-a]\n",
        "  - id: northwind\n    name: Northwind Analytics LLC\n    country: US\n    kind: company\n    designations: []\n",
    ),
    "restriction reason": (
        "entities.yaml",
        "reason: Entity List (Supplement No. 4 to Part 744)",
        "reason: Entity List",
    ),
    "suspension start": ("authorizations.yaml", "from: 2026-07-20T09:00:00-04:00", "from: 2026-07-20T09:01:00-04:00"),
    "suspension end": (
        "authorizations.yaml",
        "        from: 2026-07-20T09:00:00-04:00\n",
        "        from: 2026-07-20T09:00:00-04:00\n        until: 2026-10-20T09:00:00-04:00\n",
    ),
    "suspension reason": (
        "authorizations.yaml",
        "reason: threat assessment; suspended pending its quarterly audit",
        "reason: threat assessment",
    ),
    "authorization message": (
        "authorizations.yaml",
        "message: Mythos 5 is exempt from licensing for employees of Annex A entities",
        "message: Mythos 5 is exempt from licensing",
    ),
    "authorization end by one second": (
        "authorizations.yaml",
        "until: 2026-09-30T23:59:59-04:00",
        "until: 2026-10-01T00:00:00-04:00",
    ),
    "authorization end by one nanosecond": (
        "authorizations.yaml",
        "until: 2026-09-30T23:59:59-04:00",
        "until: 2026-09-30T23:59:59.000000001-04:00",
    ),
    "obligation parameter": ("authorizations.yaml", "tokens_per_day: 500000", "tokens_per_day: 500001"),
    "obligation order": (
        "authorizations.yaml",
        "      - {code: quarterly-audit}\n      - {code: encryption-required}\n",
        "      - {code: encryption-required}\n      - {code: quarterly-audit}\n",
    ),
    "covered entity": (
        "authorizations.yaml",
        "covers: {entities: [vector-institute, preferred-networks, deepmind-uk]}",
        "covers: {entities: [vector-institute, deepmind-uk]}",
    ),
    "country group": ("countries.yaml", "countries: [CU, IR, KP, SY]", "countries: [CU, IR, KP, SY, BY]"),
    "use case class": (
        "use-cases.yaml",
        "use_cases: [software-engineering, research, cyber-defense, general]",
        "use_cases: [software-engineering, research, general]",
    ),
    "directive instant": ("models.yaml", "    at: 2026-06-12T00:00:00-04:00\n", "    at: 2026-06-12T00:00:01-04:00\n"),
    "directive title": (
        "models.yaml",
        "title: Full takedown of Mythos 5 and Fable 5 after a reported jailbreak of Fable 5",
        "title: Full takedown of Mythos 5 and Fable 5",
    ),
    "model evidence": (
        "models.yaml",
        "    evidence: {}\n",
        "    evidence: {guardrails: {harmful_refusal_rate: 0.5}}\n",
    ),
    "tiering threshold": (
        "policy.yaml",
        "{field: guardrails.jailbreak_attack_success_rate_upper, above: 0.10}",
        "{field: guardrails.jailbreak_attack_success_rate_upper, above: 0.15}",
    ),
    "qualification level": ("policy.yaml", "        at_least: 3\n", "        at_least: 2\n"),
    "policy id": ("policy.yaml", "  id: scenario-2026\n", "  id: scenario-2026b\n"),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_decision_relevant_change_gives_a_new_version(bundle_dir, base_version, name):
    file, old, new = CHANGES[name]
    edit(bundle_dir / file, old, new)
    assert version(bundle_dir) != base_version


def test_every_change_gives_its_own_version(tmp_path, base_version):
    seen = {base_version: "unchanged"}
    for i, (name, (file, old, new)) in enumerate(CHANGES.items()):
        root = tmp_path / f"b{i}"
        shutil.copytree(default_bundle_path(), root)
        edit(root / file, old, new)
        v = version(root)
        assert v not in seen, f"{name!r} has the same version as {seen.get(v)!r}"
        seen[v] = name


def test_a_changed_value_changes_decisions_made_under_it(bundle_dir, example_snapshot):
    # Northwind (Annex A, CMMC level 2, no audit access) is unqualified for Mythos 5; raise both.
    request = {
        "model": "mythos-5",
        "entity": "northwind",
        "person": {"citizenships": ["US"], "location": "US"},
        "use_case": "general",
        "at": "2026-07-01T12:00:00Z",
    }
    before = decide_json(example_snapshot, request).to_dict()
    assert before["code"] == "entity-unqualified"
    edit(
        bundle_dir / "entities.yaml",
        "facts: {cmmc_level: 2, conduct_commitment: true, audit_access: false}",
        "facts: {cmmc_level: 3, conduct_commitment: true, audit_access: true}",
    )
    changed = load_policy(bundle_dir)
    after = decide_json(changed, request).to_dict()
    assert after["code"] == "authorized"
    assert after["policy_version"] == changed.version != before["policy_version"]


def test_a_change_made_in_python_gives_a_new_version(example_policy, base_version):
    northwind = next(e for e in example_policy.entities if e.id == "northwind")
    raised = replace(northwind, facts=tuple((k, 3 if k == "cmmc_level" else v) for k, v in northwind.facts))
    entities = tuple(raised if e.id == "northwind" else e for e in example_policy.entities)
    assert snapshot(replace(example_policy, entities=entities)).version != base_version
    reworded = tuple(
        replace(a, message=a.message + ".") if a.id == "annex-a" else a for a in example_policy.authorizations
    )
    assert snapshot(replace(example_policy, authorizations=reworded)).version != base_version
