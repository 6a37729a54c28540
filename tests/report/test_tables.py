"""Each display rule of the comparison tables (docs/analysis.md)."""

from __future__ import annotations

from typing import Any

from teiten.analyze.compare import compare_counts
from teiten.report.tables import (
    change_footnote,
    format_change,
    format_delta,
    format_rank,
    format_value,
    table_rows,
)


def test_values() -> None:
    assert format_value(131.0849) == "131.08" and format_value(0.005) == "0.01"
    assert format_value(0.0049) == "ごく僅か" and format_value(0.0049, "en") == "tiny"
    assert format_value(0.0) == "検知なし" and format_value(0.0, "en") == "none"
    assert format_value(None) == "－" and format_value(1234.5, digits=1) == "1,234.5"


def test_ranks_only_for_shown_numbers() -> None:
    assert format_rank(13, 2.03) == "13位" and format_rank(13, 2.03, "en") == "13"
    assert format_rank(80, 0.003) == "－" and format_rank(None, 0.0) == "－"


def test_change_and_delta_signs() -> None:
    assert format_change(-4.15) == "－4.2%" and format_change(11.94) == "＋11.9%"
    assert format_change(-4.15, "en") == "−4.2%" and format_change(0.04) == "0.0%"
    assert format_change(None, mark="¹") == "－¹"
    assert format_delta(-5.68) == "（－5.68 件）" and format_delta(1.07, "en") == "(+1.07)"
    assert format_delta(None) == ""


def _rows(cur: dict[str, int], prev: dict[str, int]) -> list[dict[str, Any]]:
    return compare_counts(cur, prev, 100, 100).rows


def test_change_omitted_below_0_1_and_at_zero() -> None:
    rows = {r["key"]: r for r in _rows({"a": 500, "b": 200, "c": 0}, {"a": 9, "b": 10, "c": 300})}
    assert rows["a"]["change_pct"] is None and rows["a"]["delta"] == 5.0 - 0.09  # prev 0.09 < 0.1
    assert rows["b"]["change_pct"] == 100.0 * (2.0 - 0.1) / 0.1  # prev exactly 0.1: given
    assert rows["c"]["change_pct"] is None and rows["c"]["rank"] is None  # nothing now
    assert change_footnote(rows["a"], "en") == "a: previous 0.09"
    assert change_footnote(rows["c"]) == "cは今期検知なし" and change_footnote(rows["b"]) is None


def test_rise_and_fall_ranks_are_the_five_largest() -> None:
    cur = {f"k{i}": 1000 + 100 * i for i in range(12)}
    prev = {f"k{i}": 1000 + 100 * (11 - i) for i in range(12)}
    rows = {r["key"]: r for r in _rows(cur, prev)}
    assert [rows[f"k{i}"]["rise_rank"] for i in (11, 10, 9, 8, 7, 6)] == [1, 2, 3, 4, 5, None]
    assert [rows[f"k{i}"]["fall_rank"] for i in (0, 1, 2, 3, 4, 5)] == [1, 2, 3, 4, 5, None]


def test_no_previous_period() -> None:
    c = compare_counts({"a": 10}, None, 10, None)
    assert c.rows[0]["prev_rank"] is None and c.rows[0]["delta"] is None and c.rows[0]["rise_rank"] is None
    assert c.total["per_ip_day"] == 1.0 and c.total["change_pct"] is None


def test_layout_top_then_ellipsis_then_rise_fall_rows() -> None:
    cur = {f"k{i:02d}": 10_000 - 100 * i for i in range(30)}
    prev = dict(cur)
    prev["k20"] = 100  # k20 rises a lot
    prev["k03"] = 20_000  # k03 falls (rank 4: inside the top)
    rows = _rows(cur, prev)
    laid = table_rows(rows, top=5)
    keys = [r["key"] if r else "…" for r in laid]
    assert keys == ["k00", "k01", "k02", "k03", "k04", "…", "k20"]
    r20 = next(r for r in rows if r["key"] == "k20")
    assert (r20["rank"], r20["rise_rank"]) == (21, 1)
    # a rise/fall row right after the top rows needs no ellipsis
    prev["k05"] = 9_000
    assert [r["key"] if r else "…" for r in table_rows(_rows(cur, prev), top=5)][:7] == [
        "k00", "k01", "k02", "k03", "k04", "k05", "…"]


def test_tiny_previous_value_reads_without_a_unit() -> None:
    rows = {r["key"]: r for r in _rows({"w": 500, "x": 500}, {"w": 0, "x": 1})}
    x = rows["x"]  # previous 1 packet over 100 address-days: 0.01, shown as a number
    assert change_footnote(x) == "xの前期検知件数は0.01件"
    tiny = {r["key"]: r for r in compare_counts({"t": 500}, {"t": 1}, 100, 1000).rows}["t"]  # 0.001 < 0.005
    assert change_footnote(tiny) == "tの前期検知件数はごく僅か" and change_footnote(rows["w"]) == "wは前期検知なし"
