"""Who is calling: a bearer key resolved to its credential, person and entity, cached per registry state.

A resolved identity is kept in memory under the SHA-256 of the presented token (never the
token itself) together with the registry seq it was read at. Any registry change bumps the
live snapshot's seq, so every cached identity is read afresh after a revocation, a retired
person or a changed default; entries also expire after ``ttl_ns``, so a change scheduled
for a later instant takes effect on time. Unknown tokens are not cached.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from ..registry.live import LiveSnapshot
from ..registry.records import PersonRecord
from ..registry.service import Credential, RegistryService
from .ask import Subject

CACHE_LIMIT = 100_000


@dataclass(frozen=True)
class Identity:
    key: str
    credential: Credential
    person_id: str | None
    person: PersonRecord | None

    @property
    def entity(self) -> str | None:
        return self.person.entity if self.person is not None else self.credential.record.entity

    def subject(self) -> Subject:
        """The enforcer's view of this caller."""
        p = self.person
        if p is None:
            return Subject(self.key, self.entity, self.person_id, location=self.credential.record.default_location)
        return Subject(self.key, self.entity, self.person_id, tuple(p.citizenships), p.permanent_residency,
                       p.deemed_country, p.location)


class Identities:
    def __init__(self, service: RegistryService, live: LiveSnapshot, ttl_ns: int = 1_000_000_000) -> None:
        self.service = service
        self.live = live
        self.ttl_ns = ttl_ns
        self._cache: dict[bytes, tuple[int, int, Identity]] = {}
        self._inflight: dict[bytes, asyncio.Future[Identity | None]] = {}

    def cached(self, token: str, now_ns: int) -> Identity | None:
        """The identity if it is cached and still current; no I/O."""
        hit = self._cache.get(hashlib.sha256(token.encode()).digest())
        if hit is not None and hit[0] == self.live.seq and now_ns - hit[1] < self.ttl_ns:
            return hit[2]
        return None

    async def resolve_once(self, token: str, now_ns: int) -> Identity | None:
        """``resolve`` off the event loop, once for all the calls that present one token together."""
        digest = hashlib.sha256(token.encode()).digest()
        pending = self._inflight.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Identity | None] = asyncio.get_running_loop().create_future()
        self._inflight[digest] = future
        try:
            found = await asyncio.to_thread(self.resolve, token, now_ns)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a lone caller leaves no "never retrieved" warning
            raise
        else:
            future.set_result(found)
            return found
        finally:
            del self._inflight[digest]

    def resolve(self, token: str, now_ns: int) -> Identity | None:
        """Read the token's credential and person from the registry (blocking I/O) and cache them."""
        digest = hashlib.sha256(token.encode()).digest()
        seq = self.live.seq
        credential = self.service.authenticate(token)
        if credential is None:
            self._cache.pop(digest, None)
            return None
        person_id = credential.record.person
        person = self.service.person(person_id) if person_id else None
        identity = Identity(credential.key, credential, person_id, person)
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[digest] = (seq, now_ns, identity)
        return identity
