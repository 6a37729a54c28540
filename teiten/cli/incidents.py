"""``teiten incidents …``: the incident database (import, statistics, report, users, tokens,
contacts, replies)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click

from teiten.cli.options import (
    db_option,
    incident_db,
    incident_session,
    setting_option,
    store_option,
    tz_option,
    user_errors,
)
from teiten.periods import Period

__all__ = ["COMMANDS"]


def _stats(period: str, tz: str, db_url: str | None, store: Path) -> tuple[Period, dict[str, Any]]:
    from teiten.incidents.stats import period_stats

    with incident_db(db_url, store) as db:
        return period_stats(db, period, tz)


@click.group()
def incidents() -> None:
    """The incident database: reports, incidents, coordinations and their statistics."""


@incidents.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "eml", "mbox"]),
              help="What FILE holds (default: by its suffix: .jsonl, .eml, .mbox).")
@db_option
@store_option
@click.option("--actor", default="import", show_default=True, help="Who the audit trail names for these changes.")
@setting_option("tz", "--tz", default=None, metavar="ZONE",
                help="Time zone of times without a UTC offset (IANA name, e.g. Asia/Tokyo); without it such a time"
                     " refuses its line.")
@setting_option("status_map", "--status-map", metavar="WORD=STATE,...",
                help="Tracker status words to read as teiten's states, over the built-in mapping"
                     " (e.g. closed=resolved,escalated=sent).")
@user_errors
def incidents_import(file: Path, fmt: str | None, db_url: str | None, store: Path, actor: str, tz: str | None,
                     status_map: str | None) -> None:
    """Import reports: FILE.jsonl (one JSON report per line), FILE.eml or an mbox.

    A JSONL line that is not a valid report is reported with its number (on stderr) and
    changes nothing; the others are imported. A report id already stored is skipped.
    E-mails become reports with the URLs, domains and addresses in them proposed as
    incidents (status proposed) for a handler; an e-mail that cannot be parsed is kept
    with its raw content. Prints a JSON summary; the exit status is 1 when any report was
    refused.

    A coordination's status may be in another tracker's words (closed, open, stalled,
    InProgress, ...: docs/incidents.md); a word no mapping knows is kept, the coordination's
    state is other, and the summary counts it under other_statuses.
    """
    from teiten.errors import SettingError
    from teiten.incidents.intake import Reading
    from teiten.incidents.jsonl import import_jsonl
    from teiten.incidents.mail import import_mail
    from teiten.incidents.status_words import StatusMap, parse_status_map
    from teiten.periods import zone

    kind = fmt or {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".eml": "eml", ".mbox": "mbox",
                   ".mbx": "mbox"}.get(file.suffix.lower())
    if kind is None:
        raise SettingError(f"{file.name}: say what it holds with --format jsonl|eml|mbox")
    how = Reading(StatusMap(parse_status_map(status_map)), zone(tz) if tz else None)
    with incident_db(db_url, store) as db:
        if kind == "jsonl":
            summary = import_jsonl(db, file, actor=actor, how=how)
        else:
            summary = import_mail(db, file, actor=actor, mbox=kind == "mbox")
    for line, err in summary.errors:
        click.echo(f"{file}:{line}: {err}", err=True)
    click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    if summary.errors:
        sys.exit(1)


@incidents.command("stats")
@click.option("--period", required=True, metavar="YYYYQn|YYYY-MM", help="A quarter (2017Q4) or a month (2017-10).")
@db_option
@store_option
@tz_option
@click.option("--json", "fmt", flag_value="json", default=True, help="Print JSON (the default).")
@click.option("--csv", "fmt", flag_value="csv", help="Print the tables as CSV: table, row, each month, total,"
              " previous total.")
@user_errors
def incidents_stats(period: str, db_url: str | None, store: Path, tz: str, fmt: str) -> None:
    """Reports, incidents and coordinations per month of a period (the 2017Q4 incident report's tables 1-4).

    Reports count in the month received, incidents in the month of their first report,
    coordinations in the month sent, in the --tz time zone.
    """
    st = _stats(period, tz, db_url, store)[1]
    if fmt == "json":
        click.echo(json.dumps(st, ensure_ascii=False))
        return
    months = st["months"]
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["table", "row", *months, "total", "previous_total"])
    for name in ("reports", "incidents", "coordinations"):
        r = st[name]
        w.writerow(["counts", name, *(r["months"][m] for m in months), r["total"], r["previous_total"]])
    for name, r in st["categories"].items():
        w.writerow(["categories", name, *(r["months"][m] for m in months), r["total"], r["previous_total"]])
    for name, r in st["phishing"]["brand_origin"].items():
        w.writerow(["brand_origin", name, *(r["months"][m] for m in months), r["total"], r["previous_total"]])
    for r in st["scan_ports"]:
        w.writerow(["scan_ports", r["port"], *(r["months"][m] for m in months), r["total"], ""])


@incidents.command("report")
@click.option("--period", required=True, metavar="YYYYQn|YYYY-MM", help="A quarter (2017Q4) or a month (2017-10).")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.html or FILE.pdf.")
@db_option
@store_option
@tz_option
@user_errors
def incidents_report(period: str, lang: str, out: Path, db_url: str | None, store: Path, tz: str) -> None:
    """The incident handling report of a period (JPCERT/CC's incident report of 2017Q4): tables 1-4, figures, text."""
    from teiten.report.incident_report import write_incident_report

    p, st = _stats(period, tz, db_url, store)
    click.echo(str(write_incident_report(st, p, out, lang)))


@incidents.command("user")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "handler", "viewer"]), required=True)
@setting_option("password", "--password", prompt=True, hide_input=True, confirmation_prompt=True,
                help="At least 8 characters (asked for when not given).")
