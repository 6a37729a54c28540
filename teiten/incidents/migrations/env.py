"""Alembic environment of the incident database: run on the connection that
``teiten.incidents.db.upgrade`` passes (or on ``sqlalchemy.url`` for the ``alembic`` command)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from teiten.incidents.models import Base


def _run(con: Connection) -> None:
    # batch mode: SQLite alters a table by copying it
    context.configure(connection=con, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url") or "").begin() as con:
        _run(con)
