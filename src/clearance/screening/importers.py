"""Reading list files: the Consolidated Screening List and OFAC's legacy SDN CSV files.

Every reader checks the whole file and raises :class:`ListFileError` naming each
bad row (``file:line: problem``) rather than skipping it: a list with a row we
could not read is a list we cannot vouch for, and the previous snapshot stays
live. Files may be gzipped (``.gz``).

Formats:

- CSL as JSON Lines (one flattened row per line: ``name``, ``alt_names``,
  ``countries``, ``source``, ``source_code``, ``type``, ``entity_number``, ...),
  as trade.gov JSON (``{"results": [...]}`` with ``addresses``), or as trade.gov's
  28-column CSV (``alt_names`` and ``addresses`` joined with ``;``).
- OFAC legacy: ``sdn.csv`` (no header, ``-0-`` for null, a trailing Ctrl-Z) with
  optional ``alt.csv`` (aliases) and ``add.csv`` (addresses), joined by ``ent_num``.
  Alias and address rows whose ``ent_num`` is not in ``sdn.csv`` are counted
  (``orphan_alt_rows``, ``orphan_add_rows``), not failed: OFAC publishes the files
  separately, and a newer alias file beside an older SDN file is normal.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.errors import ClearanceError
from .lists import ListEntry, ParsedList, make_uid
from .normalize import country_code

MAX_REPORTED = 50
_CODE = re.compile(r"\(([A-Z][A-Z-]*)\)")
_NULL = "-0-"


class ListFileError(ClearanceError):
    """A list file was rejected; ``problems`` name the file and line of each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_REPORTED]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__("\n".join(shown) + more)


