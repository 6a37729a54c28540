"""Generated sentences that carry the numbers, the way the seeds write them.

    最もアクセス件数が多い445/TCPは、一日・1IP当たり131.1件で、前期と比較して－5.7件（－4.2%）と、やや減少している。
    445/TCP, the most frequent, had 131.1 packets per day per IP address, down 5.7 (−4.2 %) from the previous period.
"""

from __future__ import annotations

from typing import Any

from teiten.analyze.rankings import Ranking
from teiten.report.tables import format_change, format_value

__all__ = ["change_words", "join_list", "notable_changes", "ordinal", "overview", "top_key_sentence"]


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def join_list(items: list[str], lang: str) -> str:
    """``A、B及びC`` / ``A, B and C``."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if lang == "ja":
        return "、".join(items[:-1]) + "及び" + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def change_words(pct: float | None, delta: float | None, lang: str) -> str:
    """How a change reads: やや減少 (1–20 %), 減少 (20–50 %), 大幅に減少 (50 % and more), ほぼ横ばい (< 1 %)."""
    if delta is None:
        return ""
    up = delta > 0
    size = abs(pct) if pct is not None else 100.0
    if lang == "ja":
        verb = "増加" if up else "減少"
        if size < 1:
            return "ほぼ横ばい"
        return ("やや" if size < 20 else "" if size < 50 else "大幅に") + verb
    if size < 1:
        return "about the same"
    return ("slightly " if size < 20 else "" if size < 50 else "sharply ") + ("up" if up else "down")


def _change_clause(row: dict[str, Any], lang: str, digits: int = 1) -> str:
    d, pct = row["delta"], row["change_pct"]
    if d is None:
        return ""
    sign_d = format_value(abs(d), "en", digits)
    if lang == "ja":
        s = ("＋" if d > 0 else "－") + sign_d + "件"
        if pct is not None:
            s += f"（{format_change(pct, 'ja')}）"
        return f"前期と比較して{s}と、{change_words(pct, d, lang)}"
    s = f"{change_words(pct, d, lang)} {sign_d}"
    if pct is not None:
        s += f" ({format_change(pct, 'en')})"
    return s + " from the previous period"


def _name(row: dict[str, Any], lang: str) -> str:
    if "name_ja" in row:
        return str(row["name_ja"] if lang == "ja" else row["name_en"])
    return str(row["key"])


def overview(ports: Ranking, regions: Ranking, lang: str, top: int = 5) -> list[str]:
    """The opening summary: the total, the top ports and regions, the most frequent port."""
    t = ports.total
    out = []
    v = format_value(t["per_ip_day"], "en", 1)
    if lang == "ja":
        s = f"今期のセンサーに対するアクセス件数は、一日・1IP当たり{v}件"
        s += f"で、{_change_clause(t | {'key': ''}, lang)}した。" if t["delta"] is not None else "であった。"
    else:
        s = f"The sensors received {v} packets per day per IP address this period"
        s += f", {_change_clause(t | {'key': ''}, lang)}." if t["delta"] is not None else "."
    out.append(s)
    pk = [r for r in ports.rows if r["rank"] is not None][:top]
    rk = [r for r in regions.rows if r["rank"] is not None][:top]
    if pk:
        names = join_list([r["key"] for r in pk], lang)
        out.append(f"アクセス件数の上位{len(pk)}ポートは、{names}の順であった。" if lang == "ja" else
                   f"The top {len(pk)} destination ports were {names}, in that order.")
        out.append(top_key_sentence(pk[0], lang))
    if rk:
        names = join_list([_name(r, lang) for r in rk], lang)
        total = regions.total["packets"] or 1
        two = rk[:2]
        share = sum(r["packets"] for r in two) / total * 100
        if lang == "ja":
            out.append(f"アクセス件数の上位{len(rk)}か国・地域は、{names}の順であり、"
                       f"{join_list([_name(r, lang) for r in two], lang)}で全体の{share:.1f}%を占めた。")
        else:
            out.append(f"The top {len(rk)} source regions were {names}; "
                       f"{join_list([_name(r, lang) for r in two], lang)} sent {share:.1f} % of all packets.")
    return out


def top_key_sentence(row: dict[str, Any], lang: str) -> str:
    v = format_value(row["per_ip_day"], "en", 1)
    clause = _change_clause(row, lang)
    if lang == "ja":
        return f"最もアクセス件数が多い{row['key']}は、一日・1IP当たり{v}件" + (
            f"で、{clause}している。" if clause else "であった。")
    return f"{row['key']}, the most frequent, had {v} packets per day per IP address" + (
        f", {clause}." if clause else ".")


def notable_changes(r: Ranking, lang: str, jump: int = 10, within: int = 20) -> list[str]:
    """The largest rises and falls, and keys that climbed ``jump`` places or more into the top ``within``."""
    out = []
    rises = sorted((x for x in r.rows if x["rise_rank"]), key=lambda x: x["rise_rank"])
    falls = sorted((x for x in r.rows if x["fall_rank"]), key=lambda x: x["fall_rank"])

    def item(x: dict[str, Any]) -> str:
        d = format_value(abs(x["delta"]), "en", 2)
        return f"{_name(x, lang)}（{'＋' if x['delta'] > 0 else '－'}{d}件）" if lang == "ja" else \
            f"{_name(x, lang)} ({'+' if x['delta'] > 0 else '−'}{d})"

    if rises:
        out.append(f"前期からの増加が大きかったのは、{join_list([item(x) for x in rises[:3]], lang)}であった。"
                   if lang == "ja" else f"The largest rises were {join_list([item(x) for x in rises[:3]], lang)}.")
    if falls:
        out.append(f"減少が大きかったのは、{join_list([item(x) for x in falls[:3]], lang)}であった。"
                   if lang == "ja" else f"The largest falls were {join_list([item(x) for x in falls[:3]], lang)}.")
    for x in r.rows:
        if x["rank"] and x["rank"] <= within and (x["prev_rank"] is None or x["prev_rank"] - x["rank"] >= jump):
            before = f"前期の{x['prev_rank']}位" if x["prev_rank"] else "前期の圏外"
            before_en = ordinal(x["prev_rank"]) if x["prev_rank"] else "unranked"
            out.append(f"{_name(x, lang)}は{before}から{x['rank']}位に上昇した。" if lang == "ja" else
                       f"{_name(x, lang)} climbed from {before_en} to {ordinal(x['rank'])} place.")
    return out
