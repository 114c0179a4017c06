"""Typed results of the client: what a caller relies on as attributes, the whole answer in ``raw``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ClearanceAPIError(Exception):
    """The server refused or failed: its status, code and message, and the whole body."""

    def __init__(self, status: int, code: str | None, message: str, body: Any) -> None:
        self.status, self.code, self.message, self.body = status, code, message, body
        super().__init__(f"{status} {code or ''}: {message}".replace("  ", " "))


@dataclass(frozen=True)
class Decision:
    outcome: str  # permit, deny, review
    code: str
    decision_id: int | None
    authorization: str | None
    obligations: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    remedies: list[dict[str, Any]]
    policy_version: str | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def permitted(self) -> bool:
        return self.outcome == "permit"

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Decision:
        return cls(obj["outcome"], obj["code"], obj.get("decision_id"), obj.get("authorization"),
                   list(obj.get("obligations") or []), list(obj.get("reasons") or []), list(obj.get("remedies") or []),
                   obj.get("policy_version"), obj)


@dataclass(frozen=True)
class IssuedCredential:
    key: str  # the key's id: safe to log
    token: str = field(repr=False)  # the secret: shown once
    scopes: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> IssuedCredential:
        return cls(obj["key"], obj["token"], list(obj.get("scopes") or []))


@dataclass(frozen=True)
class RegistryRecord:
    kind: str
    key: str
    seq: int | None
    body: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RegistryRecord:
        return cls(obj.get("kind", ""), obj.get("key", ""), obj.get("seq"), obj.get("body"), obj)


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    kind: str
    at: str | None
    body: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AuditRecord:
        return cls(obj["seq"], obj["kind"], obj.get("at"), obj.get("body") or {}, obj)


@dataclass(frozen=True)
class AuditPage:
    records: list[AuditRecord]
    next_after_seq: int | None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AuditPage:
        return cls([AuditRecord.from_json(r) for r in obj.get("records") or []], obj.get("next_after_seq"))


@dataclass(frozen=True)
class SignedHead:
    size: int
    root: str  # hex
    at_ns: int
    key_id: str
    signature: str  # hex
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SignedHead:
        return cls(obj["size"], obj["root"], obj["at_ns"], obj["key_id"], obj["signature"], obj)


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]
    signed_head: SignedHead
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> InclusionProof:
        return cls(obj["seq"], obj["tree_size"], obj["leaf_hash"], list(obj["audit_path"]),
                   SignedHead.from_json(obj["signed_head"]), obj)


@dataclass(frozen=True)
class CheckpointKeys:
    origin: str
    verifier_keys: list[str]

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> CheckpointKeys:
        return cls(obj["origin"], list(obj["verifier_keys"]))


@dataclass(frozen=True)
class ScreeningResult:
    outcome: str
    hits: list[dict[str, Any]]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ScreeningResult:
        return cls(obj.get("outcome", ""), list(obj.get("hits") or []), obj)
