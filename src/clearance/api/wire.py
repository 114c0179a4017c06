"""Wire shapes of the admin API (version 1): what a client sends and receives."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WriteRequest(BaseModel):
    """A dated change: the new record, when it takes effect (default: now) and why."""

    model_config = ConfigDict(extra="forbid")
    record: dict[str, Any]
    effective: str | None = Field(None, description="ISO-8601 instant with offset; default now")
    reason: str = Field(min_length=1, description="why this change is made; kept in the history")


class RetireRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective: str | None = None
    reason: str = Field(min_length=1)


class CredentialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scopes: list[str] = Field(min_length=1)
    label: str = ""
    person: str | None = None
    entity: str | None = None
    default_use_case: str | None = None
    default_location: str | None = None
    reason: str = Field(min_length=1)
