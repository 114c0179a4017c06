"""The enforcement path every interface uses: identity, freshness, decision, obligations, record.

Interfaces (the gateway, the admin API's ``POST /v1/decisions``, plug-ins) translate their
wire format to an :class:`Ask` and call :meth:`Enforcer.enforce`; nothing else decides on
someone's behalf.
"""

from .ask import Ask, AuditUnavailable, Enforced, Subject
from .enforcer import Enforcer
from .guarding import GuardFailed
from .identity import Identities, Identity

__all__ = ["Ask", "AuditUnavailable", "Enforced", "Enforcer", "GuardFailed", "Identities", "Identity", "Subject"]
