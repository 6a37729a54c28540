"""The judges of the accuracy scorer: per finding kind, what was planted and which findings are true.

Each judge takes the findings of one kind, the scenario's truth and the quarter's days and
returns that kind's score (:func:`result`); the rules are those of docs/accuracy.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from teiten.periods import Period, parse_period
from teiten.synth import phenomena as ph
from teiten.synth.replay import STREAMS, Activity, Truth

__all__ = ["CHANGES", "Finding", "Score", "changes", "concentration", "describe", "diurnal", "dos_victim",
           "fingerprint", "payload_tool", "result", "scan"]

Finding = dict[str, Any]
Score = dict[str, Any]
Days = tuple[date, date]  # the quarter's first and last day

CHANGES = ("surge", "drop", "new_key", "rank_jump")
SCANNERS = ("icmp_sweeper", "zmap", "masscan")
ORACLE_SOURCE_PORT = 6000  # teiten.synth.phenomena.oracle_surge
JOIN_DAYS = 10  # oracle_surge's late sources join on late_day .. late_day + 9
BASELINE_DAYS = 28  # teiten.detect.changes.ChangeRules.baseline
STEP_SOURCES = 3  # a step: so few sources carry at least half of a change
UNKNOWN_REGION = "--"  # teiten.engine.observation.UNKNOWN_REGION
PEAK_SLACK_H = 1.5  # hours between a diurnal finding's peak and the planted one
SIP_AGENTS = {name: agent for name, _method, agent, _share in ph.SIP_TOOLS}


@dataclass(frozen=True)
class Span:
    """Days on which a planted phenomenon put packets into some port keys and regions."""

    phenomenon: str
    names: frozenset[str]
    first: date
    last: date

    def overlaps(self, a: date, b: date, slack: int = 0) -> bool:
        return self.first - timedelta(days=slack) <= b and a <= self.last + timedelta(days=slack)


# ---------------------------------------------------------------- truth helpers


def _day(us: int) -> date:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))).date()


def _date(text: str) -> date:
    return date.fromisoformat(str(text)[:10])




def _window(p: Truth) -> tuple[date, date]:
    return _day(p["window"][0]), _day(p["window"][1])


def _active(p: Truth, q: Days) -> bool:
    a, b = _window(p)
    return a <= q[1] and q[0] <= b


def _main_countries(p: Truth) -> set[str]:
    counts: dict[str, int] = p.get("countries", {})
    total = sum(counts.values())
    return {c for c, n in counts.items() if total and 2 * n >= total}


def _names(p: Truth) -> frozenset[str]:
    return frozenset(p.get("keys", [])) | _main_countries(p)


def _circular(a: float, b: float) -> float:
    d = abs(a - b) % 24
    return min(d, 24 - d)


# ---------------------------------------------------------------- explanations


def _explanations(truth: Truth, acts: list[Activity]) -> list[Span]:
    """Where and when planted traffic went: steady phenomena over their windows, the
    replayed ones per source and day (their key and the source's country)."""
    out = [Span(name, _names(p), *_window(p)) for name, p in truth["phenomena"].items() if name not in STREAMS]
    out += [Span(a.phenomenon, frozenset({a.key, a.country}), a.day, a.day) for a in acts]
    return out


def _onsets(truth: Truth, start: date) -> list[Span]:
    ph_ = truth["phenomena"]
    out = []
    if (o := ph_.get("oracle_surge")) is not None:
        out.append(Span("oracle_surge", _names(o), start + timedelta(days=o["first_day"]),
                        start + timedelta(days=o["late_day"] + JOIN_DAYS - 1)))
    out += [Span(n, _names(ph_[n]), *_window(ph_[n])) for n in ("icmp_sweeper", "backscatter") if n in ph_]
    return out


def _stops(truth: Truth, end: date) -> list[Span]:
    o = truth["phenomena"].get("oracle_surge")
    if o is None or _window(o)[1] >= end:
        return []
    stop = _window(o)[1] + timedelta(days=1)
    return [Span("oracle_surge", _names(o), stop, stop)]


# ---------------------------------------------------------------- results


def result(planted: int, found: int, matched: int, true: int, false: list[str], judged: bool = True) -> Score:
    return {"planted": planted, "found": found, "matched_planted": matched, "true_findings": true,
            "recall": matched / planted if planted else None,
            "precision": true / found if found and judged else None, "false": false}


def describe(f: Finding) -> str:
    """A finding in a few words (for the lists of false findings)."""
    kind = f["kind"]
    if kind == "scan":
        return f"scan {f['source']} {f['key']} ({f['evidence'].get('widest')} addresses)"
    if kind == "concentration":
        return f"concentration {f['key']} by {f['by']} {f['value']} ({f['score']:.0%})"
    if kind == "diurnal":
        return f"diurnal {f['key']} peak {f['evidence']['peak_hour']:.1f} h UTC"
    if kind == "payload_tool":
        return f"payload_tool {f['key']} {f['tool']!r}"
    if kind == "dos_victim":
        return f"dos_victim {f['victim']} {f['start']}"
    return f"{kind} {f['key']} {str(f.get('start'))[:10]}..{str(f.get('end'))[:10]}"


def _judge(fs: list[Finding], ok: Callable[[Finding], bool]) -> tuple[int, list[str]]:
    verdicts = [ok(f) for f in fs]
    return sum(verdicts), [describe(f) for f, v in zip(fs, verdicts, strict=True) if not v]


# ---------------------------------------------------------------- per kind


def fingerprint(kind: str, fs: list[Finding], truth: Truth, q: Days) -> Score:
    planted = sum(int(v.get(kind, 0)) for d, v in truth["by_day_fingerprint"].items()
                  if q[0] <= _date(d) <= q[1])
    found = sum(int(f["evidence"]["packets"]) for f in fs)
    hit = min(planted, found)
    false = [f"{kind}: {found - hit} packets beyond the {planted} planted"] if found > planted else []
    return result(planted, found, hit, hit, false)


def dos_victim(fs: list[Finding], truth: Truth, q: Days) -> Score:
    victims = {p["victim"] for p in truth["phenomena"].values() if "attacks" in p
               and any(_day(a["start"]) <= q[1] and q[0] <= _day(a["end"]) for a in p["attacks"])}
    true, false = _judge(fs, lambda f: f.get("victim") in victims)
    return result(len(victims), len(fs), len({f.get("victim") for f in fs} & victims), true, false)


def _scanners(truth: Truth, acts: list[Activity], q: Days) -> dict[str, set[str]]:
    """Planted scanner -> the keys it scanned in the quarter."""
    out: dict[str, set[str]] = {}
    sweeper = truth["phenomena"].get("icmp_sweeper")
    if sweeper is not None and _active(sweeper, q):
        for s in sweeper["sources"]:
            out.setdefault(s, set()).update(sweeper["keys"])
    for a in acts:
        if a.phenomenon in SCANNERS and q[0] <= a.day <= q[1]:
            out.setdefault(a.source, set()).add(a.key)
    return out


def _recorded(truth: Truth, what: str, quarter: str) -> set[tuple[str, str]] | None:
    """The quarter's (source, key) pairs of ``truth["background"][what]``; None when not recorded."""
    bg = truth.get("background")
    if bg is None:
        return None
    return {(r["source"], r["key"]) for r in bg[what] if r["quarter"] == quarter}


def _scan_keys(f: Finding) -> list[str]:
    keys: list[str] = f["evidence"].get("keys", [f["key"]])
    return keys


def scan(fs: list[Finding], truth: Truth, acts: list[Activity], q: Days, quarter: str) -> Score:
    planted = _scanners(truth, acts, q)
    matched = sum(any(f.get("source") == s and keys & set(_scan_keys(f)) for f in fs) for s, keys in planted.items())
    scanning = _recorded(truth, "scanners", quarter)
    if scanning is None:
        everyone = {s for p in truth["phenomena"].values() for s in p.get("sources", [])}
        true, false = _judge(fs, lambda f: f.get("source") in everyone)
    else:
        true, false = _judge(fs, lambda f: all((f.get("source"), k) in scanning for k in _scan_keys(f)))
    return result(len(planted), len(fs), matched, true, false)


def _finding_days(f: Finding) -> tuple[date, date]:
    return _date(f["start"]), _date(f["end"])


def _explained(kind: str, f: Finding, spans: list[Span], q: Days) -> bool:
    """Does a planted phenomenon explain this change finding (docs/accuracy.md)?"""
    a, b = _finding_days(f)
    named = [s for s in spans if f["key"] in s.names]
    if kind == "surge":
        return any(s.overlaps(a, b, 1) for s in named)
    if kind == "drop":
        return any(a - timedelta(days=BASELINE_DAYS) <= s.last <= b for s in named)
    return any(s.overlaps(*q) for s in named)


class _Steps:
    """The daily series of truth.json (``by_day_key``, ``by_day_country``) and of its busy
    sources (``truth["background"]["busy_sources"]``), to tell whether a few sources
    starting or stopping carry a change (docs/accuracy.md)."""

    def __init__(self, truth: Truth) -> None:
        self.start, self.days = _date(truth["start"]), int(truth["days"])
        self._by_day = {"ports": truth["by_day_key"], "regions": truth["by_day_country"]}
        self._busy: dict[tuple[str, str], list[tuple[int, list[int]]]] = {}
        for r in truth["background"]["busy_sources"]:
            self._busy.setdefault((r["dimension"], r["key"]), []).append(
                ((_date(r["first"]) - self.start).days, r["packets"]))
        self._series: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def of(cls, truth: Truth) -> _Steps | None:
        return cls(truth) if "busy_sources" in truth.get("background", {}) else None

    def series(self, f: Finding) -> tuple[np.ndarray, np.ndarray]:
        """The finding's key: its packets per scenario day, and those of each busy source (rows)."""
        key = str(f["key"])
        dim = str(f.get("dimension") or ("ports" if "/" in key or key == "FRAG" else "regions"))
        if dim == "regions" and key == UNKNOWN_REGION:
            key = "??"  # teiten.synth.truth.source_countries
        if (dim, key) not in self._series:
            total = np.zeros(self.days)
            for d, counts in self._by_day[dim].items():
                i = (_date(d) - self.start).days
                if 0 <= i < self.days:
                    total[i] = counts.get(key, 0)
            busy = np.zeros((len(self._busy.get((dim, key), [])), self.days))
            for row, (first, packets) in enumerate(self._busy.get((dim, key), [])):
                busy[row, first:first + len(packets)] = packets
            self._series[dim, key] = total, busy
        return self._series[dim, key]

    def carried(self, kind: str, f: Finding, quarter: Period) -> bool:
        """Do at most STEP_SOURCES busy sources carry half of the change at this finding's key and days?"""
        total, busy = self.series(f)
        if kind in ("surge", "drop"):
            i = (_date(f.get("evidence", {}).get("peak_day") or f["start"]) - self.start).days
            if not BASELINE_DAYS <= i < self.days:
                return False
            base = slice(i - BASELINE_DAYS, i)
            change = total[i] - float(np.median(total[base]))
            each = busy[:, i] - np.median(busy[:, base], axis=1) if len(busy) else np.zeros(0)
        else:  # the change of packets per day from the previous quarter
            now, before = quarter, quarter.previous()
            change = float(self._per_day(total[None, :], now)[0] - self._per_day(total[None, :], before)[0])
            each = self._per_day(busy, now) - self._per_day(busy, before)
        sign = -1.0 if kind == "drop" else 1.0
        if sign * change <= 0:
            return False
        top = np.sort(np.clip(sign * each, 0.0, None))[::-1][:STEP_SOURCES]
        return 2 * float(top.sum()) >= sign * float(change)

    def _per_day(self, m: np.ndarray, p: Period) -> np.ndarray:
        a, b = (p.first - self.start).days, (p.last - self.start).days + 1
        out: np.ndarray = m[:, max(a, 0):max(min(b, self.days), 0)].sum(axis=1) / (b - a)
        return out


def changes(kind: str, fs: list[Finding], truth: Truth, acts: list[Activity], q: Days,
             quarter: str) -> Score:
    start, end = _date(truth["start"]), _date(truth["end"])
    planted = {"surge": _onsets(truth, start), "drop": _stops(truth, end)}.get(kind, [])
    planted = [s for s in planted if q[0] <= s.first <= q[1]]
    spans = _explanations(truth, acts)
    steps = _Steps.of(truth)
    period = parse_period(quarter)
    matched = sum(any(f["key"] in s.names and s.overlaps(*_finding_days(f), 1) for f in fs) for s in planted)
    true, false = _judge(fs, lambda f: _explained(kind, f, spans, q)
                         or (steps is not None and steps.carried(kind, f, period)))
    return result(len(planted), len(fs), matched, true, false)


def concentration(fs: list[Finding], truth: Truth, q: Days, quarter: str) -> Score:
    phs = truth["phenomena"]
    planted: set[tuple[str, str, Any]] = set()
    if (o := phs.get("oracle_surge")) is not None and _active(o, q):
        for k in o["keys"]:
            planted |= {(k, "country", c) for c in _main_countries(o)} | {(k, "source_port", ORACLE_SOURCE_PORT)}
    if (s := phs.get("icmp_sweeper")) is not None and _active(s, q):
        planted |= {(k, "source", src) for k in s["keys"] for src in s["sources"]}

    dominated = _recorded(truth, "single_source_keys", quarter)

    def ok(f: Finding) -> bool:
        if f["by"] == "source" and dominated is not None:
            return (f["value"], f["key"]) in dominated
        if (f["key"], f["by"], f["value"]) in planted:
            return True
        if f["by"] not in ("country", "source"):
            return False
        return any(f["key"] in p.get("keys", []) and f["value"] in _values(p, f["by"])
                   for p in phs.values() if _active(p, q))

    matched = len(planted & {(f["key"], f["by"], f["value"]) for f in fs})
    true, false = _judge(fs, ok)
    return result(len(planted), len(fs), matched, true, false)


def _values(p: Truth, by: str) -> set[str]:
    return _main_countries(p) if by == "country" else set(p.get("sources", []))


def _involves(key: str, item: str) -> bool:
    return item in {key, *key.split("@")}


def diurnal(fs: list[Finding], truth: Truth, q: Days) -> Score:
    d = truth["phenomena"].get("diurnal")
    if d is None or not _active(d, q):
        true, false = _judge(fs, lambda f: False)
        return result(0, len(fs), 0, true, false)
    items = set(d["countries"]) | set(d["keys"])
    peak = (d["peak_local_hour"] - d["utc_offset_hours"]) % 24

    def ok(f: Finding) -> bool:
        return any(_involves(f["key"], i) for i in items) and \
            _circular(float(f["evidence"]["peak_hour"]), peak) <= PEAK_SLACK_H

    true, false = _judge(fs, ok)
    matched = sum(any(ok(f) and _involves(f["key"], i) for f in fs) for i in items)
    return result(len(items), len(fs), matched, true, false)


def payload_tool(fs: list[Finding], truth: Truth, acts: list[Activity], q: Days) -> Score:
    sent = {a.tool for a in acts if a.tool is not None and q[0] <= a.day <= q[1]}
    agents = {SIP_AGENTS[t] for t in sent}
    planted = {SIP_AGENTS[t] for t in sent if t != "other"}
    keys = set(truth["phenomena"].get("sip", {}).get("keys", []))
    true, false = _judge(fs, lambda f: f.get("tool") in agents and f["key"] in keys)
    return result(len(planted), len(fs), len(planted & {f.get("tool") for f in fs}), true, false)
