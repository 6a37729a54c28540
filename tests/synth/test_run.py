"""`teiten demo` end to end: a small scenario is generated, ingested and matches its truth."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from teiten.cli.demo import run_demo
from teiten.engine.duckdb import connect_sql


@pytest.mark.slow
def test_demo_matches_ground_truth(tmp_path: Path) -> None:
    out = io.StringIO()
    # (the incident part of the demo is the data set of the JPCERT/CC incident response report
    # 2017Q4: tests/incidents import it already)
    result = run_demo(tmp_path, scale=0.02, seed=3, console=Console(file=out, width=120), with_incidents=False)
    truth = json.loads((result.scenario / "truth.json").read_text())
    assert result.packets == truth["totals"]["packets"] > 50_000
    assert all(a == b for a, b in result.fingerprints.values())
    text = out.getvalue()
    assert "matches the scenario's ground truth" in text
    assert "2026Q2 (no packets in 2026Q1): destination ports" in text and "2026Q3 vs 2026Q2: source regions" in text
    db = connect_sql(result.store)
    # per-day, per-key counts equal the scenario's truth exactly
    rows = db.execute("SELECT CAST(day AS VARCHAR), key, count(*) FROM packets GROUP BY 1, 2").fetchall()
    stored = {(d, k): n for d, k, n in rows}
    expected = {(d, k): n for d, keys in truth["by_day_key"].items() for k, n in keys.items()}
    assert stored == expected
    # both report styles for the second quarter, in both languages, and their tables
    names = sorted(p.name for p in result.reports)
    assert names == sorted(f"2026Q3-{s}-{lang}" for s in ("npa", "tsubame") for lang in
                           ("ja.html", "ja.pdf", "en.html"))
    assert all(p.stat().st_size > 10_000 for p in result.reports)
    assert (result.reports[0].parent / "2026Q3-tsubame-ja_tables" / "ports.csv").exists()
    assert "reports for 2026Q3:" in text
    # every packet is attributed to a catalogued sensor
    assert db.execute("SELECT count(*) FROM packets WHERE sensor IS NULL").fetchone() == (0,)
    # it ends with the sensors' health at the scenario's end, as `teiten sensors status --at` has it
    tail = text[text.index("the sensors' health at the scenario's end (2026-10-01T00:01:00Z)"):]
    assert f"teiten sensors status --store {result.store} --at 2026-10-01T00:01:00Z" in tail
    assert "silent" in tail and "415(-6)" in tail and tail.count(" ok ") == 3
