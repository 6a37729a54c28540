"""Incident databases for the tests: a new SQLite file per test, and, when TEITEN_TEST_PG
names a PostgreSQL server's admin database (``.ci/run`` starts one with
``scripts/start-test-postgres.sh``), a new database on it too: every test of this folder
runs on both.

The seed-004 data set (``teiten.synth.incident_reports``) is imported once per backend per session
(:func:`seed004_template`, through ``teiten incidents import``); each test that asks for
:func:`seed004_db` gets its own copy of it (SQLite: a copy of the file; PostgreSQL: a database
made from it as a template), so a test may write to its copy. Names come from
``tmp_path_factory`` and random suffixes: safe with pytest-xdist, where each worker has its
own session and its own copies."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from teiten.incidents.coordination import Smtp
from teiten.incidents.db import IncidentDB, open_db
from teiten.synth.incident_reports import seed004_reports, write_jsonl

BACKENDS = ["sqlite", *(["postgresql"] if os.environ.get("TEITEN_TEST_PG") else [])]
Q4 = ["2017-10", "2017-11", "2017-12"]
# the quarter, the one before and the same quarter a year before: what table 1 compares
SEED004_MONTHS = ("2016-10", "2016-11", "2016-12", "2017-07", "2017-08", "2017-09", *Q4)


def new_database(backend: str, tmp: Path, template: str | None = None) -> tuple[str, Callable[[], None]]:
    """A URL of a new database, empty or holding what the database at ``template`` holds,
    and how to drop it."""
    if backend == "sqlite":
        target = tmp / f"incidents-{uuid.uuid4().hex[:8]}.sqlite"
        if template is not None:
            shutil.copyfile(template.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}", lambda: None
    admin = make_url(os.environ["TEITEN_TEST_PG"])
    name = f"teiten_test_{uuid.uuid4().hex[:12]}"
    eng = create_engine(admin, isolation_level="AUTOCOMMIT")
    like = f' TEMPLATE "{make_url(template).database}"' if template is not None else ""
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"{like}'))

    def drop() -> None:
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


def copy_database(backend: str, template: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    """A new database holding what the database at ``template`` holds, and how to drop it."""
    return new_database(backend, tmp, template)


def run_cli(*args: str) -> Any:
    from click.testing import CliRunner

    from teiten.cli.main import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def import_seed004(url: str, tmp: Path, lines: list[dict[str, Any]] | None = None, *args: str) -> dict[str, Any]:
    """Import the seed-004 data set (or ``lines``, a variant of it) into ``url`` through the CLI:
    its JSON summary."""
    data = write_jsonl(lines if lines is not None else seed004_reports(months=SEED004_MONTHS),
                       tmp / f"seed004-{uuid.uuid4().hex[:8]}.jsonl")
    r = run_cli("incidents", "import", str(data), "--db", url, *args)
    assert r.exit_code == 0, r.output
    summary: dict[str, Any] = json.loads(r.stdout)
    assert summary["errors"] == []
    return summary


@pytest.fixture(scope="session", params=BACKENDS)
def seed004_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[str, str]]:
    """(backend, URL) of a database holding the seed-004 data set, imported once per backend
    per session; never handed to a test (tests get copies: :func:`seed004_db`)."""
    tmp = tmp_path_factory.mktemp(f"seed004-{request.param}")
    url, drop = new_database(request.param, tmp)
    import_seed004(url, tmp)
    if request.param == "sqlite":  # everything in the main file, so that a copy of it is whole
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    yield request.param, url
    drop()


@pytest.fixture
def seed004_db(seed004_template: tuple[str, str], tmp_path: Path) -> Iterator[str]:
    """The URL of this test's own copy of the seed-004 database."""
    url, drop = copy_database(*seed004_template, tmp_path)
    yield url
    drop()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, drop = new_database(request.param, tmp_path)
    yield url
    drop()


@pytest.fixture
def db(db_url: str) -> Iterator[IncidentDB]:
    d = open_db(db_url)
    yield d
    d.close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # aiosmtpd's name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Smtp, Inbox]]:
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield Smtp(host="127.0.0.1", port=port, sender="csirt@cert.example"), inbox
    finally:
        ctl.stop()
