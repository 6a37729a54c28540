"""Other trackers' status words (``teiten.incidents.status_words``): mapped onto teiten's
coordination states, overridable, and an unknown word never drops a line: the word is kept,
the state is ``other``, the summary counts it. Seed 004's exports in RTIR-like and
TheHive-like words, and with a word no mapping knows, give the same tables 1–4."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from teiten.errors import SettingError
from teiten.incidents.db import IncidentDB
from teiten.incidents.intake import Reading
from teiten.incidents.jsonl import import_jsonl
from teiten.incidents.models import Coordination, Incident, Report
from teiten.incidents.status_words import STATUS_WORDS, StatusMap, incident_state, normal_word, parse_status_map
from teiten.incidents.taxonomy import COORDINATION_STATES
from teiten.periods import zone
from teiten.synth.incident_reports import seed004_reports

from . import test_stats_seed004 as seed
from .conftest import BACKENDS, SEED004_MONTHS, import_seed004, new_database, run_cli


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def _line(rid: str, status: Any, at: str = "2017-10-02T01:00:00Z", **coord: Any) -> dict[str, Any]:
    return {"id": rid, "received_at": at, "channel": "email", "incidents": [{"ref": f"I-{rid}", "category": "scan"}],
            "coordinations": [{"incident_ref": f"I-{rid}", "party": "isp", "domestic": True,
                               "sent_at": "2017-10-02T02:00:00Z", "status": status, **coord}]}


@pytest.mark.parametrize(("word", "state"), [
    ("closed", "resolved"), ("Done", "resolved"), ("COMPLETED", "resolved"), ("resolved", "resolved"),
    ("open", "sent"), ("New", "sent"), ("in_progress", "sent"), ("InProgress", "sent"), ("In Progress", "sent"),
    ("in-progress", "sent"), ("Pending", "sent"), ("stalled", "no_response"), ("Awaiting_Reply", "no_response"),
    ("awaiting reply", "no_response"), ("rejected", "failed"), ("Cancel", "failed"), ("Waiting", "draft"),
    ("replied", "replied"), (" sent ", "sent"),
])
def test_tracker_words_are_teiten_states(word: str, state: str) -> None:
    assert StatusMap().state(word) == (state, None)


def test_the_mapping_names_only_teiten_states_and_its_own_keys_are_normal() -> None:
    assert set(STATUS_WORDS.values()) <= set(COORDINATION_STATES) - {"other"}
    assert all(normal_word(k) == k for k in STATUS_WORDS)
    assert all(STATUS_WORDS[s] == s for s in COORDINATION_STATES if s != "other")  # teiten's own words


def test_an_unknown_word_is_other_and_kept_as_written() -> None:
    assert StatusMap().state("Escalated-To-Vendor") == ("other", "Escalated-To-Vendor")


def test_a_status_map_overrides_and_extends() -> None:
    m = StatusMap(parse_status_map("closed=failed, Escalated=sent,"))
    assert m.state("Closed") == ("failed", None)
    assert m.state("escalated") == ("sent", None)
    assert m.state("open") == ("sent", None)  # the rest as built in
    assert parse_status_map("") == {} and parse_status_map(None) == {}
    with pytest.raises(SettingError, match="not WORD=STATE"):
        parse_status_map("closed")
    with pytest.raises(SettingError, match="a state is one of"):
        StatusMap(parse_status_map("closed=finished"))


def test_unknown_words_import_everything_and_are_counted_by_spelling(db: IncidentDB, tmp_path: Path) -> None:
    evil = "<b>Escalated</b>"
    f = _write(tmp_path / "a.jsonl", [_line("r1", "Escalated"), _line("r2", "escalated"), _line("r3", "Escalated"),
                                      _line("r4", "closed"), _line("r5", evil), _line("r6", "x" * 300)])
    got = import_jsonl(db, f)
    assert (got.lines, got.imported, got.coordinations, got.errors) == (6, 6, 6, [])
    assert got.other_statuses == {"Escalated": 2, "escalated": 1, evil: 1, "x" * 100: 1}
    assert got.to_json()["other_statuses"] == {evil: 1, "Escalated": 2, "escalated": 1, "x" * 100: 1}
    with db.session() as s:
        rows = {r: (st, raw) for r, st, raw in s.execute(
            select(Report.ext_id, Coordination.status, Coordination.raw_status)
            .join(Coordination.incident).join(Incident.reports))}
    assert rows == {"r1": ("other", "Escalated"), "r2": ("other", "escalated"), "r3": ("other", "Escalated"),
                    "r4": ("resolved", None), "r5": ("other", evil), "r6": ("other", "x" * 100)}
    again = import_jsonl(db, f)  # a re-import adds nothing, and counts nothing
    assert (again.duplicates, again.other_statuses) == (6, Counter())


def test_a_reply_to_an_other_coordination_marks_it_replied(db: IncidentDB, tmp_path: Path) -> None:
    from teiten.incidents.coordination import match_reply

    import_jsonl(db, _write(tmp_path / "a.jsonl", [_line("r1", "Escalated")]))
    with db.session() as s:
        c = s.scalars(select(Coordination)).one()
        raw = f"Subject: Re: [TEITEN#{c.id}] request\r\n\r\nfixed\r\n".encode()
        assert match_reply(s, raw) is c
        assert (c.status, c.raw_status) == ("replied", "Escalated")  # the imported word stays on record


def test_times_without_an_offset_are_read_in_the_zone_given(db: IncidentDB, tmp_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [_line("r1", "open", at="2017-10-01T00:30:00", sent_at="2017-10-01T01:30:00")])
    refused = import_jsonl(db, f)
    assert refused.imported == 0 and "no UTC offset" in refused.errors[0][1]
    got = import_jsonl(db, f, how=Reading(tz=zone("Asia/Tokyo")))
    assert (got.imported, got.errors) == (1, [])
    with db.session() as s:
        rep = s.scalars(select(Report)).one()
        assert rep.received_at.isoformat() == "2017-09-30T15:30:00+00:00"
        assert s.scalars(select(Coordination.sent_at)).one().isoformat() == "2017-09-30T16:30:00+00:00"


def test_the_cli_takes_tz_and_a_status_map(tmp_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [_line("r1", "closed", at="2017-10-01T00:30:00"), _line("r2", "Escalated"),
                                      _line("r3", "Weird")])
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    r = run_cli("incidents", "import", str(f), "--db", url, "--tz", "Asia/Tokyo", "--status-map",
                "closed=failed,escalated=sent")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["imported"], out["errors"], out["other_statuses"]) == (3, [], {"Weird": 1})
    from teiten.incidents.db import open_db

    db = open_db(url)
    try:
        with db.session() as s:
            assert sorted(s.scalars(select(Coordination.status))) == ["failed", "other", "sent"]
    finally:
        db.close()
    bad = run_cli("incidents", "import", str(f), "--db", url, "--status-map", "closed")
    assert bad.exit_code == 1 and "WORD=STATE" in bad.output  # a setting error, as one line


# the 2017Q4 incident report's export as other trackers write it: teiten word → the tracker's word
RTIR = {"sent": "new", "replied": "Open", "resolved": "resolved", "no_response": "Stalled"}
THEHIVE = {"sent": "InProgress", "replied": "Open", "resolved": "Completed", "no_response": "Awaiting-Reply"}
UNKNOWN = {"no_response": "Escalated"}


def _in_words(words: dict[str, str]) -> list[dict[str, Any]]:
    lines = seed004_reports(months=SEED004_MONTHS)
    for rep in lines:
        for c in rep["coordinations"]:
            c["status"] = words.get(c["status"], c["status"])
    return lines


@pytest.fixture(scope="module", params=[(b, v) for b in BACKENDS for v in ("rtir", "thehive", "unknown")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    backend, vocabulary = request.param
    tmp = tmp_path_factory.mktemp(f"export-{vocabulary}")
    url, drop = new_database(backend, tmp)
    words = {"rtir": RTIR, "thehive": THEHIVE, "unknown": UNKNOWN}[vocabulary]
    summary = import_seed004(url, tmp, _in_words(words))
    yield vocabulary, url, summary
    drop()


@pytest.mark.slow
def test_other_trackers_exports_lose_nothing(exported: Any) -> None:
    vocabulary, _, summary = exported
    plain = seed004_reports(months=SEED004_MONTHS)
    assert (summary["lines"], summary["imported"], summary["errors"]) == (len(plain), len(plain), [])
    assert summary["coordinations"] == sum(len(r["coordinations"]) for r in plain)
    expect = Counter(c["status"] for r in plain for c in r["coordinations"])
    if vocabulary == "unknown":
        assert summary["other_statuses"] == {"Escalated": expect["no_response"]}
    else:
        assert summary["other_statuses"] == {}


@pytest.mark.slow
def test_other_trackers_exports_give_seed_004s_tables(exported: Any) -> None:
    vocabulary, url, _ = exported
    seed.test_table_1_reports_incidents_coordinations(url)
    seed.test_table_2_categories_and_shares(url)
    seed.test_table_3_phishing_brands_industries_and_coordination(url)
    seed.test_table_4_scan_ports(url)
    seed.test_trends_and_status(url)  # every coordination counted in figure 8, `other` too
    status = seed._stats(url)["coordination_status"]
    if vocabulary == "unknown":
        assert "other" in status and "no_response" not in status
    if vocabulary == "rtir":
        assert "replied" not in status  # RTIR's open is teiten's sent


@pytest.mark.parametrize(("word", "state"), [
    ("Open", "new"), ("stalled", "coordinating"), ("InProgress", "coordinating"), ("Resolved", "resolved"),
    ("done", "resolved"), ("rejected", "closed"), ("Closed", "closed"), ("proposed", "proposed")])
def test_incident_status_in_a_trackers_words(word: str, state: str) -> None:
    assert incident_state(word) == state


def test_incident_status_words_import_and_an_unknown_one_is_refused_by_name(db: IncidentDB, tmp_path: Path) -> None:
    lines = [_line("r1", "open"), _line("r2", "closed"), _line("r3", "open")]
    lines[0]["incidents"][0]["status"] = "Open"
    lines[1]["incidents"][0]["status"] = "Resolved"
    lines[2]["incidents"][0]["status"] = "Escalated"
    got = import_jsonl(db, _write(tmp_path / "a.jsonl", lines))
    assert got.imported == 2 and len(got.errors) == 1 and "'Escalated'" in got.errors[0][1]
    with db.session() as s:
        assert sorted(s.scalars(select(Incident.status))) == ["new", "resolved"]
