"""`teiten top ports --period 2009-07` reproduces NPA Table 3-1 from captures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.report.tables import format_change, format_delta, format_rank, format_value, table_rows


def _top(store: Path, *args: str) -> dict[str, Any]:
    r = CliRunner().invoke(cli, ["top", "ports", "--store", str(store), "--json", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_table_3_1_figures(npa_store: Path) -> None:
    doc = _top(npa_store, "--period", "2009-07", "--compare", "previous")
    assert doc["period"]["label"] == "2009-07" and doc["previous"]["label"] == "2009-06"
    assert doc["period"]["address_days"] == 3100 and doc["previous"]["address_days"] == 3000
    rows = {r["key"]: r for r in doc["rows"]}

    def shown(key: str) -> tuple[str, str, str, str, str]:
        r = rows[key]
        return (format_rank(r["rank"], r["per_ip_day"]), format_rank(r["prev_rank"], r["prev_per_ip_day"]),
                format_value(r["per_ip_day"]), format_change(r["change_pct"]), format_delta(r["delta"]))

    # the seed's rows: rank, previous rank, count, ratio, (delta)
    assert shown("445/TCP") == ("1位", "1位", "131.08", "－4.2%", "（－5.68 件）")
    assert shown("135/TCP") == ("2位", "2位", "57.28", "＋1.9%", "（＋1.07 件）")
    assert shown("8/ICMP") == ("3位", "3位", "30.69", "＋11.9%", "（＋3.27 件）")
    assert shown("1433/TCP") == ("4位", "4位", "26.84", "＋11.9%", "（＋2.85 件）")
    assert shown("4899/TCP") == ("5位", "7位", "10.48", "＋21.6%", "（＋1.86 件）")
    assert shown("2967/TCP") == ("6位", "5位", "10.09", "－33.6%", "（－5.11 件）")
    assert shown("1521/TCP") == ("13位", "74位", "2.03", "－", "（＋1.96 件）")
    assert shown("23/TCP") == ("17位", "8位", "1.29", "－76.8%", "（－4.26 件）")
    assert shown("1026/UDP") == ("－", "13位", "ごく僅か", "－99.9%", "（－2.80 件）")
    assert shown("1027/UDP") == ("－", "17位", "検知なし", "－", "（－2.08 件）")
    assert rows["1521/TCP"]["change_pct"] is None and rows["1521/TCP"]["prev_per_ip_day"] < 0.1
    assert rows["1027/UDP"]["rank"] is None and rows["1027/UDP"]["packets"] == 0
    rises = sorted((r for r in rows.values() if r["rise_rank"]), key=lambda r: r["rise_rank"])
    falls = sorted((r for r in rows.values() if r["fall_rank"]), key=lambda r: r["fall_rank"])
    assert [r["key"] for r in rises] == ["8/ICMP", "1433/TCP", "1521/TCP", "4899/TCP", "135/TCP"]
    assert [r["key"] for r in falls] == ["445/TCP", "2967/TCP", "23/TCP", "1026/UDP", "1027/UDP"]
    # the opening summary: 360.1 per day per address, −58.8 (−14.0 %)
    t = doc["total"]
    assert (format_value(t["per_ip_day"], digits=1), format_delta(t["delta"], digits=1),
            format_change(t["change_pct"])) == ("360.1", "（－58.8 件）", "－14.0%")
    # JSON numbers are not rounded
    assert rows["1026/UDP"]["per_ip_day"] == 10 / 3100


def test_table_3_1_layout(npa_store: Path) -> None:
    doc = _top(npa_store, "--period", "2009-07", "--all")
    laid = table_rows(doc["rows"], top=5)
    keys = [r["key"] if r else "…" for r in laid]
    assert keys == ["445/TCP", "135/TCP", "8/ICMP", "1433/TCP", "4899/TCP", "2967/TCP", "…", "1521/TCP", "…",
                    "23/TCP", "…", "1026/UDP", "…", "1027/UDP"]


def test_every_key_of_either_period_is_a_row(npa_store: Path) -> None:
    from tests.analyze.npa_2009 import table

    doc = _top(npa_store, "--period", "2009-07")
    assert {r["key"] for r in doc["rows"]} == set(table())
    assert sum(r["packets"] for r in doc["rows"]) == doc["period"]["packets"] == sum(a for a, _ in table().values())


def test_limit_keeps_rise_and_fall_rows(npa_store: Path) -> None:
    doc = _top(npa_store, "--period", "2009-07", "--limit", "3")
    assert [r["key"] for r in doc["rows"]] == ["445/TCP", "135/TCP", "8/ICMP", "1433/TCP", "4899/TCP",
                                               "2967/TCP", "1521/TCP", "23/TCP", "1026/UDP", "1027/UDP"]


def test_without_catalog_distinct_destinations_are_the_denominator(tmp_path: Path) -> None:
    # the same captures, no sensor catalog: every one of the 100 addresses is hit every day
    from tests.analyze.npa_2009 import write_captures

    store = tmp_path / "bare"
    files = write_captures(tmp_path / "c")
    assert CliRunner().invoke(cli, ["ingest", *map(str, files), "--store", str(store), "--quiet"]).exit_code == 0
    doc = _top(store, "--period", "2009-07")
    assert doc["period"]["address_days"] == 3100 and doc["previous"]["address_days"] == 3000
    assert format_value(doc["rows"][0]["per_ip_day"]) == "131.08"
