"""How well the detectors find what a generated scenario planted (:mod:`teiten.synth.scenario`).

``score(findings, truth, quarter)`` compares the findings of :func:`teiten.detect.run.detect`
over one quarter (``"2026Q2"``) with the scenario's ``truth.json`` and returns per finding
kind ``{"planted": P, "found": F, "matched_planted": a, "true_findings": b, "recall": a/P
(None when P == 0), "precision": b/F (None when F == 0), "false": [what each untrue
finding claimed]}``.  Days are UTC dates; a phenomenon is *active* in the quarter when its
window (first to last packet) overlaps the quarter's days; "±1 day" widens a span by a day
on each side.  A phenomenon's *names* are its port keys and its main countries (those
sending at least half its packets).  Planted items and matches, per kind:

mirai, zmap, masscan (and nmap, unicornscan)
    Counted in packets: P = the packets carrying the fingerprint on the quarter's days
    (``truth["by_day_fingerprint"]``, exact), F = the finding's ``evidence.packets`` (0
    without a finding), a = b = min(P, F); so recall = min(F, P)/P and precision =
    min(F, P)/F.  Nothing plants Nmap or Unicornscan packets: all found are false.
dos_victim
    P = the backscatter victims with an attack in the quarter; a finding is true when its
    ``victim`` is one of them.
scan
    P = the planted scanners active in the quarter: the ICMP sweeper and every ZMap and
    Masscan source with a scan in the quarter; one is found when a scan finding has its
    source and one of its scanned keys.  A scan finding is true when each of its keys
    (``evidence.keys``) is, with its source, one of the quarter's
    ``truth["background"]["scanners"]``: every (source, key) of the scenario's traffic,
    whichever generator sent it (background sources with many packets to random sensor
    addresses, Mirai bots and SIP scanners scan too), that really scans by the DESIGN §4
    definition, computed from the generated packets (:func:`teiten.synth.truth.background_truth`).
    A truth without ``"background"`` (written before it was recorded, or by hand): true
    when its source is a source of any planted phenomenon.
surge
    P = the onsets in the quarter: oracle_surge (1521/TCP, CN; from ``first_day`` to the day
    its last sources join, ``late_day`` + 9), icmp_sweeper (8/ICMP, CN) and backscatter
    (0/ICMP, 3/ICMP, KR) over their windows; one is found when a surge of one of its names
    overlaps those days ±1.  A surge is true when an *explanation* has its key and
    overlaps its days ±1, or when it is a *step* (below).  Explanations are (names, days)
    of every planted phenomenon: its window for the steady ones, and for ZMap, Masscan and
    SIP each source's key and country on each day it sent (their generators are replayed
    from the truth's seed, see :func:`replay`).
drop
    P = the stop of oracle_surge (1521/TCP, CN; the day after its last packet ±1), when it
    stops before the scenario ends; a drop is true when an explanation with its key ended
    within the 28 baseline days before the drop or during it, or when it is a step.
new_key, rank_jump
    Precision only (P = 0): true when an explanation with its key overlaps the quarter, or
    when it is a step.
step (surge, drop, new_key, rank_jump)
    A change that at most three sources starting or stopping carry, whichever generator
    sent them (the background's included: one host beginning on its private high port, or
    in a small country).  Judged with ``truth["background"]["busy_sources"]`` (each source's
    packets per day on each port key and in its country, recorded where it sent 20 or more
    on some day: :func:`teiten.synth.truth.busy_sources`) and truth.json's own daily counts
    (``by_day_key``, ``by_day_country``; the finding gives only its key, ``dimension`` and
    days, never the size of the change).  Surge or drop: on its ``evidence.peak_day`` (else
    its first day), the key's change is its packets that day minus their median over the
    28 days before, and each busy source's change the same of its own packets; it is a
    step when the key changed in the finding's direction and the three busy sources that
    changed most that way sum to at least half of it.  Rank jump or new key: the same with
    packets per day in the quarter minus in the previous quarter (0 before the scenario).
    So a change spread over many sources (a country's busier day) is no step, nor one the
    busy sources carry less than half of, nor one on a day the key did not change; and a
    change by sources that never sent 20 packets a day is not recorded: false unless a
    planted phenomenon explains it.  Without ``busy_sources`` (a truth written before they
    were recorded, or by hand), nothing is a step.
concentration
    P = (1521/TCP, country, CN) and (1521/TCP, source_port, 6000) while oracle_surge is
    active, (8/ICMP, source, the sweeper) while the sweeper is; one is found when a finding
    has the same (key, by, value).  A finding ``by`` source is true when its (key, source)
    is one of the quarter's ``truth["background"]["single_source_keys"]``: every port key
    with at least 500 packets in the quarter of which one source sent at least half,
    whichever generator sent them (the DoS victim's echo replies, and the background's
    sources on their private high port: its "port 0" key).  Any other finding is true when
    it equals a planted one, or a planted phenomenon active in the quarter has its key and
    the value is one of its main countries (``by`` country).  A truth without
    ``"background"``: a finding ``by`` source is true when it equals a planted one or a
    planted phenomenon active in the quarter has its key and the value as a source.
diurnal
    P = the diurnal phenomenon's countries and keys (BR, AR, 445/TCP).  A finding is true
    when its key (a country, a port key or ``key@country``) involves one of them and its
    ``evidence.peak_hour`` is within 1.5 h (on the 24 h circle) of the planted peak in UTC
    (``peak_local_hour - utc_offset_hours``); a planted item is found when a true finding
    involves it.
payload_tool
    P = the named SIP tools (``by_tool`` but "other") with packets in the quarter; one is
    found when a finding's ``tool`` is its User-Agent.  A finding is true when its tool is
    the User-Agent of any SIP tool with packets in the quarter, "other" (Asterisk PBX)
    included: that header is in the planted packets too.
signature and any other kind
    Not judged: P = 0, ``found`` counted, recall and precision None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from teiten.enrich.geo import load_geo
from teiten.periods import Period, parse_period
from teiten.synth import phenomena as ph
from teiten.synth.population import DAY_US, Traffic
from teiten.synth.sensors import telescope
from teiten.synth.truth import key_names, port_keys, source_countries

__all__ = ["FINGERPRINTS", "KINDS", "Activity", "describe", "replay", "score"]

Finding = dict[str, Any]
Truth = dict[str, Any]
Score = dict[str, Any]

FINGERPRINTS = ("mirai", "zmap", "masscan", "nmap", "unicornscan")
#: The kinds every score lists, in this order (others follow as found).
KINDS = (*FINGERPRINTS, "dos_victim", "scan", "surge", "drop", "new_key", "rank_jump", "concentration",
         "diurnal", "payload_tool", "signature")
SCANNERS = ("icmp_sweeper", "zmap", "masscan")
ORACLE_SOURCE_PORT = 6000  # teiten.synth.phenomena.oracle_surge
JOIN_DAYS = 10  # oracle_surge's late sources join on late_day .. late_day + 9
BASELINE_DAYS = 28  # teiten.detect.changes.ChangeRules.baseline
STEP_SOURCES = 3  # a step: so few sources carry at least half of a change
UNKNOWN_REGION = "--"  # teiten.engine.observation.UNKNOWN_REGION
PEAK_SLACK_H = 1.5
#: Generators replayed for per-source detail: their index among the scenario's random
#: streams (``SeedSequence(seed).spawn(9)`` in ``teiten.synth.scenario._traffic``).
STREAMS = {"sip": 6, "zmap": 7, "masscan": 8}
SIP_AGENTS = {name: agent for name, _method, agent, _share in ph.SIP_TOOLS}


@dataclass(frozen=True)
class Activity:
    """Packets a source of a replayed phenomenon sent on one port key and UTC day."""

    phenomenon: str
    source: str
    country: str
    key: str
    day: date
    packets: int
    tool: str | None = None  # SIP: the tool named in the payload


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


def _quarter(quarter: str) -> tuple[date, date]:
    p = parse_period(quarter)
    return p.first, p.last


def _window(p: Truth) -> tuple[date, date]:
    return _day(p["window"][0]), _day(p["window"][1])


def _active(p: Truth, q: tuple[date, date]) -> bool:
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


# ---------------------------------------------------------------- replay


def replay(truth: Truth) -> list[Activity]:
    """The per-source, per-day packets of the SIP, ZMap and Masscan phenomena, obtained by
    running their generators again with the truth's seed and scale; raises ValueError
    when the replay does not give the truth's sources and packets (the scenario changed)."""
    acts, check = _replay(int(truth["seed"]), float(truth["scale"]), str(truth["start"]), int(truth["days"]))
    for name, (packets, sources) in check.items():
        p = truth["phenomena"].get(name)
        if p is None or p["packets"] != packets or sorted(p["sources"]) != list(sources):
            raise ValueError(f"replaying {name} does not give truth.json's packets and sources")
    return list(acts)


