"""The incident database (docs/incidents.md): reports ↔ incidents (many to many) ↔ coordinations,
with each incident's targets and ports, and an audit trail of every change.

Times are stored as UTC without a zone (:class:`UTCDateTime`) and read back as aware UTC
datetimes on every database; which month a row counts in is decided at read time, in the
configured time zone (``teiten.incidents.stats``). The schema is created and upgraded by
the Alembic migrations in ``migrations/`` (``teiten.incidents.db.upgrade``), never by
``create_all``; a test checks that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = ["RAW_STATUS_LENGTH", "ApiToken", "Attachment", "AuditEntry", "Base", "Contact", "Coordination",
           "DuplicateProposal", "Incident", "IncidentPort", "NoticeEvidence", "OrgNetwork", "Organisation", "Report",
           "Target", "UTCDateTime", "User", "utc_now"]


#: The longest tracker status word kept (longer ones are cut).
RAW_STATUS_LENGTH = 100


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as naive UTC (the same on SQLite, which has no zones, and
    PostgreSQL); a naive datetime is refused rather than guessed."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# constraint names fixed, so that migrations name them the same on every database
NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


report_incidents = Table(
    "report_incidents", Base.metadata,
    Column("report_id", ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("incident_id", ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Report(Base):
    """One report as received: by web form, e-mail, FAX (entered by hand) or the API."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(200), unique=True)  # the reporter's or the importer's id
    channel: Mapped[str] = mapped_column(String(10))
    reporter: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    subject: Mapped[str | None] = mapped_column(String(1000))
    content: Mapped[str | None] = mapped_column(Text)  # raw text as received (never rendered unescaped)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # the message as received, for e-mail
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    incidents: Mapped[list[Incident]] = relationship(secondary=report_incidents, back_populates="reports")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="report", cascade="all, delete-orphan")


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    report: Mapped[Report] = relationship(back_populates="attachments")


