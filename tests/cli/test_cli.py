"""The teiten command line: help, top, sql, sensors, geo."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from teiten.cli.main import cli
from tests.store.synth import PORTS, syn_pcap


def _run(*args: str) -> click.testing.Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out += _all_commands(cmd, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


@pytest.mark.parametrize("path", _all_commands(cli), ids=lambda p: " ".join(p) or "teiten")
def test_help_everywhere(path: tuple[str, ...]) -> None:
    r = _run(*path, "--help")
    assert r.exit_code == 0 and "Usage:" in r.output
    assert len(r.output.splitlines()) >= 4


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    s = tmp / "store"
    assert _run("sensors", "add", "tokyo-1", "--addresses", "203.0.113.0/25", "--country", "JP", "--group",
                "domestic", "--store", str(s)).exit_code == 0
    assert _run("sensors", "add", "osaka-1", "-a", "203.0.113.128/26", "203.0.113.192/26", "--store", str(s)
                ).exit_code == 0
    syn_pcap(tmp / "a.pcap", 20_000, seed=21, start=1_700_006_400, seconds=86400 * 3)
    r = CliRunner().invoke(cli, ["ingest", str(tmp / "a.pcap"), "--store", str(s), "--json"])
    assert r.exit_code == 0, r.output
    return s


def test_top_ports_json(store: Path) -> None:
    r = _run("top", "ports", "--store", str(store), "--json", "--limit", "3", "--compare", "none")
    doc = json.loads(r.output)
    rows = doc["rows"]
    assert len(rows) == 3 and {"key", "packets", "label", "share", "rank", "per_ip_day"} <= set(rows[0])
    assert rows[0]["packets"] >= rows[1]["packets"] >= rows[2]["packets"]
    assert [x["rank"] for x in rows] == [1, 2, 3] and doc["previous"] is None
    # the catalog's 256 addresses on each of the 3 days the capture spans
    assert doc["period"]["address_days"] == 256 * doc["period"]["days"] == 256 * 3
    assert rows[0]["per_ip_day"] == rows[0]["packets"] / (256 * 3)
    assert all(r["key"].endswith("/TCP") and int(r["key"].split("/")[0]) in PORTS for r in rows)
    everything = json.loads(_run("top", "ports", "--store", str(store), "--json", "--all").output)["rows"]
    assert len(everything) == len(PORTS) and sum(x["packets"] for x in everything) == 20_000
    assert abs(sum(x["share"] for x in everything) - 1) < 1e-9


def test_top_window_and_regions(store: Path) -> None:
    day = json.loads(_run("sql", "--store", str(store), "--json",
                          "SELECT min(day) AS d FROM packets").output)["rows"][0]["d"]
    one = json.loads(_run("top", "ports", "--store", str(store), "--json", "--all", "--from", day, "--to", day
                          ).output)["rows"]
    n = json.loads(_run("sql", "--store", str(store), "--json",
                        f"SELECT count(*) AS n FROM packets WHERE day = DATE '{day}'").output)["rows"][0]["n"]
    assert 0 < sum(x["packets"] for x in one) == n < 20_000
    regions = json.loads(_run("top", "regions", "--store", str(store), "--json").output)["rows"]
    assert regions and {"key", "name_ja", "name_en", "packets"} <= set(regions[0])
    assert all(len(r["key"]) == 2 for r in regions)


def test_sensor_attribution_by_destination(store: Path) -> None:
    rows = json.loads(_run("sql", "--store", str(store), "--json",
                           "SELECT sensor, min(dst4 & 255) lo, max(dst4 & 255) hi, count(*) n FROM packets"
                           " GROUP BY 1 ORDER BY 1").output)["rows"]
    assert [r["sensor"] for r in rows] == ["osaka-1", "tokyo-1"]
    assert rows[0]["lo"] >= 128 and rows[1]["hi"] <= 127
    listed = json.loads(_run("sensors", "list", "--store", str(store), "--json").output)["rows"]
    assert listed[1]["name"] == "tokyo-1" and listed[1]["address_count"] == 128
    assert listed[1]["group"] == "domestic" and listed[0]["addresses"] == ["203.0.113.128/26", "203.0.113.192/26"]


def test_sql_views_and_errors(store: Path) -> None:
    r = _run("sql", "--store", str(store), "--csv", "SELECT src_ip, dst_ip, key FROM packets LIMIT 2")
    lines = r.output.splitlines()
    assert lines[0] == "src_ip,dst_ip,key" and lines[1].count(".") == 6
    bad = CliRunner().invoke(cli, ["sql", "--store", str(store), "SELECT nope FROM packets"])
    assert bad.exit_code == 1 and "SQL error" in bad.output
    files = json.loads(_run("sql", "--store", str(store), "--json", "SELECT status, packets FROM files").output)
    assert files["rows"] == [{"status": "ok", "packets": 20_000}]


def test_sensor_overlap_is_refused(store: Path) -> None:
    r = CliRunner().invoke(cli, ["sensors", "add", "x", "-a", "203.0.113.5/32", "--store", str(store)])
    assert r.exit_code == 1 and "overlaps" in r.output


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["top", "ports", "--store", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no store" in r.output


def test_geo_info_names_sources_and_dates() -> None:
    srcs = json.loads(_run("geo", "info", "--json", "--store", "/nonexistent-store").output)
    assert srcs and all(s["name"] and s["date"][:2] == "20" for s in srcs)


def test_tables_to_a_pipe_use_the_full_line(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout is not a terminal here: rows are not wrapped at 80 columns; --csv is unchanged."""
    monkeypatch.delenv("COLUMNS", raising=False)
    r = _run("top", "ports", "--store", str(store), "--limit", "3", "--compare", "none")
    lines = r.output.splitlines()
    header = next(ln for ln in lines if "rank" in ln and "per day/addr" in ln)
    assert all(c in header for c in ("rank", "prev", "key", "per day/addr", "change", "delta", "rise", "fall"))
    assert max(len(ln) for ln in lines) > 80
    # every table row of a port stays on one line: its key and its rank together
    rows = [ln for ln in lines if "/TCP" in ln]
    assert len(rows) >= 3 and all(ln.lstrip("│ ").split()[0].isdigit() for ln in rows)
    monkeypatch.setenv("COLUMNS", "60")
    narrow = _run("top", "ports", "--store", str(store), "--limit", "3", "--compare", "none")
    assert max(len(ln) for ln in narrow.output.splitlines()) <= 60
    csv_out = _run("top", "ports", "--store", str(store), "--limit", "3", "--compare", "none", "--csv")
    assert "│" not in csv_out.output and csv_out.output.splitlines()[0].count(",") >= 3
