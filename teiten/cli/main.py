"""The ``teiten`` command: a thin layer over the library."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from teiten import __version__
from teiten.errors import TeitenError
from teiten.settings import DEFAULT_STORE

F = TypeVar("F", bound=Callable[..., Any])


def store_option(f: F) -> F:
    return click.option("--store", type=click.Path(path_type=Path), default=DEFAULT_STORE, envvar="TEITEN_STORE",
                        show_default=True, show_envvar=True, help="Store directory.")(f)


def tz_option(f: F) -> F:
    return click.option("--tz", default="UTC", envvar="TEITEN_TZ", show_default=True, show_envvar=True,
                        help="Time zone of day boundaries (IANA name, e.g. Asia/Tokyo).")(f)


def user_errors(f: F) -> F:
    """Print teiten's own errors as one line and exit 2."""

    @wraps(f)
    def run(*args: Any, **kw: Any) -> Any:
        try:
            return f(*args, **kw)
        except TeitenError as e:
            raise click.ClickException(str(e)) from None

    return run  # type: ignore[return-value]


def emit_rows(rows: list[dict[str, Any]], fmt: str, columns: list[str], *,
              extra: dict[str, Any] | None = None) -> None:
    """Print rows as JSON ({"rows": [...]}) or CSV or an aligned table."""
    if fmt == "json":
        click.echo(json.dumps({**(extra or {}), "rows": rows}, ensure_ascii=False, default=str))
    elif fmt == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    else:
        from rich.table import Table

        from teiten.report.console import output_console

        t = Table(*columns)
        for r in rows:
            t.add_row(*[_cell(r.get(c)) for c in columns])
        output_console().print(t)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return "" if v is None else str(v)


def format_options(f: F) -> F:
    f = click.option("--csv", "fmt", flag_value="csv", help="Print CSV.")(f)
    f = click.option("--json", "fmt", flag_value="json", help="Print JSON.")(f)
    return click.option("--table", "fmt", flag_value="table", default=True, hidden=True)(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="teiten")
def cli() -> None:
    """teiten: Internet fixed-point observation (darknet) statistics.

    Ingest pcap/pcapng captures into a Parquet store, enriched with source country,
    AS and service names; then ask questions with `teiten top` and `teiten sql`.
    """


def main() -> None:
    from teiten.cli import commands, incidents  # noqa: F401 - registers the commands

    cli(prog_name="teiten")