class Incident(Base):
    """One incident, however many reports mention it (counted once, in the month of its
    first report)."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(200), unique=True)  # the same ref in several reports: one incident
    category: Mapped[str] = mapped_column(String(20), index=True)
    rsit_taxonomy: Mapped[str] = mapped_column(String(50))
    rsit_type: Mapped[str] = mapped_column(String(50))
    brand: Mapped[str | None] = mapped_column(String(200))
    brand_origin: Mapped[str | None] = mapped_column(String(10))  # domestic | foreign | unknown (phishing)
    industry: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="new")
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    reports: Mapped[list[Report]] = relationship(secondary=report_incidents, back_populates="incidents")
    targets: Mapped[list[Target]] = relationship(back_populates="incident", cascade="all, delete-orphan")
    ports: Mapped[list[IncidentPort]] = relationship(back_populates="incident", cascade="all, delete-orphan")
    coordinations: Mapped[list[Coordination]] = relationship(back_populates="incident", cascade="all, delete-orphan")


class Target(Base):
    """What an incident is about: a URL, a domain or an IP address, as given and normalised
    (``teiten.incidents.dedupe.normalise``)."""

    __tablename__ = "targets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # url | domain | ip
    value: Mapped[str] = mapped_column(Text)
    normalised: Mapped[str] = mapped_column(String(2000), index=True)
    incident: Mapped[Incident] = relationship(back_populates="targets")


class IncidentPort(Base):
    """A port a scan incident aimed at, as ``22/tcp`` (JPCERT/CC's incident report of 2017Q4, table 4)."""

    __tablename__ = "incident_ports"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    port: Mapped[str] = mapped_column(String(20), primary_key=True)
    incident: Mapped[Incident] = relationship(back_populates="ports")


class Coordination(Base):
    """A request to a party (site owner, ISP, a CSIRT abroad) to look into an incident."""

    __tablename__ = "coordinations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    party: Mapped[str] = mapped_column(String(500))
    domestic: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(String(20), default="email")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="sent")  # taxonomy.COORDINATION_STATES
    # the imported word when no mapping knew it (status is then ``other``; teiten.incidents.status_words)
    raw_status: Mapped[str | None] = mapped_column(String(RAW_STATUS_LENGTH))
    ticket: Mapped[str | None] = mapped_column(String(50), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    incident: Mapped[Incident] = relationship(back_populates="coordinations")


class DuplicateProposal(Base):
    """An incident without a ref whose normalised target and category match an earlier
    incident's: proposed to a handler as a duplicate, never merged by itself."""

    __tablename__ = "duplicate_proposals"
    __table_args__ = (UniqueConstraint("incident_id", "candidate_id", name="uq_duplicate_proposals_pair"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(2000))
    decision: Mapped[str | None] = mapped_column(String(20))  # None: open; merged | distinct


class AuditEntry(Base):
    """Who changed what, when: one row per inserted, updated or deleted row of the tables
    above (``teiten.incidents.audit``)."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_row", "table_name", "row_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(10))  # insert | update | delete
    table_name: Mapped[str] = mapped_column(String(50))
    row_id: Mapped[str] = mapped_column(String(100))
    changes: Mapped[str] = mapped_column(Text)  # JSON: {column: [old, new]}


def row_values(obj: Any) -> dict[str, Any]:
    """The column values of a mapped object (for the audit trail)."""
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs}


class Organisation(Base):
    """A party coordinations go to: a site owner, an ISP, a CSIRT; with the networks it
    answers for and its contacts."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    country: Mapped[str | None] = mapped_column(String(2))
    domestic: Mapped[bool] = mapped_column(Boolean, default=True)
    networks: Mapped[list[OrgNetwork]] = relationship(back_populates="organisation", cascade="all, delete-orphan")
    contacts: Mapped[list[Contact]] = relationship(back_populates="organisation", cascade="all, delete-orphan")


class OrgNetwork(Base):
    """What an organisation answers for: an AS number, a CIDR block or a domain (and its
    subdomains)."""

    __tablename__ = "org_networks"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_org_networks_kind_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # asn | cidr | domain
    value: Mapped[str] = mapped_column(String(300))
    organisation: Mapped[Organisation] = relationship(back_populates="networks")


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="abuse")  # abuse | security | admin
    language: Mapped[str] = mapped_column(String(2), default="ja")
    interval_days: Mapped[int] = mapped_column(Integer, default=1)  # notices at most this often
    organisation: Mapped[Organisation] = relationship(back_populates="contacts")


class User(Base):
    """Someone who signs in to the web UI or holds an API token: ``admin`` (everything),
    ``handler`` (intake, coordination) or ``viewer`` (reads only)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    password: Mapped[str] = mapped_column(String(300))  # scrypt$n$r$p$salt$hash (teiten.incidents.users)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ApiToken(Base):
    """An API token of a user: only its SHA-256 is stored. ``scope`` is what it may do
    (``intake``: file reports; ``read``: read incidents and statistics; both, comma-separated);
    past ``expires_at`` or once ``revoked_at`` is set it opens nothing."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    scope: Mapped[str] = mapped_column(String(50), default="intake,read", server_default="intake,read")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()


class WebSession(Base):
    """A signed-in web session, kept on the server: the cookie holds a random id whose
    SHA-256 is ``id``. Signing out, disabling the user or a timeout (idle: ``last_seen``;
    absolute: ``created_at``) ends it; ``revoked_at`` says when it was ended early."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))  # the client's address at sign-in
    csrf: Mapped[str] = mapped_column(String(64))
    user: Mapped[User] = relationship()


class NoticeEvidence(Base):
    """One row of evidence (source, port, tag, day) sent to a contact in a notice
    (``teiten notify``): the same row is never sent to that contact again."""

    __tablename__ = "notice_evidence"
    __table_args__ = (UniqueConstraint("contact_id", "key", name="uq_notice_evidence_contact_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))  # SHA-256 of source|port|tag|day
    coordination_id: Mapped[int] = mapped_column(ForeignKey("coordinations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
