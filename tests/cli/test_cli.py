"""The command line as a user drives it: exit codes, streams and what is printed."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from clearance import default_bundle_path
from clearance.cli.main import app

REQUEST = {
    "model": "mythos-5",
    "entity": "stripe",
    "person": {"id": "p-7", "citizenships": ["IN"], "permanent_residency": None, "location": "US"},
    "use_case": "software-engineering",
    "at": "2026-06-28T10:00:00-04:00",
}


@pytest.fixture
def runner():
    return CliRunner()


def test_decide_single_from_stdin(runner):
    result = runner.invoke(app, ["decide", "-"], input=json.dumps(REQUEST))
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert (decision["outcome"], decision["code"], decision["authorization"]) == ("permit", "authorized", "annex-a")
    assert decision["destinations"] == ["IN"]
    assert decision["at"] == "2026-06-28T14:00:00Z"


def test_decide_uses_now_when_the_request_has_no_instant(runner):
    request = {k: v for k, v in REQUEST.items() if k != "at"}
    before = runner.invoke(app, ["decide", "-", "--now", "2026-06-13T00:00:00Z"], input=json.dumps(request))
    after = runner.invoke(app, ["decide", "-", "--now", "2026-07-01T00:00:00Z"], input=json.dumps(request))
    assert json.loads(before.stdout)["code"] == "model-suspended"
    assert json.loads(after.stdout)["code"] == "authorized"


def test_decide_malformed_json_is_an_invalid_request_decision(runner):
    result = runner.invoke(app, ["decide", "-"], input="{not json")
    assert result.exit_code == 0
    decision = json.loads(result.stdout)
    assert (decision["outcome"], decision["code"]) == ("deny", "invalid-request")
    assert "malformed JSON" in decision["reasons"][0]["message"]


def test_batch_goes_on_past_malformed_lines(runner):
    bad_field = dict(REQUEST, colour="blue")
    lines = [json.dumps(REQUEST), "{oops", json.dumps(bad_field), "", json.dumps(dict(REQUEST, model="mythos-9"))]
    result = runner.invoke(app, ["decide", "--batch", "-"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["code"] for d in out] == ["authorized", "invalid-request", "invalid-request", "unknown-model"]
    assert "line 2" in out[1]["reasons"][0]["message"]
    assert "colour" in out[2]["reasons"][0]["message"]


def test_trace_adds_the_rule_chain(runner):
    result = runner.invoke(app, ["decide", "-", "--trace"], input=json.dumps(REQUEST))
    decision = json.loads(result.stdout)
    assert [s["step"] for s in decision["steps"]][-1] == "authorization"
    assert {c["authorization"] for c in decision["checks"]} == {"annex-a", "trusted-foreign-research"}


def test_explain_names_rule_authorizations_and_remedies(runner):
    request = dict(REQUEST, entity="ai4health", person=dict(REQUEST["person"], citizenships=["SG"], location="SG"))
    result = runner.invoke(app, ["explain", "-", "--width", "200"], input=json.dumps(request))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "DENY" in text and "entity-unqualified" in text
    assert "frontier-entity-qualification" in text
    assert "annex-a" in text and "trusted-foreign-research" in text
    assert "grant-audit-access" in text and "apply-for-license" in text


def test_policy_check_and_hash_agree(runner):
    check = runner.invoke(app, ["policy", "check"])
    digest = runner.invoke(app, ["policy", "hash"])
    assert check.exit_code == 0 and digest.exit_code == 0
    assert digest.stdout.strip().startswith("sha256:")
    assert digest.stdout.strip() in check.stdout


def test_policy_check_rejects_a_bad_bundle_with_file_and_line(runner, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(default_bundle_path(), bundle)
    path = bundle / "authorizations.yaml"
    text = path.read_text().replace("models: [gpt-5.6-terra]", "models: [gpt-9]")
    path.write_text(text)
    line = text.splitlines().index("    models: [gpt-9]") + 1
    result = runner.invoke(app, ["policy", "check", str(bundle)])
    assert result.exit_code == 1
    assert f"authorizations.yaml:{line}: authorizations[3].models[0]: unknown model `gpt-9`" in result.stderr


def test_policy_diff_lists_changed_fields(runner, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(default_bundle_path(), bundle)
    path = bundle / "entities.yaml"
    text = path.read_text().replace("facts: {cmmc_level: 1,", "facts: {cmmc_level: 3,")
    path.write_text(text.replace("    named_use_cases: [financial-risk-management]\n", "", 1))
    result = runner.invoke(app, ["policy", "diff", str(default_bundle_path()), str(bundle), "--exit-code"])
    assert result.exit_code == 1
    assert "~ entities[contoso-bank].facts.cmmc_level: 1 -> 3" in result.stdout
    # Values are shown as JSON, as a bundle writes them, never as Python reprs.
    assert '~ entities[stripe].named_use_cases: ["financial-risk-management"] -> []' in result.stdout
    assert "2 change(s)" in result.stdout


def test_policy_show_json_is_the_canonical_form(runner):
    result = runner.invoke(app, ["policy", "show", "--json"])
    shown = json.loads(result.stdout)
    assert shown["policy"]["id"] == "scenario-2026"
    assert {m["id"] for m in shown["policy"]["models"]} >= {"mythos-5", "open-7b"}


def test_explain_at_80_columns_never_cuts_an_id(runner):
    request = dict(REQUEST, entity="preferred-networks", model="gpt-5.6-terra",
                   person={"id": "p-1", "citizenships": ["JP"], "location": "JP"})
    result = runner.invoke(app, ["explain", "-", "--width", "80"], input=json.dumps(request))
    decided = json.loads(runner.invoke(app, ["decide", "-"], input=json.dumps(request)).stdout)
    assert "…" not in result.stdout
    joined = "".join(result.stdout.split())
    assert decided["policy_version"] in joined
