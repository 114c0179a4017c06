"""Guardrail fixtures: the shipped guards, and the real prompt sets from ../shared/data when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from needs import missing

PROMPTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "prompts"


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