@lru_cache(maxsize=4)
def _replay(seed: int, scale: float, start: str, days: int
            ) -> tuple[tuple[Activity, ...], dict[str, tuple[int, tuple[str, ...]]]]:
    geo, tel = load_geo(), telescope()
    d0 = date.fromisoformat(start)
    t0 = int(datetime(d0.year, d0.month, d0.day, tzinfo=UTC).timestamp()) * 1_000_000
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    gens: dict[str, Callable[[np.random.Generator], tuple[Traffic, Truth]]] = {
        "sip": lambda r: ph.sip_scans(geo, tel, days, t0, scale, r),
        "zmap": lambda r: ph.tool_scans(geo, tel, days, t0, scale, r, "zmap"),
        "masscan": lambda r: ph.tool_scans(geo, tel, days, t0, scale, r, "masscan"),
    }
    acts: list[Activity] = []
    check: dict[str, tuple[int, tuple[str, ...]]] = {}
    for name, gen in gens.items():
        traffic, t = gen(rngs[STREAMS[name]])
        check[name] = (int(t["packets"]), tuple(sorted(t["sources"])))
        tools = [x[0] for x in ph.SIP_TOOLS] if name == "sip" else None
        acts += _activities(name, traffic, t0, d0, len(tel.addr4), tools)
    return tuple(acts), check


