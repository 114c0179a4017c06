"""Every guard benchmark that reads the prompt sets names a missing ``--data`` folder and stops (exit code 2, the
parser's), before any measuring or model loading, rather than failing later with a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
TAKES_DATA = sorted(p.name for p in BENCH.glob("*.py") if "data_option(parser)" in p.read_text(encoding="utf-8"))
REQUIRED = {"guard_external.py": ["--wheels"]}  # options a bench cannot start without, given a folder


def test_the_benches_that_read_the_prompt_sets_are_found():
    assert {"guardrails.py", "guard_data_ceiling.py", "guard_finetune.py", "guard_instructions.py"} <= set(TAKES_DATA)


@pytest.mark.parametrize("bench", TAKES_DATA)
def test_a_missing_data_folder_is_named(bench, tmp_path):
    missing = tmp_path / "no-such-folder"
    required = [arg for option in REQUIRED.get(bench, []) for arg in (option, str(tmp_path))]
    run = subprocess.run([sys.executable, str(BENCH / bench), "--data", str(missing), *required], capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"no prompt data at {missing}" in run.stderr
    assert "Traceback" not in run.stderr
