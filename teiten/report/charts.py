"""Report figures as inline SVG (matplotlib, text drawn as paths: no font needed to view).

Japanese text uses the IPAex Gothic font that ``make install`` installs (Debian
``fonts-ipaexfont-gothic``); a glyph missing from every configured font raises
:class:`ChartError` instead of silently drawing a box.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib import font_manager

from teiten.errors import TeitenError

__all__ = ["CJK_FONTS", "ChartError", "bars_compared", "daily_chart", "monthly_chart", "pie_chart",
           "stacked_daily", "stacked_shares"]

#: Where Debian puts the Japanese fonts (first found wins).
CJK_FONTS = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
PALETTE = ("#1f4e79", "#c0504d", "#4f9a3a", "#e28a1d", "#7f5fa8", "#2aa3b5", "#a2574b", "#d4a017",
           "#3b7dd8", "#6b8e23", "#b0b0b0")  # the last, grey, is for "other"
OTHER_GREY = PALETTE[-1]


class ChartError(TeitenError):
    """A figure cannot be drawn correctly (e.g. no font has a needed glyph)."""


_configured = False


def _configure() -> None:
    global _configured
    if _configured:
        return
    families = []
    for path in CJK_FONTS:
        if path.exists():
            font_manager.fontManager.addfont(str(path))
            families.append(font_manager.FontProperties(fname=str(path)).get_name())
            break
    matplotlib.rcParams.update({
        "font.family": [*families, "DejaVu Sans"], "svg.fonttype": "path", "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.color": "#dddddd", "grid.linewidth": 0.6,
        "axes.axisbelow": True, "font.size": 9, "legend.fontsize": 8, "legend.frameon": False,
        "svg.hashsalt": "teiten",  # stable ids: the same data gives the same SVG
    })
    _configured = True


@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[Any, Any]]:
    _configure()
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    try:
        yield fig, ax
    finally:
        plt.close(fig)


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    missing = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    if missing:
        raise ChartError("a chart needs glyphs no installed font has (install fonts-ipaexfont-gothic): "
                         + "; ".join(sorted(set(missing))[:3]))
    text = buf.getvalue()
    return _own_ids(text[text.index("<svg"):])  # drop the XML prolog and doctype: inline in HTML


_ID = re.compile(r'\bid="([^"]+)"')


def _own_ids(svg: str) -> str:
    """Prefix every id (and every reference to one) with a hash of the figure, so that
    several inline figures in one page never share glyph, clip-path or line ids."""
    prefix = "f" + hashlib.sha1(svg.encode()).hexdigest()[:8] + "-"
    ids = set(_ID.findall(svg))
    if not ids:
        return svg
    names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    svg = re.sub(rf'\bid="({names})"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return re.sub(rf'#({names})\b(?=["\)])', lambda m: f"#{prefix}{m.group(1)}", svg)


def _colors(labels: Sequence[str], other: str | None) -> list[str]:
    """One palette colour per label, grey for the label ``other``."""
    return [OTHER_GREY if lab == other else PALETTE[i % (len(PALETTE) - 1)] for i, lab in enumerate(labels)]


def _daily_axes(ax: Any, title: str, ylabel: str) -> None:
    """Title, y label from 0, month/day ticks and the legend to the right: every daily chart."""
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m/%d"))  # type: ignore[no-untyped-call]
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))


def daily_chart(days: Sequence[str], series: dict[str, list[float | None]], averages: dict[str, list[float | None]],
                *, title: str, ylabel: str, average_label: str) -> str:
    """Lines per key over days, each with its 7-day average dashed."""
    x = [date.fromisoformat(d) for d in days]
    with _figure(7.2, 3.0) as (fig, ax):
        for i, (k, ys) in enumerate(series.items()):
            c = PALETTE[i % len(PALETTE)]
            ax.plot(x, [y if y is not None else float("nan") for y in ys], color=c, linewidth=1.1, label=k)
            if k in averages:
                ax.plot(x, [y if y is not None else float("nan") for y in averages[k]], color=c, linewidth=1.0,
                        linestyle="--", alpha=0.8)
        ax.plot([], [], color="#555555", linestyle="--", linewidth=1.0, label=average_label)
        _daily_axes(ax, title, ylabel)
        return _svg(fig)


def stacked_daily(days: Sequence[str], series: dict[str, list[float]], *, title: str, ylabel: str,
                  other: str | None = None) -> str:
    """Daily values stacked by part (a port's days split by source region)."""
    x = [date.fromisoformat(d) for d in days]
    with _figure(7.2, 2.6) as (fig, ax):
        labels = list(series)
        colors = _colors(labels, other)
        ax.stackplot(x, *[series[k] for k in labels], labels=labels, colors=colors, linewidth=0)
        _daily_axes(ax, title, ylabel)
        return _svg(fig)


#: slices below this share of a pie are folded into its "others" slice
MIN_SLICE = 0.005


def fold_small(labels: Sequence[str], shares: Sequence[float], other: str,
               floor: float = MIN_SLICE) -> tuple[list[str], list[float]]:
    """The slices, with those below ``floor`` of the whole (and an existing ``other``
    slice) summed into one ``other`` slice placed last."""
    whole = sum(shares) or 1.0
    kept = [(lab, s) for lab, s in zip(labels, shares, strict=True) if lab != other and s / whole >= floor]
    rest = sum(shares) - sum(s for _, s in kept)
    if rest > 0 or other in labels:
        kept.append((other, rest))
    return [lab for lab, _ in kept], [s for _, s in kept]


def _percent(share: float) -> str:
    return "<0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


def pie_chart(labels: Sequence[str], shares: Sequence[float], *, title: str, other: str = "others") -> str:
    """A pie with its legend to the right; slices under 0.5 % are folded into ``other``."""
    labels, shares = fold_small(labels, shares, other)
    whole = sum(shares) or 1.0
    with _figure(4.2, 3.2) as (fig, ax):
        colors = _colors(labels, other)
        ax.pie(shares, labels=None, colors=colors, startangle=90, counterclock=False,
               wedgeprops={"linewidth": 0.8, "edgecolor": "white"})
        ax.legend([f"{lab} {_percent(s / whole)}" for lab, s in zip(labels, shares, strict=True)],
                  loc="center left", bbox_to_anchor=(1.0, 0.5))
        ax.set_title(title, loc="left", fontsize=10)
        ax.axis("equal")
        return _svg(fig)


def stacked_shares(groups: Sequence[str], parts: Sequence[str], shares: dict[str, list[float]], *,
                   title: str, other: str | None = None) -> str:
    """One horizontal 100 % bar per group, split into ``parts`` (shares[part][group]); the part
    named ``other`` is grey."""
    with _figure(7.2, 0.5 * len(groups) + 1.2) as (fig, ax):
        left = [0.0] * len(groups)
        for p, color in zip(parts, _colors(parts, other), strict=True):
            vals = shares[p]
            ax.barh(list(groups), vals, left=left, color=color, label=p, height=0.6)
            left = [a + b for a, b in zip(left, vals, strict=True)]
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.grid(axis="y", visible=False)
        ax.set_title(title, loc="left", fontsize=10)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig)


