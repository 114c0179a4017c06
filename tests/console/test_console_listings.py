"""A registry listing kept between requests stays equal to a fresh read, whatever is written in between."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.console.listings import Listing
from clearance.settings import Settings
from clearance.wiring import build_app

KEYS = [f"p-{i}" for i in range(8)]
OPS = st.lists(st.tuples(st.sampled_from(["put", "retire", "other"]), st.sampled_from(KEYS),
                         st.sampled_from(["US", "GB", "FR"])), max_size=25)


@settings(max_examples=40, deadline=None)
@given(st.lists(OPS, min_size=1, max_size=4))
def test_a_patched_listing_equals_a_fresh_read(batches):
    app = build_app(Settings(database_url="memory:"), audited=False)
    try:
        service = app.service
        listing = Listing("person", service, service.clock.now_ns())
        for batch in batches:
            for op, key, country in batch:
                if op == "put":
                    service.put("person", key, {"entity": "stripe", "citizenships": [country]}, reason="t")
                elif op == "retire" and service.current("person", key) is not None:
                    service.retire("person", key, reason="t")
                elif op == "other":
                    service.create_credential(["gateway"], reason="t")  # another kind: nothing to patch
            now = service.clock.now_ns()
            kept = [(k, r.body) for k, r, _ in listing.current(service, now)]
            fresh = [(k, r.body) for (_, k), r in sorted(service.state(now, kind="person").items())]
            assert kept == fresh
    finally:
        app.close()
