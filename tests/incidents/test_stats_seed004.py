"""Seed 004's tables 1-4 from a data set built for them (``teiten.synth.incident_reports``),
imported through ``teiten incidents import`` and counted by ``teiten incidents stats``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.synth.incident_reports import CATEGORY_ORDER, SCAN_PORTS_Q4, SEED004

from .conftest import Q4, run_cli

_run = run_cli


@pytest.fixture
def seeded(seed004_db: str) -> str:
    """This test's own copy of the seed-004 database (imported once per session: conftest)."""
    return seed004_db


def _stats(url: str, tz: str = "Asia/Tokyo", fmt: str = "--json") -> Any:
    r = _run("incidents", "stats", "--period", "2017Q4", "--tz", tz, "--db", url, fmt)
    assert r.exit_code == 0, r.output
    return json.loads(r.output) if fmt == "--json" else r.output


def test_table_1_reports_incidents_coordinations(seeded: str) -> None:
    st = _stats(seeded)
    assert st["months"] == Q4
    for name in ("reports", "incidents", "coordinations"):
        assert st[name]["months"] == {m: SEED004[name][m] for m in Q4}, name
        assert st[name]["previous_total"] == SEED004[name]["previous_total"], name
    assert [st[n]["total"] for n in ("reports", "incidents", "coordinations")] == [4530, 4735, 1901]
    # "前四半期と比較して、報告件数は2%減少し、調整件数は15%減少しました。また、前年同期と比較すると、
    # 報告件数で12%増加し、調整件数は34%減少しました。"
    assert round(st["reports"]["change_pct_previous"]) == -2
    assert round(st["coordinations"]["change_pct_previous"]) == -15
    assert round(st["reports"]["change_pct_year"]) == 12
    assert round(st["coordinations"]["change_pct_year"]) == -34


def test_table_2_categories_and_shares(seeded: str) -> None:
    st = _stats(seeded)
    assert list(st["categories"]) == list(CATEGORY_ORDER)
    for c, (*months, prev) in SEED004["categories"].items():
        got = st["categories"][c]
        assert got["months"] == dict(zip(Q4, months, strict=True)), c
        assert (got["total"], got["previous_total"]) == (sum(months), prev), c
    # "スキャン…が 41.8%、フィッシングサイト…が 18.0%を占めています"
    assert st["categories"]["scan"]["share_pct"] == 41.8
    assert st["categories"]["phishing"]["share_pct"] == 18.0
    # "前四半期の 1,011 件から 16%減少しました。また、前年度同期（521 件）との比較では、64%の増加"
    ph = st["categories"]["phishing"]
    assert (round(ph["change_pct_previous"]), ph["year_ago_total"], round(ph["change_pct_year"])) == (-16, 521, 64)
    assert sum(c["total"] for c in st["categories"].values()) == st["incidents"]["total"]


def test_table_3_phishing_brands_industries_and_coordination(seeded: str) -> None:
    ph = _stats(seeded)["phishing"]
    for origin, months in SEED004["brand_origin"].items():
        got = ph["brand_origin"][origin]
        assert got["months"] == dict(zip(Q4, months, strict=True)), origin
        assert got["previous_total"] == SEED004["brand_origin_previous"][origin]
    assert [round(ph["brand_origin"][o]["share_pct"]) for o in ("domestic", "foreign", "unknown")] == [14, 70, 16]
    # "前四半期の 173 件から 32%減少…前四半期の 686 件から 13%減少"
    assert round(ph["brand_origin"]["domestic"]["change_pct_previous"]) == -32
    assert round(ph["brand_origin"]["foreign"]["change_pct_previous"]) == -13
    # figure 9: "E コマース…55.7%、金融機関…18.0%、通信事業者…8.8%"
    assert [ph["industries"][k] for k in ("ecommerce", "finance", "telecom")] == [55.7, 18.0, 8.8]
    # "調整先の割合は、国内が 25%、国外が 75%であり、前四半期（国内 24%、国外 76%）"
    co = ph["coordination"]
    assert (round(co["domestic_pct"]), round(co["foreign_pct"])) == (25, 75)
    assert (round(co["previous"]["domestic_pct"]), round(co["previous"]["foreign_pct"])) == (24, 76)


def test_table_4_scan_ports(seeded: str) -> None:
    rows = _stats(seeded)["scan_ports"]
    by_port = {r["port"]: r for r in rows}
    assert [r["port"] for r in rows[-2:]] == ["other", "total"]
    assert len(rows) == 22 and set(by_port) == set(SCAN_PORTS_Q4) | {"total"}
    for port, months in SCAN_PORTS_Q4.items():
        assert by_port[port]["months"] == dict(zip(Q4, months, strict=True)), port
    assert by_port["total"]["months"] == {"2017-10": 1229, "2017-11": 967, "2017-12": 1204}
    assert by_port["total"]["total"] == 3400
    totals = [r["total"] for r in rows[:-2]]
    assert totals == sorted(totals, reverse=True) and rows[0]["port"] == "22/tcp"


