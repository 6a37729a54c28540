"""The demo's sensors at their collector: signed, chained manifests of a small scenario's last
two days, accepted as the upload API accepts them, and `teiten sensors status --at` finding
the healthy ones ok, the silent one silent and the gapped one with its gap."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from teiten.cli.demo import _collector, _sensor_status
from teiten.cli.main import cli
from teiten.cli.store import sensor_states
from teiten.ingest.collector import collector_folder
from teiten.ingest.collector_db import CollectorDB
from teiten.sensors.manifest import parse_manifest
from teiten.synth.manifests import DAYS, GAPPED, LOST, ROTATE, SILENT, checked_at, demo_sensors
from teiten.synth.scenario import generate

PER_DAY = 86_400 // ROTATE
GAP_SEQ = (DAYS - 1) * PER_DAY + LOST[0] + LOST[1] + 1  # the first interval after the lost ones


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-sensors") / "scenario"
    generate(out, seed=5, scale=0.005)
    return out


@pytest.fixture(scope="module")
def store(scenario: Path) -> tuple[Path, datetime]:
    store = scenario.parent / "store"
    at = _collector(scenario, store, 5, Console(file=io.StringIO()))
    return store, at


def _status(*args: str) -> tuple[int, str]:
    r = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["sensors", "status", *args], catch_exceptions=False)
    return r.exit_code, r.output


def test_manifests_count_what_the_captures_hold(scenario: Path) -> None:
    truth = json.loads((scenario / "truth.json").read_text())
    last = datetime.fromisoformat(truth["end"]).date()
    days = [(last - timedelta(days=k)).isoformat() for k in range(DAYS)]
    sensors = {s.name: s for s in demo_sensors(scenario, seed=5)}
    assert sorted(sensors) == sorted(s["name"] for s in json.loads((scenario / "sensors.json").read_text())
                                     ["sensors"])
    tokyo = sensors["tokyo-1"].shipped
    assert len(tokyo) == DAYS * PER_DAY
    assert sum(s.manifest.packets for s in tokyo) == sum(truth["by_day_site"][d].get("tokyo-1", 0) for d in days) > 0
    for s in tokyo:
        m = s.manifest
        assert m.seconds() == ROTATE and s.received - m.end() < timedelta(seconds=10) and s.received > m.end()
        assert (m.file is None) == (m.packets == 0) and (m.packets == 0 or m.bytes > 24 + 30 * m.packets)
        if m.first_ts is not None and m.last_ts is not None:
            first, last = datetime.fromisoformat(m.first_ts), datetime.fromisoformat(m.last_ts)
            assert m.start() <= first <= last < m.end()
    # signed with the sensor's key and chained, each to the one before
    key = sensors["tokyo-1"].key.public_key()
    assert all(s.manifest.verified(key) for s in tokyo)
    assert all(b.manifest.prev == a.manifest.digest() for a, b in itertools.pairwise(tokyo))
    assert tokyo[0].manifest.prev is None and tokyo[0].manifest.seq == 1


def test_silent_and_gapped_sensors_lose_their_intervals(scenario: Path) -> None:
    sensors = {s.name: s for s in demo_sensors(scenario, seed=5)}
    silent, gapped = sensors[SILENT].shipped, sensors[GAPPED].shipped
    assert len(silent) == (DAYS - 1) * PER_DAY and silent[-1].manifest.end() == checked_at(scenario) - timedelta(
        days=1, minutes=1)
    seqs = [s.manifest.seq for s in gapped]
    assert len(gapped) == DAYS * PER_DAY - LOST[1]
    assert set(range(1, DAYS * PER_DAY + 1)) - set(seqs) == set(range(GAP_SEQ - LOST[1], GAP_SEQ))


def test_the_same_seed_gives_the_same_manifests(scenario: Path) -> None:
    a = [s.manifest.digest() for s in demo_sensors(scenario, seed=5)[0].shipped]
    b = [s.manifest.digest() for s in demo_sensors(scenario, seed=5)[0].shipped]
    c = [s.manifest.digest() for s in demo_sensors(scenario, seed=6)[0].shipped]
    assert a == b and a[0] != c[0]


def test_the_collector_records_them_with_their_receive_times(store: tuple[Path, datetime]) -> None:
    path, _ = store
    db = CollectorDB(collector_folder(path) / "collector.sqlite")
    assert (collector_folder(path) / "ca.pem").exists()  # made as `teiten collector init` makes it
    assert db.gaps(GAPPED) == [(GAP_SEQ, LOST[1])] and db.gaps("tokyo-1") == []
    received, gap, body = db.manifests_since("tokyo-1", "2000-01-01")[-1]
    m = parse_manifest(body)
    assert gap == 0 and m.seq == DAYS * PER_DAY
    assert timedelta(0) < datetime.fromisoformat(received) - m.end() < timedelta(seconds=10)


def test_states_at_the_end_of_the_scenario(store: tuple[Path, datetime]) -> None:
    path, at = store
    found = {h.sensor: h for h in sensor_states(path, at=at)}
    assert {k: h.state for k, h in found.items()} == {"tokyo-1": "ok", "osaka-1": "ok", "ph-1": "ok",
                                                      SILENT: "silent", GAPPED: "gap"}
    assert found["tokyo-1"].intervals == PER_DAY and found["tokyo-1"].lag_s == 60
    assert found[GAPPED].gaps == [{"seq": GAP_SEQ, "missing": LOST[1]}]
    assert found[GAPPED].intervals == PER_DAY - LOST[1]
    assert found[SILENT].intervals == 0 and found[SILENT].lag_s == 86_400 + 60


def test_sensors_status_at(store: tuple[Path, datetime]) -> None:
    path, at = store
    code, out = _status("--store", str(path), "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ"), "--json")
    assert code == 1  # two sensors are not ok
    states = {r["sensor"]: r["state"] for r in json.loads(out)["sensors"]}
    assert states[SILENT] == "silent" and states[GAPPED] == "gap" and states["tokyo-1"] == "ok"
    code, out = _status("--store", str(path), "--at", "2026-10-01T00:01:00")  # no offset: UTC
    assert code == 1 and f"{GAP_SEQ}(-{LOST[1]})" in out and "silent" in out and "86460.0" in out
    # a day later every sensor has been silent for hours
    code, out = _status("--store", str(path), "--at", (at + timedelta(days=1)).isoformat(), "--json")
    assert code == 1 and {r["state"] for r in json.loads(out)["sensors"]} == {"silent"}
    code, out = _status("--store", str(path), "--at", "yesterday")
    assert code == 2 and "ISO 8601" in out


def test_the_demo_prints_the_status_and_goes_on(store: tuple[Path, datetime]) -> None:
    path, at = store
    assert at == datetime(2026, 10, 1, 0, 1, tzinfo=UTC)
    out = io.StringIO()
    _sensor_status(path, at, Console(file=out, width=200))  # no SystemExit, though sensors are not ok
    text = out.getvalue()
    assert f"teiten sensors status --store {path} --at 2026-10-01T00:01:00Z" in text
    assert f"{GAP_SEQ}(-{LOST[1]})" in text and text.count(" ok ") == 3 and "silent" in text
