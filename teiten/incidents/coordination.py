"""Coordination with the parties who can act: the contact database (organisations ↔ AS
numbers, CIDR blocks, domains ↔ contacts), the abuse contact of an address, AS or domain,
and requests sent by SMTP with a ticket number in the subject, so that replies are matched
back to their coordination.

``send(session, coordination, smtp)`` writes the request for the coordination's incident
to its party's contact and marks it ``sent``; ``match_reply(session, raw)`` finds the
ticket in a reply and marks the coordination ``replied``.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from teiten.errors import InputError
from teiten.incidents.models import Contact, Coordination, Incident, Organisation, OrgNetwork, utc_now
from teiten.incidents.taxonomy import category

__all__ = ["ContactIndex", "Smtp", "abuse_contact", "add_organisation", "match_reply", "send", "ticket_of"]

TICKET = re.compile(r"\[TEITEN#(\d+)\]")


@dataclass(frozen=True)
class Smtp:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "csirt@localhost"
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0


def add_organisation(session: Session, name: str, *, country: str | None = None, domestic: bool = True,
                     networks: Sequence[str] = (), contacts: Sequence[Mapping[str, object]] = ()) -> Organisation:
    """An organisation with its networks (``AS2914``, ``192.0.2.0/24``, ``example.jp``) and
    contacts (``{"email", "role", "language", "interval_days"}``)."""
    org = Organisation(name=name, country=country, domestic=domestic, networks=[], contacts=[])
    for n in networks:
        org.networks.append(_network(n))
    for c in contacts:
        email = str(c.get("email") or "")
        if "@" not in parseaddr(email)[1]:
            raise InputError(f"{name}: contact e-mail {email!r} is not an address")
        org.contacts.append(Contact(email=email, role=str(c.get("role") or "abuse"),
                                    language=str(c.get("language") or "ja"),
                                    interval_days=int(str(c.get("interval_days") or 1))))
    session.add(org)
    session.flush()
    return org


def _network(text: str) -> OrgNetwork:
    t = text.strip()
    if m := re.fullmatch(r"(?i)AS(\d+)", t):
        return OrgNetwork(kind="asn", value=str(int(m.group(1))))
    try:
        return OrgNetwork(kind="cidr", value=str(ipaddress.ip_network(t, strict=False)))
    except ValueError:
        pass
    if re.fullmatch(r"(?i)[a-z0-9.-]+\.[a-z]{2,63}\.?", t):
        return OrgNetwork(kind="domain", value=t.lower().rstrip("."))
    raise InputError(f"a network is AS<number>, a CIDR block or a domain, not {text!r}")


class ContactIndex:
    """The contact database read once, for many lookups: the organisation of an address (the
    longest CIDR block holding it), else of an AS, else of a domain (the longest suffix); its
    ``abuse`` contact before the others."""

    def __init__(self, session: Session) -> None:
        nets = session.execute(select(OrgNetwork.organisation_id, OrgNetwork.kind, OrgNetwork.value)).all()
        self.cidrs = sorted(((ipaddress.ip_network(v), o) for o, k, v in nets if k == "cidr"),
                            key=lambda x: -x[0].prefixlen)
        self.asns = {int(v): o for o, k, v in nets if k == "asn"}
        self.domains = {v: o for o, k, v in nets if k == "domain"}
        self.best: dict[int, Contact] = {}
        for c in sorted(session.scalars(select(Contact)), key=lambda c: (c.role != "abuse", c.id)):
            self.best.setdefault(c.organisation_id, c)

    def of(self, *, address: str | None = None, asn: int | None = None, domain: str | None = None
           ) -> Contact | None:
        org: int | None = None
        if address:
            ip = ipaddress.ip_address(address)
            org = next((o for net, o in self.cidrs if net.version == ip.version and ip in net), None)
        if org is None and asn is not None:
            org = self.asns.get(int(asn))
        if org is None and domain:
            d = domain.lower().rstrip(".")
            org = next((self.domains[x] for x in (".".join(d.split(".")[i:]) for i in range(d.count(".") + 1))
                        if x in self.domains), None)  # the longest suffix first
        return self.best.get(org) if org is not None else None


def abuse_contact(session: Session, *, address: str | None = None, asn: int | None = None,
                  domain: str | None = None) -> Contact | None:
    """The contact for an address, an AS or a domain (:class:`ContactIndex`, for one lookup)."""
    return ContactIndex(session).of(address=address, asn=asn, domain=domain)


def ticket_of(c: Coordination) -> str:
    return f"[TEITEN#{c.id}]"


def _body(inc: Incident, c: Coordination, lang: str) -> tuple[str, str]:
    cat = category(inc.category)
    targets = "\n".join(f"  {t.value}" for t in inc.targets) or "  -"
    if lang == "ja":
        return (f"{ticket_of(c)} {cat.name_ja}に関する調査と対応のお願い",
                f"{c.party} ご担当者様\n\n貴組織の管理する以下の対象について、{cat.name_ja}に関する報告を受けました。\n"
                f"状況のご確認と問題解決のためのご対応をお願いいたします。\n\n対象:\n{targets}\n\n"
                f"本件についてのご返信は、件名の {ticket_of(c)} を残したままお送りください。\n")
    return (f"{ticket_of(c)} Request to investigate: {cat.name_en.lower()}",
            f"Dear {c.party},\n\nWe received a report of {cat.name_en.lower()} concerning the following, which your"
            f" organisation is responsible for:\n\n{targets}\n\nPlease look into it and take the steps needed."
            f" When you reply, please keep {ticket_of(c)} in the subject.\n")


def send(session: Session, c: Coordination, smtp: Smtp, to: Contact | str, *, now: datetime | None = None,
         text: tuple[str, str] | None = None, attachments: Sequence[tuple[str, str, bytes]] = ()
         ) -> EmailMessage | None:
    """Send the coordination's request to ``to`` (a contact, or an address) over SMTP (``text``:
    a subject and body of the caller's instead of the request for the incident; the ticket
    goes before the subject): the
    message, the coordination ``sent`` with its ticket; or None, the coordination ``failed``
    with the reason in its note (committed with the session like any change)."""
    if c.id is None:
        session.flush()
    inc = session.get(Incident, c.incident_id)
    if inc is None:
        raise InputError(f"coordination {c.id}: no incident")
    lang = to.language if isinstance(to, Contact) else "en"
    address = to.email if isinstance(to, Contact) else to
    subject, body = _body(inc, c, lang) if text is None else (f"{ticket_of(c)} {text[0]}", text[1])
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.sender, address, subject
    msg["Message-ID"] = make_msgid(domain=smtp.sender.split("@")[-1] or "localhost")
    msg.set_content(body)
    for name, mime, data in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    c.ticket = ticket_of(c)
    c.method = "email"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as s:
            if smtp.starttls:
                s.starttls()
            if smtp.user:
                s.login(smtp.user, smtp.password or "")
            s.send_message(msg)
    except (OSError, smtplib.SMTPException) as e:
        c.status, c.note = "failed", f"SMTP {smtp.host}:{smtp.port}: {e}"
        session.flush()
        return None
    c.status, c.sent_at = "sent", now or utc_now()
    session.flush()
    return msg


def match_reply(session: Session, raw: bytes, *, now: datetime | None = None) -> Coordination | None:
    """The coordination whose ticket a reply's subject carries, marked ``replied`` (the first
    reply's time kept); None when the subject names no known ticket."""
    msg = message_from_bytes(raw, policy=policy.default)
    m = TICKET.search(str(msg.get("Subject") or ""))
    if not m:
        return None
    c = session.get(Coordination, int(m.group(1)))
    if c is None:
        return None
    if c.replied_at is None:
        c.replied_at = now or utc_now()
    if c.status in ("draft", "sent", "no_response", "other"):  # other: an imported word no mapping knew
        c.status = "replied"
    session.flush()
    return c
