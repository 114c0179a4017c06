"""What the registry stores: record kinds, their bodies, and credentials.

Policy-shaped kinds (``entity``, ``authorization``, ``suspension``,
``restriction``) are validated with the bundle schema by :mod:`.overlay` and are
all a snapshot reads. ``person`` bodies carry what the gateway needs to build a
request (employer, citizenships, residency, usual location); a person's
restricted-party finding is a ``restriction`` record keyed ``person:<id>``, so
snapshots never read the (many) person records. ``credential`` bodies hold a
hash of a secret, never the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..core.tiers import MEASURED_FIELDS
from ..policy.schema import Country, Id

POLICY_KINDS = ("entity", "authorization", "suspension", "restriction", "evidence")
PERSON_PREFIX = "person:"
KINDS = (*POLICY_KINDS, "person", "credential", "application")

TOKEN_PREFIX = "clr"
SCOPES = ("admin", "auditor", "gateway", "screening", "metrics")
_SCOPED = re.compile(r"(entity|auditor):[A-Za-z0-9][A-Za-z0-9._:-]*")  # one entity's


class PersonRecord(BaseModel):
    """A person who uses models, as the registry knows them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    entity: Id
    citizenships: list[Country] = []
    permanent_residency: Country | None = None
    deemed_country: Country | None = None
    location: Country | None = None
    name: str = ""
    # Evidence for restricted-party screening: set when known, so a namesake is told apart.
    date_of_birth: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    identifiers: list[str] = Field([], max_length=20)  # passport or national id numbers, "<type>: <number>"


class CredentialRecord(BaseModel):
    """A bearer credential: its scopes, whom it acts for, and the SHA-256 of its secret.

    Scopes: ``admin`` (write), ``auditor`` (read everything), ``auditor:<id>`` (read one
    entity's audit records), ``entity:<id>`` (read one entity), ``gateway`` (use models as
    ``person``; ask for recorded decisions), ``screening`` (screen names). Any other scope is
    refused at creation, naming the valid ones. Secrets are 256-bit
    random values, so a fast hash is enough: there is nothing to brute-force.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: list[str] = Field(min_length=1)
    label: str = ""
    person: Id | None = None
    entity: Id | None = None
    default_use_case: Id | None = None
    default_location: Country | None = None

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        for scope in scopes:
            if scope in SCOPES or _SCOPED.fullmatch(scope):
                continue
            raise ValueError(f"unknown scope `{scope}`; valid scopes: {', '.join(SCOPES)}, entity:<entity id>, auditor:<entity id>")
        return scopes


class EvidenceRecord(BaseModel):
    """Measured evidence about a model, from an accepted evaluation run; keyed ``<model>:<measures>``.

    ``fields`` maps measured fields (``guardrails.harmful_refusal_rate_lower``...) to values;
    they are merged into the model's evidence, from which its tier is derived. The rest
    says where the figures came from, so a tier can always be traced to a run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    model: Id
    measures: Literal["refusal", "jailbreak", "over-refusal", "injection"]
    fields: dict[str, float | bool | int]
    run: str = Field(min_length=1)
    suite: str = Field(min_length=1)
    suite_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    items_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    judge: str = Field(min_length=1)
    target: str = Field(min_length=1)
    counts: dict[str, int] = {}
    universality: dict[str, float] | None = None

    @field_validator("fields")
    @classmethod
    def _measured(cls, value: dict[str, float | bool | int]) -> dict[str, float | bool | int]:
        for name, v in value.items():
            kind = MEASURED_FIELDS.get(name)
            if kind is None:
                raise ValueError(f"`{name}` is not a measured field")
            if (kind == "flag") != isinstance(v, bool) or (kind == "rate" and not 0 <= v <= 1):
                raise ValueError(f"`{name}`: `{v!r}` is not a valid {kind}")
        return value


@dataclass(frozen=True)
class IssuedToken:
    """A new credential: ``token`` is shown once and never stored."""

    key: str
    token: str
    record: CredentialRecord


def issue_token(scopes: list[str], **fields: object) -> IssuedToken:
    """A fresh ``clr_<key>_<secret>`` token and the record that stores only its hash."""
    key = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    record = CredentialRecord(secret_sha256=_digest(secret), scopes=scopes, **fields)  # type: ignore[arg-type]
    return IssuedToken(key, f"{TOKEN_PREFIX}_{key}_{secret}", record)


def split_token(token: str) -> tuple[str, str] | None:
    """``(key, secret)`` of a well-formed token, else ``None``."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, record: CredentialRecord) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(_digest(secret), record.secret_sha256)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


Scope = Literal["admin", "auditor", "gateway"]
