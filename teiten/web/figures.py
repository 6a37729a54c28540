"""The observation pages' charts as data: a :class:`Figure` is what one ``<figure>`` shows:
its caption, a one-sentence written summary, the chart's specification (drawn by
``static/observe.js`` with ECharts; embedded in the page as a JSON block) and the same
numbers as a table (in a ``<details>``: WCAG 1.1.1 / JIS X 8341-3, a chart has a text
equivalent), with the API answer it comes from (``src``) for its JSON and CSV downloads.

Axes name their unit and time zone; the server aggregates, so that no chart gets more than
a few thousand points.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Figure", "chart_json", "heatmap_figure", "line_figure", "map_figure"]

#: Points a chart may hold at most (the server aggregates before).
MAX_POINTS = 5000


def chart_json(spec: dict[str, Any]) -> str:
    """``spec`` as JSON that is safe inside ``<script type="application/json">``: ``<``, ``>``
    and ``&`` escaped, so no string of the data (attacker-controlled bytes included) can
    end the block or open another."""
    return (json.dumps(spec, ensure_ascii=False, separators=(",", ":"), default=str)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@dataclass
class Figure:
    id: str
    caption: str
    summary: str
    spec: dict[str, Any]
    columns: list[str]  # the data table's headings
    rows: list[list[Any]]  # and its cells
    src: str | None = None  # the API answer (its .csv beside it)
    notes: list[str] = field(default_factory=list)

    @property
    def spec_json(self) -> str:
        return chart_json(self.spec)

    @property
    def csv(self) -> str | None:
        if self.src is None:
            return None
        path, _, query = self.src.partition("?")
        path = path.removesuffix(".json")
        return path + ".csv" + ("?" + query if query else "")


def _check(points: int) -> None:
    if points > MAX_POINTS:
        raise ValueError(f"a chart of {points} points: aggregate on the server first (at most {MAX_POINTS})")


def line_figure(fid: str, caption: str, summary: str, x: list[str], series: Mapping[str, Sequence[float | None]], *,
                x_name: str, y_name: str, stacked: bool = False, gaps: list[tuple[str, str]] | None = None,
                src: str | None = None, digits: int = 2) -> Figure:
    """Lines (or stacked areas) over ``x``, one per key of ``series``."""
    _check(len(x) * max(1, len(series)))
    spec = {"type": "stacked" if stacked else "lines", "x": x, "xName": x_name, "yName": y_name,
            "series": [{"name": k, "data": list(v)} for k, v in series.items()], "gaps": [list(g) for g in gaps or []]}
    rows = [[d, *(None if v[i] is None else round(v[i] or 0.0, digits) for v in series.values())]
            for i, d in enumerate(x)]
    return Figure(fid, caption, summary, spec, [x_name, *series], rows, src)


def heatmap_figure(fid: str, caption: str, summary: str, days: list[str], cells: list[tuple[int, int, int]], *,
                   x_name: str, y_name: str, gaps: list[tuple[int, int]] | None = None, gap_name: str = "",
                   src: str | None = None) -> Figure:
    """Packets per day (x) and hour of day (y, 0–23); ``gaps``: the (day, hour) cells in
    which a sensor recorded nothing (drawn hatched)."""
    _check(len(cells) + len(gaps or []))
    spec = {"type": "heatmap", "x": days, "y": [f"{h:02d}" for h in range(24)], "xName": x_name, "yName": y_name,
            "cells": [list(c) for c in cells], "gaps": [list(g) for g in gaps or []], "gapName": gap_name}
    grid = {(d, h): n for d, h, n in cells}
    rows = [[day, *(grid.get((i, h), 0) for h in range(24))] for i, day in enumerate(days)]
    return Figure(fid, caption, summary, spec, [x_name, *(f"{h:02d}" for h in range(24))], rows, src)


def map_figure(fid: str, caption: str, summary: str, values: dict[str, float], names: dict[str, str], *,
               value_name: str, src: str | None = None, low: str = "", high: str = "") -> Figure:
    """A world choropleth of ``values`` per ISO 3166 alpha-2 code."""
    spec = {"type": "map", "seriesName": value_name, "low": low, "high": high,
            "data": [{"name": code, "value": v, "label": names.get(code, code)} for code, v in values.items()]}
    rows = [[code, names.get(code, code), v] for code, v in sorted(values.items(), key=lambda kv: -kv[1])]
    return Figure(fid, caption, summary, spec, ["code", "name", value_name], rows, src)
