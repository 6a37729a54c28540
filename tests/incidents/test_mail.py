"""Reports by e-mail: targets (defanged too) proposed as incidents, attachments kept, every
message kept even when it cannot be read, proposed incidents counted only once confirmed."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from teiten.incidents.db import IncidentDB
from teiten.incidents.mail import extract_targets, import_mail
from teiten.incidents.models import Incident, Report
from teiten.incidents.stats import incident_stats
from teiten.periods import parse_period

PHISH = b"""From: Reporter <alice@example.net>
Subject: Phishing site imitating our bank
Date: Mon, 02 Oct 2017 10:00:00 +0900
Message-ID: <abc123@example.net>
Content-Type: text/plain; charset=utf-8

Please look at hxxps://bank-login[.]example[.]com/secure and http://evil.example.org/a.
It is hosted on 203.0.113[.]5. Write to bob@example.net.
"""


def test_targets_in_text() -> None:
    got = extract_targets("see hxxp://a[.]example[.]com/x), 198.51.100[.]7, evil(.)example(.)jp and 1.2.3.4.5 "
                          "and mail carol@corp.example.com; again HXXP://A.EXAMPLE.COM/x")
    assert got == [("url", "http://a.example.com/x"), ("ip", "198.51.100.7"), ("domain", "evil.example.jp")]


def test_eml_becomes_a_report_with_proposed_incidents(db: IncidentDB, tmp_path: Path) -> None:
    f = tmp_path / "m.eml"
    f.write_bytes(PHISH)
    got = import_mail(db, f)
    assert (got.imported, got.incidents, got.errors) == (1, 3, [])
    assert import_mail(db, f).duplicates == 1  # the same Message-ID again
    with db.session() as s:
        rep = s.scalars(select(Report)).one()
        assert (rep.ext_id, rep.reporter, rep.channel, rep.raw) == ("<abc123@example.net>", "alice@example.net",
                                                                   "email", PHISH)
        assert rep.received_at.isoformat() == "2017-10-02T01:00:00+00:00"
        incs = s.scalars(select(Incident).order_by(Incident.id)).all()
        assert [(i.category, i.status) for i in incs] == [("phishing", "proposed")] * 3
        assert [i.targets[0].normalised for i in incs] == ["https://bank-login.example.com/secure",
                                                           "http://evil.example.org/a", "203.0.113.5"]
        p = parse_period("2017Q4", "Asia/Tokyo")
        assert incident_stats(s, p)["incidents"]["total"] == 0  # proposed: not counted yet
        assert incident_stats(s, p)["reports"]["total"] == 1
        incs[0].status = "new"  # a handler confirms one
    with db.session() as s:
        st = incident_stats(s, parse_period("2017Q4", "Asia/Tokyo"))
        assert st["incidents"]["total"] == 1 and st["categories"]["phishing"]["total"] == 1


def test_mbox_keeps_every_message(db: IncidentDB, tmp_path: Path) -> None:
    path = tmp_path / "in.mbox"
    box = mailbox.mbox(path)
    m = EmailMessage()
    m["From"] = "dave@example.net"
    m["Subject"] = "scan from 192.0.2.44"
    m["Date"] = "not a date"
    m.set_content("Our IDS saw a port scan.")
    m.add_alternative("<p>Our <b>IDS</b> saw hxxp://x[.]example[.]net/</p>", subtype="html")
    m.add_attachment(b"\x00\x01log", maintype="application", subtype="octet-stream", filename="ids.log")
    box.add(m)
    box.add(mailbox.mboxMessage(PHISH))
    junk = bytes(range(256)) * 3
    box.add(mailbox.mboxMessage(b"From MAILER-DAEMON\n" + junk))
    box.flush()
    box.close()
    got = import_mail(db, path)
    assert (got.lines, got.imported, got.errors) == (3, 3, [])
    with db.session() as s:
        reps = {r.subject: r for r in s.scalars(select(Report))}
        scan = reps["scan from 192.0.2.44"]
        assert [a.filename for a in scan.attachments] == ["ids.log"] and scan.attachments[0].data == b"\x00\x01log"
        assert scan.content is not None and "port scan" in scan.content and "<b>" not in scan.content
        assert sorted((i.category, i.targets[0].normalised) for i in scan.incidents) == [
            ("scan", "192.0.2.44"), ("scan", "http://x.example.net/")]
        assert scan.ext_id.startswith("sha256:")  # no Message-ID
        others = [r for r in reps.values() if r is not scan and r.ext_id != "<abc123@example.net>"]
        # (mbox turns CR into LF: compare a stretch without one)
        assert len(others) == 1 and others[0].raw is not None and junk[32:120] in others[0].raw
