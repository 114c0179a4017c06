"""Evaluation fixtures: the real prompt and answer files from ../shared/data, when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from needs import missing

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PROMPTS = SHARED / "prompts"
RESPONSES = SHARED / "responses"


@pytest.fixture(scope="session")
def prompts_dir() -> Path:
    if not PROMPTS.is_dir():
        missing("shared", f"the prompt sets are absent ({PROMPTS}); they come with ../shared/data and are never shipped")
    return PROMPTS


@pytest.fixture(scope="session")
def responses_dir() -> Path:
    if not RESPONSES.is_dir():
        missing("shared", f"the labelled answers are absent ({RESPONSES}); they come with ../shared/data")
    return RESPONSES
