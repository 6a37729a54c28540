"""Every detector over one period: the findings of ``teiten detect`` (docs/detection.md).

``detect(obs, period)`` runs the detectors in a fixed order and returns their findings;
``timings`` (when given) receives the seconds each detector took, for benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from teiten.detect.finding import Finding
from teiten.engine.observation import Observation
from teiten.periods import Period

__all__ = ["DETECTORS", "detect"]

#: The detectors in the order their findings are listed.
DETECTORS = ("fingerprints", "dos", "scans", "changes", "payloads", "concentration", "diurnal", "signatures")


def _runners(obs: Observation, period: Period, group: str | None, top: int, rules: Path | None,
             ) -> dict[str, Callable[[], list[Finding]]]:
    from teiten.detect.backscatter import dos_findings
    from teiten.detect.changes import change_findings
    from teiten.detect.concentration import concentration_findings
    from teiten.detect.diurnal import diurnal_findings
    from teiten.detect.fingerprints import load_fingerprints
    from teiten.detect.payloads import payload_tool_findings
    from teiten.detect.scans import scan_findings
    from teiten.detect.signatures import load_rules, signature_findings
    from teiten.detect.tools import fingerprint_findings

    # one cube (packets per day, key and region) over the period and the one before serves the
    # change detection's baseline and every ranking the other detectors take
    window = Period("range", period.previous().first, period.last, period.tz)
    cubed: list[Observation] = []

    def cube() -> Observation:
        if not cubed:
            have = obs.cube is not None and obs.cube.covers(window, group)
            cubed.append(obs if have else obs.with_cube(window, group))
        return cubed[0]

    def changes() -> list[Finding]:
        return change_findings(cube(), period, group, dimensions=("ports", "regions"))

    return {
        "fingerprints": lambda: fingerprint_findings(obs, load_fingerprints(), period, group, top),
        "dos": lambda: dos_findings(obs, period, group),
        "scans": lambda: scan_findings(obs, period, group),
        "changes": changes,
        "payloads": lambda: payload_tool_findings(obs, period, group),
        "concentration": lambda: concentration_findings(cube(), period, group),
        "diurnal": lambda: diurnal_findings(cube(), period, group),
        # the signatures size their source buckets from the period's packets: the cube's count
        # when the detectors before them built it
        "signatures": lambda: signature_findings(cubed[0] if cubed else obs, period, load_rules(rules), group),
    }


def detect(obs: Observation, period: Period, group: str | None = None, *, top: int = 5, rules: Path | None = None,
           only: tuple[str, ...] = DETECTORS, timings: dict[str, float] | None = None) -> list[Finding]:
    """The findings of the detectors named in ``only`` (all by default) over ``period``;
    ``rules``: a signature file instead of the shipped one."""
    runners = _runners(obs, period, group, top, rules)
    out: list[Finding] = []
    for name in DETECTORS:
        if name not in only:
            continue
        t = time.perf_counter()
        out += runners[name]()
        if timings is not None:
            timings[name] = time.perf_counter() - t
    return out
