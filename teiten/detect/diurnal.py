"""Diurnal periodicity (docs/detection.md; NPA 2009-07 on South American 4899/TCP): a 24-hour rhythm
in the hourly packets of a region, a port key or a key from one region — bots on home PCs
that sleep when their owners do.

The rhythm's strength is the normalised first harmonic of the hour-of-day profile,
A = 2·|Σₕ cₕ·e^(−2πih/24)| / Σₕ cₕ (a profile 1 + a·cos(…) has A = a). It must exceed
``amplitude`` and the noise of a flat profile (``noise_sigmas`` · 2/√N), and both halves
of the period must peak within ``max_peak_shift`` hours of each other, and most weeks
that carry traffic (``weeks_share``) must peak within ``week_shift`` hours of the whole
period's peak: a rhythm recurs, a few bursts do not.
"""

from __future__ import annotations

import cmath
import math

import ibis

from teiten.analyze.series import top_keys
from teiten.detect.finding import Finding
from teiten.detect.thresholds import DiurnalRules
from teiten.engine.local_time import day_number, local_day, local_hour
from teiten.engine.observation import UNKNOWN_REGION, Observation
from teiten.keys import key_codes, key_name
from teiten.periods import Period

__all__ = ["diurnal_findings", "rhythm"]


def rhythm(profile: list[float]) -> tuple[float, float]:
    """(A, peak hour) of a 24-bin hour-of-day profile."""
    total = sum(profile)
    if total <= 0:
        return 0.0, 0.0
    z = sum(c * cmath.exp(-2j * math.pi * h / 24) for h, c in enumerate(profile))
    return 2 * abs(z) / total, (-cmath.phase(z) * 24 / (2 * math.pi)) % 24


def _shift(a: float, b: float) -> float:
    d = abs(a - b) % 24
    return min(d, 24 - d)


def diurnal_findings(obs: Observation, period: Period, group: str | None = None,
                     rules: DiurnalRules = DiurnalRules()) -> list[Finding]:
    regions = top_keys(obs, "regions", period, rules.top, group)
    keys = top_keys(obs, "ports", period, rules.top, group)
    t, measure = obs.counted(period, group)  # the hourly roll-ups when the store has them
    # one pass groups on the key's integer code and the stored country (cheaper per packet than
    # their text), each folded to one "other" value outside the examined ones, so that the
    # result has a row per examined (key, region, hour, week) at most; names are made after
    codes = key_codes(keys)
    named = [r for r in regions if r != UNKNOWN_REGION]
    country = t.country.cast("string")
    in_region = country.isin(named) if named else ibis.literal(False)
    if UNKNOWN_REGION in regions:
        in_region = in_region | t.country.isnull()
    in_keys = t.kc.isin(codes)
    t = t.filter(in_region | in_keys)
    first = day_number(period.first)
    weeks = (period.days + 6) // 7
    t = t.mutate(hour=local_hour(t, period), week=(local_day(t, period) - first) // 7,
                 k=ibis.ifelse(in_keys, t.kc, -1), g=ibis.ifelse(in_region, country.fill_null(UNKNOWN_REGION), ""))
    agg = t.group_by(["k", "g", "hour", "week"]).aggregate(packets=measure(t)).to_pyarrow().to_pylist()
    profiles: dict[tuple[str, str], list[list[float]]] = {}

    def add(name: tuple[str, str], hour: int, week: int, n: int) -> None:
        p = profiles.setdefault(name, [[0.0] * 24 for _ in range(weeks)])
        p[week][hour] += n

    for r in agg:
        code, g, h, wk, n = int(r["k"]), r["g"], int(r["hour"]), int(r["week"]), int(r["packets"])
        k = key_name(code) if code >= 0 else ""
        if g:
            add(("region", g), h, wk, n)
        if k:
            add(("key", k), h, wk, n)
        if g and k:
            add(("pair", f"{k}@{g}"), h, wk, n)
    out: list[Finding] = []
    half = weeks // 2
    for (kind, name), by_week in profiles.items():
        both = [sum(w[h] for w in by_week) for h in range(24)]
        packets = sum(both)
        if packets < rules.min_packets:
            continue
        amp, peak = rhythm(both)
        (_, p0), (_, p1) = (rhythm([sum(w[h] for w in part) for h in range(24)])
                            for part in (by_week[:half], by_week[half:]))
        noise = rules.noise_sigmas * 2 / math.sqrt(packets)
        if amp < max(rules.amplitude, noise) or _shift(p0, p1) > rules.max_peak_shift:
            continue
        # a rhythm recurs: most weeks with traffic peak near the same hour (a few bursts of a
        # scanner, all in one or two weeks, make a strong profile that does not recur)
        sizes = sorted(sum(w) for w in by_week)
        enough = sizes[(len(sizes) - 1) // 2] / 4  # a quarter of the (lower) median week
        busy = [w for w in by_week if sum(w) > 0 and sum(w) >= enough]
        agree = sum(1 for w in busy if _shift(rhythm(w)[1], peak) <= rules.week_shift)
        if not busy or agree / len(busy) < rules.weeks_share:
            continue
        hour = round(peak) % 24
        out.append(Finding(
            "diurnal", name, dimension=kind,
            title_ja=f"{name}に日周型の変化（ピーク{hour}時 {period.tz}）",
            title_en=f"24-hour rhythm in {name} (peak {hour}:00 {period.tz})",
            start=period.start.isoformat(), end=period.end.isoformat(), score=min(1.0, amp),
            evidence={"amplitude": amp, "peak_hour": peak, "tz": period.tz, "packets": int(packets),
                      "profile": [int(x) for x in both], "peak_hours_by_half": [p0, p1],
                      "weeks_agreeing": agree, "weeks_with_traffic": len(busy)}))
    out.sort(key=lambda f: (-f.score, f.key))
    return out
