"""Every acceptance case of shared/scenarios/decisions.jsonl, through the core and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clearance import decide_json, load_policy
from needs import missing

SCENARIOS = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios" / "decisions.jsonl"

if not SCENARIOS.exists():
    missing("shared", f"acceptance cases not found at {SCENARIOS} (the shared/ folder sits beside the repo)",
            module_level=True)

CASES = [json.loads(line) for line in SCENARIOS.read_text().splitlines() if line.strip()]


def check(decision: dict, expect: dict) -> None:
    """Assert every field the case names; `*_include` lists must be among the decision's codes."""
    for field, wanted in expect.items():
        if field.endswith("_include"):
            have = [item["code"] for item in decision[field.removesuffix("_include")]]
            missing = [code for code in wanted if code not in have]
            assert not missing, f"{field}: {missing} not in {have}"
        else:
            assert decision[field] == wanted, f"{field}: expected {wanted!r}, got {decision[field]!r}"


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_core_decides_as_expected(policy, case):
    decision = decide_json(policy, case["request"]).to_dict()
    check(decision, case["expect"])
    assert decision["policy_version"] == policy.version
    if decision["outcome"] != "permit" or decision["code"] != "authorized":
        assert decision["authorization"] is None
    assert decision["reasons"][0]["code"] == decision["code"]


def test_cli_batch_decides_every_case_in_order(tmp_path):
    batch = tmp_path / "requests.jsonl"
    batch.write_text("".join(json.dumps(c["request"]) + "\n" for c in CASES))
    out = subprocess.run(
        [sys.executable, "-m", "clearance.cli", "decide", "--batch", str(batch)],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert len(out) == len(CASES)
    for line, case in zip(out, CASES, strict=True):
        check(json.loads(line), case["expect"])
