"""Series, shares and drill-down on the NPA 2009 store, checked against SQL over the same store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import numpy as np
import pytest
from click.testing import CliRunner

from teiten.analyze.drilldown import drill
from teiten.analyze.series import daily, hourly, monthly
from teiten.analyze.shares import OTHER, mix, mix_by
from teiten.cli.main import cli
from teiten.engine import open_observation
from teiten.engine.duckdb import connect_sql
from teiten.engine.local_time import local_day, local_hour
from teiten.periods import parse_period
from tests.analyze.npa_2009 import JULY_DAYS, table


def _sql(store: Path, q: str) -> list[tuple[Any, ...]]:
    return connect_sql(store).execute(q).fetchall()


def test_daily_series_and_moving_average(npa_store: Path) -> None:
    obs = open_observation(npa_store)
    doc = daily(obs, "ports", parse_period("2009-07"), ["445/TCP"], total=True)
    rows = [r for r in doc["rows"] if r["key"] == "445/TCP"]
    assert len(rows) == 31 and sum(r["packets"] for r in rows) == table()["445/TCP"][0]
    assert all(r["addresses"] == 100 and r["per_ip_day"] == r["packets"] / 100 for r in rows)
    by_day = dict(_sql(npa_store, "SELECT CAST(day AS VARCHAR), count(*) / 100 FROM packets WHERE key = '445/TCP'"
                                  " GROUP BY 1"))
    for r in rows:  # the day and the six before it, June's days included
        d = datetime.fromisoformat(r["day"])
        week = [(d - timedelta(days=i)).date().isoformat() for i in range(7)]
        assert r["ma7"] == pytest.approx(sum(by_day[w] for w in week) / 7)
    totals = [r for r in doc["rows"] if r["key"] == "*"]
    assert sum(r["packets"] for r in totals) == sum(a for a, _ in table().values())


def test_daily_in_tokyo_moves_the_day_boundary(npa_store: Path) -> None:
    obs = open_observation(npa_store)
    rows = daily(obs, "ports", parse_period("2009-07", "Asia/Tokyo"), ["135/TCP"])["rows"]
    (n,), = _sql(npa_store, "SELECT count(*) FROM packets WHERE key = '135/TCP'"
                            " AND ts >= TIMESTAMPTZ '2009-07-01 15:00:00+00'"
                            " AND ts < TIMESTAMPTZ '2009-07-02 15:00:00+00'")
    assert rows[1]["day"] == "2009-07-02" and rows[1]["packets"] == n


def test_local_day_and_hour_across_daylight_saving() -> None:
    z = ZoneInfo("Europe/Berlin")
    p = parse_period("2026-03", "Europe/Berlin")
    rng = np.random.default_rng(5)
    start = int(p.start.timestamp())
    edges = [datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC)]  # the change
    secs = [*sorted(rng.integers(start, int(p.end.timestamp()), 2000).tolist()), *(int(e.timestamp()) for e in edges)]
    t = ibis.memtable({"ts_us": [s * 1_000_000 + 999_999 for s in secs]})
    got = ibis.duckdb.connect().to_pyarrow(t.mutate(d=local_day(t, p), h=local_hour(t, p))).to_pylist()
    for s, r in zip(secs, got, strict=True):
        local = datetime.fromtimestamp(s, z)
        assert (r["d"], r["h"]) == ((local.date() - datetime(1970, 1, 1).date()).days, local.hour)


def test_hourly_profile_and_monthly(npa_store: Path) -> None:
    obs = open_observation(npa_store)
    h = hourly(obs, "ports", parse_period("2009-07"), ["8/ICMP"])
    assert sum(h["profile"]["8/ICMP"]) == table()["8/ICMP"][0]
    (n,), = _sql(npa_store, "SELECT count(*) FROM packets WHERE key = '8/ICMP' AND hour(ts) = 13 AND day < '2009-08-01'"
                            " AND day >= '2009-07-01'")
    assert h["profile"]["8/ICMP"][13] == n
    m = monthly(obs, "ports", ["445/TCP"])["rows"]
    assert [(r["month"], r["packets"]) for r in m] == [("2009-06", table()["445/TCP"][1]),
                                                       ("2009-07", table()["445/TCP"][0])]
    assert m[1]["per_ip_day"] == table()["445/TCP"][0] / JULY_DAYS


def test_shares(npa_store: Path) -> None:
    obs = open_observation(npa_store)
    p = parse_period("2009-07")
    doc = mix(obs, "ports", p, top=3)
    total = sum(a for a, _ in table().values())
    assert [r["key"] for r in doc["rows"]] == ["445/TCP", "135/TCP", "8/ICMP", OTHER]
    assert doc["rows"][0]["share"] == table()["445/TCP"][0] / total
    assert sum(r["share"] for r in doc["rows"]) == pytest.approx(1.0)
    assert sum(r["packets"] for r in doc["rows"]) == total == doc["packets"]
    # regions are wherever the shipped GeoIP data puts the random sources; check against SQL
    (cn,), = _sql(npa_store, "SELECT count(*) FROM packets WHERE country = 'CN' AND day >= '2009-07-01'")
    within = mix(obs, "ports", p, within="CN", top=100)
    assert within["packets"] == cn
    by = mix_by(obs, "regions", p, groups=2, top=2)
    assert [g["key"] for g in by["groups"]] == ["445/TCP", "135/TCP"]
    assert sum(r["packets"] for r in by["groups"][1]["rows"]) == table()["135/TCP"][0]


def test_drill(npa_store: Path) -> None:
    obs = open_observation(npa_store)
    d = drill(obs, "1521/TCP", parse_period("2009-07"), top=5)
    assert d["packets"] == table()["1521/TCP"][0] == sum(r["packets"] for r in d["per_day"]) == sum(d["hour_of_day"])
    (n_src,), = _sql(npa_store, "SELECT count(DISTINCT src4) FROM packets WHERE key = '1521/TCP'"
                                " AND day >= '2009-07-01'")
    assert d["sources"] == n_src
    counts = [s["packets"] for s in d["top_sources"]]
    assert counts == sorted(counts, reverse=True) and len(counts) == 5
    assert sum(r["packets"] for r in d["regions"]) == d["packets"]


def test_cli_series_shares_drill(npa_store: Path) -> None:
    def run(*args: str) -> Any:
        r = CliRunner().invoke(cli, [*args, "--store", str(npa_store), "--period", "2009-07", "--json"],
                               catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return json.loads(r.output)

    assert run("series", "ports", "--top", "2")["keys"] == ["445/TCP", "135/TCP"]
    assert run("shares", "ports", "--top", "1")["rows"][0]["key"] == "445/TCP"
    assert run("drill", "445/TCP")["packets"] == table()["445/TCP"][0]
    csv = CliRunner().invoke(cli, ["series", "ports", "--keys", "23/TCP", "--store", str(npa_store), "-p",
                                   "2009-07", "--csv"]).output.splitlines()
    assert csv[0] == "day,key,packets,addresses,per_ip_day,ma7" and len(csv) == 32


def test_cube_gives_the_same_answers(npa_store: Path) -> None:
    from teiten.analyze.rankings import ranking
    from teiten.periods import Period

    raw = open_observation(npa_store)
    july = parse_period("2009-07")
    cubed = raw.with_cube(Period("range", parse_period("2009-06").first, july.last), None)
    assert cubed.cube is not None and cubed.cube.covers(july, None) and not cubed.cube.covers(july, "domestic")
    for dim in ("ports", "regions"):
        assert ranking(cubed, dim, july).rows == ranking(raw, dim, july).rows
        assert mix_by(cubed, dim, july) == mix_by(raw, dim, july)
    assert daily(cubed, "ports", july, total=True) == daily(raw, "ports", july, total=True)
    assert mix(cubed, "ports", july, within="CN") == mix(raw, "ports", july, within="CN")


def test_breakdown_parts_add_up_to_the_key(npa_store: Path) -> None:
    from teiten.analyze.series import breakdown

    obs = open_observation(npa_store)
    july = parse_period("2009-07")
    b = breakdown(obs, "ports", july, "445/TCP", top=3)
    assert b["by"] == "regions" and len(b["series"]) == 4 and "other" in b["series"]
    per_day = {r["day"]: r["per_ip_day"] for r in daily(obs, "ports", july, ["445/TCP"])["rows"]}
    for i, d in enumerate(b["days"]):
        assert sum(v[i] for v in b["series"].values()) == pytest.approx(per_day[d])
    r = breakdown(obs, "regions", july, "US", top=len(table()))
    assert "other" not in r["series"] and set(r["series"]) <= set(table())


def test_key_codes_name_the_same_keys_as_the_text() -> None:
    """The integer key code that big aggregations group on gives back the port key's text,
    in the engine (key_text) and in Python (key_name, key_codes), for every kind of key."""
    from teiten.keys import key_code, key_codes, key_name, key_text, port_key

    t = ibis.memtable({"proto": [6, 17, 132, 1, 58, 47, 6, 1, 17, 0, 6],
                       "dport": [445, 53, 2905, None, None, None, None, None, 0, None, 65535],
                       "icmp_type": [None, None, None, 8, 128, None, None, None, None, None, None],
                       "frag": [0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0]},
                      schema={"proto": "uint8", "dport": "uint16", "icmp_type": "uint8", "frag": "uint8"})
    got = t.select(text=port_key(t), code=key_code(t)).mutate(back=key_text(ibis._.code)).to_pyarrow().to_pylist()
    texts = [r["text"] for r in got]
    assert texts == ["445/TCP", "53/UDP", "2905/SCTP", "8/ICMP", "128/ICMPv6", "47/OTHER", "6/OTHER", "1/OTHER",
                     "FRAG", "0/OTHER", "65535/TCP"]
    assert [r["back"] for r in got] == texts
    assert [key_name(r["code"]) for r in got] == texts and key_codes(texts) == [r["code"] for r in got]
    assert len({r["code"] for r in got}) == len(texts)


def test_each_packet_is_in_the_part_of_its_utc_day(npa_store: Path) -> None:
    """in_period skips the parts of other UTC days (part_day, from the directory): every
    packet's part is that of its UTC day, so a day's packets are all found there."""
    obs = open_observation(npa_store)
    t = obs.packets
    bad = t.filter(t.part_day != t.ts.cast("date")).count().to_pyarrow().as_py()
    assert t.count().to_pyarrow().as_py() > 0 and bad == 0
    for tz in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):  # periods that start and end within a UTC day
        p = parse_period("2009-07", tz)
        n = obs.in_period(p).count().to_pyarrow().as_py()
        want = _sql(npa_store, f"SELECT count(*) FROM packets_raw WHERE ts >= TIMESTAMPTZ '{p.start.isoformat()}'"
                               f" AND ts < TIMESTAMPTZ '{p.end.isoformat()}'")[0][0]
        assert n == want > 0, tz
