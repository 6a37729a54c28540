"""The display rules of the published reports' comparison tables (docs/analysis.md, NPA Tables 3-1/3-2).

- values with 2 decimals; **ごく僅か** (tiny) when 0 < value < 0.005, **検知なし** (none) at 0;
- a rank is shown only for a value that is shown as a number (else ``－``);
- the change ratio with one decimal and its sign, or ``－`` with a footnote when omitted
  (previous value below 0.1, or nothing this period);
- the table lists the top rows, then ``…``, then every row with a rise or fall rank.
"""

from __future__ import annotations

from typing import Any

from teiten.analyze.compare import MIN_PREV_FOR_CHANGE

__all__ = [
    "TEXT",
    "TINY",
    "change_footnote",
    "format_change",
    "format_delta",
    "format_rank",
    "format_value",
    "table_rows",
]

#: Values below this (and above 0) are shown as "tiny".
TINY = 0.005

TEXT: dict[str, dict[str, str]] = {
    "ja": {"tiny": "ごく僅か", "none": "検知なし", "dash": "－", "plus": "＋", "minus": "－", "unit": "件",
           "rank": "{}位", "ellipsis": "…"},
    "en": {"tiny": "tiny", "none": "none", "dash": "-", "plus": "+", "minus": "−", "unit": "",
           "rank": "{}", "ellipsis": "…"},
}


def _t(lang: str) -> dict[str, str]:
    return TEXT["ja" if lang == "ja" else "en"]


def format_value(v: float | None, lang: str = "ja", digits: int = 2) -> str:
    t = _t(lang)
    if v is None:
        return t["dash"]
    if v == 0:
        return t["none"]
    if v < TINY:
        return t["tiny"]
    return f"{v:,.{digits}f}"


def format_rank(rank: int | None, value: float | None, lang: str = "ja") -> str:
    if rank is None or value is None or value < TINY:
        return _t(lang)["dash"]
    return _t(lang)["rank"].format(rank)


def _signed(x: float, digits: int, lang: str) -> str:
    t = _t(lang)
    s = f"{abs(x):,.{digits}f}"
    if s.strip("0.,") == "":
        return s  # rounds to zero: no sign
    return (t["plus"] if x > 0 else t["minus"]) + s


def format_change(pct: float | None, lang: str = "ja", mark: str = "") -> str:
    """``＋11.9%``; ``－`` + ``mark`` (a footnote reference) when omitted."""
    if pct is None:
        return _t(lang)["dash"] + mark
    return _signed(pct, 1, lang) + "%"


def format_delta(delta: float | None, lang: str = "ja", digits: int = 2) -> str:
    """``（－5.68 件）`` / ``(−5.68)``."""
    if delta is None:
        return ""
    t = _t(lang)
    if lang == "ja":
        return f"（{_signed(delta, digits, lang)} {t['unit']}）"
    return f"({_signed(delta, digits, lang)})"


def change_footnote(row: dict[str, Any], lang: str = "ja") -> str | None:
    """Why a row's change ratio is omitted, or None when it is given."""
    if row.get("change_pct") is not None or row.get("delta") is None:
        return None
    prev, cur = row["prev_per_ip_day"], row["per_ip_day"]
    if lang == "ja":
        if prev < MIN_PREV_FOR_CHANGE:
            shown = format_value(prev, lang)  # a number takes 件; ごく僅か stands alone
            return f"{row['key']}の前期検知件数は{shown}{'件' if shown[:1].isdigit() else ''}" if prev > 0 else \
                f"{row['key']}は前期検知なし"
        return f"{row['key']}は今期検知なし" if cur == 0 else None
    if prev < MIN_PREV_FOR_CHANGE:
        return f"{row['key']}: previous {format_value(prev, lang)}" if prev > 0 else f"{row['key']}: none before"
    return f"{row['key']}: none this period" if cur == 0 else None


def table_rows(rows: list[dict[str, Any]], top: int = 5) -> list[dict[str, Any] | None]:
    """The rows a comparison table shows, in order, with None where ``…`` stands."""
    shown = [r for r in rows if (r["rank"] is not None and r["rank"] <= top and (r["per_ip_day"] or 0) >= TINY)
             or r["rise_rank"] is not None or r["fall_rank"] is not None]
    out: list[dict[str, Any] | None] = []
    prev_rank: int | None = 0
    for r in shown:
        shows_rank = r["rank"] is not None and (r["per_ip_day"] or 0) >= TINY
        if not (shows_rank and prev_rank is not None and r["rank"] == prev_rank + 1):
            out.append(None)
        out.append(r)
        prev_rank = r["rank"] if shows_rank else None
    return out
