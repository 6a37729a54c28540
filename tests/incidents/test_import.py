"""The JSONL import: one incident per ref, idempotent re-import, bad lines reported by
number without losing the rest, duplicate proposals, and the audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from teiten.incidents.db import IncidentDB
from teiten.incidents.jsonl import import_jsonl
from teiten.incidents.models import AuditEntry, Coordination, DuplicateProposal, Incident, Report, report_incidents


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def _report(rid: str, at: str, incidents: list[dict[str, Any]], coords: list[dict[str, Any]] | None = None
            ) -> dict[str, Any]:
    return {"id": rid, "received_at": at, "channel": "email", "reporter": "a@example.net", "incidents": incidents,
            "coordinations": coords or []}


def _count(db: IncidentDB, what: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(what)) or 0)


def test_one_incident_per_ref_linked_to_every_report(db: IncidentDB, tmp_path: Path) -> None:
    phish = {"ref": "P-1", "category": "phishing", "targets": ["hxxps://bank[.]example/login"], "brand": "Bank",
             "brand_origin": "domestic"}
    f = _write(tmp_path / "a.jsonl", [
        _report("r1", "2017-10-02T01:00:00Z", [phish, {"ref": "S-1", "category": "scan", "targets": ["192.0.2.7"],
                                                         "ports": ["22/tcp", "22/TCP", "23/tcp"]}]),
        _report("r2", "2017-10-05T01:00:00Z", [{"ref": "P-1", "category": "phishing", "industry": "finance"}],
                [{"incident_ref": "P-1", "party": "ISP", "domestic": True, "sent_at": "2017-10-05T02:00:00Z"}]),
    ])
    got = import_jsonl(db, f)
    assert (got.imported, got.incidents, got.linked, got.coordinations, got.errors) == (2, 2, 1, 1, [])
    with db.session() as s:
        inc = s.scalars(select(Incident).where(Incident.ref == "P-1")).one()
        assert sorted(r.ext_id for r in inc.reports) == ["r1", "r2"]
        # the second report filled what the first left empty, and changed nothing it set
        assert (inc.brand, inc.brand_origin, inc.industry) == ("Bank", "domestic", "finance")
        assert (inc.rsit_taxonomy, inc.rsit_type) == ("fraud", "phishing")
        assert [t.normalised for t in inc.targets] == ["https://bank.example/login"]
        scan = s.scalars(select(Incident).where(Incident.ref == "S-1")).one()
        assert sorted(p.port for p in scan.ports) == ["22/tcp", "23/tcp"]
        assert [c.party for c in inc.coordinations] == ["ISP"]
    assert _count(db, report_incidents) == 3


def test_reimport_adds_nothing(db: IncidentDB, tmp_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [_report(f"r{i}", "2017-10-02T01:00:00+09:00",
                                              [{"ref": f"I{i % 3}", "category": "scan"}]) for i in range(7)])
    first = import_jsonl(db, f)
    assert (first.imported, first.incidents, first.linked) == (7, 3, 4)
    before = [_count(db, t) for t in (Report, Incident, report_incidents, AuditEntry)]
    again = import_jsonl(db, f)
    assert (again.imported, again.duplicates, again.incidents) == (0, 7, 0)
    assert [_count(db, t) for t in (Report, Incident, report_incidents, AuditEntry)] == before


def test_bad_lines_are_reported_by_number_and_the_rest_imported(db: IncidentDB, tmp_path: Path) -> None:
    ok = {"ref": "X", "category": "scan"}
    f = _write(tmp_path / "a.jsonl", [
        _report("r1", "2017-10-02T01:00:00Z", [ok]),
        '{"id": "r2", "received_at": ',  # 2: cut short
        _report("r3", "2017-10-02T01:00:00Z", [{"ref": "Y"}]),  # 3: no category
        _report("r4", "2017-10-02 01:00:00", [ok]),  # 4: no UTC offset
        "",  # 5: blank, skipped
        _report("r6", "2017-10-02T01:00:00Z", [{"ref": "Z", "category": "worm"}]),  # 6: unknown category
        _report("r7", "2017-10-02T01:00:00Z", [ok], [{"incident_ref": "nope", "party": "p", "domestic": False}]),
        _report("r8", "2017-10-02T01:00:00Z", [{"ref": "X", "category": "phishing"}]),  # 8: X is a scan
        _report("r9", "2017-10-03T01:00:00Z", [{"ref": "W", "category": "dos", "ports": ["http"]}]),  # 9: port
        _report("r10", "2017-10-03T01:00:00Z", [{"ref": "V", "category": "dos"}]),
    ])
    got = import_jsonl(db, f)
    assert [n for n, _ in got.errors] == [2, 3, 4, 6, 7, 8, 9]
    reasons = dict(got.errors)
    assert "not JSON" in reasons[2]
    assert "category is required" in reasons[3]
    assert "no UTC offset" in reasons[4]
    assert "unknown incident category 'worm'" in reasons[6]
    assert "unknown incident 'nope'" in reasons[7]
    assert "is scan, not phishing" in reasons[8]
    assert "PORT/tcp" in reasons[9]
    assert (got.lines, got.imported) == (9, 2)
    with db.session() as s:
        assert sorted(s.scalars(select(Report.ext_id))) == ["r1", "r10"]
        assert sorted(s.scalars(select(Incident.ref))) == ["V", "X"]  # nothing of the refused lines


def test_a_line_the_database_refuses_changes_nothing(db: IncidentDB, tmp_path: Path) -> None:
    """A ticket already used: the batch is stored again line by line; only that line fails."""
    c = {"incident_ref": "A", "party": "p", "domestic": True, "sent_at": "2017-10-02T02:00:00Z", "ticket": "T-1"}
    f = _write(tmp_path / "a.jsonl", [
        _report("r1", "2017-10-02T01:00:00Z", [{"ref": "A", "category": "scan"}], [c]),
        _report("r2", "2017-10-02T01:00:00Z", [{"ref": "B", "category": "scan"}], [{**c, "incident_ref": "B"}]),
        _report("r3", "2017-10-02T01:00:00Z", [{"ref": "C", "category": "scan"}]),
    ])
    got = import_jsonl(db, f)
    assert [n for n, _ in got.errors] == [2]
    assert got.imported == 2
    with db.session() as s:
        assert sorted(s.scalars(select(Incident.ref))) == ["A", "C"]
        assert s.scalar(select(func.count()).select_from(Coordination)) == 1


def test_duplicates_without_ref_are_proposed_not_merged(db: IncidentDB, tmp_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [
        _report("r1", "2017-10-02T01:00:00Z", [{"category": "phishing", "targets": ["https://Shop.Example:443/a"]}]),
        _report("r2", "2017-10-03T01:00:00Z", [{"category": "phishing", "targets": ["hxxps://shop[.]example/a"]}]),
        _report("r3", "2017-10-04T01:00:00Z", [{"category": "defacement", "targets": ["https://shop.example/a"]}]),
    ])
    got = import_jsonl(db, f)
    assert (got.incidents, got.proposals) == (3, 1)
    with db.session() as s:
        p = s.scalars(select(DuplicateProposal)).one()
        first, second = (s.get(Incident, i) for i in (p.candidate_id, p.incident_id))
        assert first is not None and second is not None
        assert [r.ext_id for r in first.reports] == ["r1"] and [r.ext_id for r in second.reports] == ["r2"]
        assert "https://shop.example/a" in p.reason and p.decision is None


def test_every_change_is_audited_with_its_actor(db: IncidentDB, tmp_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [_report("r1", "2017-10-02T01:00:00Z", [{"ref": "A", "category": "scan"}])])
    import_jsonl(db, f, actor="alice")
    with db.session("bob") as s:
        inc = s.scalars(select(Incident)).one()
        inc.status = "resolved"
    with db.session() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        inserted = {(r.table_name, r.actor) for r in rows if r.action == "insert"}
        assert {("reports", "alice"), ("incidents", "alice")} <= inserted
        upd = [r for r in rows if r.action == "update" and r.table_name == "incidents"]
        assert len(upd) == 1 and upd[0].actor == "bob"
        assert json.loads(upd[0].changes)["status"] == ["new", "resolved"]
        rep = next(r for r in rows if r.table_name == "reports")
        assert json.loads(rep.changes)["ext_id"] == [None, "r1"]


def test_attacker_text_is_escaped_in_the_report(db: IncidentDB, tmp_path: Path) -> None:
    from teiten.incidents.stats import incident_stats
    from teiten.periods import parse_period
    from teiten.report.incident_report import write_incident_report

    evil = "<script>alert(1)</script>"
    f = _write(tmp_path / "a.jsonl", [_report("r1", "2017-10-02T01:00:00Z", [
        {"ref": "A", "category": "phishing", "brand_origin": "foreign", "brand": evil, "industry": evil}])])
    assert import_jsonl(db, f).imported == 1
    p = parse_period("2017Q4")
    with db.session() as s:
        st = incident_stats(s, p)
    assert st["phishing"]["industries"] == {evil: 100.0}
    html = write_incident_report(st, p, tmp_path / "r.html", "en").read_text(encoding="utf-8")
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
