"""Targets in one form, so that the same site reported twice is seen as one: defanged
forms undone (``hxxp``, ``[.]``, ``(.)``, ``[:]``), host names lower-cased and without the
trailing dot, default ports and fragments dropped, addresses in their canonical text; and
the duplicates this shows proposed to a handler (never merged by themselves)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from teiten.incidents.models import DuplicateProposal, Incident, Target

__all__ = ["classify", "normalise", "propose_duplicates", "refang"]

_DEFANG = [(re.compile(r"^hxxp(s?)", re.I), r"http\1"), (re.compile(r"^fxp", re.I), "ftp"),
           (re.compile(r"\[\s*\.\s*\]|\(\s*\.\s*\)|\{\s*\.\s*\}|\[dot\]|\(dot\)", re.I), "."),
           (re.compile(r"\[\s*:\s*\]"), ":"), (re.compile(r"\[\s*/\s*\]"), "/"),
           (re.compile(r"\[at\]|\(at\)", re.I), "@")]
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def refang(text: str) -> str:
    """``hxxp://example[.]com`` → ``http://example.com``."""
    text = text.strip()
    for pattern, repl in _DEFANG:
        text = pattern.sub(repl, text)
    return text


def _host(h: str) -> str:
    h = h.strip().rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(h.strip("[]")))
    except ValueError:
        pass
    try:
        return h.encode("idna").decode("ascii")
    except UnicodeError:
        return h


def classify(value: str) -> str:
    """``url``, ``ip`` or ``domain`` for a (possibly defanged) target."""
    v = refang(value)
    if re.match(r"^[a-z][a-z0-9+.-]*://", v, re.I):
        return "url"
    try:
        ipaddress.ip_address(v.strip("[]"))
        return "ip"
    except ValueError:
        pass
    try:
        ipaddress.ip_network(v, strict=False)
        return "ip"
    except ValueError:
        return "domain"


def normalise(value: str, kind: str | None = None) -> str:
    """One text per target: the URL with scheme and host lower-cased, no default port, no
    fragment, ``/`` for an empty path; a domain lower-cased without its trailing dot (IDNA
    ASCII form); an address or network in canonical form."""
    v = refang(value)
    kind = kind or classify(v)
    if kind == "ip":
        try:
            return str(ipaddress.ip_address(v.strip("[]")))
        except ValueError:
            return str(ipaddress.ip_network(v, strict=False))
    if kind == "domain":
        return _host(v)
    u = urlsplit(v)
    host = _host(u.hostname or "")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = u.port
    except ValueError:
        port = None
    netloc = host if port is None or _DEFAULT_PORTS.get(u.scheme.lower()) == port else f"{host}:{port}"
    if u.username:
        netloc = f"{u.username}@{netloc}"
    return urlunsplit((u.scheme.lower(), netloc, u.path or "/", u.query, ""))


def propose_duplicates(session: Session, incident: Incident) -> list[DuplicateProposal]:
    """For an incident without a ref: every earlier incident of the same category with one of
    its normalised targets, recorded as a proposal (a handler decides)."""
    keys = [t.normalised for t in incident.targets]
    if not keys:
        return []
    rows = session.execute(
        select(Target.incident_id, Target.normalised).join(Incident, Incident.id == Target.incident_id)
        .where(Target.normalised.in_(keys), Incident.category == incident.category, Incident.id < incident.id)
        .order_by(Target.incident_id)).all()
    found: dict[int, list[str]] = {}
    for other, key in rows:
        found.setdefault(other, []).append(key)
    out = []
    for other, same in found.items():
        p = DuplicateProposal(incident_id=incident.id, candidate_id=other,
                              reason=f"same category ({incident.category}) and target {', '.join(sorted(set(same)))}")
        session.add(p)
        out.append(p)
    return out
