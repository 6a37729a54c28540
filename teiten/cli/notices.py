"""``teiten notify``: notices of the sources the sensors saw to the networks hosting them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from teiten.cli.options import (
    db_option,
    group_option,
    incident_session,
    setting_option,
    store_option,
    tz_option,
    user_errors,
)

__all__ = ["COMMANDS"]


@click.command()
@click.option("--period", required=True, metavar="YYYYQn|YYYY-MM", help="A quarter or a month.")
@click.option("--country", metavar="CC", help="Only sources of this country (ISO alpha-2), e.g. JP.")
@group_option
@setting_option("smtp_host", "--smtp-host")
@setting_option("smtp_port", "--smtp-port", type=int)
@setting_option("sender", "--sender")
@click.option("--dry-run", is_flag=True, help="Show the notices; send and record nothing.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Also write each notice's CSV and JSON"
              " here (one folder per contact).")
@db_option
@store_option
@tz_option
@user_errors
def notify(period: str, country: str | None, group: str | None, smtp_host: str | None, smtp_port: int, sender: str,
           dry_run: bool, out: Path | None, db_url: str | None, store: Path, tz: str) -> None:
    """Send the networks the sources seen by the sensors belong to a notice of them.

    Sources whose packets carry a fingerprint (Mirai, ZMap, ...) or that scanned the
    sensors are grouped by the contact of their network (CIDR block, else AS, from the
    contact database); each contact gets one notice per its interval with the rows it was
    never sent (CSV and JSON attached), recorded as a coordination. Prints a JSON summary;
    the exit status is 1 when a notice could not be sent.
    """
    from teiten.detect.evidence import evidence
    from teiten.engine import open_observation
    from teiten.errors import SettingError
    from teiten.incidents.coordination import Smtp
    from teiten.incidents.notify import notify as send_notices
    from teiten.periods import parse_period

    if not dry_run and not smtp_host:
        raise SettingError("give --smtp-host (or TEITEN_SMTP_HOST), or --dry-run")
    p = parse_period(period, tz)
    rows = evidence(open_observation(store), p, group, country)
    with incident_session(db_url, store, "notify") as s:
        notices, unmatched = send_notices(s, rows, p, None if dry_run else Smtp(smtp_host or "", smtp_port, sender))
    if out is not None:
        for n in notices:
            folder = out / n.contact.replace("/", "_")
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in n.attachments.items():
                (folder / name).write_bytes(data)
    click.echo(json.dumps({"period": p.label, "rows": len(rows), "notices": [n.to_json() for n in notices],
                           "unmatched_sources": len({r["source"] for r in unmatched})}, ensure_ascii=False))
    if any(n.status == "failed" for n in notices):
        sys.exit(1)


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [notify]
