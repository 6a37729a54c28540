"""How well the detectors find what a generated scenario planted (:mod:`teiten.synth.scenario`).

``score(findings, truth, quarter)`` compares the findings of :func:`teiten.detect.run.detect`
over one quarter (``"2026Q2"``) with the scenario's ``truth.json`` and returns per finding
kind ``{"planted": P, "found": F, "matched_planted": a, "true_findings": b, "recall": a/P
(None when P == 0), "precision": b/F (None when F == 0), "false": [what each untrue
finding claimed]}``.  What is planted and which findings are true, per kind, is specified
in docs/accuracy.md; the judges are in :mod:`teiten.synth.judges`, the replay of the
generators whose per-source detail truth.json does not hold in :mod:`teiten.synth.replay`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from teiten.periods import parse_period
from teiten.synth import judges
from teiten.synth.judges import CHANGES, Finding, Score, describe
from teiten.synth.replay import Activity, Truth, replay

__all__ = ["FINGERPRINTS", "KINDS", "Activity", "JsonFinding", "describe", "replay", "score"]

FINGERPRINTS = ("mirai", "zmap", "masscan", "nmap", "unicornscan")
#: The kinds every score lists, in this order (others follow as found).
KINDS = (*FINGERPRINTS, "dos_victim", "scan", *CHANGES, "concentration", "diurnal", "payload_tool", "signature")


class JsonFinding(Protocol):
    """A finding as :func:`teiten.detect.run.detect` returns it (``teiten.detect.finding.Finding``)."""

    def to_json(self) -> dict[str, Any]: ...


def score(findings: Iterable[JsonFinding | Finding], truth: Truth, quarter: str, *,
          activity: list[Activity] | None = None) -> dict[str, Score]:
    """Per finding kind, the planted items, the findings and how they match (docs/accuracy.md).

    ``findings``: as ``detect`` returns them, or their ``teiten detect --json`` objects;
    ``activity``: the replayed per-source activity (default: :func:`replay` of ``truth``, which
    needs the truth's seed and scale; pass it, even empty, for a hand-written truth)."""
    period = parse_period(quarter)
    q = period.first, period.last
    acts = replay(truth) if activity is None else activity
    by_kind: dict[str, list[Finding]] = {}
    for finding in findings:
        f = finding if isinstance(finding, dict) else finding.to_json()
        by_kind.setdefault(str(f["kind"]), []).append(f)
    out: dict[str, Score] = {}
    for kind in (*KINDS, *sorted(set(by_kind) - set(KINDS))):
        fs = by_kind.get(kind, [])
        if kind in FINGERPRINTS:
            out[kind] = judges.fingerprint(kind, fs, truth, q)
        elif kind == "dos_victim":
            out[kind] = judges.dos_victim(fs, truth, q)
        elif kind == "scan":
            out[kind] = judges.scan(fs, truth, acts, q, quarter)
        elif kind in CHANGES:
            out[kind] = judges.changes(kind, fs, truth, acts, q, quarter)
        elif kind == "concentration":
            out[kind] = judges.concentration(fs, truth, q, quarter)
        elif kind == "diurnal":
            out[kind] = judges.diurnal(fs, truth, q)
        elif kind == "payload_tool":
            out[kind] = judges.payload_tool(fs, truth, acts, q)
        else:
            out[kind] = judges.result(0, len(fs), 0, 0, [], judged=False)
    return out
