"""The dashboard's JSON API (teiten/web/views/observe_api.py, teiten/web/observe_data.py): over
a small synthetic store of two quarters (2026Q2, 2026Q3), its numbers are the CLI's, its CSV
the JSON's rows, its keys and filters checked, its answers cached per store version."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from teiten.incidents.db import IncidentDB
from teiten.incidents.users import add_user, new_token
from teiten.web.app import create_app
from tests.web.conftest import PASSWORD, SECRET, observed_store

PERIOD = "2026Q3"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return observed_store(tmp_path_factory.mktemp("observe-api"))


def _users(db: IncidentDB) -> dict[str, str]:
    with db.session("admin") as s:
        tokens = {"vic": new_token(s, add_user(s, "vic", "viewer", PASSWORD), scope="read")}
        tokens["intake"] = new_token(s, add_user(s, "feeder", "handler", PASSWORD), scope="intake")
    return tokens


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def get(self, path: str, who: str | None = "vic", **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.get(path, params={"period": PERIOD, **params}, headers=headers)

    def data(self, path: str, **params: Any) -> Any:
        r = self.get(path, **params)
        assert r.status_code == 200, r.text
        return r.json()

    @property
    def observing(self) -> Any:
        return self.client.app.state.web.observing  # type: ignore[attr-defined]


def _api(db: IncidentDB, store: Path) -> Iterator[Api]:
    tokens = _users(db)
    with TestClient(create_app(db, secret=SECRET, store=store, secure_cookies=False)) as c:
        yield Api(c, tokens)


@pytest.fixture
def api(db: IncidentDB, store: Path) -> Iterator[Api]:
    yield from _api(db, store)


def cli(*args: str) -> Any:
    from teiten.cli.main import cli as main

    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_summary_is_teiten_top_and_series(api: Api, store: Path) -> None:
    t0 = time.perf_counter()
    doc = api.data("/api/v1/summary")
    took = time.perf_counter() - t0
    d = doc["data"]
    for dim in ("ports", "regions"):
        want = cli("top", dim, "--store", str(store), "--period", PERIOD, "--json", "--limit", "10")
        assert d[dim] == want["rows"], dim
        assert d["total"] == want["total"]
        assert 0 < len([r for r in d[dim] if r["rank"] is not None and r["rank"] <= 10]) <= 10
    assert d["total"]["prev_packets"] and d["previous"]["label"] == "2026Q2"
    assert doc["address_days"] == d["total"]["address_days"] > 0
    assert "per day per sensor address" in doc["units"]
    assert doc["query"]["period_label"] == PERIOD and doc["query"]["compared"] == "2026Q2"
    top5 = [r["key"] for r in d["ports"][:5]]
    series = cli("series", "ports", "--store", str(store), "--period", PERIOD, "--json", "--keys", ",".join(top5))
    assert d["daily_top_ports"]["rows"] == series["rows"]
    print(f"summary: {took:.2f} s")


def _plain(cell: str) -> str:
    """A CSV cell without the ``'`` that keeps a spreadsheet from running it."""
    return cell[1:] if cell[:2] in ("'=", "'+", "'-", "'@") else cell


@pytest.mark.parametrize("dim", ["ports", "regions", "asns"])
def test_rankings_csv_rows_are_the_json_rows(api: Api, store: Path, dim: str) -> None:
    doc = api.data(f"/api/v1/rankings/{dim}")
    rows = doc["data"]["rows"]
    assert rows and sum(r["packets"] for r in rows) == doc["data"]["total"]["packets"]
    if dim != "asns":
        assert doc["data"] == cli("top", dim, "--store", str(store), "--period", PERIOD, "--json")
    r = api.get(f"/api/v1/rankings/{dim}.csv")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="rankings-{dim}-{PERIOD}.csv"'
    got = list(csv.DictReader(io.StringIO(r.text)))
    assert [_plain(x["key"]) for x in got] == [x["key"] for x in rows]  # "--" is written '-- (formula-safe)
    assert [int(x["packets"]) for x in got] == [x["packets"] for x in rows]
    assert [x["per_ip_day"] for x in got] == [str(x["per_ip_day"]) for x in rows]
    assert [x["rank"] for x in got] == ["" if x["rank"] is None else str(x["rank"]) for x in rows]
    limited = api.data(f"/api/v1/rankings/{dim}", limit="3")["data"]["rows"]
    assert [x["rank"] for x in limited[:3]] == [1, 2, 3]
    assert all((x["rank"] is not None and x["rank"] <= 3) or x["rise_rank"] or x["fall_rank"] for x in limited)


