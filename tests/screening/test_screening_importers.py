"""Reading list files: CSL (JSONL, JSON, CSV) and OFAC legacy CSV; malformed rows named, files rejected whole."""

from __future__ import annotations

import json

import pytest
from screening_kit import CSL_ROWS, SDN, real_lists, write_jsonl

from clearance.screening.importers import ListFileError, read_csl, read_sdn, remarks_evidence
from clearance.screening.lists import diff_entries

SDN_CSV = (
    '36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    '173,"ANGLO-CARIBBEAN CO., LTD.",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    '2674,"ABU SAYYAF GROUP",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    "\x1a"
)
ALT_CSV = '36,12,"aka","AERO-CARIBBEAN",-0- \r\n9999,13,"aka","NOBODY",-0- \r\n'
ADD_CSV = '36,25,-0- ,"Havana","Cuba",-0- \r\n173,129,"Ibex House, The Minories","London EC3N 1DY","United Kingdom",-0- \r\n'


def test_the_csl_in_jsonl_json_and_csv_gives_the_same_entries(tmp_path):
    jsonl = read_csl(write_jsonl(tmp_path / "csl_2026-07-31.jsonl.gz", CSL_ROWS))
    as_json = tmp_path / "consolidated.json"
    as_json.write_text(json.dumps({"results": CSL_ROWS}), encoding="utf-8")
    assert read_csl(as_json).entries == jsonl.entries
    assert jsonl.list_date == "2026-07-31" and jsonl.counts["entries"] == 5 and jsonl.counts["list:EL"] == 2
    kunlun = next(e for e in jsonl.entries if e.name == "BANK OF KUNLUN CO LTD")
    assert (kunlun.uid, kunlun.list, kunlun.kind, kunlun.countries) == ("OFAC:15268", "CAP", "entity", ("CN",))
    assert kunlun.aliases == ("KARAMAY CITY COMMERCIAL BANK CO LTD.",)
    assert jsonl.content_sha256 == read_csl(as_json).content_sha256


def test_the_csl_csv_reads_aliases_and_countries_from_addresses(tmp_path):
    path = tmp_path / "consolidated.csv"
    path.write_text(
        "source,entity_number,type,name,addresses,alt_names,federal_register_notice\n"
        f'"{SDN}",24811,Entity,99TH LIGHT INFANTRY DIVISION,"Meiktila, MM",,\n'
        '"Entity List (EL) - Bureau of Industry and Security",,,3K Aviation,"Sokak, Antalya, TR; Mah. 07160, Antalya, TR",'
        '3K Havacilik; 3K Aviation Ltd,83 FR 1\n',
        encoding="utf-8",
    )
    parsed = read_csl(path)
    first, second = parsed.entries
    assert (first.uid, first.countries) == ("OFAC:24811", ("MM",))
    assert second.list == "EL" and second.countries == ("TR",) and second.aliases == ("3K Havacilik", "3K Aviation Ltd")
    assert second.reference == "83 FR 1"


def test_malformed_csl_rows_are_named_and_nothing_is_returned(tmp_path):
    path = tmp_path / "bad.jsonl"
    rows = [json.dumps(CSL_ROWS[0]), "{broken", json.dumps({**CSL_ROWS[1], "entity_number": "12a"}),
            json.dumps({**CSL_ROWS[2], "source": "Nowhere", "source_code": None}), json.dumps({**CSL_ROWS[3], "alt_names": "x"})]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ListFileError) as caught:
        read_csl(path)
    assert caught.value.problems == [
        "bad.jsonl:2: malformed JSON (Expecting property name enclosed in double quotes at column 2)",
        "bad.jsonl:3: entity_number: `12a` is not a number",
        "bad.jsonl:4: source: no list code in `Nowhere` (expected e.g. `(EL)`)",
    ]
    assert "bad.jsonl:2" in str(caught.value)


def test_an_empty_or_unreadable_list_is_rejected(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ListFileError, match="no entries"):
        read_csl(empty)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"name": "caf\xe9"}\n')
    with pytest.raises(ListFileError, match=r"latin.jsonl:1: not UTF-8"):
        read_csl(latin)
    with pytest.raises(ListFileError, match="cannot read"):
        read_csl(tmp_path / "missing.jsonl")


