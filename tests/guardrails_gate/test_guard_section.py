"""The bundle's `guardrails` section: checked at load with file:line errors, and part of the policy_version."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance import PolicyError, read_policy, snapshot
from clearance.guardrails.policy import plan_for, rules_of

RULES = """\
guardrails:
  stream_window_chars: 64
  rules:
    - id: frontier
      when: {tiers: [S-3, S-4]}
      prompt:
        jailbreak: {action: block, threshold: 0.7}
        harmful: flag
      answer:
        harmful: block
"""


def write(bundle: Path, text: str) -> Path:
    path = bundle / "guardrails.yaml"
    path.write_text(text)
    return path


def problems(bundle: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        read_policy(bundle)
    return [str(p) for p in caught.value.problems]


def line(path: Path, needle: str) -> int:
    found = [n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    assert len(found) == 1, found
    return found[0]


def test_a_valid_section_is_read_into_rules(bundle_dir):
    write(bundle_dir, RULES)
    rules = rules_of(read_policy(bundle_dir).meta)
    assert rules.window_chars == 64
    plan = plan_for(rules, "S-4", "research", None)
    assert dict(plan.prompt)["jailbreak"].action == "block" and dict(plan.prompt)["jailbreak"].threshold == 0.7
    assert dict(plan.prompt)["harmful"].action == "flag" and dict(plan.prompt)["harmful"].threshold is None
    assert dict(plan.prompt)["prohibited-domain"].action == "off"
    assert plan.answer.action == "block"
    assert not plan_for(rules, "S-2", "research", None).active


@pytest.mark.parametrize("old,new,field,words", [
    ("tiers: [S-3, S-4]", "tiers: [S-3, S-9]", "guardrails.rules[0].when.tiers[1]", ["unknown tier", "S-9"]),
    ("when: {tiers: [S-3, S-4]}", "when: {use_cases: [reserch]}", "guardrails.rules[0].when.use_cases[0]",
     ["unknown use case", "reserch"]),
    ("when: {tiers: [S-3, S-4]}", "when: {authorizations: [LIC-NOPE]}", "guardrails.rules[0].when.authorizations[0]",
     ["unknown authorization"]),
    ("harmful: flag", "harmfull: flag", "guardrails.rules[0].prompt.harmfull", ["unknown field"]),
    ("harmful: flag", "harmful: warn", "guardrails.rules[0].prompt.harmful.action", ["block", "flag", "off"]),
    ("threshold: 0.7", "threshold: 1.5", "guardrails.rules[0].prompt.jailbreak.threshold", ["1"]),
    ("stream_window_chars: 64", "stream_window_chars: 2", "guardrails.stream_window_chars", ["16"]),
])
def test_a_bad_section_is_an_error_at_its_file_and_line(bundle_dir, old, new, field, words):
    path = write(bundle_dir, RULES.replace(old, new))
    where = f"guardrails.yaml:{line(path, new)}: {field}"
    found = [p for p in problems(bundle_dir) if p.startswith(where)]
    assert found, problems(bundle_dir)
    assert all(w in found[0] for w in words), found


def test_two_equally_specific_rules_that_can_match_one_call_are_refused(bundle_dir):
    path = write(bundle_dir, RULES + """\
    - id: also-s4
      when: {tiers: [S-4]}
      prompt: {jailbreak: flag}
""")
    found = problems(bundle_dir)
    assert any(p.startswith(f"guardrails.yaml:{line(path, 'tiers: [S-4]')}: guardrails.rules[1].when") and "frontier" in p
               and "S-4" in p for p in found), found


def test_rules_of_different_specificity_or_disjoint_scope_are_fine(bundle_dir):
    write(bundle_dir, RULES + """\
    - id: s2
      when: {tiers: [S-2]}
      prompt: {jailbreak: flag}
    - id: research-s4
      when: {tiers: [S-4], use_cases: [research]}
      prompt: {jailbreak: off}
