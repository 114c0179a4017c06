"""A registry writer for the crash test: registers people as fast as it can, printing each committed seq."""

from __future__ import annotations

import sys

from clearance.settings import Settings
from clearance.wiring import build_app


def main(url: str, keys: str) -> None:
    app = build_app(Settings(database_url=url, audit_keys=keys))
    i = 0
    while True:
        record = app.service.put("person", f"p-crash-{i}", {"entity": "stripe", "citizenships": ["US"], "location": "US"},
                                 reason="crash test")
        print(record.seq, flush=True)
        i += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
