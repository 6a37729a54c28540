"""A live ``teiten serve`` app for the web tests: uvicorn on 127.0.0.1 over a fresh incident
database (SQLite, and PostgreSQL with TEITEN_TEST_PG), with a handler, a viewer and an admin."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from teiten.incidents.db import IncidentDB
from teiten.incidents.users import add_user, new_token
from teiten.web.app import create_app
from tests.incidents.conftest import db, db_url, free_port  # noqa: F401 - fixtures shared with the incident tests

#: A password the policy accepts (12+ characters, zxcvbn score >= 3).
PASSWORD = "tawny-grill-ocean-47"
#: 32 random bytes as hex: what a proper web secret looks like.
SECRET = "5f1d0c8a7e3b49d2a6c4e8f0b1d3a5c7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9"


@dataclass
class Live:
    """A running app: its base URL, its database and the API tokens of its users."""

    base: str
    db: IncidentDB
    tokens: dict[str, str]
    server: uvicorn.Server


def serve(app: Any, database: IncidentDB, tokens: dict[str, str]) -> Iterator[Live]:
    """Run ``app`` on a free loopback port until the generator is closed."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", database, tokens, srv)
    finally:
        srv.should_exit = True
        t.join(10)


@pytest.fixture
def live(db: IncidentDB) -> Iterator[Live]:  # noqa: F811 - the shared db fixture
    """The app with users hana (handler), vic (viewer) and root (admin), password PASSWORD."""
    with db.session("admin") as s:
        tokens = {name: new_token(s, add_user(s, name, role, PASSWORD))
                  for name, role in (("hana", "handler"), ("vic", "viewer"), ("root", "admin"))}
    yield from serve(create_app(db, secret=SECRET, tz="Asia/Tokyo"), db, tokens)


def observed_store(tmp: Path) -> Path:
    """A store of the synthetic scenario at a small scale (seed 3), its sensors catalogued:
    what the dashboard tests observe."""
    from teiten.ingest.pipeline import ingest_paths
    from teiten.store.catalog import Sensor, add_sensor
    from teiten.store.open import open_store
    from teiten.synth.scenario import generate

    s = generate(tmp / "scenario", seed=3, scale=0.005)
    with open_store(tmp / "store", lock=False) as con:
        for x in json.loads(s.sensors_path.read_text())["sensors"]:
            add_sensor(con, Sensor(x["name"], tuple(x["addresses"]), x.get("country"), x.get("group")))
    done = list(ingest_paths(tmp / "store", s.captures))
    assert all(r.status in ("ok", "duplicate") for r in done), [r.status for r in done]
    return tmp / "store"
