"""Chart rules a reader sees: pie legends never list a slice as 0.0 %."""

from __future__ import annotations

import re

import pytest

from teiten.report.charts import fold_small, pie_chart


def test_small_slices_fold_into_others_which_comes_last() -> None:
    labels, shares = fold_small(["445/TCP", "23/TCP", "その他", "8/ICMP", "9/UDP"], [60, 35, 4.2, 0.4, 0.4], "その他")
    assert labels == ["445/TCP", "23/TCP", "その他"]
    assert shares == [60, 35, pytest.approx(5.0)]


def test_nothing_small_and_no_other_leaves_the_slices_alone() -> None:
    assert fold_small(["a", "b"], [0.5, 0.5], "others") == (["a", "b"], [0.5, 0.5])


def test_the_floor_is_a_share_of_the_whole_not_an_absolute_value() -> None:
    # 3 of 1,000 is 0.3 %: folded; 6 of 1,000 is 0.6 %: kept
    labels, shares = fold_small(["a", "b", "c"], [991, 6, 3], "others")
    assert labels == ["a", "b", "others"] and shares == [991, 6, 3]


def test_pie_legend_has_no_zero_percent_entry() -> None:
    svg = pie_chart(["a", "b", "c", "d"], [0.9, 0.096, 0.002, 0.002], title="t", other="others")
    legend = re.findall(r"<!-- (\S+ [<\d.]+%) -->", svg)
    assert legend == ["a 90.0%", "b 9.6%", "others 0.4%"], legend
