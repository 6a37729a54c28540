"""Reports rendered from the NPA 2009 store: each style in both languages, read back with pdftotext."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.engine import open_observation
from teiten.periods import parse_period
from teiten.report.build import write_report
from tests.store.synth import syn_pcap

#: what each rendering must print (the seed's figures and the display rules)
EXPECT = {
    ("npa", "ja"): ["2009年7月期", "131.08", "－4.2%", "（－5.68 件）", "ごく僅か", "検知なし", "74位", "13位",
                    "一日・1IP当たり360.1件", "－58.8件（－14.0%）", "1521/TCPの前期検知件数は0.07件",
                    "1027/UDPは今期検知なし", "集計方法", "IPFire Location", "2009-07-01 – 2009-07-31"],
    ("npa", "en"): ["July 2009", "131.08", "−4.2%", "(−5.68)", "tiny", "none", "360.1 packets per day per IP",
                    "1521/TCP: previous 0.07", "How the figures are made", "IPFire Location"],
    ("tsubame", "ja"): ["2009年7月期", "445/TCP (microsoft-ds)", "131.08", "－4.2%", "前期順位", "注目された現象",
                        "1521/TCPは前期の74位から13位に上昇した"],
    ("tsubame", "en"): ["July 2009", "445/TCP (microsoft-ds)", "131.08", "−4.2%", "Previous rank",
                        "1521/TCP climbed from 74th to 13th place"],
}


def _text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    return re.sub(r"[ \t]+", " ", out)


@pytest.mark.slow
@pytest.mark.parametrize(("style", "lang"), list(EXPECT))
def test_pdf_report(npa_store: Path, tmp_path: Path, artifacts: Path, style: str, lang: str,
                    caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / f"{style}-{lang}.pdf"
    with caplog.at_level(logging.WARNING):
        paths = write_report(open_observation(npa_store), out, parse_period("2009-07"), style=style, lang=lang)
    # WeasyPrint and fontTools say nothing about missing fonts or glyphs
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    text = _text(out)
    flat = text.replace("\n", " ")
    joined = re.sub(r"\s*\n\s*", "", text)  # Japanese lines wrap anywhere
    missing = [s for s in EXPECT[(style, lang)] if s not in flat and s not in joined]
    assert not missing, f"not in the PDF: {missing}"
    # the 1026/UDP and 1027/UDP rows exist only in the NPA layout, after an ellipsis (the
    # notable phenomena, written from findings, may name any key)
    tables_part = text.split("注目された現象" if lang == "ja" else "Notable")[0]
    assert ("1026/UDP" in tables_part) == (style == "npa")
    assert ("4 注目された現象" if lang == "ja" else "4 Notable phenomena") in flat or style == "tsubame"
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, check=True, text=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes " in r for r in rows), fonts  # every font embedded
    if lang == "ja":
        assert "IPAexGothic" in fonts
    png = artifacts / f"report-{style}-{lang}"
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", str(out), str(png)],
                   check=True)
    assert png.with_suffix(".png").stat().st_size > 10_000
    tables = {p.name for p in paths[1:]}
    assert {"ports.csv", "regions.csv", "ports_daily.csv", "regions_daily.csv"} <= tables
    csv = (out.parent / f"{style}-{lang}_tables" / "ports.csv").read_text().splitlines()
    assert csv[0].startswith("key,") and any(line.startswith("445/TCP,") for line in csv)


def test_html_report_is_offline_and_escaped(tmp_path: Path) -> None:
    store = tmp_path / "store"
    hostile = '<script>alert("x")</script>'
    r = CliRunner().invoke(cli, ["sensors", "add", "s1", "-a", "203.0.113.0/24", "--group", hostile,
                                 "--store", str(store)])
    assert r.exit_code == 0, r.output
    syn_pcap(tmp_path / "a.pcap", 5_000, seed=4, start=1_700_006_400, seconds=86400 * 2)
    assert CliRunner().invoke(cli, ["ingest", str(tmp_path / "a.pcap"), "--store", str(store), "-q"]).exit_code == 0
    out = tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["report", "--store", str(store), "--from", "2023-11-15", "--to", "2023-11-16",
                                 "--style", "npa", "--lang", "en", "--sensor-group", hostile, "--out", str(out)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert hostile not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r"""(src|href)=["']?https?:|url\(\s*["']?https?:|@import""", html)
    assert html.count("<svg") >= 6
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert ids and len(ids) == len(set(ids)), "inline figures share ids"
    refs = set(re.findall(r'(?:href="|url\()#([^")]+)', html))
    assert refs <= set(ids), refs - set(ids)


def test_missing_glyph_is_an_error() -> None:
    # in a fresh process without the Japanese font, a Japanese chart title must fail loudly
    code = ("from teiten.report import charts\n"
            "charts.CJK_FONTS = ()\n"
            "try:\n"
            "    charts.pie_chart(['a'], [1.0], title='世界の宛先ポート比率')\n"
            "except charts.ChartError as e:\n"
            "    print('ChartError', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("ChartError") and "fonts-ipaexfont-gothic" in out


def test_empty_period_is_a_clear_error(npa_store: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["report", "--store", str(npa_store), "--period", "2010-01", "--out",
                                 str(tmp_path / "x.pdf")])
    assert r.exit_code == 1 and "no packets in 2010-01" in r.output
    r = CliRunner().invoke(cli, ["report", "--store", str(npa_store), "--period", "2009-07", "--out",
                                 str(tmp_path / "x.docx")])
    assert r.exit_code == 1 and ".html or .pdf" in r.output


def test_notable_phenomena_from_findings_are_escaped(npa_store: Path, tmp_path: Path) -> None:
    """A findings file (as `teiten detect --json` writes it) becomes the notable phenomena:
    a key's subsection with its sentences and three charts, and a hostile tool name escaped;
    a findings file of another period is refused."""
    import json

    from teiten.periods import parse_period as pp

    hostile = "<script>alert(1)</script>"
    findings = [
        {"kind": "concentration", "key": "1521/TCP", "by": "source_port", "value": 6000, "score": 0.97,
         "title_ja": "", "title_en": "", "start": None, "end": None, "sources": None, "top_sources": [],
         "evidence": {"share": 0.97, "packets": 900, "key_packets": 930}},
        {"kind": "payload_tool", "key": "5060/UDP", "tool": hostile, "title_ja": "", "title_en": "",
         "start": "2009-07-02", "end": "2009-07-30", "score": 1.0, "sources": 4, "top_sources": [],
         "evidence": {"packets": 120, "field": "User-Agent/Server header"}},
    ]
    doc = tmp_path / "f.json"
    doc.write_text(json.dumps({"period": pp("2009-07").to_json(), "findings": findings}))
    out = tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["report", "--store", str(npa_store), "--period", "2009-07", "--style", "tsubame",
                                 "--lang", "en", "--findings", str(doc), "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    html = out.read_text()
    section = html[html.index("4.1 1521/TCP"):]
    assert "97.0% of the packets to 1521/TCP were sent from source port 6000." in section
    assert section[:section.index("<h3>4.2")].count("<svg") == 3  # by region, source ports, sources per day
    assert hostile not in html and "&lt;script&gt;alert(1)&lt;/script&gt; (5060/UDP, 4 sources, 120 packets)" in html
    doc.write_text(json.dumps({"period": pp("2009-08").to_json(), "findings": findings}))
    r = CliRunner().invoke(cli, ["report", "--store", str(npa_store), "--period", "2009-07", "--findings", str(doc),
                                 "--out", str(out)])
    assert r.exit_code == 1 and "findings of 2009-08, not of 2009-07" in r.output
