"""Helpers for the screening tests: small list files, the real lists when present, a wired world."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from clearance.registry.live import LiveSnapshot
from clearance.registry.service import RegistryService
from clearance.screening.service import ScreeningService
from clearance.services.audit_log import AuditLog
from clearance.store.audit_memory import MemoryAuditStore
from clearance.store.clock import FixedClock
from clearance.store.memory import MemoryRegistry
from clearance.store.screening_memory import MemoryListStore
from clearance.wiring import attach_screening
from needs import missing

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "screening"
NOW = "2026-07-20T08:00:00-04:00"

EL = "Entity List (EL) - Bureau of Industry and Security"
SDN = "Specially Designated Nationals (SDN) - Treasury Department"

# A few rows in the CSL's flattened JSONL form, written as the lists write them.
CSL_ROWS = [
    {"entity_number": None, "source": EL, "source_code": "EL", "type": None, "name": "Afghan-German Construction Company",
     "alt_names": [], "countries": ["AF"], "federal_register_notice": "77 FR 25055"},
    {"entity_number": "15268", "source": "Capta List (CAP) - Treasury Department", "source_code": "CAP", "type": "Entity",
     "name": "BANK OF KUNLUN CO LTD", "alt_names": ["KARAMAY CITY COMMERCIAL BANK CO LTD."], "countries": ["CN"]},
    {"entity_number": "35490", "source": SDN, "source_code": "SDN", "type": "Individual",
     "name": "TSUNAEVA, Elena Moiseevna", "alt_names": [], "countries": ["RU"]},
    {"entity_number": "37019", "source": SDN, "source_code": "SDN", "type": "Entity",
     "name": "ANNINSKII ELEVATOR OOO", "alt_names": [], "countries": ["RU"]},
    {"entity_number": None, "source": EL, "source_code": "EL", "type": None,
     "name": "Joint Stock Company Scientific Research Institute of Modern Telecommunication Technologies",
     "alt_names": ["AO NII STT", "JSC NII STT"], "countries": ["RU"]},
]


def real_lists() -> Path:
    if not REAL.is_dir():
        missing("shared", f"the real screening lists are absent ({REAL}); they come with ../shared/data")
    return REAL


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


class World:
    """A registry with its live snapshot, an audit log, and screening observing the registry."""

    def __init__(self, clock: FixedClock, keys: Path, registry_store=None, lists=None) -> None:
        self.clock = clock
        self.registry = RegistryService(registry_store or MemoryRegistry(clock), clock)
        self.live = LiveSnapshot(self.registry, clock)
        self.registry.notify = lambda records: self.live.refresh()
        self.audit = AuditLog(MemoryAuditStore(), _keys(keys), clock)
        self.screening: ScreeningService = attach_screening(lists or MemoryListStore(clock), self.registry, self.audit)

    def audited(self, **filters) -> list[dict]:
        return [r.body for r in self.audit.store.query(kinds=["screening"], **filters)]


def _keys(where: Path):
    from clearance.audit.keys import KeyRing

    return KeyRing.create(where)