def read_text(path: Path) -> str:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise ListFileError([f"{path.name}: cannot read: {exc}"]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ListFileError([f"{path.name}:{line}: not UTF-8 ({exc.reason})"]) from None


# -- the Consolidated Screening List ---------------------------------------------------------


def read_csl(path: str | Path, list_date: str = "") -> ParsedList:
    path = Path(path)
    text = read_text(path)
    stem = path.name.removesuffix(".gz")
    if stem.endswith(".csv"):
        rows = list(_csv_rows(path.name, text))
    elif stem.endswith(".jsonl"):
        rows = list(_jsonl_rows(path.name, text))
    else:
        rows = _json_rows(path.name, text)
    problems: list[str] = []
    entries: list[ListEntry] = []
    taken: set[str] = set()
    for where, row in rows:
        if isinstance(row, str):
            problems.append(f"{where}: {row}")
            continue
        entry = _csl_entry(row, taken, problems, where)
        if entry is not None:
            entries.append(entry)
    if not entries and not problems:
        problems.append(f"{path.name}: no entries")
    if problems:
        raise ListFileError(problems)
    return ParsedList("csl", path.name, list_date or _date_in(path.name), tuple(entries), _counts(entries))


def _jsonl_rows(name: str, text: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{name}:{number}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"{name}:{number}", f"malformed JSON ({exc.msg} at column {exc.colno})"


def _json_rows(name: str, text: str) -> list[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ListFileError([f"{name}:{exc.lineno}: malformed JSON ({exc.msg})"]) from None
    rows = data.get("results") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ListFileError([f"{name}: expected a list of entries or an object with `results`"])
    return [(f"{name}: entry {i}", row) for i, row in enumerate(rows)]


def _csv_rows(name: str, text: str) -> Iterator[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "name" not in reader.fieldnames or "source" not in reader.fieldnames:
        raise ListFileError([f"{name}:1: header must name at least `source` and `name` columns"])
    width = len(reader.fieldnames)
    try:
        for row in reader:
            where = f"{name}:{reader.line_num}"
            if None in row or any(v is None for v in row.values()):
                yield where, f"expected {width} fields"
                continue
            row["alt_names"] = [a.strip() for a in row.get("alt_names", "").split(";") if a.strip()]
            row["addresses"] = [a.strip() for a in row.get("addresses", "").split(";") if a.strip()]
            yield where, row
    except csv.Error as exc:
        raise ListFileError([f"{name}:{reader.line_num}: {exc}"]) from None


def _csl_entry(row: Any, taken: set[str], problems: list[str], where: str) -> ListEntry | None:
    if not isinstance(row, dict):
        problems.append(f"{where}: an entry must be an object")
        return None
    name = row.get("name")
    source = row.get("source")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: name: missing or empty")
        return None
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{where}: source: missing or empty")
        return None
    code = row.get("source_code") or _code_of(source)
    if not code:
        problems.append(f"{where}: source: no list code in `{source}` (expected e.g. `(EL)`)")
        return None
    aliases = row.get("alt_names") or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in aliases.split(";")]
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        problems.append(f"{where}: alt_names: must be a list of strings")
        return None
    addresses, countries = _addresses(row)
    ent_num = row.get("entity_number")
    ent_num = str(ent_num).strip() if ent_num not in (None, "") else None
    if ent_num is not None and not ent_num.isdigit():
        problems.append(f"{where}: entity_number: `{ent_num}` is not a number")
        return None
    name = " ".join(name.split())
    programs = row.get("programs") or ""
    if isinstance(programs, list):
        programs = ";".join(str(p) for p in programs)
    return ListEntry(
        uid=make_uid(code, ent_num, name, countries, taken),
        list=code,
        list_name=source.strip(),
        name=name,
        kind=(row.get("type") or "").strip().lower(),
        aliases=tuple(dict.fromkeys(" ".join(a.split()) for a in aliases if a.strip() and a.strip() != name)),
        countries=countries,
        addresses=addresses,
        programs=str(programs),
        reference=str(row.get("federal_register_notice") or (f"ent_num {ent_num}" if ent_num else "")),
        dates_of_birth=_dates(row.get("dates_of_birth")),
        nationalities=tuple(dict.fromkeys(
            c for c in (country_code(x) for x in (*_items(row.get("nationalities")), *_items(row.get("citizenships"))))
            if c)),
        ids=_ids(row.get("ids")),
    )


def _items(value: Any) -> list[str]:
    """A CSL multi-valued column: a list (JSON) or a ``;``-joined string (CSV)."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return []


_DATE = re.compile(r"\b(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?\b")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), 1)}
_WRITTEN_DATE = re.compile(r"\b(\d{1,2}) ([a-z]{3})[a-z]* (\d{4})\b")


def _dates(value: Any) -> tuple[str, ...]:
    """Dates of birth as ``YYYY[-MM[-DD]]``: the CSL writes ``1962``, ``1962-05-12`` or ``12 May 1962``;
    a range (``1974 to 1976``) keeps each year it names."""
    found: list[str] = []
    for item in _items(value):
        lowered = item.lower()
        for day, month, year in _WRITTEN_DATE.findall(lowered):
            if month in _MONTHS:
                found.append(f"{year}-{_MONTHS[month]:02d}-{int(day):02d}")
        if not _WRITTEN_DATE.search(lowered):
            found += ["-".join(p for p in m if p) for m in _DATE.findall(item)]
    return tuple(dict.fromkeys(found))


# Columns of the CSL ``ids`` field that are notes, not identifiers of the party.
_NOT_IDS = ("subject to", "secondary sanctions", "additional sanctions", "directive", "website", "email",
            "former vessel flag", "vessel flag", "gender", "nationality of registration", "organization established",
            "executive order", "transactions prohibited", "effective date", "listing date", "target type")


def _ids(value: Any) -> tuple[str, ...]:
    """Identifiers as ``<type>: <number>``: the CSV writes ``country, number, type`` (or ``number, type``)
    per identifier; trade.gov JSON writes objects with ``type`` and ``number``."""
    found: list[str] = []
    raw = value if isinstance(value, list) else _items(value)
    for item in raw:
        if isinstance(item, dict):
            kind, number = str(item.get("type") or ""), str(item.get("number") or "")
        else:
            parts = [p.strip() for p in str(item).split(",")]
            kind = parts[-1] if len(parts) > 1 else ""
            numbers = [p for p in parts[:-1] if any(ch.isdigit() for ch in p)] or parts[:1]
            number = numbers[-1] if numbers else ""
        if not number or any(note in kind.lower() or note in number.lower() for note in _NOT_IDS):
            continue
        number = number.removeprefix("IMO ").strip()
        if sum(ch.isalnum() for ch in number) >= 4:
            found.append(f"{kind or 'id'}: {number}")
    return tuple(dict.fromkeys(found))


def _addresses(row: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    found: list[str] = []
    texts: list[str] = []
    for raw in row.get("countries") or []:
        found.append(country_code(str(raw)) or str(raw))
    for address in row.get("addresses") or []:
        if isinstance(address, dict):
            parts = [str(address.get(k) or "") for k in ("address", "city", "state", "postal_code", "country")]
            texts.append(", ".join(p for p in parts if p))
            country = address.get("country")
        else:
            texts.append(str(address))
            country = str(address).rsplit(",", 1)[-1]
        code = country_code(str(country or ""))
        if code:
            found.append(code)
    return tuple(texts), tuple(dict.fromkeys(found))


def _code_of(source: str) -> str | None:
    found = _CODE.findall(source)
    return found[-1] if found else None


def _date_in(name: str) -> str:
    found = re.search(r"\d{4}-\d{2}(?:-\d{2})?", name)
    return found.group(0) if found else ""


def _counts(entries: list[ListEntry]) -> dict[str, int]:
    counts: dict[str, int] = {"entries": len(entries), "aliases": sum(len(e.aliases) for e in entries)}
    for entry in entries:
        counts[f"list:{entry.list}"] = counts.get(f"list:{entry.list}", 0) + 1
    return counts


# -- OFAC legacy CSV -------------------------------------------------------------------------


def read_sdn(sdn: str | Path, alt: str | Path | None = None, add: str | Path | None = None, list_date: str = "") -> ParsedList:
    problems: list[str] = []
    sdn_path = Path(sdn)
    base: dict[str, dict[str, Any]] = {}
    for where, fields in _legacy_rows(sdn_path, 12, problems):
        ent_num, name, kind = fields[0], fields[1], fields[2]
        if not ent_num or not ent_num.isdigit():
            problems.append(f"{where}: ent_num: `{ent_num}` is not a number")
        elif not name:
            problems.append(f"{where}: SDN_Name: missing")
        elif ent_num in base:
            problems.append(f"{where}: ent_num {ent_num} appears twice")
        else:
            base[ent_num] = {"name": name, "kind": kind or "entity", "programs": fields[3], "aliases": [],
                             "addresses": [], "countries": [], "remarks": fields[11]}
    counts = {"orphan_alt_rows": 0, "orphan_add_rows": 0}
    if alt is not None:
        for where, fields in _legacy_rows(Path(alt), 5, problems):
            if not fields[3]:
                problems.append(f"{where}: alt_name: missing")
            elif fields[0] in base:
                base[fields[0]]["aliases"].append(fields[3])
            else:
                counts["orphan_alt_rows"] += 1
    if add is not None:
        for _where, fields in _legacy_rows(Path(add), 6, problems):
            if fields[0] not in base:
                counts["orphan_add_rows"] += 1
                continue
            text = ", ".join(f for f in fields[2:5] if f)
            if text:
                base[fields[0]]["addresses"].append(text)
            code = country_code(fields[4])
            if code:
                base[fields[0]]["countries"].append(code)
    if not base and not problems:
        problems.append(f"{sdn_path.name}: no entries")
    if problems:
        raise ListFileError(problems)
    taken: set[str] = set()
    entries = [
        ListEntry(
            uid=make_uid("SDN", ent_num, row["name"], (), taken),
            list="SDN",
            list_name="Specially Designated Nationals (SDN) - Treasury Department",
            name=row["name"],
            kind=row["kind"],
            aliases=tuple(dict.fromkeys(a for a in row["aliases"] if a != row["name"])),
            countries=tuple(dict.fromkeys(row["countries"])),
            addresses=tuple(row["addresses"]),
            programs=row["programs"],
            reference=f"ent_num {ent_num}",
            **remarks_evidence(row["remarks"]),
        )
        for ent_num, row in base.items()
    ]
    label = "+".join(Path(p).name for p in (sdn, alt, add) if p is not None)
    return ParsedList("sdn", label, list_date or _date_in(str(sdn_path)), tuple(entries), {**_counts(entries), **counts})


# Identifier kinds as OFAC's remarks write them ("Passport E0063360 (Sierra Leone)").
_REMARK_IDS = (
    "Passport", "National ID No.", "Cedula No.", "Tax ID No.", "Registration Number", "Registration ID", "NIT #",
    "RUC #", "SWIFT/BIC", "Identification Number", "D-U-N-S Number", "Vessel Registration Identification IMO",
    "Company Number IMO", "IMO", "Personal ID Card", "Commercial Registry Number", "Residency Number",
    "Birth Certificate Number", "Driver's License No.", "Citizen's Card Number", "Trade License No.",
)


def remarks_evidence(remarks: str) -> dict[str, tuple[str, ...]]:
    """Dates of birth, nationalities and identifiers in an SDN ``Remarks`` field
    (``DOB 01 Aug 1986; alt. DOB 1987; nationality Iran; Passport E0063360 (Sierra Leone)``)."""
    dates: list[str] = []
    nations: list[str] = []
    ids: list[str] = []
    for part in (p.strip().removeprefix("alt. ").strip() for p in remarks.split(";")):
        if part.startswith("DOB "):
            dates += _dates(part[4:])
        elif part.startswith(("nationality ", "citizen ")):
            code = country_code(part.split(" ", 1)[1].strip(" ."))
            if code:
                nations.append(code)
        else:
            kind = next((k for k in _REMARK_IDS if part.startswith(k + " ")), None)
            number = part[len(kind):].split(" (", 1)[0].strip(" .") if kind else ""
            if kind and sum(ch.isalnum() for ch in number) >= 4:
                ids.append(f"{kind.removesuffix(' IMO')}: {number}")
    return {"dates_of_birth": tuple(dict.fromkeys(dates)), "nationalities": tuple(dict.fromkeys(nations)),
            "ids": tuple(dict.fromkeys(ids))}


def _legacy_rows(path: Path, width: int, problems: list[str]) -> Iterator[tuple[str, list[str]]]:
    text = read_text(path).rstrip("\x1a\r\n ")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for fields in reader:
            where = f"{path.name}:{reader.line_num}"
            if not fields or fields == [""]:
                continue
            if len(fields) != width:
                problems.append(f"{where}: expected {width} fields, found {len(fields)}")
                continue
            yield where, ["" if f.strip() == _NULL else " ".join(f.split()) for f in fields]
    except csv.Error as exc:
        problems.append(f"{path.name}:{reader.line_num}: {exc}")
