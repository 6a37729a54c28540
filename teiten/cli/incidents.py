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
    emit_rows,
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


class _Commands(click.Group):
    """A group of subcommands that, given a word it does not know, names the subcommand
    meant (``user NAME --role R`` became ``user add NAME --role R``; ``token NAME`` became
    ``token new NAME``: docs/incidents.md says why)."""

    def __init__(self, *args: Any, hint: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.hint = hint

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            raise click.UsageError(f"no command {args[0]!r}: {self.hint.format(args[0])}", ctx)
        return super().resolve_command(ctx, args)


def _password(f: Any) -> Any:
    return setting_option("password", "--password", prompt=True, hide_input=True, confirmation_prompt=True,
                          help="Asked for twice when not given; it must pass the password policy"
                               " (docs/incidents.md).")(f)


@incidents.group("user", cls=_Commands, hint="to add a user, teiten incidents user add {} --role ROLE")
def incidents_user() -> None:
    """Users of the web UI and the API: add, disable, enable, password."""


@incidents_user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "handler", "viewer"]), required=True)
@_password
@db_option
@store_option
@user_errors
def user_add(name: str, role: str, password: str, db_url: str | None, store: Path) -> None:
    """Add user NAME of the web UI (admin, handler or viewer)."""
    from teiten.incidents.users import add_user

    with incident_session(db_url, store, "cli") as s:
        add_user(s, name, role, password)
    click.echo(f"user {name} ({role}) added")


@incidents_user.command("disable")
@click.argument("name")
@db_option
@store_option
@user_errors
def user_disable(name: str, db_url: str | None, store: Path) -> None:
    """Disable user NAME: no sign-in, their web sessions end, their API tokens open nothing."""
    from teiten.incidents.users import set_active

    with incident_session(db_url, store, "cli") as s:
        set_active(s, name, False)
    click.echo(f"user {name} disabled")


@incidents_user.command("enable")
@click.argument("name")
@db_option
@store_option
@user_errors
def user_enable(name: str, db_url: str | None, store: Path) -> None:
    """Enable user NAME again (their unexpired, unrevoked tokens work again; ended sessions stay ended)."""
    from teiten.incidents.users import set_active

    with incident_session(db_url, store, "cli") as s:
        set_active(s, name, True)
    click.echo(f"user {name} enabled")


@incidents_user.command("password")
@click.argument("name")
@_password
@db_option
@store_option
@user_errors
def user_password(name: str, password: str, db_url: str | None, store: Path) -> None:
    """Give user NAME a new password; their web sessions end."""
    from teiten.incidents.users import set_password

    with incident_session(db_url, store, "cli") as s:
        set_password(s, name, password)
    click.echo(f"password of {name} changed")


@incidents.group("token", cls=_Commands, hint="for a new token, teiten incidents token new {}")
def incidents_token() -> None:
    """API tokens: new, list, revoke."""


@incidents_token.command("new")
@click.argument("name")
@click.option("--label", help="What the token is for.")
@click.option("--scope", default="intake,read", show_default=True, metavar="intake|read|intake,read",
              help="What it may do: intake (POST /api/reports), read (the GET endpoints) or both.")
@click.option("--expires", "days", type=click.IntRange(min=1), default=365, show_default=True, metavar="DAYS",
              help="Days until it stops working.")
@db_option
@store_option
@user_errors
def token_new(name: str, label: str | None, scope: str, days: int, db_url: str | None, store: Path) -> None:
    """A new API token for user NAME (printed once; only its hash is kept)."""
    from teiten.incidents.users import find_user, new_token

    with incident_session(db_url, store, "cli") as s:
        click.echo(new_token(s, find_user(s, name), label, scope=scope, expires_days=days))


@incidents_token.command("list")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON ({\"rows\": [...]}).")
@db_option
@store_option
@user_errors
def token_list(name: str | None, as_json: bool, db_url: str | None, store: Path) -> None:
    """The API tokens (of user NAME, else everyone's): id, user, label, scope, created,
    expires, last used, revoked (times in UTC). Never the tokens themselves."""
    from teiten.incidents.users import token_rows

    with incident_session(db_url, store, "cli") as s:
        rows = token_rows(s, name)
    emit_rows(rows, "json" if as_json else "table",
              ["id", "user", "label", "scope", "created", "expires", "last_used", "revoked"])


@incidents_token.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@db_option
@store_option
@user_errors
def token_revoke(token_id: int, db_url: str | None, store: Path) -> None:
    """Revoke token ID (teiten incidents token list): it opens nothing from now on."""
    from teiten.incidents.users import revoke_token

    with incident_session(db_url, store, "cli") as s:
        t = revoke_token(s, token_id)
        click.echo(f"token {t.id} of {t.user.name} revoked")


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