def test_asn_ranking_counts_sources(api: Api) -> None:
    rows = api.data("/api/v1/rankings/asns")["data"]["rows"]
    known = [r for r in rows if r["key"] != "--"]
    assert known and all(r["key"] == f"AS{r['asn']}" for r in known)
    assert all(r["sources"] >= 1 for r in rows if r["packets"])
    assert all(r["prev_sources"] is not None for r in rows)
    ranked = [r["per_ip_day"] for r in rows if r["rank"] is not None]
    assert ranked == sorted(ranked, reverse=True)


def test_series_daily_and_hourly_are_teiten_series_with_the_quiet_hours(api: Api, store: Path) -> None:
    doc = api.data("/api/v1/series/ports", keys="445/TCP,23-tcp")
    want = cli("series", "ports", "--store", str(store), "--period", PERIOD, "--json", "--keys", "445/TCP,23/TCP")
    assert doc["data"]["rows"] == want["rows"] and doc["data"]["keys"] == ["445/TCP", "23/TCP"]
    hourly = api.data("/api/v1/series/regions", top="3", step="hourly")["data"]
    want = cli("series", "regions", "--store", str(store), "--period", PERIOD, "--json", "--top", "3", "--hourly")
    assert hourly["rows"] == want["rows"]
    gaps = doc["data"]["gaps"]
    assert gaps == hourly["gaps"] and gaps == sorted(gaps)
    assert all(g.endswith(":00:00Z") and "2026-07-01" <= g[:10] <= "2026-09-30" for g in gaps)
    # the same hours from the packets themselves (no roll-ups)
    from teiten.periods import parse_period
    from teiten.web.outages import hour_gaps

    obs, _ = api.observing.observation()
    assert hour_gaps(replace(obs, rollups=None), parse_period(PERIOD), None) == gaps
    text = api.get("/api/v1/series/ports.csv", keys="445/TCP").text
    assert text.splitlines()[0] == "day,key,packets,addresses,per_ip_day,ma7"


def test_breakdown_and_heatmap_of_the_top_port(api: Api, store: Path) -> None:
    top = api.data("/api/v1/rankings/ports")["data"]["rows"][0]
    slug = top["key"].replace("/", "-").lower()
    d = api.data(f"/api/v1/breakdown/ports/{slug.upper()}")["data"]
    drill = cli("drill", top["key"], "--store", str(store), "--period", PERIOD, "--json")
    assert d["key"] == top["key"] and d["packets"] == top["packets"] == drill["packets"]
    assert d["source_ports"] == drill["source_ports"]
    assert d["ttl"]["packets"] == d["fingerprints"]["packets"] == top["packets"]
    ttl = d["ttl"]
    assert sum(r["packets"] for r in ttl["rows"]) == sum(r["packets"] for r in ttl["initial"]) == top["packets"]
    assert all(0 <= d["fingerprints"][f]["share"] <= 1 for f in ("mirai", "zmap", "masscan"))
    assert len(d["series"]) <= 11 and len(next(iter(d["series"].values()))) == len(d["days"]) == 92
    h = api.data(f"/api/v1/heatmap/ports/{slug}", tz="Asia/Tokyo")
    hd = h["data"]
    assert hd["hours"] == list(range(24)) and hd["days"][0] == "2026-07-01" and len(hd["days"]) == 92
    jst = cli("drill", top["key"], "--store", str(store), "--period", PERIOD, "--json", "--tz", "Asia/Tokyo")
    assert sum(c[2] for c in hd["cells"]) == jst["packets"]
    assert [sum(c[2] for c in hd["cells"] if c[1] == hour) for hour in range(24)] == jst["hour_of_day"]
    assert all(0 <= c[0] < 92 and 0 <= c[1] < 24 for c in hd["cells"]) and isinstance(hd["gaps"], list)
    assert h["query"]["tz"] == "Asia/Tokyo"
    region = api.data("/api/v1/rankings/regions")["data"]["rows"][0]["key"]
    rd = api.data(f"/api/v1/breakdown/regions/{region.lower()}")["data"]
    assert rd["key"] == region and rd["by"] == "ports"
    csv_rows = list(csv.DictReader(io.StringIO(api.get(f"/api/v1/breakdown/regions/{region}.csv").text)))
    assert {r["part"] for r in csv_rows} == set(rd["series"])
    assert api.get("/api/v1/heatmap/regions/unknown").status_code in (200, 404)


