"""Tool names in first payloads (the TSUBAME report of 2012Q3: SIP scanners naming themselves in User-Agent),
grouped by port key: ``payload_tool`` findings.

The strings come from the attacker: they are data, returned as text (escaped by whoever
shows them; the HTML reports escape everything).
"""

from __future__ import annotations

from typing import Any

import ibis

from teiten.detect.finding import Finding
from teiten.detect.thresholds import PAYLOAD_MIN_SOURCES
from teiten.engine.observation import Observation
from teiten.periods import Period

__all__ = ["HEADERS", "payload_tool_findings", "payload_tools"]

#: Header fields whose value names the sending tool (SIP, HTTP).
HEADERS = ("User-Agent", "Server")
_MAX_TEXT = 120


def payload_tools(obs: Observation, period: Period, group: str | None = None,
                  min_packets: int = 10) -> list[dict[str, Any]]:
    """Per port key and tool string: packets, distinct sources, first and last seen."""
    t = obs.in_period(period, group)
    t = t.filter(t.payload.notnull() & (t.payload_len > 0))
    # DuckDB casts bytes to text with \xNN escapes for what is not printable (CR LF too);
    # other engines decode UTF-8: the pattern ends a header at either form of a line end
    text = t.payload.cast("string")
    eol = r"(?:\\x0D|\\x0A|\r|\n)"
    # the value runs to the line end: any character but CR, LF and their escaped forms (a
    # lazy, bounded repetition up to the line end is 3x slower in RE2)
    char = r"(?:[^\\\r\n]|\\[^x]|\\x(?:[1-9A-Fa-f][0-9A-Fa-f]|0[0-9BCEFbcef]))"
    pattern = r"(?i)(?:^|" + eol + r")(?:" + "|".join(HEADERS) + r")[ \t]*:[ \t]*(" + char + "+)"
    # the cheap test first: the extraction's pattern is costly on every payload
    t = t.filter(text.re_search(r"(?i)(?:" + "|".join(HEADERS) + r")[ \t]*:"))
    t = t.mutate(tool=t.payload.cast("string").re_extract(pattern, 1))
    t = t.filter(t.tool.notnull() & (t.tool != ""))
    agg = t.group_by(["key", "tool"]).aggregate(packets=t.count(), sources=t.src4.nunique() + t.src6.nunique(),
                                                first=t.ts.min(), last=t.ts.max())
    rows = agg.filter(agg.packets >= min_packets).order_by([ibis.desc("packets"), "key", "tool"]).to_pyarrow()
    return [{"key": r["key"], "tool": r["tool"].strip()[:_MAX_TEXT], "packets": int(r["packets"]),
             "sources": int(r["sources"]), "first": r["first"].isoformat(), "last": r["last"].isoformat()}
            for r in rows.to_pylist()]


def payload_tool_findings(obs: Observation, period: Period, group: str | None = None,
                          min_sources: int = PAYLOAD_MIN_SOURCES) -> list[Finding]:
    """One finding per (port key, tool) sent by at least ``min_sources`` sources."""
    out: list[Finding] = []
    for r in payload_tools(obs, period, group):
        if r["sources"] < min_sources:
            continue
        out.append(Finding(
            "payload_tool", r["key"], tool=r["tool"],
            title_ja=f"{r['key']}へのパケットに「{r['tool']}」", title_en=f"“{r['tool']}” in {r['key']} payloads",
            start=r["first"], end=r["last"], score=min(1.0, r["sources"] / (2 * min_sources)),
            sources=r["sources"], evidence={"packets": r["packets"], "field": "User-Agent/Server header"},
        ))
    return out
