"""The licensing commands: criteria and self-checks from a bundle, applications in the registry."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from clearance.cli.main import app

runner = CliRunner()


def test_criteria_command_renders_every_format(bundle_dir):
    md = runner.invoke(app, ["criteria", "--policy", str(bundle_dir), "--at", "2026-07-21T00:00:00Z"])
    assert md.exit_code == 0 and "| annex-a |" in md.output
    doc = json.loads(runner.invoke(app, ["criteria", "--format", "json", "--at", "2026-07-21T00:00:00Z"]).output)
    assert doc["at"] == "2026-07-21T00:00:00Z"
    assert runner.invoke(app, ["criteria", "--format", "html"]).output.startswith("<!doctype html>")
    bad = runner.invoke(app, ["criteria", "--format", "pdf"])
    assert bad.exit_code == 2 and "--format" in bad.output


def test_self_check_command_exit_status_says_whether_all_is_permitted(tmp_path):
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"organization": "stripe", "models": ["mythos-5"], "use_cases": ["research"], "users": [{"citizenships": ["US"], "location": "US"}]}))
    result = runner.invoke(app, ["self-check", str(ok), "--now", "2026-07-21T00:00:00Z", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["outcome"] == "permitted"
    no = tmp_path / "no.json"
    no.write_text(json.dumps({"organization": "contoso-bank", "models": ["gpt-5.6-sol"], "use_cases": ["general"], "users": [{"citizenships": ["US"], "location": "US"}]}))
    result = runner.invoke(app, ["self-check", str(no), "--now", "2026-07-21T00:00:00Z"])
    assert result.exit_code == 3 and "obtain-cmmc-level(level=3)" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"organization": "stripe", "models": ["mythos-5"], "use_cases": ["research"], "users": [{}]}))
    result = runner.invoke(app, ["self-check", str(bad)])
    assert result.exit_code == 1 and "users[0].location: missing" in result.output


def test_applications_commands_against_a_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("CLEARANCE_AUDIT_KEYS", str(tmp_path / "keys"))
    form = tmp_path / "app.json"
    form.write_text(json.dumps({"entity": "stripe", "models": ["gpt-5.6-luna"], "use_cases": ["general"],
                                "users": [{"citizenships": ["US"], "location": "US"}], "justification": "tool"}))
    made = runner.invoke(app, ["applications", "submit", str(form), "--id", "APP-CLI"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["state"] == "submitted"
    refused = runner.invoke(app, ["applications", "act", "APP-CLI", "deny"])
    assert refused.exit_code == 1 and "not allowed in state" in refused.output
    done = runner.invoke(app, ["applications", "act", "APP-CLI", "approve", "--conditions", '[{"code": "monitoring"}]', "--note", "ok"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["licence"] == "LIC-APP-CLI"
    listed = runner.invoke(app, ["applications", "list"])
    assert json.loads(listed.output.splitlines()[0])["state"] == "approved"
    assert len(runner.invoke(app, ["applications", "history", "APP-CLI"]).output.splitlines()) == 2
    assert json.loads(runner.invoke(app, ["applications", "due"]).output)["overdue"] == []
    assert json.loads(runner.invoke(app, ["applications", "consistency"]).output)["decided"] == 1


def test_the_example_prospect_and_application_files_are_accepted(tmp_path, monkeypatch):
    """examples/prospect.json and examples/application.json document the input formats; they must stay valid."""
    import json as _json
    from pathlib import Path

    from typer.testing import CliRunner

    from clearance.cli.main import app as cli

    examples = Path(__file__).resolve().parents[2] / "examples"
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    runner = CliRunner()
    checked = runner.invoke(cli, ["self-check", str(examples / "prospect.json"), "--format", "json"])
    assert checked.exit_code == 3, checked.output  # documented: 3 when not everything would be permitted
    assert _json.loads(checked.stdout)["organization"]["id"] == "acme-labs"
    submitted = runner.invoke(cli, ["applications", "submit", str(examples / "application.json")])
    assert submitted.exit_code == 0, submitted.output
    assert _json.loads(submitted.stdout)["entity"] == "contoso-bank"