def test_breakdown_mixes_and_ases_are_those_of_the_key_s_packets(api: Api, store: Path) -> None:
    from teiten.engine.duckdb import connect_sql

    top = api.data("/api/v1/rankings/ports")["data"]["rows"][0]
    d = api.data(f"/api/v1/breakdown/ports/{top['key'].replace('/', '-')}")["data"]
    con = connect_sql(store)
    where = f"WHERE key = '{top['key']}' AND day BETWEEN '2026-07-01' AND '2026-09-30' AND sensor IS NOT NULL"
    ttls = dict(con.execute(f"SELECT ttl, count(*) FROM packets {where} GROUP BY ttl").fetchall())
    assert len(ttls) > 2  # a mix, not one value
    ranked = sorted(ttls.items(), key=lambda kv: (-kv[1], str(kv[0])))
    assert [(int(r["key"]), r["packets"]) for r in d["ttl"]["rows"] if r["key"] != "other"] == ranked[:10]
    assert sum(r["packets"] for r in d["ttl"]["rows"]) == top["packets"]
    (mirai, zmap, masscan), = con.execute(
        f"SELECT sum(mirai::INT), sum(zmap::INT), sum(masscan::INT) FROM packets {where}").fetchall()
    assert [d["fingerprints"][f]["packets"] for f in ("mirai", "zmap", "masscan")] == [mirai, zmap, masscan]
    ases = con.execute(f"SELECT coalesce(asn, 0) AS a, count(*), count(DISTINCT src4) + count(DISTINCT src6)"
                       f" FROM packets {where} GROUP BY a ORDER BY 2 DESC, 1").fetchall()
    assert len(ases) > 2 and any(a for a, _, _ in ases)  # known ASes
    assert [(r["asn"] or 0, r["packets"], r["sources"]) for r in d["asns"] if r["key"] != "other"] == [
        tuple(x) for x in ases[:10]]
    assert all(r["key"] == (f"AS{r['asn']}" if r["asn"] else "--") for r in d["asns"] if r["key"] != "other")
    assert sum(r["packets"] for r in d["asns"]) == top["packets"]
    assert sum(r["sources"] for r in d["asns"]) == d["sources"]
    assert any(r["name"] for r in d["asns"][:10])  # named from the geo data


def test_map_and_compare(api: Api, store: Path) -> None:
    m = api.data("/api/v1/map")["data"]
    regions = cli("top", "regions", "--store", str(store), "--period", PERIOD, "--json")
    want = {r["key"]: r for r in regions["rows"] if r["key"] != "--" and r["packets"]}
    assert {c["key"]: c["per_ip_day"] for c in m["countries"]} == {k: r["per_ip_day"] for k, r in want.items()}
    assert all(c["name_en"] and c["name_ja"] and 0 < c["share"] <= 1 for c in m["countries"])
    c = api.data("/api/v1/compare", a="2026Q2", b="2026Q3")
    assert c["query"]["period_label"] == "2026Q3" and c["query"]["compared"] == "2026Q2"
    for side, p in (("a", "2026Q2"), ("b", "2026Q3")):
        top = cli("top", "ports", "--store", str(store), "--period", p, "--json", "--compare", "none")
        assert c["data"][side]["total"]["packets"] == top["total"]["packets"]
        assert [r["key"] for r in c["data"][side]["ports"]] == [r["key"] for r in top["rows"][:10]]
    assert api.get("/api/v1/compare.csv", a="2026Q2", b="2026Q3").text.startswith("side,period,dimension,key")


