"""Contacts by address, AS and domain; requests sent to a real SMTP server (aiosmtpd on
127.0.0.1) with a ticket that brings the reply back to its coordination."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select

from teiten.incidents.coordination import Smtp, abuse_contact, add_organisation, match_reply, send
from teiten.incidents.db import IncidentDB
from teiten.incidents.intake import IncidentIn, ReportIn, parse_time, record
from teiten.incidents.models import Coordination, Incident

from .conftest import Inbox, free_port


def _orgs(db: IncidentDB) -> None:
    with db.session("admin") as s:
        add_organisation(s, "Big ISP", networks=["192.0.2.0/24", "AS64500"],
                         contacts=[{"email": "noc@isp.example", "role": "admin"},
                                   {"email": "abuse@isp.example", "role": "abuse", "language": "en"}])
        add_organisation(s, "Hosting", networks=["192.0.2.128/25", "host.example"],
                         contacts=[{"email": "abuse@host.example", "language": "ja"}])
        add_organisation(s, "Foreign CSIRT", domestic=False, networks=["2001:db8::/32", "AS64511"],
                         contacts=[{"email": "cert@abroad.example", "language": "en"}])


def test_abuse_contact_by_address_as_and_domain(db: IncidentDB) -> None:
    _orgs(db)
    with db.session() as s:
        def who(**kw: object) -> str | None:
            c = abuse_contact(s, **kw)  # type: ignore[arg-type]
            return None if c is None else c.email

        assert who(address="192.0.2.10") == "abuse@isp.example"  # the abuse role before admin
        assert who(address="192.0.2.200") == "abuse@host.example"  # the longer prefix
        assert who(address="2001:db8::5") == "cert@abroad.example"
        assert who(address="198.51.100.1") is None
        assert who(address="198.51.100.1", asn=64511) == "cert@abroad.example"
        assert who(domain="www.shop.host.example") == "abuse@host.example"
        assert who(domain="elsewhere.example") is None


def _incident(db: IncidentDB) -> int:
    with db.session() as s:
        record(s, ReportIn(id="r1", received_at=parse_time("2017-10-02T01:00:00Z", "t"), channel="web",
                           incidents=(IncidentIn(category="phishing", ref="P1",
                                                 targets=(("url", "https://login.host.example/bank"),)),)))
        inc = s.scalars(select(Incident)).one()
        return inc.id


def test_request_sent_and_reply_matched(db: IncidentDB, smtp: tuple[Smtp, Inbox]) -> None:
    cfg, inbox = smtp
    _orgs(db)
    iid = _incident(db)
    with db.session("handler") as s:
        to = abuse_contact(s, domain="login.host.example")
        assert to is not None
        c = Coordination(incident_id=iid, party=to.organisation.name, domestic=to.organisation.domestic,
                         status="draft")
        s.add(c)
        s.flush()
        send(s, c, cfg, to)
        cid, ticket = c.id, c.ticket
    assert ticket == f"[TEITEN#{cid}]"
    (sender, rcpts, raw), = inbox.messages
    assert (sender, rcpts) == ("csirt@cert.example", ["abuse@host.example"])
    msg = message_from_bytes(raw, policy=policy.default)
    assert ticket in str(msg["Subject"]) and "フィッシングサイト" in str(msg["Subject"])  # the contact reads Japanese
    assert "https://login.host.example/bank" in msg.get_content()
    with db.session() as s:
        c2 = s.get(Coordination, cid)
        assert c2 is not None and c2.status == "sent" and c2.sent_at is not None
    reply = (f"From: abuse@host.example\nSubject: Re: {ticket} request\n\nWe took the site down.\n").encode()
    with db.session("mailbox") as s:
        got = match_reply(s, reply)
        assert got is not None and got.id == cid and got.status == "replied" and got.replied_at is not None
        assert match_reply(s, b"Subject: Re: [TEITEN#999999] hi\n\nx") is None
        assert match_reply(s, b"Subject: hello\n\nx") is None


def test_unreachable_server_marks_the_request_failed(db: IncidentDB) -> None:
    iid = _incident(db)
    with db.session() as s:
        c = Coordination(incident_id=iid, party="x", domestic=True, status="draft")
        s.add(c)
        s.flush()
        assert send(s, c, Smtp(port=free_port(), timeout=2), "abuse@x.example") is None
        cid = c.id
    with db.session() as s:  # the failure is kept
        got = s.get(Coordination, cid)
        assert got is not None and got.status == "failed" and got.sent_at is None
        assert got.note is not None and got.note.startswith("SMTP 127.0.0.1:")


def test_contacts_and_replies_from_the_command_line(db_url: str, smtp: tuple[Smtp, Inbox], tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from teiten.cli.main import cli
    from teiten.incidents.db import open_db

    orgs = [{"name": "Big ISP", "networks": ["192.0.2.0/24", "AS64500"],
             "contacts": [{"email": "abuse@isp.example", "language": "en"}]},
            {"name": "Abroad", "domestic": False, "networks": ["AS64511"], "contacts": [{"email": "c@abroad.example"}]}]
    f = tmp_path / "orgs.json"
    f.write_text(json.dumps(orgs), encoding="utf-8")
    run = CliRunner().invoke
    r = run(cli, ["incidents", "contacts", str(f), "--db", db_url])
    assert r.exit_code == 0 and json.loads(r.stdout) == {"added": ["Big ISP", "Abroad"], "skipped": []}
    r = run(cli, ["incidents", "contacts", str(f), "--db", db_url])
    assert json.loads(r.stdout)["skipped"] == ["Big ISP", "Abroad"]
    db = open_db(db_url)
    iid = _incident(db)
    cfg, _ = smtp
    with db.session() as s:
        to = abuse_contact(s, address="192.0.2.77")
        assert to is not None and to.email == "abuse@isp.example"
        c = Coordination(incident_id=iid, party="Big ISP", domestic=True, status="draft")
        s.add(c)
        s.flush()
        assert send(s, c, cfg, to) is not None
        ticket, cid = c.ticket, c.id
    db.close()
    reply = tmp_path / "reply.eml"
    reply.write_bytes(f"From: abuse@isp.example\nSubject: RE: {ticket}\n\nFixed.\n".encode())
    r = run(cli, ["incidents", "replies", str(reply), "--db", db_url])
    assert r.exit_code == 0 and json.loads(r.stdout) == {"messages": 1, "matched": [cid]}