def test_the_sdn_legacy_files_join_aliases_and_addresses(tmp_path):
    (tmp_path / "sdn.csv").write_text(SDN_CSV, encoding="utf-8")
    (tmp_path / "alt.csv").write_text(ALT_CSV, encoding="utf-8")
    (tmp_path / "add.csv").write_text(ADD_CSV, encoding="utf-8")
    parsed = read_sdn(tmp_path / "sdn.csv", tmp_path / "alt.csv", tmp_path / "add.csv", "2021-07-07")
    by_uid = {e.uid: e for e in parsed.entries}
    assert by_uid["OFAC:36"].aliases == ("AERO-CARIBBEAN",)
    assert by_uid["OFAC:36"].countries == ("CU",) and by_uid["OFAC:36"].programs == "CUBA"
    assert by_uid["OFAC:173"].addresses == ("Ibex House, The Minories, London EC3N 1DY, United Kingdom",)
    assert by_uid["OFAC:2674"].kind == "entity"
    assert parsed.counts == {"entries": 3, "aliases": 1, "list:SDN": 3, "orphan_alt_rows": 1, "orphan_add_rows": 0}


def test_malformed_sdn_rows_are_named(tmp_path):
    (tmp_path / "sdn.csv").write_text('36,"A",-0- ,"CUBA"\r\nX1,"B",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
                                      '36,"C",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
                                      '37,"",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n', encoding="utf-8")
    with pytest.raises(ListFileError) as caught:
        read_sdn(tmp_path / "sdn.csv")
    assert caught.value.problems == [
        "sdn.csv:1: expected 12 fields, found 4",
        "sdn.csv:2: ent_num: `X1` is not a number",
        "sdn.csv:4: SDN_Name: missing",
    ]


def test_a_diff_names_what_was_added_removed_and_changed(tmp_path):
    old = read_csl(write_jsonl(tmp_path / "a.jsonl", CSL_ROWS)).entries
    renamed = {**CSL_ROWS[1], "alt_names": ["KUNLUN BANK"]}
    new = read_csl(write_jsonl(tmp_path / "b.jsonl", [renamed, *CSL_ROWS[2:], {**CSL_ROWS[0], "name": "Other Co"}])).entries
    found = diff_entries(list(old), list(new))
    assert [e.name for e in found.added] == ["Other Co"]
    assert [e.name for e in found.removed] == ["Afghan-German Construction Company"]
    assert [(a.aliases, b.aliases) for a, b in found.changed] == [(("KARAMAY CITY COMMERCIAL BANK CO LTD.",), ("KUNLUN BANK",))]


def test_the_real_lists_import_with_the_published_counts():
    real = real_lists()
    csl = read_csl(real / "csl_2026-07-31.jsonl.gz")
    assert csl.counts["entries"] == 25_921 and csl.counts["list:SDN"] == 19_181 and csl.counts["list:EL"] == 3_420
    assert len({e.uid for e in csl.entries}) == 25_921
    legacy = real / "ofac_legacy_2021-07_consistent"
    sdn = read_sdn(legacy / "sdn.csv", legacy / "alt.csv", legacy / "add.csv")
    assert sdn.counts["entries"] == 8_976 and sdn.counts["orphan_alt_rows"] == 0 and sdn.counts["orphan_add_rows"] == 0
    sample = read_csl(real / "csl_full_columns_sample_2019.csv")
    assert sample.counts["entries"] == 115


def test_the_full_column_csl_gives_dates_of_birth_nationalities_and_identifiers():
    sample = {e.name: e for e in read_csl(real_lists() / "csl_full_columns_sample_2019.csv").entries}
    akbari = sample["AKBARI, Mohammadreza Ali"]
    assert akbari.kind == "individual" and akbari.dates_of_birth == ("1967-10-31",) and akbari.ids == ("Passport: 21795618",)
    assert sample["AL-'UBAYSI, Mus'id"].nationalities == ("SY",)
    assert sample["AL MAZIDIH, Ghazy Fezza Hishan"].dates_of_birth == ("1974", "1975")
    # Notes in the ids column (sanctions directives, websites) are not identifiers of the party.
    assert sample["GAZPROMBANK OAO"].ids == ("Government Gazette Number: 09807684", "Tax ID No.: 7744001497",
                                             "Registration ID: 1027700167110", "SWIFT/BIC: GAZPRUMM")
    assert sample["7-28"].ids == ("Vessel Registration Identification: 8898831",)


def test_sdn_remarks_give_dates_of_birth_nationalities_and_identifiers():
    found = remarks_evidence("DOB 01 Aug 1986; alt. DOB 1987; POB Lebanon; nationality Iran; Gender Male; "
                             "Passport E0063360 (Sierra Leone); alt. Passport RL-1108616 (Lebanon); "
                             "Additional Sanctions Information - Subject to Secondary Sanctions; Linked To: X.")
    assert found == {"dates_of_birth": ("1986-08-01", "1987"), "nationalities": ("IR",),
                     "ids": ("Passport: E0063360", "Passport: RL-1108616")}
    vessel = remarks_evidence("Secondary sanctions risk: section 510.201; Vessel Registration Identification IMO 8898831.")
    assert vessel["ids"] == ("Vessel Registration Identification: 8898831",)
    assert remarks_evidence("") == {"dates_of_birth": (), "nationalities": (), "ids": ()}
