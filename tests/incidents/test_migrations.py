"""The Alembic migrations build exactly the schema of the models, on every backend, and can
be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from teiten.incidents.db import open_db, upgrade
from teiten.incidents.models import Base


def test_migrations_match_the_models(db_url: str) -> None:
    db = open_db(db_url)
    try:
        with db.engine.connect() as con:
            diff = compare_metadata(MigrationContext.configure(con, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        assert set(inspect(db.engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
    finally:
        db.close()


def test_downgrade_to_nothing_and_up_again(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        upgrade(engine)
        upgrade_to = inspect(engine).get_table_names()
        from importlib import resources

        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("teiten.incidents") / "migrations"))
        with engine.begin() as con:
            cfg.attributes["connection"] = con
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert sorted(inspect(engine).get_table_names()) == sorted(upgrade_to)
    finally:
        engine.dispose()
