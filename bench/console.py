"""How fast the console renders its pages over a large registry and audit log.

    python bench/console.py [--entities 10000] [--records 100000] [--requests 40] [--backend sqlite|postgres]

Seeds a fresh database in bulk through the stores' own APIs (registry ``append`` in batches,
which also journals each change to the audit log, and audit ``append_batch``): ``--entities``
entities with one person each, a few keys, licences and applications, and ``--records`` decision
records spread over the last 30 days. Then signs in through the login form and requests each
main page in-process (httpx over ASGITransport: the full app, its middleware and the template
render, without a socket), printing p50/p95 per page. Side by side, the admin REST API's nearest
JSON route for the same data (the peer) is timed the same way, and the ratio printed.
Target: p95 <= 100 ms for every page. Bounded: a fixed number of requests per page.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

from clearance.api.app import create_app
from clearance.core.instant import format_instant
from clearance.ports import Change
from clearance.settings import Settings
from clearance.wiring import build_app

NS = 1_000_000_000
PG = os.environ.get("CLEARANCE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
CODES = ("license-required", "destination-embargoed", "use-case-prohibited", "not-qualified")


def decision(n: int, entity: str, person: str, version: str, at: str) -> dict:
    deny = n % 4 == 0
    code = CODES[n % len(CODES)] if deny else "authorized"
    return {
        "caller": f"k{n % 97:04d}", "source": "gateway",
        "request": {"action": "inference", "at": at, "entity": entity, "model": "gpt-5.6-luna", "use_case": "general",
                    "person": {"citizenships": ["US"], "id": person, "location": "US"}},
        "decision": {"outcome": "deny" if deny else "permit", "code": code, "authorization": None if deny else "annex-a",
                     "destinations": [], "tier": "S-2", "obligations": [], "remedies": [],
                     "reasons": [{"code": code, "rule": "bench", "message": "seeded"}],
                     "policy_version": version, "at": at},
    }


def seed(app, entities: int, records: int) -> dict:
    """Bulk rows through the stores; returns ids the pages are asked about."""
    store, clock = app.service.store, app.clock
    now = clock.now_ns()
    batch = 1000
    for start in range(0, entities, batch):
        changes = []
        for i in range(start, min(entities, start + batch)):
            changes.append(Change("entity", f"org-{i:05d}", "put", {"name": f"Organisation {i} Ltd", "country": "US",
                                                                    "kind": "company"}, now, "bench", "seed"))
            changes.append(Change("person", f"p-{i:05d}", "put", {"entity": f"org-{i:05d}", "citizenships": ["US"],
                                                                  "location": "US", "name": f"Person {i}"},
                                  now, "bench", "seed"))
        store.append(changes)
    app.live.refresh()
    version = app.live.current().version
    for i in range(20):
        app.service.create_credential(["gateway"], reason="seed", person=f"p-{i:05d}")
    rng = random.Random(7)
    span = 30 * 24 * 3600 * NS
    audit = app.audit
    assert audit is not None
    for start in range(0, records, 5000):
        entries = []
        for n in range(start, min(records, start + 5000)):
            at = now - span + (span * n) // records + rng.randrange(1000)
            i = rng.randrange(entities)
            entries.append((at, "decision", decision(n, f"org-{i:05d}", f"p-{i:05d}", version, format_instant(at))))
        audit.store.append_batch(entries)
    audit.sign_head()
    for i in range(30):
        app.licensing.submit({"entity": f"org-{i:05d}", "models": ["gpt-5.6-luna"], "use_cases": ["general"],
                              "users": [{"citizenships": ["US"], "location": "US"}], "justification": "bench"}, "bench")
    last = audit.store.query(kinds=["decision"], after_seq=audit.store.size() - 100, limit=100)[-1]
    return {"decision": last.seq, "entity": last.body["request"]["entity"]}


def reused(app) -> dict:
    store = app.audit.store
    last = store.query(kinds=["decision"], after_seq=store.size() - 1000, limit=1000)[-1]
    return {"decision": last.seq, "entity": last.body["request"]["entity"]}


async def timed(client: httpx.AsyncClient, path: str, n: int, headers: dict | None = None) -> tuple[float, list[float]]:
    """The first request's time (cold: template compiled, listing read) and ``n`` more after two warm-ups."""
    t0 = time.perf_counter()
    (await client.get(path, headers=headers)).raise_for_status()
    first = (time.perf_counter() - t0) * 1000
    for _ in range(2):
        (await client.get(path, headers=headers)).raise_for_status()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = await client.get(path, headers=headers)
        out.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return first, out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(api, admin: str, ids: dict, n: int) -> list[tuple[str, float, float, float, str, float | None]]:
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.bench") as client:
        form = await client.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        signed = await client.post("/console/login", data={"csrf": csrf, "token": admin, "next": "/console"})
        assert signed.status_code == 303, signed.text
        bearer = {"Authorization": f"Bearer {admin}"}
        entity = ids["entity"]
        pages = [
            ("dashboard", "/console", None),
            ("decisions (latest)", "/console/decisions", "/v1/audit/records?kind=decision&after_seq=" + str(ids["decision"] - 50)),
            ("decisions (by entity)", f"/console/decisions?entity={entity}", f"/v1/audit/records?kind=decision&entity={entity}&limit=50"),
            ("decision explained", f"/console/decisions/{ids['decision']}", None),
            ("registry: entities", "/console/registry", f"/v1/entities/{entity}"),
            ("registry: entities p.50", "/console/registry?tab=entities&start=5000", None),
            ("registry: people", "/console/registry?tab=people", None),
            ("registry: people search", "/console/registry?tab=people&q=org-09", None),
            ("registry: keys", "/console/registry?tab=keys", None),
            ("registry: one entity", f"/console/registry/entity/{entity}", f"/v1/history/entity/{entity}"),
            ("screening queue", "/console/screening", "/v1/screening/findings"),
            ("applications", "/console/applications", "/v1/applications/due"),
            ("audit", "/console/audit", "/v1/audit/heads"),
            ("evaluations and tiers", "/console/evals", None),
            ("criteria (public)", "/console/criteria", "/v1/criteria"),
        ]
        out = []
        for name, path, peer in pages:
            first, mine = await timed(client, path, n)
            theirs = (await timed(client, peer, n, bearer))[1] if peer else None
            out.append((name, first, quantile(mine, 0.5), quantile(mine, 0.95), peer or "-",
                        quantile(theirs, 0.95) if theirs else None))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keep", type=Path, help="SQLite only: seed into this directory once and reuse it after")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clearance-console-bench-") as scratch:
        tmp = str(args.keep) if args.keep else scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        reuse = args.keep is not None and (Path(tmp) / "console.db").exists()
        schema = f"bench_console_{uuid.uuid4().hex[:10]}"
        if args.backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'console.db'}"
        else:
            from clearance.store.sql import make_engine

            with make_engine(PG).begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{PG}?options=-csearch_path%3D{schema}"
        try:
            app = build_app(Settings(database_url=url, audit_keys=str(Path(tmp) / "keys")))
            t0 = time.perf_counter()
            ids = reused(app) if reuse else seed(app, args.entities, args.records)
            admin = app.service.create_credential(["admin"], reason="bench").token
            how = f"reused {tmp}" if reuse else f"seeded in {time.perf_counter() - t0:.1f} s"
            print(f"{len(app.live.current().entities):,} entities, {len(app.service.state(kind='person')):,} people, "
                  f"{app.audit.store.size():,} audit records on {args.backend} ({how}); {args.requests} requests per page")
            # Seeding leaves millions of objects behind: collect them now, as a server that has been up a
            # while has, so the first pages timed do not pay for the seeding's garbage.
            gc.collect()
            rows = asyncio.run(run(create_app(app), admin, ids, args.requests))
            app.close()
        finally:
            if args.backend == "postgres":
                from clearance.store.sql import make_engine

                with make_engine(PG).begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    print(f"{'page':26} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8}   peer (REST API route, same data)"
          f"                   {'p95 ms':>7} {'ratio':>6}")
    for name, first, p50, p95, peer, peer95 in rows:
        ratio = f"{p95 / peer95:6.1f}" if peer95 else "     -"
        peer_text = f"{peer95:7.1f}" if peer95 else "      -"
        print(f"{name:26} {first:9.1f} {p50:8.1f} {p95:8.1f}   {peer[:50]:50} {peer_text} {ratio}")
    worst = max(r[3] for r in rows)
    print(f"slowest page p95: {worst:.1f} ms (target <= 100 ms: {'met' if worst <= 100 else 'NOT met'})")


if __name__ == "__main__":
    main()
