"""Malformed input to the CLI: each bad line its own ``invalid-request``, the rest decided (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from clearance.cli.main import app

REQUEST = {"model": "mythos-5", "entity": "stripe", "use_case": "software-engineering",
           "person": {"id": "p-7", "citizenships": ["IN"], "location": "US"}, "at": "2026-06-28T10:00:00-04:00"}
GOOD = json.dumps(REQUEST).encode()


def _batch(data: bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from clearance.cli.main import main; main()", "decide", "--batch", "-"],
                          input=data, capture_output=True, timeout=120, env={**os.environ, **(env or {})})


def test_invalid_utf8_deep_nesting_and_huge_integers_are_each_one_invalid_request_under_a_c_locale():
    sneaky = GOOD.replace(b'"stripe"', b'"str\xffipe"')  # lenient decoding would decide this as "stripe"
    lines = [GOOD, sneaky, b"[" * 100_000 + b"]" * 100_000, b'{"model": ' + b"9" * 5000 + b"}", GOOD]
    for locale in ("C", "C.UTF-8"):
        result = _batch(b"\n".join(lines) + b"\n", {"LC_ALL": locale, "LANG": locale, "PYTHONUTF8": "0"})
        assert result.returncode == 0, result.stderr.decode()
        assert b"Traceback" not in result.stderr
        out = [json.loads(line) for line in result.stdout.splitlines()]
        assert [d["code"] for d in out] == ["authorized", "invalid-request", "invalid-request", "invalid-request",
                                            "authorized"]
        messages = [d["reasons"][0]["message"] for d in out[1:4]]
        assert "line 2" in messages[0] and "not UTF-8" in messages[0] and "0xff" in messages[0]
        assert "line 3" in messages[1] and "line 4" in messages[2]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=60) | st.just(GOOD), min_size=1, max_size=6))
def test_any_bytes_give_one_decision_per_non_blank_line_and_no_traceback(lines):
    data = b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n"
    result = CliRunner().invoke(app, ["decide", "--batch", "-"], input=data)
    assert result.exit_code == 0, result.output
    expected = [line for line in data.split(b"\n") if line.strip()]
    # bytes.strip and str.strip agree on ASCII whitespace; a line of other whitespace is still a line
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(expected)
    assert all(d["outcome"] in ("permit", "deny", "review") for d in out)