@db_option
@store_option
@user_errors
def incidents_user(name: str, role: str, password: str, db_url: str | None, store: Path) -> None:
    """Add a user of the web UI (admin, handler or viewer)."""
    from teiten.incidents.users import add_user

    with incident_session(db_url, store, "cli") as s:
        add_user(s, name, role, password)
    click.echo(f"user {name} ({role}) added")


@incidents.command("token")
@click.argument("name")
@click.option("--label", help="What the token is for.")
@db_option
@store_option
@user_errors
def incidents_token(name: str, label: str | None, db_url: str | None, store: Path) -> None:
    """A new API token for user NAME (printed once; only its hash is kept)."""
    from sqlalchemy import select

    from teiten.errors import SettingError
    from teiten.incidents.models import User
    from teiten.incidents.users import new_token

    with incident_session(db_url, store, "cli") as s:
        u = s.scalar(select(User).where(User.name == name))
        if u is None:
            raise SettingError(f"no user {name!r} (add one with teiten incidents user)")
        click.echo(new_token(s, u, label))


@incidents.command("contacts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@store_option
@user_errors
def incidents_contacts(file: Path, db_url: str | None, store: Path) -> None:
    """Add organisations to the contact database from FILE.json: a list of
    {"name", "country", "domestic", "networks": ["AS64500", "192.0.2.0/24", "example.jp"],
    "contacts": [{"email", "role", "language", "interval_days"}]}. Names already present
    are skipped."""
    from sqlalchemy import select

    from teiten.errors import InputError
    from teiten.incidents.coordination import add_organisation
    from teiten.incidents.models import Organisation

    try:
        orgs = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{file}: not JSON: {e}") from None
    if not isinstance(orgs, list) or not all(isinstance(o, dict) and o.get("name") for o in orgs):
        raise InputError(f"{file}: a list of organisations, each with a name")
    added, skipped = [], []
    with incident_session(db_url, store, "contacts") as s:
        for o in orgs:
            if s.scalar(select(Organisation.id).where(Organisation.name == o["name"])) is not None:
                skipped.append(o["name"])
                continue
            add_organisation(s, str(o["name"]), country=o.get("country"), domestic=bool(o.get("domestic", True)),
                             networks=[str(n) for n in o.get("networks", [])], contacts=o.get("contacts", []))
            added.append(o["name"])
    click.echo(json.dumps({"added": added, "skipped": skipped}, ensure_ascii=False))


@incidents.command("replies")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@store_option
@user_errors
def incidents_replies(file: Path, db_url: str | None, store: Path) -> None:
    """Match the replies in FILE (an .eml or an mbox) to the coordinations whose ticket
    ([TEITEN#N]) their subject carries, and mark those replied."""
    from teiten.incidents.coordination import match_reply
    from teiten.incidents.mail import messages

    n, matched = 0, []
    with incident_session(db_url, store, "replies") as s:
        for raw in messages(file):
            n += 1
            if (c := match_reply(s, raw)) is not None:
                matched.append(c.id)
    click.echo(json.dumps({"messages": n, "matched": matched}))


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [incidents]
