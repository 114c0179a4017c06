"""A typed Python client for a clearance server (httpx; sync and async), and offline verification.

    from clearance.client import Client
    with Client("https://clearance.example", token) as c:
        decision = c.decide({"model": "mythos-5", "entity": "stripe", ...})
        proof = c.inclusion_proof(decision.decision_id)

``clearance.client.offline`` checks signed heads and proofs with only the standard library
and ``cryptography`` (it imports nothing else, so an auditor can copy the one file), and
``clearance.audit.checkpoint`` does the same for C2SP checkpoints.
"""

from .aio import AsyncClient
from .models import (
    AuditPage,
    AuditRecord,
    CheckpointKeys,
    ClearanceAPIError,
    Decision,
    InclusionProof,
    IssuedCredential,
    RegistryRecord,
    ScreeningResult,
    SignedHead,
)
from .sync import Client

__all__ = ["AsyncClient", "AuditPage", "AuditRecord", "CheckpointKeys", "ClearanceAPIError", "Client", "Decision",
           "InclusionProof", "IssuedCredential", "RegistryRecord", "ScreeningResult", "SignedHead"]