def bars_compared(keys: Sequence[str], now: Sequence[float], before: Sequence[float], *, title: str,
                  now_label: str, before_label: str, ylabel: str) -> str:
    """Pairs of bars: this period against the previous one (NPA Figure 3-10)."""
    with _figure(7.2, 2.8) as (fig, ax):
        xs = range(len(keys))
        ax.bar([x - 0.2 for x in xs], before, width=0.4, color=OTHER_GREY, label=before_label)
        ax.bar([x + 0.2 for x in xs], now, width=0.4, color=PALETTE[0], label=now_label)
        ax.set_xticks(list(xs), list(keys))
        ax.grid(axis="x", visible=False)
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left", fontsize=10)
        ax.legend(loc="upper right")
        return _svg(fig)


def monthly_chart(months: Sequence[str], series: dict[str, list[float | None]], *, title: str, ylabel: str) -> str:
    with _figure(7.2, 2.8) as (fig, ax):
        for i, (k, ys) in enumerate(series.items()):
            ax.plot(list(months), [y if y is not None else float("nan") for y in ys], marker="o", markersize=3,
                    color=PALETTE[i % len(PALETTE)], linewidth=1.2, label=k)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left", fontsize=10)
        if len(months) > 12:
            for lab in ax.get_xticklabels()[::2]:
                lab.set_visible(False)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig)