def _activities(name: str, traffic: Traffic, t0: int, d0: date, sensors: int,
                tools: list[str] | None) -> list[Activity]:
    c = traffic.cols
    ukeys, kidx = np.unique(port_keys(c), return_inverse=True)
    usrc, sidx = np.unique(c.src, return_inverse=True)
    cidx, cnames = source_countries(load_geo(), c)
    day = (c.ts - t0) // DAY_US
    tool = c.payload_id.astype(np.int64) // sensors if tools else np.zeros(len(c), np.int64)
    rows, n = np.unique(np.stack([sidx.reshape(-1), kidx.reshape(-1), day, tool, cidx]), axis=1,
                        return_counts=True)
    keys = key_names(ukeys.astype(np.int64))
    dotted = [".".join(str(b) for b in int(a).to_bytes(4, "big")) for a in usrc.tolist()]
    return [Activity(name, dotted[s], cnames[cc], keys[k], d0 + timedelta(days=d), int(m),
                     tools[t] if tools else None)
            for (s, k, d, t, cc), m in zip(rows.T.tolist(), n.tolist(), strict=True)]


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


def _result(planted: int, found: int, matched: int, true: int, false: list[str], judged: bool = True) -> Score:
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


def _fingerprint(kind: str, fs: list[Finding], truth: Truth, q: tuple[date, date]) -> Score:
    planted = sum(int(v.get(kind, 0)) for d, v in truth["by_day_fingerprint"].items()
                  if q[0] <= _date(d) <= q[1])
    found = sum(int(f["evidence"]["packets"]) for f in fs)
    hit = min(planted, found)
    false = [f"{kind}: {found - hit} packets beyond the {planted} planted"] if found > planted else []
    return _result(planted, found, hit, hit, false)


def _dos(fs: list[Finding], truth: Truth, q: tuple[date, date]) -> Score:
    victims = {p["victim"] for p in truth["phenomena"].values() if "attacks" in p
               and any(_day(a["start"]) <= q[1] and q[0] <= _day(a["end"]) for a in p["attacks"])}
    true, false = _judge(fs, lambda f: f.get("victim") in victims)
    return _result(len(victims), len(fs), len({f.get("victim") for f in fs} & victims), true, false)


def _scanners(truth: Truth, acts: list[Activity], q: tuple[date, date]) -> dict[str, set[str]]:
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


def _scan(fs: list[Finding], truth: Truth, acts: list[Activity], q: tuple[date, date], quarter: str) -> Score:
    planted = _scanners(truth, acts, q)
    matched = sum(any(f.get("source") == s and keys & set(_scan_keys(f)) for f in fs) for s, keys in planted.items())
    scanning = _recorded(truth, "scanners", quarter)
    if scanning is None:
        everyone = {s for p in truth["phenomena"].values() for s in p.get("sources", [])}
        true, false = _judge(fs, lambda f: f.get("source") in everyone)
    else:
        true, false = _judge(fs, lambda f: all((f.get("source"), k) in scanning for k in _scan_keys(f)))
    return _result(len(planted), len(fs), matched, true, false)


