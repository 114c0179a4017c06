"""Published criteria come from the bundle: change the bundle and the criteria change with it."""

from __future__ import annotations

import json
import re

import pytest

from clearance import load_policy
from clearance.core.errors import PolicyError
from clearance.core.instant import parse_instant
from clearance.licensing.criteria import criteria
from clearance.licensing.render import render

AT = int(parse_instant("2026-07-21T12:00:00Z"))


def doc(path=None):
    return criteria(load_policy(path), AT)


def test_every_bundle_item_is_published(example_snapshot):
    d = criteria(example_snapshot, AT)
    p = example_snapshot.policy
    assert [a["id"] for a in d["authorizations"]] == [a.id for a in p.authorizations]
    assert {m["id"] for t in d["tiers"] for m in t["models"]} == {m.id for m in p.models}
    assert {u["id"] for c in d["use_cases"] for u in c["use_cases"]} == set(example_snapshot.use_cases)
    assert d["destinations"]["embargoed"] == sorted(example_snapshot.embargoed)
    prohibited = [u["id"] for c in d["use_cases"] if c["prohibited"] for u in c["use_cases"]]
    assert prohibited == [uc for c in p.use_case_classes if c.prohibited for uc in c.use_cases]
    ids = [r["id"] for r in d["requirements"]]
    assert ids[:4] == ["restricted-party", "model-not-suspended", "use-case-not-prohibited", "destination-not-embargoed"]
    assert ids[-1] == "authorization"
    assert d["licensing"]["clocks"]["resolution_days"] == 90  # 15 CFR 750.4(a)(1), the default


def test_markdown_and_html_carry_the_same_facts(example_snapshot):
    d = criteria(example_snapshot, AT)
    md, page = render(d, "markdown"), render(d, "html")
    for a in d["authorizations"]:
        assert a["id"] in md and a["id"] in page
    assert page.startswith("<!doctype html>") and "<table>" in page
    assert json.loads(render(d, "json")) == d
    with pytest.raises(ValueError, match="format"):
        render(d, "pdf")


def test_criteria_follow_the_bundle(bundle_dir):
    before = doc(bundle_dir)
    policy = bundle_dir / "policy.yaml"
    policy.write_text(policy.read_text().replace("at_least: 3", "at_least: 4"))
    auths = bundle_dir / "authorizations.yaml"
    text = auths.read_text()
    auths.write_text(re.sub(r"  - id: annex-a\n(?:    .*\n|      .*\n)+\n", "", text, count=1))
    (bundle_dir / "licensing.yaml").write_text("licensing:\n  resolution_days: 60\n  pause_in: [awaiting-applicant]\n")
    after = doc(bundle_dir)
    assert after != before
    cmmc = next(r for r in after["requirements"] if r["id"].endswith(":cmmc_level"))
    assert "cmmc_level >= 4" in cmmc["text"]
    assert "annex-a" in [a["id"] for a in before["authorizations"]]
    assert "annex-a" not in [a["id"] for a in after["authorizations"]]
    assert "| annex-a |" in render(before, "markdown") and "| annex-a |" not in render(after, "markdown")
    assert after["licensing"]["clocks"]["resolution_days"] == 60
    assert after["licensing"]["clocks"]["pause_in"] == ["awaiting-applicant"]


def test_a_bad_licensing_section_is_reported_with_file_line_and_field(bundle_dir):
    (bundle_dir / "licensing.yaml").write_text("licensing:\n  resolution_days: 0\n  deadline: 3\n")
    with pytest.raises(PolicyError) as exc:
        load_policy(bundle_dir)
    shown = [str(p) for p in exc.value.problems]
    assert any(s.startswith("licensing.yaml:2: licensing.resolution_days:") for s in shown), shown
    assert any(s.startswith("licensing.yaml:3: licensing.deadline: unknown field") for s in shown), shown


def test_only_a_bundle_that_states_its_licensing_clocks_changes_version(bundle_dir):
    before = load_policy(bundle_dir).version
    (bundle_dir / "licensing.yaml").write_text("licensing: {}\n")
    stated = load_policy(bundle_dir).version
    assert stated != before
    (bundle_dir / "licensing.yaml").write_text("licensing: {resolution_days: 60}\n")
    assert load_policy(bundle_dir).version not in (before, stated)
