"""``clearance lists`` and ``clearance screen`` against a SQLite registry in a temporary directory."""

from __future__ import annotations

import csv
import json

import pytest
from screening_kit import CSL_ROWS, EL, write_jsonl
from typer.testing import CliRunner

from clearance.cli.main import app


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CLEARANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("CLEARANCE_AUDIT_KEYS", str(tmp_path / "keys"))
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None):
        result = runner.invoke(app, list(args), input=stdin)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return run


def test_import_status_diff_and_a_rejected_file(cli, tmp_path):
    first = json.loads(cli("lists", "import", "csl", str(write_jsonl(tmp_path / "csl_2026-07-31.jsonl", CSL_ROWS)),
                           "--reason", "initial").stdout)
    assert first["snapshot"]["counts"]["entries"] == 5 and first["added"] == 5
    newer = [*CSL_ROWS[1:], {"source": EL, "source_code": "EL", "name": "Nordwind Avionika", "countries": ["RU"]}]
    second = json.loads(cli("lists", "import", "csl", str(write_jsonl(tmp_path / "csl_2026-08-31.jsonl", newer))).stdout)
    assert (second["added"], second["removed"]) == (1, 1)
    status = json.loads(cli("lists", "status", "--json").stdout)
    assert [(s["id"], s["list_date"], s["live"]) for s in status] == [(1, "2026-07-31", False), (2, "2026-08-31", True)]
    diff = cli("lists", "diff", "1", "2", "--exit-code", code=1).stdout
    assert "+ EL" in diff and "Nordwind Avionika" in diff and "- EL" in diff and "1 added, 1 removed, 0 changed" in diff

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(CSL_ROWS[0]) + "\n{oops\n", encoding="utf-8")
    rejected = cli("lists", "import", "csl", str(bad), code=1)
    assert "bad.jsonl:2: malformed JSON" in rejected.stderr and "previous snapshot stays live" in rejected.stderr
    assert json.loads(cli("lists", "status", "--json").stdout)[-1]["id"] == 2


def test_a_file_of_names_is_screened_to_csv_and_json(cli, tmp_path):
    cli("lists", "import", "csl", str(write_jsonl(tmp_path / "csl.jsonl", CSL_ROWS)))
    names = tmp_path / "names.csv"
    names.write_text("name,country\nAfghan German Construction Co,AF\nStripe Inc,US\nKunlun Bank,US\n", encoding="utf-8")
    cli("screen", str(names), "--out", str(tmp_path / "out.csv"))
    rows = list(csv.DictReader((tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()))
    # A country that differs is contrary evidence: the name alone no longer makes it a match.
    assert [(r["outcome"], r["entry_uid"][:3]) for r in rows] == [("match", "EL:"), ("no-match", ""),
                                                                ("possible-match", "OFA")]
    assert rows[0]["agreed"] == "name; country AF" and rows[2]["disagreed"] == "country (US vs CN)"
    cli("screen", str(names), "--out", str(tmp_path / "out.json"), "--exit-code", code=1)
    documents = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert documents[0]["hits"][0]["entry"]["name"] == "Afghan-German Construction Company"
    lines = cli("screen", str(names)).stdout.splitlines()
    assert [json.loads(line)["outcome"] for line in lines] == ["match", "no-match", "possible-match"]
    missing = tmp_path / "nonames.csv"
    missing.write_text("company\nX\n", encoding="utf-8")
    assert "no `name` column" in cli("screen", str(missing), code=2).stderr


def test_screening_with_no_list_fails_closed(cli, tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("name\nAnyone\n", encoding="utf-8")
    assert "no restricted-party list has been imported" in cli("screen", str(names), code=1).stderr


def test_findings_say_none_when_there_are_none(cli, tmp_path):
    cli("lists", "import", "csl", str(write_jsonl(tmp_path / "csl.jsonl", CSL_ROWS)))
    assert cli("lists", "findings").stdout.strip() == "none: no restricted-party findings in force"
    assert cli("lists", "findings", "--json").stdout == ""


def test_evidence_columns_are_used_and_shown(cli, tmp_path):
    cli("lists", "import", "csl", str(write_jsonl(tmp_path / "csl.jsonl", CSL_ROWS)))
    names = tmp_path / "people.csv"
    names.write_text("name,country,kind,nationality\nElena Moiseevna Tsunaeva,RU,individual,RU\n"
                     "Elena Moiseevna Tsunaeva,,entity,\n", encoding="utf-8")
    lines = [json.loads(line) for line in cli("screen", str(names)).stdout.splitlines()]
    assert lines[0]["outcome"] == "match" and "country RU" in lines[0]["hits"][0]["agreed"]
    assert lines[1]["outcome"] == "no-match"  # a person's name given as a company's: the kinds cannot agree


def test_findings_are_cleared_and_confirmed_from_the_command_line(cli, tmp_path):
    cli("registry", "put", "entity", "nw", "--file", "-", "--reason", "onboarding",
        stdin=json.dumps({"name": "Nordvind Avionika", "country": "CA", "kind": "company"}))
    rows = [*CSL_ROWS, {"source": EL, "source_code": "EL", "name": "Nordwind Avionika", "countries": ["RU"]}]
    report = json.loads(cli("lists", "import", "csl", str(write_jsonl(tmp_path / "csl.jsonl", rows))).stdout)
    assert [(f["subject"], f["status"]) for f in report["findings"]] == [("nw", "possible")]
    assert "nw" in cli("lists", "findings").stdout
    cleared = json.loads(cli("lists", "clear", "nw", "--reason", "Canadian firm, other address").stdout)
    assert cleared["record"]["status"] == "cleared" and cleared["reason"] == "clear: Canadian firm, other address"
    assert "no restricted-party finding" in cli("lists", "confirm", "nw", "--reason", "x", code=1).stderr
    assert json.loads(cli("lists", "findings", "--all", "--json").stdout.splitlines()[0])["status"] == "cleared"
