"""Sending a suite's prompts to an OpenAI-compatible endpoint, judging and storing each answer.

``concurrency`` workers share one pooled aiohttp session. A 429 or a 5xx is retried with
exponential backoff (honouring ``Retry-After``), and so is a dropped connection; every
retry is counted. A target that stays unreachable or failing after the retries stops the
run with :class:`TargetError`; a wrong key (401/403) or an unknown model (404) stops it
at once. Either way, everything answered so far is stored and the run can be resumed.

Answers are judged and stored in batches by one writer, each batch one transaction
(``flush_items`` answers or ``flush_s`` seconds, whichever comes first): per-answer
commits would make the database, not the target, the bottleneck. An answer is finished
once its batch has committed; a resumed run sends only the unfinished ones.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

import aiohttp
import orjson

from .errors import TargetError
from .judges.base import REFUSAL, Judge, Judgement
from .suite import Item, RequestSpec

RETRIED = {429, 500, 502, 503, 504}


class ItemSink(Protocol):
    def add_items(self, run_id: str, items: Sequence[dict[str, Any]], counters: dict[str, int] | None = None,
                  at_ns: int | None = None) -> None: ...


@dataclass
class Target:
    """Where to send prompts: ``url`` is the API base (``/v1`` is added when missing)."""

    url: str
    model: str
    key: str | None = None

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return (base if base.endswith("/v1") else base + "/v1") + "/chat/completions"


@dataclass
class HarnessSettings:
    concurrency: int = 8
    max_attempts: int = 6
    backoff_s: float = 0.5
    backoff_cap_s: float = 8.0
    timeout_s: float = 120.0
    flush_items: int = 64
    flush_s: float = 0.2


@dataclass
class Counters:
    sent: int = 0
    answered: int = 0
    errors: int = 0
    retries_429: int = 0
    retries_5xx: int = 0
    retries_network: int = 0
    guard_blocked: int = 0  # items a guarded gateway withheld (403 guardrail-blocked): their refusals

    def as_dict(self, base: dict[str, int] | None = None) -> dict[str, int]:
        """These counts added to ``base`` (a resumed run's stored counts)."""
        out = dict(base or {})
        for f in fields(self):
            out[f.name] = out.get(f.name, 0) + getattr(self, f.name)
        return out


@dataclass
class _Answer:
    item: Item
    text: str | None
    latency_ms: float
    attempts: int
    error: str | None = None
    filtered: bool = False


class Harness:
    def __init__(self, sink: ItemSink, judge: Judge, settings: HarnessSettings | None = None,
                 now_ns: Callable[[], int] = time.time_ns, on_stored: Callable[[int], None] | None = None) -> None:
        self.sink = sink
        self.judge = judge
        self.settings = settings or HarnessSettings()
        self.now_ns = now_ns
        self.on_stored = on_stored
        self.counters = Counters()
        self._rng = random.Random(0)  # jitter only; answers never depend on it

    async def run(self, run_id: str, target: Target, items: Sequence[Item], request: RequestSpec,
                  base_counters: dict[str, int] | None = None) -> dict[str, int]:
        """Send every item; return the run's counters. Raises :class:`TargetError` (after storing what was answered)."""
        queue: asyncio.Queue[Item] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)
        done: asyncio.Queue[_Answer | None] = asyncio.Queue()
        headers = {"Content-Type": "application/json"}
        if target.key:
            headers["Authorization"] = f"Bearer {target.key}"
        connector = aiohttp.TCPConnector(limit=self.settings.concurrency, force_close=False)
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        failure: list[TargetError] = []
        writer = asyncio.create_task(self._write(run_id, done, base_counters))
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
                workers = [asyncio.create_task(self._work(session, target, request, queue, done, failure))
                           for _ in range(max(1, min(self.settings.concurrency, len(items) or 1)))]
                try:
                    # The first worker to give up on the target stops the others, mid-backoff included.
                    await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
                finally:
                    for w in workers:
                        w.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)
        finally:
            await done.put(None)
            await asyncio.shield(writer)
        if failure:
            raise failure[0]
        return self.counters.as_dict(base_counters)

    async def _work(self, session: aiohttp.ClientSession, target: Target, request: RequestSpec,
                    queue: asyncio.Queue[Item], done: asyncio.Queue[_Answer | None], failure: list[TargetError]) -> None:
        while not failure:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                answer = await self._send(session, target, request, item)
            except TargetError as exc:
                failure.append(exc)
                raise
            await done.put(answer)

    async def _send(self, session: aiohttp.ClientSession, target: Target, request: RequestSpec, item: Item) -> _Answer:
        messages = ([{"role": "system", "content": request.system}] if request.system else []) + \
            [{"role": "user", "content": item.prompt}]
        body = orjson.dumps({"model": target.model, "messages": messages, "max_tokens": request.max_tokens,
                             "temperature": request.temperature})
        settings = self.settings
        last = ""
        for attempt in range(1, settings.max_attempts + 1):
            self.counters.sent += 1
            started = time.perf_counter()
            retry_after: float | None = None
            try:
                async with session.post(target.endpoint, data=body) as reply:
                    raw = await reply.read()
                    status = reply.status
                    retry_after = _seconds(reply.headers.get("Retry-After"))
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self.counters.retries_network += attempt < settings.max_attempts
                last = f"cannot reach {target.endpoint}: {type(exc).__name__}: {exc}".rstrip(": ")
                await self._backoff(attempt, None)
                continue
            latency = (time.perf_counter() - started) * 1000
            if status == 200:
                return _parse(item, raw, latency, attempt)
            detail, code = _error_of(raw)
            if status == 403 and code == "guardrail-blocked":
                # A guarded gateway withheld this prompt (or its answer): the system under test refused
                # it, like a provider's content filter. It says nothing about the key, so the run goes on.
                self.counters.guard_blocked += 1
                return _Answer(item, "", latency, attempt, filtered=True)
            if status == 401:
                raise TargetError(f"{target.endpoint} refused the key (HTTP 401): {detail}", status, fatal=True)
            if status == 403:
                raise TargetError(f"{target.endpoint} refused the request for model `{target.model}` (HTTP 403): "
                                  f"{detail}", status, fatal=True)
            if status == 404:
                raise TargetError(f"{target.endpoint} does not know model `{target.model}` or the path "
                                  f"(HTTP 404): {detail}", status, fatal=True)
            if status in RETRIED:
                if status == 429:
                    self.counters.retries_429 += attempt < settings.max_attempts
                else:
                    self.counters.retries_5xx += attempt < settings.max_attempts
                last = f"{target.endpoint} answered HTTP {status}: {detail}"
                await self._backoff(attempt, retry_after)
                continue
            # Any other answer (400: too long, filtered...) is this item's own result, not the target's failure.
            return _Answer(item, None, latency, attempt, error=f"HTTP {status}: {detail}")
        raise TargetError(f"{last} (gave up after {settings.max_attempts} attempts)")

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        if attempt >= self.settings.max_attempts:
            return
        delay = min(self.settings.backoff_cap_s, self.settings.backoff_s * 2 ** (attempt - 1))
        delay = retry_after if retry_after is not None and retry_after <= 60 else delay * (0.5 + self._rng.random() / 2)
        await asyncio.sleep(delay)

    async def _write(self, run_id: str, done: asyncio.Queue[_Answer | None], base: dict[str, int] | None) -> None:
        batch: list[_Answer] = []
        finished = False
        while not finished:
            deadline = time.monotonic() + self.settings.flush_s
            while len(batch) < self.settings.flush_items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    answer = await asyncio.wait_for(done.get(), remaining)
                except TimeoutError:
                    break
                if answer is None:
                    finished = True
                    break
                batch.append(answer)
            if batch:
                rows = self._judge(batch)
                self.counters.answered += sum(1 for r in rows if r["status"] == "done")
                self.counters.errors += sum(1 for r in rows if r["status"] == "error")
                await asyncio.to_thread(self.sink.add_items, run_id, rows, self.counters.as_dict(base), self.now_ns())
                if self.on_stored is not None:
                    self.on_stored(len(rows))
                batch = []

    def _judge(self, batch: list[_Answer]) -> list[dict[str, Any]]:
        judged = [a for a in batch if a.text is not None and not a.filtered]
        verdicts = iter(self.judge.judge([a.item.prompt for a in judged], [a.text or "" for a in judged]))
        now = self.now_ns()
        rows = []
        for a in batch:
            if a.error is not None:
                verdict: Judgement | None = None
            elif a.filtered:
                verdict = Judgement(REFUSAL, 1.0)
            else:
                verdict = next(verdicts)
            rows.append({
                "idx": a.item.index, "key": a.item.key, "category": a.item.category, "template": a.item.template,
                "prompt": a.item.prompt, "response": a.text, "label": verdict.label if verdict else None,
                "score": verdict.score if verdict else None, "latency_ms": round(a.latency_ms, 3),
                "attempts": a.attempts, "status": "error" if a.error else "done", "error": a.error, "at_ns": now,
            })
        return rows


def _parse(item: Item, raw: bytes, latency: float, attempts: int) -> _Answer:
    try:
        data = orjson.loads(raw)
        choice = data["choices"][0]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return _Answer(item, None, latency, attempts, error=f"not an OpenAI chat completion: {raw[:120]!r}")
    message = choice.get("message") or {}
    text = message.get("content") if isinstance(message, dict) else None
    if text is None:
        text = choice.get("text")
    # A provider's content filter withholding the answer is that provider's refusal.
    filtered = choice.get("finish_reason") == "content_filter" and not text
    return _Answer(item, text if isinstance(text, str) else "", latency, attempts, filtered=filtered)


def _error_of(raw: bytes) -> tuple[str, str | None]:
    """An error answer's readable text and its ``error.code`` (``None`` when it names none)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:200].decode("utf-8", "replace") or "(empty body)", None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        return str(error.get("message") or code or error)[:300], code if isinstance(code, str) else None
    return str(data)[:300], None


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