def test_who_may_read(api: Api) -> None:
    r = api.get("/api/v1/summary", who=None)
    assert r.status_code == 401 and r.json() == {"error": "Authorization: Bearer <token> required"}
    assert api.get("/api/v1/rankings/ports.csv", who=None).status_code == 401
    assert api.get("/api/v1/summary", who=None, period="nonsense").status_code == 401  # before the filters
    assert api.get("/api/v1/summary", who="intake").status_code == 403
    c = api.client
    page = c.get("/login").text
    token = page.split('name="token" value="', 1)[1].split('"', 1)[0]
    r = c.post("/login", data={"name": "vic", "password": PASSWORD, "token": token, "next": "/observe"},
               follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/api/v1/map", params={"period": PERIOD}).status_code == 200  # the session's cookie


BAD = ["/api/v1/breakdown/ports/..%2F..%2Fetc", "/api/v1/heatmap/ports/..%2F..%2Fetc%2Fpasswd",
       "/api/v1/breakdown/ports/%00", "/api/v1/breakdown/regions/%00", "/api/v1/heatmap/regions/J%00",
       "/api/v1/breakdown/ports/" + "4" * 10_000 + "-tcp", "/api/v1/heatmap/regions/" + "J" * 10_000,
       "/api/v1/breakdown/ports/445", "/api/v1/breakdown/ports/70000-tcp", "/api/v1/breakdown/ports/300-icmp",
       "/api/v1/breakdown/regions/JPN", "/api/v1/breakdown/regions/1a", "/api/v1/breakdown/asns/AS1",
       "/api/v1/breakdown/nonsense/445-tcp", "/api/v1/rankings/nonsense", "/api/v1/rankings/ports/..%2F..",
       "/api/v1/series/asns", "/api/v1/series/..%2F..%2Fetc", "/api/v1/heatmap/ports/445-tcp%00.csv"]


@pytest.mark.parametrize("path", BAD)
def test_bad_keys_are_400(api: Api, path: str) -> None:
    r = api.get(path)
    assert r.status_code == 400, (path[:80], r.status_code, r.text[:200])
    assert set(r.json()) == {"error"}


@pytest.mark.parametrize("params", [
    {"period": "2026Q9"}, {"period": "../../etc"}, {"period": "2026Q3\x00"}, {"tz": "Mars/Olympus"},
    {"ip": "5"}, {"kind": "honeypot"}, {"compare": "decade"}, {"group": "x" * 10_000}, {"group": "nosuchgroup"},
    {"limit": "0"}, {"limit": "-1"}, {"limit": "1e9"}, {"from": "2026-07-01", "period": PERIOD},
])
def test_bad_filters_are_400(api: Api, params: dict[str, str]) -> None:
    r = api.get("/api/v1/rankings/ports", **params)
    assert r.status_code == 400, (params, r.status_code, r.text[:200])
    assert "error" in r.json()


@pytest.mark.parametrize("params", [
    {"keys": "445/TCP,../../etc"}, {"keys": "x" * 10_000}, {"keys": ",".join(f"{p}/TCP" for p in range(30))},
    {"keys": "445/TCP\x00"}, {"step": "weekly"}, {"top": "0"}, {"top": "51"}, {"top": "5" * 10_000},
])
def test_bad_series_parameters_are_400(api: Api, params: dict[str, str]) -> None:
    r = api.get("/api/v1/series/ports", **params)
    assert r.status_code == 400, (params, r.status_code, r.text[:200])


def test_compare_and_missing_keys(api: Api) -> None:
    assert api.get("/api/v1/compare", a="2026Q5").status_code == 400
    assert api.get("/api/v1/compare", b="../x").status_code == 400
    r = api.get("/api/v1/breakdown/ports/65000-sctp")
    assert r.status_code == 404 and "no packets of 65000/SCTP" in r.json()["error"]
    assert api.get("/api/v1/heatmap/regions/AQ").status_code == 404


def test_the_second_request_is_served_from_the_cache(api: Api) -> None:
    o = api.observing
    t0 = time.perf_counter()
    first = api.data("/api/v1/breakdown/ports/445-tcp")
    t1 = time.perf_counter()
    hits = o.hits
    again = api.data("/api/v1/breakdown/ports/445-tcp")
    t2 = time.perf_counter()
    assert again == first and o.hits == hits + 1
    assert api.get("/api/v1/breakdown/ports/445-tcp.csv").status_code == 200 and o.hits == hits + 2  # one answer
    api.data("/api/v1/breakdown/ports/445-tcp", tz="Asia/Tokyo")  # other filters: computed
    assert o.hits == hits + 2
    print(f"breakdown: first {t1 - t0:.2f} s, cached {t2 - t1:.3f} s")


def test_encoded_answers_are_kept_within_their_bound(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import teiten.web.observing as observing

    o = api.observing
    first = api.get("/api/v1/rankings/ports")
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert any(k[1:3] == ("json", "rankings") for k in o._encoded)  # kept encoded
    again = api.get("/api/v1/rankings/ports")
    assert again.content == first.content and again.json()["data"]["rows"]
    assert api.get("/api/v1/rankings/ports", lang="ja").json()["query"]["lang"] == "ja"  # another body
    size = len(first.content)
    monkeypatch.setattr(observing, "ENCODED_BYTES", size + 10)
    o._encoded.clear()
    api.get("/api/v1/rankings/ports")
    api.get("/api/v1/rankings/regions")
    assert sum(len(b) for b in o._encoded.values()) <= size + 10  # the least recently used went


def test_the_answers_of_a_period_share_one_cube(api: Api) -> None:
    from teiten.analyze.rankings import ranking
    from teiten.periods import parse_period
    from teiten.web.observing import cube_window

    o = api.observing
    o._cubes.clear()
    summary = api.data("/api/v1/summary")
    ports = api.data("/api/v1/rankings/ports")
    api.data("/api/v1/map")
    api.data("/api/v1/series/ports")
    assert len(o._cubes) == 1  # one pass over the store for all four
    (cubed,) = o._cubes.values()
    assert cubed.cube is not None and cubed.cube.window == cube_window(parse_period(PERIOD), "previous")
    assert cubed.cube.window.first.isoformat() == "2026-03-26"  # 2026Q2 and the 6 days its 7-day means need
    # the cube's numbers are the packets' own: the ranking without a cube is the same
    obs, _ = o.observation()
    plain = ranking(obs, "ports", parse_period(PERIOD)).to_json()
    pairs = [(r["key"], r["packets"]) for r in ports["data"]["rows"]]
    assert pairs == [(r["key"], r["packets"]) for r in plain["rows"]]
    assert summary["data"]["total"]["packets"] == plain["total"]["packets"]
    api.data("/api/v1/rankings/ports", period="2026-08")  # another period: another cube
    api.data("/api/v1/rankings/ports", compare="year")  # compared with a year before: a longer window
    assert len(o._cubes) == 3


def test_a_commit_to_the_store_changes_the_answer(db: IncidentDB, store: Path, tmp_path: Path) -> None:
    from teiten.ingest.pipeline import ingest_paths
    from teiten.store.open import open_store
    from tests.sensors.frames import tcp4, write_pcap

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    for api in _api(db, copy):
        before = api.data("/api/v1/rankings/ports")
        assert api.data("/api/v1/rankings/ports") == before
        with open_store(copy, lock=False) as con:
            from teiten.store.catalog import list_sensors

            net = next(n for s in list_sensors(con) for n in s.networks if isinstance(n, ipaddress.IPv4Network))
        t0 = datetime(2026, 8, 10, 3, tzinfo=UTC).timestamp()
        frames = [(t0 + i, tcp4("198.51.100.7", str(net.network_address), 40000 + i, 47808, i, 0, 0x02))
                  for i in range(25)]
        done = list(ingest_paths(copy, [write_pcap(tmp_path / "more.pcap", frames)]))
        assert [r.status for r in done] == ["ok"]
        after = api.data("/api/v1/rankings/ports")
        assert after["data"]["total"]["packets"] == before["data"]["total"]["packets"] + 25
        assert next(r for r in after["data"]["rows"] if r["key"] == "47808/TCP")["packets"] >= 25
        assert after["data_as_of"] is not None


def test_every_chart_of_the_pages_links_an_answer_of_this_api(api: Api) -> None:
    import html
    import re

    c = api.client
    token = c.get("/login").text.split('name="token" value="', 1)[1].split('"', 1)[0]
    assert c.post("/login", data={"name": "vic", "password": PASSWORD, "token": token, "next": "/observe"},
                  follow_redirects=False).status_code == 303
    top = api.data("/api/v1/rankings/ports")["data"]["rows"][0]["key"].replace("/", "-").lower()
    links: set[str] = set()
    for page in ("/observe", f"/observe/ports/{top}", "/observe/regions/JP", "/observe/map"):
        r = c.get(page, params={"period": PERIOD})
        assert r.status_code == 200, page
        links |= {html.unescape(m) for m in re.findall(r'href="(/api/v1/[^"]+)"', r.text)}
    assert any("/heatmap/" in x for x in links) and any("/breakdown/" in x for x in links)
    for link in sorted(links):
        got = c.get(link)
        assert got.status_code == 200, (link, got.text[:200])


def test_a_server_without_a_store_answers_404(db: IncidentDB) -> None:
    tokens = _users(db)
    with TestClient(create_app(db, secret=SECRET)) as c:
        r = c.get("/api/v1/summary", headers={"Authorization": f"Bearer {tokens['vic']}"})
        assert r.status_code == 404 and "no store" in r.json()["error"]
