"""Incident databases for the tests: a new SQLite file per test, and, when TEITEN_TEST_PG
names a PostgreSQL server's admin database (``.ci/run`` starts one with
``scripts/start-test-postgres.sh``), a new database on it too: every test of this folder
runs on both."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from teiten.incidents.coordination import Smtp
from teiten.incidents.db import IncidentDB, open_db

BACKENDS = ["sqlite", *(["postgresql"] if os.environ.get("TEITEN_TEST_PG") else [])]


def new_database(backend: str, tmp: Path) -> tuple[str, object]:
    """A URL of an empty database and how to drop it."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'incidents-{uuid.uuid4().hex[:8]}.sqlite'}", lambda: None
    admin = make_url(os.environ["TEITEN_TEST_PG"])
    name = f"teiten_test_{uuid.uuid4().hex[:12]}"
    eng = create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, drop = new_database(request.param, tmp_path)
    yield url
    drop()  # type: ignore[operator]


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
