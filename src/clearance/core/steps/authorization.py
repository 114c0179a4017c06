"""Step 8 and 9: find an authorization that covers the request, or say how close one came.

Every authorization of the model is checked on each dimension (instant, entity,
person, suspension, destinations, use case). The first that passes all of them,
in id order, permits. Otherwise the code follows the order of the policy page:
one failing only on the use case, then one failing only on destinations, then
one whose instant and entity match but whose coverage is suspended, else
``license-required``.
"""

from __future__ import annotations

from ..decision import AuthorizationCheck, Code, Outcome, Reason, Verdict
from ..evaluation import Evaluation
from ..index import AuthorizationSlice
from ..model import Clause

APPLY = Clause("apply-for-license")


def evaluate(ev: Evaluation) -> tuple[tuple[AuthorizationCheck, ...], AuthorizationSlice | None]:
    """Check the model's authorizations; return the checks and the first that covers.

    Untraced, checking stops at the first that covers; a trace checks them all.
    """
    assert ev.entity is not None and ev.segment is not None
    entity = ev.entity.id
    employer = ev.request.person.employer
    person_ok = employer is None or employer == entity
    uc = ev.request.use_case
    named = ev.entity.named_use_cases
    checks = []
    covering = None
    for a in ev.segment.auths:
        entity_ok = entity in a.covered
        uncovered = tuple(
            dict.fromkeys(
                country for role, country in ev.destinations if country not in (a.deemed if role == "deemed" else a.location)
            )
        )
        check = AuthorizationCheck(
            authorization=a.auth.id,
            instant=a.valid,
            entity=entity_ok,
            person=person_ok,
            destinations=uncovered,
            use_case=uc in a.use_cases or (a.entity_named and uc in named) or uc in a.per_entity.get(entity, ()),
            suspension=a.suspension_for(entity) if entity_ok else None,
        )
        checks.append(check)
        if covering is None and check.covers:
            covering = a
            if not ev.trace:
                break  # the rest only matter to an explanation
    return tuple(checks), covering


def denial(checks: tuple[AuthorizationCheck, ...]) -> tuple[Code, AuthorizationCheck | None]:
    """The deny code for a request no authorization covers, and the check it rests on.

    The "fails only on" tests look at the policy page's dimensions (instant,
    entity, person, destinations, use case); a suspension is not one of them, so
    a suspended authorization that also misses the use case is reported as
    ``use-case-not-authorized`` (with both remedies).
    """
    for only, code in ((("use_case",), Code.USE_CASE_NOT_AUTHORIZED), (("destinations",), Code.DESTINATION_NOT_AUTHORIZED)):
        for c in checks:
            if tuple(f for f in c.failures if f != "suspension") == only:
                return code, c
    for c in checks:
        if c.instant and c.entity and c.suspension is not None:
            return Code.AUTHORIZATION_SUSPENDED, c
    return Code.LICENSE_REQUIRED, None


def check(ev: Evaluation) -> Verdict:
    assert ev.model is not None and ev.entity is not None
    checks, covering = evaluate(ev)
    if covering is not None:
        auth = covering.auth
        message = auth.message or f"{auth.title or auth.id} ({auth.kind}) covers this request"
        return ev.verdict(
            "authorization",
            Outcome.PERMIT,
            Code.AUTHORIZED,
            (Reason(Code.AUTHORIZED, auth.id, message),),
            authorization=auth.id,
            obligations=auth.obligations,
            checks=checks,
        )
    code, basis = denial(checks)
    req, who = ev.request, f"`{ev.entity.id}`"
    if code == Code.USE_CASE_NOT_AUTHORIZED:
        assert basis is not None
        primary = Reason(code, basis.authorization, f"use case `{req.use_case}` is not authorized for {who} under {basis.authorization}")
        remedies: tuple[Clause, ...] = (APPLY, *_lift(basis))
    elif code == Code.DESTINATION_NOT_AUTHORIZED:
        assert basis is not None
        where = ", ".join(f"`{c}`" for c in basis.destinations)
        primary = Reason(code, basis.authorization, f"destination {where} is not covered by {basis.authorization}")
        remedies = (APPLY, *_lift(basis))
    elif code == Code.AUTHORIZATION_SUSPENDED:
        assert basis is not None and basis.suspension is not None
        primary = Reason(code, basis.authorization, f"coverage of {who} under {basis.authorization} is suspended: {basis.suspension}")
        remedies = _lift(basis)
    else:
        primary = Reason(code, ev.model.id, f"no authorization covers {ev.model.name} for {who} here; a licence is required")
        remedies = (APPLY,)
    near = tuple(Reason("not-covered", c.authorization, near_miss(c)) for c in checks if c is not basis)
    return ev.verdict("authorization", Outcome.DENY, code, (primary, *near), remedies=remedies, checks=checks)


def _lift(check: AuthorizationCheck) -> tuple[Clause, ...]:
    if check.suspension is None:
        return ()
    return (Clause("lift-suspension", (("reason", check.suspension),)),)


def near_miss(c: AuthorizationCheck) -> str:
    """One line saying what an authorization failed on."""
    parts = []
    if not c.instant:
        parts.append("not in force at this instant")
    if not c.entity:
        parts.append("entity not covered")
    if not c.person:
        parts.append("person is not an employee of the entity")
    if c.suspension is not None:
        parts.append(f"coverage suspended ({c.suspension})")
    if c.destinations:
        parts.append("destination " + ", ".join(f"`{d}`" for d in c.destinations) + " not covered")
    if not c.use_case:
        parts.append("use case not covered")
    return f"{c.authorization}: " + "; ".join(parts)