""")
    rules = rules_of(read_policy(bundle_dir).meta)
    assert dict(plan_for(rules, "S-4", "research", None).prompt)["jailbreak"].rule == "research-s4"


def test_a_rule_that_sets_nothing_and_a_duplicate_id_are_errors(bundle_dir):
    path = write(bundle_dir, RULES + """\
    - id: frontier
      when: {tiers: [S-1]}
      prompt: {harmful: flag}
    - id: empty
      when: {tiers: [S-2]}
""")
    found = problems(bundle_dir)
    assert any("duplicate rule id `frontier`" in p for p in found), found
    assert any(p.startswith(f"guardrails.yaml:{line(path, '- id: empty')}:") and "at least one label" in p
               for p in found), found


def test_a_guardrail_obligation_with_a_bad_level_is_an_error_at_its_line(bundle_dir):
    path = bundle_dir / "authorizations.yaml"
    text = path.read_text()
    path.write_text(text.replace("      - {code: quarterly-audit}\n",
                                 "      - {code: quarterly-audit}\n      - {code: guardrail, level: loud}\n", 1))
    found = problems(bundle_dir)
    assert any(p.startswith(f"authorizations.yaml:{line(path, 'level: loud')}:") and "level" in p for p in found), found


def test_the_section_is_part_of_the_policy_version(bundle_dir):
    write(bundle_dir, RULES)
    before = snapshot(read_policy(bundle_dir)).version
    write(bundle_dir, RULES.replace("threshold: 0.7", "threshold: 0.8"))
    after = snapshot(read_policy(bundle_dir)).version
    (bundle_dir / "guardrails.yaml").unlink()
    without = snapshot(read_policy(bundle_dir)).version
    assert len({before, after, without}) == 3


def test_the_quarterly_report_counts_guardrail_blocks_and_flags(tmp_path):
    from clearance.audit.keys import KeyRing
    from clearance.core.instant import parse_instant
    from clearance.services.audit_log import AuditLog
    from clearance.services.audit_report import quarter_report
    from clearance.services.report_html import render_html
    from clearance.store.audit_memory import MemoryAuditStore
    from clearance.store.clock import FixedClock

    at = int(parse_instant("2026-08-01T12:00:00Z"))
    log = AuditLog(MemoryAuditStore(), KeyRing.create(tmp_path / "keys"), FixedClock(at))
    try:
        for stage, label, action, entity in [("prompt", "jailbreak", "block", "stripe"),
                                             ("prompt", "jailbreak", "block", "stripe"),
                                             ("prompt", "harmful", "flag", "stripe"),
                                             ("answer", "harmful", "block", "stripe"),
                                             ("prompt", "jailbreak", "block", "huawei")]:
            log.append("guardrail", {"entity": entity, "event": f"{stage}-{action}ed", "stage": stage,
                                     "label": label, "action": action}, at)
        log.sign_if_grown()
        report = quarter_report(log, "stripe", "2026Q3")
    finally:
        log.close()
    assert report["guardrails"] == {"blocked": 3, "flagged": 1, "by_label": [
        {"stage": "answer", "label": "harmful", "action": "block", "count": 1},
        {"stage": "prompt", "label": "harmful", "action": "flag", "count": 1},
        {"stage": "prompt", "label": "jailbreak", "action": "block", "count": 2}]}
    assert "3 blocked, 1 flagged" in render_html(report)


def test_policy_diff_names_a_changed_guard_threshold(bundle_dir):
    from clearance.policy.diff import diff_policies

    write(bundle_dir, RULES)
    old = read_policy(bundle_dir)
    write(bundle_dir, RULES.replace("threshold: 0.7", "threshold: 0.8"))
    changes = [str(c) for c in diff_policies(old, read_policy(bundle_dir))]
    assert changes == ["~ guardrails.rules[frontier].prompt.jailbreak.threshold: 0.7 -> 0.8"], changes