def test_trends_and_status(seeded: str) -> None:
    st = _stats(seeded)
    tr = st["trend"]
    assert tr["months"][0] == "2017-01" and tr["months"][-1] == "2017-12" and len(tr["months"]) == 12
    assert [tr["reports"][m] for m in Q4] == [SEED004["reports"][m] for m in Q4]
    assert all(tr["reports"][m] == 0 for m in tr["months"][:6])  # not in this data set
    assert sum(tr["categories"]["scan"][m] for m in Q4) == 1979
    assert sum(st["coordination_status"].values()) == 1901


def test_months_follow_the_time_zone(seeded: str) -> None:
    """Each month's first report is at 00:30 JST, the month before in UTC."""
    tokyo, utc = _stats(seeded), _stats(seeded, "UTC")
    assert tokyo["reports"]["months"] != utc["reports"]["months"]
    assert utc["reports"]["months"]["2017-10"] != 1460


def test_csv_holds_the_same_tables(seeded: str) -> None:
    rows = list(csv.DictReader(io.StringIO(_stats(seeded, fmt="--csv"))))
    got = {(r["table"], r["row"]): r for r in rows}
    assert got["counts", "reports"]["2017-10"] == "1460" and got["counts", "reports"]["previous_total"] == "4600"
    assert got["categories", "scan"]["total"] == "1979"
    assert got["scan_ports", "other"]["2017-12"] == "581"
    assert got["brand_origin", "unknown"]["total"] == "136"


def test_import_reports_bad_lines_and_exits_1(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    good = {"id": "a", "received_at": "2017-10-01T00:00:00Z", "channel": "web", "incidents": [{"category": "scan"}]}
    f.write_text(json.dumps(good) + "\n{oops\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["incidents", "import", str(f), "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"])
    assert r.exit_code == 1
    assert f"{f}:2: not JSON" in r.stderr
    assert json.loads(r.stdout)["imported"] == 1


def _report(url: str, out: Path, lang: str) -> str:
    r = _run("incidents", "report", "--period", "2017Q4", "--tz", "Asia/Tokyo", "--db", url, "--lang", lang,
             "--out", str(out))
    assert r.exit_code == 0, r.output
    if out.suffix == ".pdf":
        import subprocess

        return subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True,
                              text=True).stdout
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8")))


def test_report_text_has_seed_004s_numbers(seeded: str, tmp_path: Path) -> None:
    ja = " ".join(_report(seeded, tmp_path / "r.html", "ja").split())
    for sentence in ("本四半期に寄せられた報告件数は、4,530件でした。",
                     "前四半期と比較して、報告件数は2%減少し、調整件数は15%減少しました。",
                     "前年同期と比較すると、報告件数で12%増加し、調整件数は34%減少しました。",
                     "スキャンが 41.8%、フィッシングサイトが 18.0%を占めています。",
                     "フィッシングサイトの件数は 852 件で、前四半期の 1,011 件から 16%減少しました。",
                     "前年度同期（521 件）との比較では、64%の増加となりました。",
                     "前四半期の 173 件から 32%減少しました。",
                     "E コマースのサイトを装ったものが 55.7%、金融機関のサイトを装ったものが 18.0%",
                     "国内が 25%、国外が 75%であり、前四半期（国内 24%、国外 76%）に比べ、"
                     "国内への調整の割合が増加しています。",
                     "Web サイト改ざんの件数は、276 件でした。前四半期の 254 件から 9%増加しています。",
                     "スキャンの件数は、1,979 件でした。前四半期の 2,554 件から 23%減少しています。",
                     "SSH (22/TCP)、SMTP (25/TCP)、HTTP (80/TCP)",
                     "前四半期の 867 件から 72%増加しています。"):
        assert sentence in ja, sentence
    en = " ".join(_report(seeded, tmp_path / "r-en.html", "en").split())
    assert "reports were down 2% and coordinations were down 15%" in en
    assert "reports were up 12% and coordinations were down 34%" in en


def test_report_pdf(seeded: str, tmp_path: Path) -> None:
    text = _report(seeded, tmp_path / "r.pdf", "ja")
    flat = " ".join(text.split())
    assert "4,530" in flat and "4,600" in flat and "1,979" in flat
    assert "報告件数は2%減少" in flat.replace(" ", "")
    assert "[表 4 ポート別のスキャン件数]" in flat
