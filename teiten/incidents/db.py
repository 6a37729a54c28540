"""Opening the incident database: ``open_db(url)`` upgrades its schema to the newest
migration and returns the engine and an audited session factory.

The URL is an SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://user@host/db``),
from ``--db`` or ``TEITEN_DB``; the default is the SQLite file ``incidents.sqlite`` in the
store directory (:func:`default_url`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from teiten.errors import SettingError
from teiten.incidents.audit import install

__all__ = ["IncidentDB", "default_url", "open_db", "upgrade"]


def default_url(store: Path) -> str:
    return f"sqlite:///{Path(store) / 'incidents.sqlite'}"


def _sqlite_pragmas(dbapi_con: Any, _record: Any) -> None:
    cur = dbapi_con.cursor()
    cur.execute("PRAGMA foreign_keys = ON")  # SQLite enforces the references only when asked
    cur.execute("PRAGMA busy_timeout = 10000")
    cur.execute("PRAGMA journal_mode = WAL")  # readers (the web app) go on while an import writes
    cur.execute("PRAGMA temp_store = MEMORY")  # each import line's savepoint journal in memory, not a file
    cur.close()


@dataclass
class IncidentDB:
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self, actor: str = "system") -> Iterator[Session]:
        """A session whose changes are committed at the end (rolled back on an error) and
        recorded in the audit trail as ``actor``'s."""
        with self.sessions() as s:
            s.info["actor"] = actor
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("teiten.incidents") / "migrations"))
    with engine.begin() as con:
        cfg.attributes["connection"] = con
        command.upgrade(cfg, revision)


def open_db(url: str, *, migrate: bool = True) -> IncidentDB:
    """The database at ``url`` (an SQLite file and its folder are created when missing),
    upgraded to the newest schema unless ``migrate`` is false."""
    try:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
    except (ArgumentError, ModuleNotFoundError) as e:
        raise SettingError(f"incident database URL {url!r}: {e}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if migrate:
            upgrade(engine)
    except OperationalError as e:
        raise SettingError(f"incident database {engine.url.render_as_string(hide_password=True)}: {e.orig}") from None
    factory = sessionmaker(engine, expire_on_commit=False)
    install(factory)
    return IncidentDB(engine, factory)
