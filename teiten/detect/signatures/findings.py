"""The ``signature`` findings of ``teiten detect``: one per rule that alerted."""

from __future__ import annotations

from typing import Any

from teiten.detect.finding import Finding
from teiten.detect.signatures.rule import Rule
from teiten.detect.signatures.tables import signature_alerts
from teiten.engine.observation import Observation
from teiten.periods import Period

__all__ = ["signature_findings"]


def signature_findings(obs: Observation, period: Period, rules: list[Rule], group: str | None = None,
                       min_alerts: int = 1, top: int = 5) -> list[Finding]:
    """One ``signature`` finding per rule that alerted."""
    from teiten.analyze.drilldown import source_text
    from teiten.detect.backscatter import iso_utc

    alerts = signature_alerts(obs, period, rules, group)
    info = {r.sid: r for r in rules}
    by_sid: dict[int, list[dict[str, Any]]] = {}
    for row in alerts.to_pylist():
        by_sid.setdefault(int(row["sid"]), []).append(row)
    out: list[Finding] = []
    for sid, rows in by_sid.items():
        n = sum(int(x["alerts"]) for x in rows)
        if n < min_alerts:
            continue
        rows.sort(key=lambda x: (-int(x["alerts"]), x["src4"] or 0, x["src6"] or b""))
        r = info[sid]
        out.append(Finding(
            "signature", r.klass, sid=sid, title_ja=f"シグネチャ検知: {r.msg}（{r.klass}）",
            title_en=f"signature: {r.msg} ({r.klass})", start=iso_utc(min(x["first_us"] for x in rows) / 1e6),
            end=iso_utc(max(x["last_us"] for x in rows) / 1e6), score=1.0, sources=len(rows),
            top_sources=[{"source": source_text(x["src4"], x["src6"]), "region": x["region"],
                          "alerts": int(x["alerts"])} for x in rows[:top]],
            evidence={"alerts": n, "class": r.klass, "rule": r.raw},
        ))
    out.sort(key=lambda f: (-int(f.evidence["alerts"]), f.sid or 0))
    return out
