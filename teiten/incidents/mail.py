"""Reports by e-mail: ``.eml`` files and mbox folders become reports (channel ``email``),
with the URLs, domains and addresses named in them (defanged forms too: ``hxxp``,
``[.]``) proposed as incidents for a handler to classify.

A message's id is its Message-ID (else a hash of its bytes, so re-importing it is a no-op),
its time the Date header (else the time the file was last written), its reporter the From
address. The text parts are its content, the other parts its attachments; the message as
received is kept in ``raw``. A message the parser cannot read is still kept as a report,
with its raw bytes and the reason, and no proposals.

Proposed incidents have status ``proposed`` and category ``other`` unless the message says
what they are (``phish`` → phishing, ``scan`` → scan, ``改ざん``/``defac`` → defacement,
``malware`` → malware site, ``DDoS``/``DoS`` → dos); the statistics count an incident only
once a handler has confirmed it (any status but ``proposed``).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import ipaddress
import mailbox
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

from teiten.incidents.db import IncidentDB
from teiten.incidents.dedupe import normalise, refang
from teiten.incidents.intake import IncidentIn, ReportIn
from teiten.incidents.jsonl import ImportSummary, import_reports

__all__ = ["extract_targets", "guess_category", "import_mail", "message_report", "messages"]

_URL = re.compile(r"\b(?:h[tx]{2}ps?|fxp|ftp)(?:://|\[://\]|\[:\]//)[^\s<>\"'`]+", re.I)
_IP4 = re.compile(r"(?<![\d.])\d{1,3}(?:(?:\[\.\]|\(\.\)|\.)\d{1,3}){3}(?!\d|\.\d)")
_DOMAIN = re.compile(r"(?<![\w@.\-\[])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\[\.\]|\(\.\)|\.))+"
                     r"(?:com|net|org|info|biz|io|xyz|top|online|site|app|dev|club|shop|[a-z]{2})(?![\w\-])", re.I)
_TRAILING = ".,;:!?)]}>'\"、。）"
_CATEGORY_WORDS = (("phishing", re.compile(r"phish|フィッシング", re.I)),
                   ("defacement", re.compile(r"defac|改ざん", re.I)),
                   ("malware_site", re.compile(r"malware|マルウェア", re.I)),
                   ("dos", re.compile(r"\bd?dos\b", re.I)),
                   ("scan", re.compile(r"\bscan|スキャン", re.I)))


def extract_targets(text: str) -> list[tuple[str, str]]:
    """(kind, value) of every URL, then every address and domain not inside one of the URLs,
    each once (by its normalised form), in the order they appear."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(kind: str, value: str) -> None:
        try:
            n = normalise(value, kind)
        except ValueError:
            return
        if n not in seen:
            seen.add(n)
            out.append((kind, refang(value)))

    rest = text
    for m in _URL.finditer(text):
        add("url", m.group(0).rstrip(_TRAILING))
        rest = rest.replace(m.group(0), " ")
    for m in _IP4.finditer(rest):
        try:
            ipaddress.IPv4Address(refang(m.group(0)))
        except ValueError:
            continue
        add("ip", m.group(0))
    for m in _DOMAIN.finditer(re.sub(r"\S+@\S+", " ", rest)):  # not the domains of e-mail addresses
        if not _IP4.fullmatch(m.group(0)):
            add("domain", m.group(0))
    return out


def guess_category(text: str) -> str:
    for code, pattern in _CATEGORY_WORDS:
        if pattern.search(text):
            return code
    return "other"


def _payload(part: EmailMessage) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _text_of(msg: EmailMessage) -> tuple[str, list[tuple[str | None, str | None, bytes]]]:
    texts: list[str] = []
    files: list[tuple[str | None, str | None, bytes]] = []
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        name = part.get_filename()
        if ctype in ("text/plain", "text/html") and not name:
            try:
                body = part.get_content()
            except (LookupError, ValueError):
                body = _payload(part).decode("utf-8", "replace")
            if ctype == "text/html":
                body = re.sub(r"<[^>]+>", " ", str(body))
            texts.append(str(body))
        else:
            files.append((name, ctype, _payload(part)))
    return "\n".join(texts), files


def message_report(raw: bytes, fallback_time: datetime) -> ReportIn:
    """The report of one message (see the module docstring)."""
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if not isinstance(msg, EmailMessage) or not (msg.keys() or msg.get_payload()):
            raise ValueError("no headers and no body")
        text, files = _text_of(msg)
        mid = str(msg.get("Message-ID") or "").strip() or digest
        subject = str(msg.get("Subject") or "")
        try:
            when = parsedate_to_datetime(str(msg["Date"])) if msg.get("Date") else fallback_time
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
        except (TypeError, ValueError):
            when = fallback_time
        reporter = parseaddr(str(msg.get("From") or ""))[1] or None
    except Exception as e:
        return ReportIn(id=digest, received_at=fallback_time, channel="email", subject=None,
                        content=f"[unparseable e-mail: {type(e).__name__}: {e}]\n"
                                + raw.decode("utf-8", "replace"), raw=raw)
    whole = f"{subject}\n{text}"
    cat = guess_category(whole)
    incidents = tuple(IncidentIn(category=cat, targets=(t,), status="proposed") for t in extract_targets(whole))
    return ReportIn(id=mid[:200], received_at=when, channel="email", reporter=reporter, subject=subject[:1000] or None,
                    content=text, raw=raw, incidents=incidents, attachments=tuple(files))


def messages(path: Path, *, mbox: bool | None = None) -> Iterator[bytes]:
    """The bytes of each message of an mbox file, or of the one message of an ``.eml`` file
    (``mbox``: which it is; default: an mbox unless the name ends in ``.eml``)."""
    if not (mbox if mbox is not None else path.suffix.lower() != ".eml"):
        yield path.read_bytes()
        return
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


def import_mail(db: IncidentDB, path: Path, actor: str = "import", *, mbox: bool | None = None) -> ImportSummary:
    """Each message of ``path`` (see :func:`messages`) stored as a report
    (:func:`teiten.incidents.jsonl.import_reports`); a message without a Date is dated by the
    file's last change."""
    when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    out = ImportSummary()

    def reports() -> Iterator[tuple[int, ReportIn]]:
        for i, raw in enumerate(messages(path, mbox=mbox), 1):
            out.lines += 1
            yield i, message_report(raw, when)

    return import_reports(db, reports(), actor, out)