def _finding_days(f: Finding) -> tuple[date, date]:
    return _date(f["start"]), _date(f["end"])


def _explained(kind: str, f: Finding, spans: list[Span], q: tuple[date, date]) -> bool:
    """Does a planted phenomenon explain this change finding (module docstring)?"""
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
    starting or stopping carry a change (module docstring)."""

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


def _changes(kind: str, fs: list[Finding], truth: Truth, acts: list[Activity], q: tuple[date, date],
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
    return _result(len(planted), len(fs), matched, true, false)


def _concentration(fs: list[Finding], truth: Truth, q: tuple[date, date], quarter: str) -> Score:
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
    return _result(len(planted), len(fs), matched, true, false)


def _values(p: Truth, by: str) -> set[str]:
    return _main_countries(p) if by == "country" else set(p.get("sources", []))


def _involves(key: str, item: str) -> bool:
    return item in {key, *key.split("@")}


def _diurnal(fs: list[Finding], truth: Truth, q: tuple[date, date]) -> Score:
    d = truth["phenomena"].get("diurnal")
    if d is None or not _active(d, q):
        true, false = _judge(fs, lambda f: False)
        return _result(0, len(fs), 0, true, false)
    items = set(d["countries"]) | set(d["keys"])
    peak = (d["peak_local_hour"] - d["utc_offset_hours"]) % 24

    def ok(f: Finding) -> bool:
        return any(_involves(f["key"], i) for i in items) and \
            _circular(float(f["evidence"]["peak_hour"]), peak) <= PEAK_SLACK_H

    true, false = _judge(fs, ok)
    matched = sum(any(ok(f) and _involves(f["key"], i) for f in fs) for i in items)
    return _result(len(items), len(fs), matched, true, false)


def _payload(fs: list[Finding], truth: Truth, acts: list[Activity], q: tuple[date, date]) -> Score:
    sent = {a.tool for a in acts if a.tool is not None and q[0] <= a.day <= q[1]}
    agents = {SIP_AGENTS[t] for t in sent}
    planted = {SIP_AGENTS[t] for t in sent if t != "other"}
    keys = set(truth["phenomena"].get("sip", {}).get("keys", []))
    true, false = _judge(fs, lambda f: f.get("tool") in agents and f["key"] in keys)
    return _result(len(planted), len(fs), len(planted & {f.get("tool") for f in fs}), true, false)


# ---------------------------------------------------------------- entry point


def score(findings: Iterable[Finding], truth: Truth, quarter: str, *,
          activity: list[Activity] | None = None) -> dict[str, Score]:
    """Per finding kind, the planted items, the findings and how they match (module docstring);
    ``activity``: the replayed per-source activity (default: :func:`replay` of ``truth``, which
    needs the truth's seed and scale; pass it, even empty, for a hand-written truth)."""
    q = _quarter(quarter)
    acts = replay(truth) if activity is None else activity
    by_kind: dict[str, list[Finding]] = {}
    for f in findings:
        by_kind.setdefault(str(f["kind"]), []).append(f)
    out: dict[str, Score] = {}
    for kind in (*KINDS, *sorted(set(by_kind) - set(KINDS))):
        fs = by_kind.get(kind, [])
        if kind in FINGERPRINTS:
            out[kind] = _fingerprint(kind, fs, truth, q)
        elif kind == "dos_victim":
            out[kind] = _dos(fs, truth, q)
        elif kind == "scan":
            out[kind] = _scan(fs, truth, acts, q, quarter)
        elif kind in ("surge", "drop", "new_key", "rank_jump"):
            out[kind] = _changes(kind, fs, truth, acts, q, quarter)
        elif kind == "concentration":
            out[kind] = _concentration(fs, truth, q, quarter)
        elif kind == "diurnal":
            out[kind] = _diurnal(fs, truth, q)
        elif kind == "payload_tool":
            out[kind] = _payload(fs, truth, acts, q)
        else:
            out[kind] = _result(0, len(fs), 0, 0, [], judged=False)
    return out
