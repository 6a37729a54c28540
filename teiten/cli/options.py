"""What the commands share: their common options (declared once, with their settings from
:data:`teiten.settings.SETTINGS`), the period they ask about, the incident database they
open, how they print rows and how teiten's own errors reach the user."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from teiten.errors import TeitenError
from teiten.settings import SETTINGS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from teiten.engine.observation import Observation
    from teiten.incidents.db import IncidentDB
    from teiten.periods import Period

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "compare_option",
    "db_option",
    "emit_rows",
    "engine_options",
    "format_options",
    "group_option",
    "incident_db",
    "incident_session",
    "kind_option",
    "open_incident_db",
    "period_options",
    "resolve_period",
    "rules_option",
    "setting_option",
    "store_option",
    "tz_option",
    "user_errors",
]


def setting_option(name: str, *decls: str, **kw: Any) -> Callable[[F], F]:
    """An option (``decls`` as for click.option) that is also the setting ``name``: its
    variable, default and help."""
    s = SETTINGS[name]
    kw.setdefault("help", s.help)
    if s.default is not None and "default" not in kw:
        kw.update(default=s.default, show_default=True)
    return click.option(*decls, envvar=s.var, show_envvar=True, **kw)


def store_option(f: F) -> F:
    return setting_option("store", "--store", type=click.Path(path_type=Path))(f)


def engine_options(f: F) -> F:
    """``--engine``, ``--spark-master`` and ``--spark-conf``, handed to the command as one
    ``engine`` (:class:`teiten.engine.choice.EngineChoice`; each from its setting when not given)."""

    @wraps(f)
    def run(*args: Any, engine: str | None, spark_master: str | None, spark_conf: str | None, **kw: Any) -> Any:
        from teiten.engine.choice import engine_choice

        try:
            chosen = engine_choice(engine, spark_master, spark_conf)
        except TeitenError as e:
            raise click.BadParameter(str(e), param_hint="--engine/--spark-conf") from None
        return f(*args, engine=chosen, **kw)

    s = SETTINGS
    g = click.option("--spark-conf", metavar="FILE|K=V,…", help=s["spark_conf"].help, envvar=s["spark_conf"].var,
                     show_envvar=True)(run)
    g = click.option("--spark-master", metavar="URL", help=s["spark_master"].help + " Default: local[*].",
                     envvar=s["spark_master"].var, show_envvar=True)(g)
    return click.option("--engine", type=click.Choice(["duckdb", "spark"]), help=s["engine"].help
                        + " Default: duckdb.", envvar=s["engine"].var, show_envvar=True)(g)  # type: ignore[return-value]


def tz_option(f: F) -> F:
    return setting_option("tz", "--tz")(f)


def kind_option(f: F) -> F:
    return click.option("--sensor-kind", "kind", type=click.Choice(["passive", "responder"]),
                        help="Only the sensors of this kind (default: both; a responder's addresses draw"
                        " more packets, so per-address figures of one kind compare best).")(f)


def group_option(f: F) -> F:
    return click.option("--sensor-group", "group", metavar="GROUP",
                        help="Only the sensors of this group (e.g. domestic).")(f)


def rules_option(f: F) -> F:
    return click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="A Snort/Suricata/Emerging Threats rule file instead of the shipped teiten.rules"
                        " (rules the store cannot answer are skipped with a reason; docs/detection.md).")(f)


def period_options(f: F) -> F:
    f = click.option("--to", "last", metavar="YYYY-MM-DD", help="Last day (inclusive) of a range.")(f)
    f = click.option("--from", "first", metavar="YYYY-MM-DD", help="First day (inclusive) of a range.")(f)
    return click.option("--period", "-p", metavar="PERIOD",
                        help="A month (2009-07) or a quarter (2017Q3). Default: --from/--to, else all data.")(f)


def resolve_period(obs: Observation, period: str | None, first: str | None, last: str | None, tz: str) -> Period:
    """The period of :func:`period_options` (teiten.periods.resolve), the data's span read
    from ``obs`` only when an end is open."""
    from teiten.periods import resolve

    if period is not None and (first or last):
        raise click.UsageError("give --period or --from/--to, not both")
    return resolve(period, first, last, tz, obs.data_span)


def compare_option(f: F) -> F:
    return click.option("--compare", type=click.Choice(["previous", "year", "none"]), default="previous",
                        show_default=True, help="Compare with the preceding period of the same kind, or the same"
                        " period a year before.")(f)


def format_options(f: F) -> F:
    f = click.option("--csv", "fmt", flag_value="csv", help="Print CSV.")(f)
    f = click.option("--json", "fmt", flag_value="json", help="Print JSON.")(f)
    return click.option("--table", "fmt", flag_value="table", default=True, hidden=True)(f)


def db_option(f: F) -> F:
    return setting_option("db", "--db", "db_url", metavar="URL",
                          help="Incident database, an SQLAlchemy URL (sqlite:///FILE, postgresql+psycopg://...);"
                          " default: incidents.sqlite in the store directory.")(f)


def open_incident_db(db_url: str | None, store: Path) -> IncidentDB:
    """The incident database of ``--db`` (default: incidents.sqlite in the store directory)."""
    from teiten.incidents.db import default_url, open_db

    return open_db(db_url or default_url(store))


@contextmanager
def incident_db(db_url: str | None, store: Path) -> Iterator[IncidentDB]:
    """:func:`open_incident_db`, closed after."""
    db = open_incident_db(db_url, store)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def incident_session(db_url: str | None, store: Path, actor: str) -> Iterator[Session]:
    """A session of ``actor`` on the incident database, committed at the end."""
    with incident_db(db_url, store) as db, db.session(actor) as s:
        yield s


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
