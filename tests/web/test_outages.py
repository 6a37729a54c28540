"""Hours without a packet from a sensor, as the dashboard's charts shade them: a store of
two sensors, one of which goes quiet for three hours of 2026-08-01 (UTC 03:00-05:59)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teiten.engine import open_observation
from teiten.ingest.pipeline import ingest_paths
from teiten.periods import parse_period
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from teiten.web.app import create_app
from teiten.web.observe_query import ObserveQuery
from teiten.web.outages import hour_gaps, outages
from tests.sensors.frames import tcp4, write_pcap

QUIET = [datetime(2026, 8, 1, h, tzinfo=UTC) for h in (3, 4, 5)]


def quiet_store(tmp: Path) -> Path:
    """Sensors ``a`` (198.51.100.0/30) and ``b`` (203.0.113.0/30): a packet to each every
    20 minutes from 2026-07-31 00:00 to 2026-08-02 00:00 UTC, but none to ``b`` in the
    hours of :data:`QUIET`."""
    store = tmp / "store"
    with open_store(store, lock=False) as con:
        add_sensor(con, Sensor("a", ("198.51.100.0/30",), "JP", "east"))
        add_sensor(con, Sensor("b", ("203.0.113.0/30",), "JP", "east"))
    t0 = datetime(2026, 7, 31, tzinfo=UTC)
    frames = []
    for i in range(2 * 72):
        ts = t0 + timedelta(minutes=20 * i)
        frames.append((ts.timestamp(), tcp4("192.0.2.9", "198.51.100.1", 40000 + i, 23, i, 0, 0x02, b"")))
        if ts.replace(minute=0) not in QUIET:
            frames.append((ts.timestamp() + 1, tcp4("192.0.2.9", "203.0.113.1", 40000 + i, 445, i, 0, 0x02, b"")))
    done = list(ingest_paths(store, [write_pcap(tmp / "two.pcap", frames)]))
    assert [r.status for r in done] == ["ok"]
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quiet_store(tmp_path_factory.mktemp("outages"))


def test_the_quiet_hours_of_a_sensor_are_found_from_the_roll_ups_and_the_packets(store: Path) -> None:
    obs = open_observation(store)
    period = parse_period("2026-08")
    want = [h.isoformat().replace("+00:00", "Z") for h in QUIET]
    assert hour_gaps(obs, period) == want
    from dataclasses import replace

    assert hour_gaps(replace(obs, rollups=None), period) == want  # the same from the packets
    assert hour_gaps(obs, period, "east") == want
    # a sensor's quiet hours before its first packet of the period are not an outage
    assert hour_gaps(obs, parse_period("2026-07")) == []


@pytest.mark.parametrize(("tz", "cells", "days"), [
    ("UTC", [(0, 3), (0, 4), (0, 5)], [("2026-08-01", "2026-08-01")]),
    ("Asia/Tokyo", [(0, 12), (0, 13), (0, 14)], [("2026-08-01", "2026-08-01")]),
    # +05:30: each quiet UTC hour straddles two local hours
    ("Asia/Kolkata", [(0, 8), (0, 9), (0, 10), (0, 11)], [("2026-08-01", "2026-08-01")]),
    # -10:00: 03:00-05:59 UTC is 17:00-19:59 of the day before, in July
    ("Pacific/Honolulu", [], []),
])
def test_quiet_hours_are_placed_on_the_local_axes(store: Path, tz: str, cells: list[tuple[int, int]],
                                                  days: list[tuple[str, str]]) -> None:
    obs = open_observation(store)
    gaps = outages(obs, ObserveQuery(tz=tz), parse_period("2026-08", tz))
    assert gaps.cells() == cells and gaps.days() == days
    july = outages(obs, ObserveQuery(tz=tz), parse_period("2026-07", tz))
    if tz == "Pacific/Honolulu":
        assert july.cells() == [(30, 17), (30, 18), (30, 19)] and july.days() == [("2026-07-31", "2026-07-31")]


def test_an_ip_version_filter_does_not_make_quiet_hours(store: Path) -> None:
    """IPv6 only, the sensors recorded no packet at all, yet no hour is an outage: the
    shading is of the sensors, whatever packets a chart shows."""
    obs = open_observation(store)
    period = parse_period("2026-08")
    assert outages(obs, ObserveQuery(ip=6), period).iso() == outages(obs, ObserveQuery(), period).iso() != []


def test_the_port_page_shades_the_quiet_hours_and_days(store: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from teiten.incidents.db import open_db
    from teiten.incidents.users import add_user
    from tests.web.conftest import PASSWORD, SECRET

    db = open_db(f"sqlite:///{tmp_path / 'incidents.sqlite'}")
    with db.session("admin") as s:
        add_user(s, "vic", "viewer", PASSWORD)
    with TestClient(create_app(db, secret=SECRET, store=store, secure_cookies=False)) as c:
        form = c.get("/login").text
        token = form.split('name="token" value="')[1].split('"')[0]
        c.post("/login", data={"name": "vic", "password": PASSWORD, "token": token})
        for params in ({}, {"ip": "4"}, {"ip": "6"}):  # the shading is the sensors', whatever the filter
            page = c.get("/observe/ports/23-tcp", params={"period": "2026-08", "tz": "Asia/Tokyo", **params})
            assert page.status_code == 200
            specs = _chart_specs(page.text)
            assert specs["heatmap"]["gaps"] == [[0, 12], [0, 13], [0, 14]] and specs["heatmap"]["gapName"]
            assert specs["daily"]["gaps"] == specs["by-country"]["gaps"] == [["2026-08-01", "2026-08-01"]]
        specs = _chart_specs(c.get("/observe/regions/unknown", params={"period": "2026-08"}).text)
        assert specs["daily"]["gaps"] == specs["by-port"]["gaps"] == [["2026-08-01", "2026-08-01"]]
        specs = _chart_specs(c.get("/observe", params={"period": "2026-08"}).text)
        assert specs["daily-top-ports"]["gaps"] == [["2026-08-01", "2026-08-01"]]
        specs = _chart_specs(c.get("/observe/sensors", params={"period": "2026-08"}).text)
        assert specs["sensor-daily"]["gaps"] == [["2026-08-01", "2026-08-01"]]


def _chart_specs(html: str) -> dict[str, dict[str, object]]:
    """Each chart's specification (its JSON block) by figure id."""
    specs = {}
    for part in html.split('<figure class="chart" id="')[1:]:
        fid = part.split('"')[0]
        block = part.split('<script type="application/json" class="chart-data">')[1].split("</script>")[0]
        specs[fid] = json.loads(block)
    return specs
