"""Hourly roll-ups (teiten.store.rollups): what ingest writes equals what the packets say, they
commit with their file, old stores get them, and the analyses read the same from them."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pytest

from teiten.detect.diurnal import diurnal_findings
from teiten.detect.thresholds import DiurnalRules
from teiten.detect.tools import ipv4_packets
from teiten.engine import open_observation
from teiten.engine.duckdb import connect_sql
from teiten.ingest.pipeline import ingest_paths
from teiten.keys import key_code, key_codes_of
from teiten.periods import Period, parse_period
from teiten.store.rollups import rollup_counts
from tests.store.synth import syn_pcap

BY_HOUR = ("SELECT CAST(epoch_us(ts) // 3600000000 AS INTEGER) AS slot, {kc} AS kc, ip_version, country, sensor,"
           " count(*) AS packets FROM packets_raw GROUP BY ALL ORDER BY ALL")
KC_SQL = ("CASE WHEN frag = 2 THEN 0 WHEN proto IN (6, 17, 132) AND dport IS NOT NULL THEN proto * 65536 + dport"
          " WHEN proto IN (1, 58) AND icmp_type IS NOT NULL THEN proto * 65536 + icmp_type"
          " ELSE (proto + 256) * 65536 END")


def _rows(store: Path, sql: str) -> list[tuple[object, ...]]:
    return connect_sql(store).execute(sql).fetchall()


def test_key_codes_of_equal_the_engine_key_code() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    proto = rng.choice([1, 6, 17, 58, 132, 47, 50], n).astype(np.uint8)
    ported = np.isin(proto, [6, 17, 132])
    dport = pa.array(rng.integers(0, 65536, n).astype(np.uint16), mask=~ported | (rng.random(n) < 0.05))
    typed = np.isin(proto, [1, 58])
    itype = pa.array(rng.integers(0, 256, n).astype(np.uint8), mask=~typed | (rng.random(n) < 0.05))
    frag = rng.choice([0, 1, 2], n, p=[0.9, 0.05, 0.05]).astype(np.uint8)
    t = pa.table({"proto": proto, "dport": dport, "icmp_type": itype, "frag": frag})
    want = ibis.memtable(t).pipe(lambda x: x.select(kc=key_code(x))).to_pyarrow().column("kc").to_numpy()
    got = key_codes_of(t)
    assert (got == want).all()
    assert {0, (47 + 256) << 16}.issubset(set(got.tolist()))  # FRAG and N/OTHER occur


def test_slot_counts_sum_per_hour() -> None:
    us = np.array([0, 1, 3_599_999_999, 3_600_000_000, 7_200_000_001], np.int64) + 1_699_999_200 * 10**6  # an hour
    t = pa.table({"ts": pa.array(us, pa.timestamp("us", tz="UTC")), "proto": pa.array([6] * 5, pa.uint8()),
                  "dport": pa.array([23, 23, 23, 23, 445], pa.uint16()), "icmp_type": pa.nulls(5, pa.uint8()),
                  "frag": pa.array([0] * 5, pa.uint8()), "ip_version": pa.array([4] * 5, pa.uint8()),
                  "country": pa.array(["JP", "JP", None, "JP", "US"]).dictionary_encode(),
                  "sensor": pa.array(["a"] * 5).dictionary_encode()})
    got = rollup_counts(t).to_pylist()
    h = 1_699_999_200 // 3600
    assert sorted((r["slot"] - h, r["kc"], str(r["country"]), r["packets"]) for r in got) == [
        (0, 6 << 16 | 23, "JP", 2), (0, 6 << 16 | 23, "None", 1), (1, 6 << 16 | 23, "JP", 1),
        (2, 6 << 16 | 445, "US", 1)]


def _ingested(tmp_path: Path) -> Path:
    files = [syn_pcap(tmp_path / f"c{i}.pcap", 4000, seed=40 + i, start=1_700_000_000 + i * 50_000)
             for i in range(3)]
    store = tmp_path / "store"
    assert [r.status for r in ingest_paths(store, files)] == ["ok"] * 3
    return store


def test_ingest_writes_roll_ups_equal_to_the_packets(tmp_path: Path) -> None:
    store = _ingested(tmp_path)
    want = _rows(store, BY_HOUR.format(kc=KC_SQL))
    got = _rows(store, "SELECT slot, kc, ip_version, country, sensor, sum(packets) FROM slots_raw"
                       " GROUP BY ALL ORDER BY ALL")
    assert got == want and sum(int(r[-1]) for r in got) == 12000  # type: ignore[call-overload]
    con = sqlite3.connect(store / "manifest.sqlite")
    days = con.execute("SELECT file_id, day FROM parts WHERE kind = 'packets' GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    assert con.execute("SELECT file_id, day FROM parts WHERE kind = 'slots' ORDER BY 1, 2").fetchall() == days


def test_a_store_without_roll_ups_gets_them(tmp_path: Path) -> None:
    store = _ingested(tmp_path)
    want = _rows(store, "SELECT slot, kc, country, sum(packets) FROM slots_raw GROUP BY ALL ORDER BY ALL")
    con = sqlite3.connect(store / "manifest.sqlite")
    one = con.execute("SELECT min(file_id) FROM parts").fetchone()[0]
    con.execute("DELETE FROM parts WHERE kind = 'slots' AND file_id = ?", (one,))  # as before roll-ups existed
    con.commit()
    db = connect_sql(store)
    assert not db.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'slots_raw'").fetchone()[0]  # type: ignore[index]
    assert open_observation(store).rollups is None  # the analyses count the packets
    assert list(ingest_paths(store, [])) == []  # opening the store for writing fills them in
    assert _rows(store, "SELECT slot, kc, country, sum(packets) FROM slots_raw GROUP BY ALL ORDER BY ALL") == want
    assert con.execute("SELECT count(*) FROM parts WHERE kind = 'slots' AND file_id = ?", (one,)).fetchone()[0] >= 1


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_analyses_read_the_same_from_roll_ups(tmp_path: Path, tz: str) -> None:
    store = _ingested(tmp_path)
    obs = open_observation(store)
    assert obs.rollups is not None
    plain = replace(obs, rollups=None)
    p = Period("range", parse_period("2023-11").first, parse_period("2023-11").last, tz)
    rows = []
    for o in (obs, plain):
        t, measure = o.tally(p)
        agg = t.group_by(["day", "key", "region"]).aggregate(n=measure(t)).order_by(["day", "key", "region"])
        rows.append(agg.to_pyarrow().to_pylist())
    assert rows[0] == rows[1] and sum(r["n"] for r in rows[0]) == 12000
    assert len({r["day"] for r in rows[0]}) >= 2
    assert ipv4_packets(obs, p) == ipv4_packets(plain, p) == 12000
    # rules that report every profile: the hour-of-day counts of each key and region
    every = DiurnalRules(min_packets=1, amplitude=0.0, noise_sigmas=0.0, max_peak_shift=24, week_shift=24,
                         weeks_share=0.0)
    found = diurnal_findings(obs, p, rules=every)
    assert found == diurnal_findings(plain, p, rules=every) and len(found) >= 6
    assert sum(sum(f.evidence["profile"]) for f in found if f.dimension == "key") == 12000  # six ports


def test_half_hour_zones_count_the_packets(tmp_path: Path) -> None:
    store = _ingested(tmp_path)
    obs = open_observation(store)
    p = Period("range", parse_period("2023-11").first, parse_period("2023-11").last, "Asia/Kolkata")
    t, _ = obs.counted(p)
    assert "packets" not in t.columns  # an hour straddles Indian midnight: the packets are counted
    utc = Period("range", p.first, p.last, "UTC")
    t, _ = obs.counted(utc)
    assert "packets" in t.columns


@pytest.mark.parametrize("cidr", ["203.0.113.0/24", "203.0.113.0/25"])
def test_the_catalog_test_is_skipped_only_when_every_packet_passes_it(tmp_path: Path, cidr: str) -> None:
    from teiten.store.catalog import Sensor, add_sensor
    from teiten.store.open import open_store

    store = tmp_path / "store"
    with open_store(store, lock=False) as con:
        add_sensor(con, Sensor("s1", (cidr,)))
    a = syn_pcap(tmp_path / "a.pcap", 6000, seed=9)
    assert [r.status for r in ingest_paths(store, [a])] == ["ok"]
    obs = open_observation(store)
    whole = cidr.endswith("/24")
    assert obs.stored_sensors() == ({"s1"} if whole else {"s1", None})
    assert (obs._sensor_filter(None) is None) == whole
    p = parse_period("2023-11")
    catalogued = _rows(store, "SELECT count(*) FROM packets_raw WHERE sensor = 's1'")[0][0]
    assert obs.in_period(p).count().to_pyarrow().as_py() == catalogued
    t, measure = obs.counted(p)
    assert measure(t).to_pyarrow().as_py() == catalogued
    assert (catalogued == 6000) == whole
