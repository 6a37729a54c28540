"""The "notable phenomena" section of a report (注目された現象), written from findings.

``notable_section(obs, period, findings, lang)`` picks what an analyst would write about:
the port keys with the strongest surges, new entries, rank jumps and concentrations (each
with its daily packets stacked by source region, its source-port shares and its distinct
sources per day), the fingerprinted tools and malware (their sources per day), DoS victims
seen through backscatter, tool names in payloads, 24-hour rhythms and scanners. Every
sentence carries its numbers; every string that came from the network (tool names) is
data, escaped by the template like the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from teiten.analyze.drilldown import drill
from teiten.analyze.series import breakdown
from teiten.detect.finding import Finding
from teiten.engine.observation import Observation
from teiten.enrich import country_name
from teiten.periods import Period
from teiten.report import charts
from teiten.report.i18n import words

__all__ = ["KEY_KINDS", "Phenomenon", "notable_section"]

#: Finding kinds about one port key that get a subsection with charts.
KEY_KINDS = ("surge", "new_key", "rank_jump", "concentration", "drop")
FINGERPRINTS = ("mirai", "zmap", "masscan", "unicornscan", "nmap")


@dataclass
class Phenomenon:
    title: str
    sentences: list[str]
    figures: list[str] = field(default_factory=list)  # our own SVG
    rows: list[dict[str, Any]] = field(default_factory=list)  # for the CSV tables


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _region(code: str | None, lang: str) -> str:
    return country_name(None if code in (None, "--") else code, lang)


def _key_sentence(f: Finding, lang: str) -> str:
    e, ja = f.evidence, lang == "ja"
    k = f.kind
    if k in ("surge", "drop"):
        up = k == "surge"
        if ja:
            return (f"{f.start}から{f.end}にかけて、{f.key}へのパケットが{'急増' if up else '急減'}した"
                    f"（{e['peak_day']}に{e['peak_packets']:,}件、その前{e['baseline_days']}日間の中央値は"
                    f"{e['baseline_median']:,.0f}件）。")
        return (f"Packets to {f.key} {'surged' if up else 'dropped'} from {f.start} to {f.end} "
                f"({e['peak_packets']:,} on {e['peak_day']} against a median of {e['baseline_median']:,.0f} over the "
                f"{e['baseline_days']} days before).")
    if k == "new_key":
        return (f"{f.key}は前期に観測がなく、今期{e['rank']}位に入った。" if ja else
                f"{f.key}, not seen in the previous period, ranked {e['rank']}.")
    if k == "rank_jump":
        return (f"{f.key}の順位が{e['prev_rank']}位から{e['rank']}位に上がった。" if ja else
                f"{f.key} climbed from rank {e['prev_rank']} to {e['rank']}.")
    by, value, share = f.by, f.value, e["share"]
    if by == "country":
        name = _region(str(value), lang)
        return (f"{f.key}のパケットの{_pct(share)}は{name}からで、全体に占める{name}の割合"
                f"（{_pct(e['overall_share'])}）を大きく上回る。" if ja else
                f"{_pct(share)} of the packets to {f.key} came from {name}, against {_pct(e['overall_share'])}"
                " of all packets.")
    if by == "source_port":
        return (f"{f.key}のパケットの{_pct(share)}が発信元ポート{value}から送られていた。" if ja else
                f"{_pct(share)} of the packets to {f.key} were sent from source port {value}.")
    return (f"{f.key}のパケットの{_pct(share)}が単一の発信元{value}からだった。" if ja else
            f"{_pct(share)} of the packets to {f.key} came from one source, {value}.")


def _runs_sentence(key: str, runs: list[Finding], lang: str) -> str:
    """Many surges (or drops) of one key: how many, on which days, and the largest."""
    up = runs[0].kind == "surge"
    big = max(runs, key=lambda f: abs(float(f.evidence["peak_z"])))
    e = big.evidence
    days = sum(int(f.evidence["days"]) for f in runs)
    if lang == "ja":
        return (f"{key}へのパケットは期間中に{len(runs)}回（延べ{days}日）{'急増' if up else '急減'}した。最大は"
                f"{e['peak_day']}の{e['peak_packets']:,}件（その前{e['baseline_days']}日間の中央値"
                f"{e['baseline_median']:,.0f}件）。")
    return (f"Packets to {key} {'surged' if up else 'dropped'} {len(runs)} times ({days} days in all); the largest was "
            f"{e['peak_packets']:,} on {e['peak_day']} (median {e['baseline_median']:,.0f} over the "
            f"{e['baseline_days']} days before).")


def _key_phenomenon(obs: Observation, period: Period, key: str, found: list[Finding], lang: str,
                    group: str | None) -> Phenomenon:
    w = words(lang)
    ja = lang == "ja"
    b = breakdown(obs, "ports", period, key, top=5, group=group)
    named = {(w["other"] if p == "other" else _region(p, lang)): v for p, v in b["series"].items()}
    figs = []
    if any(any(v) for v in named.values()):  # a key that dropped to nothing has no days to stack
        figs.append(charts.stacked_daily(b["days"], named, title=w["trend_port"].format(key=key, name=key),
                                         ylabel=w["per_ip_day"], other=w["other"]))
    d = drill(obs, key, period, top=8, group=group)
    ports = d["source_ports"]
    if ports:
        labels = [w["other"] if r["key"] == "other" else str(r["key"]) for r in ports]
        figs.append(charts.pie_chart(labels, [r["share"] for r in ports], other=w["other"],
                                     title=(f"{key}の発信元ポート比率" if ja else f"Source ports of {key}")))
    days = [r["day"] for r in d["per_day"]]
    if days:
        figs.append(charts.daily_chart(days, {w["sources_day"]: [float(r["sources"]) for r in d["per_day"]]}, {},
                                       title=(f"{key}の発信元アドレス数（日別）" if ja else
                                              f"Distinct sources of {key} per day"),
                                       ylabel=w["sources_day"], average_label=""))
    sentences = []
    for kind in KEY_KINDS:
        same = [f for f in found if f.kind == kind]
        if kind in ("surge", "drop") and len(same) > 2:
            sentences.append(_runs_sentence(key, same, lang))
        else:
            sentences += [_key_sentence(f, lang) for f in same]
    sentences.append(f"期間中の発信元アドレスは{d['sources']:,}件、パケットは{d['packets']:,}件だった。" if ja else
                     f"Over the period {d['sources']:,} source addresses sent {d['packets']:,} packets to it.")
    rows = [{"key": key, "day": r["day"], "packets": r["packets"], "sources": r["sources"]} for r in d["per_day"]]
    return Phenomenon(f"{key}", sentences, figs, rows)


def _fingerprint_phenomenon(f: Finding, lang: str) -> Phenomenon:
    e, ja, w = f.evidence, lang == "ja", words(lang)
    regions = e.get("regions", [])
    top = "、".join(_region(r["region"], lang) for r in regions[:3]) if ja else \
        ", ".join(_region(r["region"], lang) for r in regions[:3])
    keys = ("、" if ja else ", ").join(str(k["key"]) for k in e.get("keys", [])[:3])
    s = (f"{f.title_ja}を{e['packets']:,}件（発信元{f.sources:,}件）観測した。主な宛先は{keys}、"
         f"発信元は{top}が多い。ピークは{e['peak_day']}の{e['peak_packets']:,}件。確からしさ{f.score:.2f}"
         f"（偶然の一致の期待値{e['expected_by_chance']:.1f}件）。" if ja else
         f"{f.title_en}: {e['packets']:,} packets from {f.sources:,} sources, mostly to {keys}, mostly from "
         f"{top}; the peak was {e['peak_packets']:,} on {e['peak_day']}. Score {f.score:.2f} "
         f"({e['expected_by_chance']:.1f} packets expected by chance).")
    daily = e.get("daily", [])
    figs = []
    if daily:
        figs.append(charts.daily_chart([r["day"] for r in daily], {w["sources_day"]: [float(r["sources"])
                                                                                     for r in daily]}, {},
                                       title=(f"{f.title_ja}の発信元アドレス数（日別）" if ja else
                                              f"Distinct sources of {f.title_en} per day"),
                                       ylabel=w["sources_day"], average_label=""))
    return Phenomenon(f.title_ja if ja else f.title_en, [s], figs,
                      [{"kind": f.kind, **r} for r in daily])


def _dos_sentence(victim: str, attacks: list[Finding], lang: str) -> str:
    e = [f.evidence for f in attacks]
    name = _region(e[0].get("country"), lang)
    packets = sum(int(x["packets"]) for x in e)
    peak = max(float(x["peak_pps"]) for x in e)
    intensity = max(float(x["intensity_pps"]) for x in e)
    if lang == "ja":
        return (f"{name}の{victim}がDoS攻撃を受けたとみられる応答パケット（バックスキャッタ）を{packets:,}件観測した"
                f"（攻撃{len(e)}回、センサーでの最大{peak:.1f}件/秒、攻撃全体の推定{intensity:,.0f}件/秒）。")
    return (f"Backscatter of DoS attacks on {victim} ({name}): {packets:,} replies in {len(e)} attack(s), at most "
            f"{peak:.1f} packets/s at the sensors, an estimated {intensity:,.0f} packets/s in all.")


Tables = dict[str, list[dict[str, Any]]]


def notable_section(obs: Observation, period: Period, findings: list[Finding], lang: str,
                    group: str | None = None, keys: int = 3) -> tuple[list[Phenomenon], Tables]:
    """The phenomena to write about, most notable first, and their tables."""
    ja = lang == "ja"
    out: list[Phenomenon] = []
    tables: Tables = {}
    by_key: dict[str, list[Finding]] = {}
    for f in findings:
        if f.kind in KEY_KINDS and "/" in str(f.key):
            by_key.setdefault(str(f.key), []).append(f)
    ranked = sorted(by_key.items(), key=lambda kv: (-max(float(x.score or 0) for x in kv[1]),
                                                    -len(kv[1]), kv[0]))
    for key, found in ranked[:keys]:
        found.sort(key=lambda x: KEY_KINDS.index(x.kind))
        ph = _key_phenomenon(obs, period, key, found, lang, group)
        out.append(ph)
        tables[f"notable_{key.replace('/', '_')}"] = ph.rows
    fps = sorted((f for f in findings if f.kind in FINGERPRINTS), key=lambda f: -int(f.evidence["packets"]))
    for f in fps[:2]:
        ph = _fingerprint_phenomenon(f, lang)
        out.append(ph)
        tables[f"notable_{f.kind}"] = ph.rows
    victims: dict[str, list[Finding]] = {}
    for f in findings:
        if f.kind == "dos_victim":
            victims.setdefault(str(f.victim), []).append(f)
    if victims:
        worst = sorted(victims.items(), key=lambda kv: -sum(int(f.evidence["packets"]) for f in kv[1]))
        out.append(Phenomenon("DoS攻撃のバックスキャッタ" if ja else "Backscatter of DoS attacks",
                              [_dos_sentence(v, fs, lang) for v, fs in worst[:3]]))
    sep = "、" if ja else "; "

    def listed(kind: str, title: tuple[str, str], phrase: Callable[[Finding], str],
               sentence: Callable[[list[Finding], str], str], limit: int = 5) -> None:
        """One phenomenon listing the findings of ``kind``: a sentence around their phrases."""
        of = [f for f in findings if f.kind == kind]
        if of:
            items = sep.join(phrase(f) for f in of[:limit])
            out.append(Phenomenon(title[0] if ja else title[1], [sentence(of, items)]))

    listed("payload_tool", ("ペイロード中のツール名", "Tool names in payloads"),
           lambda f: (f"{f.tool}（{f.key}、発信元{f.sources}件、{f.evidence['packets']:,}件）" if ja else
                      f"{f.tool} ({f.key}, {f.sources} sources, {f.evidence['packets']:,} packets)"),
           lambda of, items: (f"最初のペイロードのUser-Agent等に次のツール名があった：{items}。" if ja else
                              f"First payloads named these tools in their User-Agent or Server headers: {items}."))
    listed("diurnal", ("日周期の変動", "24-hour rhythms"),
           lambda f: (f"{f.key}（ピーク{round(f.evidence['peak_hour']) % 24}時、振幅{f.score:.2f}）" if ja else
                      f"{f.key} (peak {round(f.evidence['peak_hour']) % 24}:00, amplitude {f.score:.2f})"),
           lambda of, items: (f"時間帯によって件数が周期的に変わる送信元があった（{period.tz}）：{items}。" if ja else
                              f"Hourly counts rose and fell over the day ({period.tz}): {items}."))
    listed("scan", ("スキャン", "Scanners"),
           lambda f: (f"{f.source}（{f.key}、最大{f.evidence['widest']}アドレス）" if ja else
                      f"{f.source} ({f.key}, up to {f.evidence['widest']} addresses)"),
           lambda of, items: (f"センサーアドレスの1割以上に到達した発信元は{len(of)}件あった。広い順に{items}。"
                              if ja else f"{len(of)} sources reached at least a tenth of the sensor addresses;"
                              f" the widest: {items}."), limit=3)
    return out, tables
