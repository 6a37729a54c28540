"""The tables of signature alerts: per rule and source (:func:`signature_alerts`, each rule
taking the engine's or the streamed path), and the NPA monthly report's Tables 4-1 and
4-2, alerts per day per sensor address by class or by source region
(:func:`signature_ranking`).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from teiten.analyze.address_days import address_days
from teiten.analyze.compare import compare_counts
from teiten.detect.signatures.alerts import ALERT_SCHEMA, countable, engine_alerts
from teiten.detect.signatures.expressions import streamed
from teiten.detect.signatures.rule import CLASSES, Rule
from teiten.detect.signatures.streamed import counted_alerts, ordered_alerts
from teiten.engine.observation import Observation
from teiten.enrich import country_name
from teiten.periods import Period

__all__ = ["signature_alerts", "signature_ranking"]


def signature_alerts(obs: Observation, period: Period, rules: list[Rule], group: str | None = None) -> pa.Table:
    """Alerts per rule and source: sid, class, src4, src6, region, alerts, first_us, last_us.
    Rules without payload tests or large address sets are counted in the engine
    (:func:`engine_alerts`); for the others the engine selects the packets that can pass
    their header tests, which stream through the vectorised matcher (header tests over
    whole arrays, large address sets of many rules in one interval table, payload tests in
    a compiled kernel, :func:`counted_alerts`); a threshold by destination takes the
    ordered path."""
    engine = [i for i, r in enumerate(rules) if countable(r) and not streamed(r)]
    counted = [i for i, r in enumerate(rules) if countable(r) and streamed(r)]
    ordered = [i for i, r in enumerate(rules) if not countable(r)]
    parts = []
    if engine:
        parts.append(engine_alerts(obs, period, rules, engine, group))
    if counted:
        parts.append(counted_alerts(obs, period, rules, counted, group))
    if ordered:
        parts.append(ordered_alerts(obs, period, rules, ordered, group))
    t = pa.concat_tables(parts) if parts else ALERT_SCHEMA.empty_table()
    ridx = t.column("rule").to_numpy()
    sid = pa.array([rules[i].sid for i in ridx.tolist()], pa.int64())
    klass = pa.array([rules[i].klass for i in ridx.tolist()], pa.string())
    return t.drop(["rule"]).append_column("sid", sid).append_column("class", klass)


def signature_ranking(obs: Observation, period: Period, rules: list[Rule], by: str = "class",
                      group: str | None = None, compare: str = "previous",
                      alerts: tuple[pa.Table, pa.Table | None] | None = None) -> dict[str, Any]:
    """NPA Tables 4-1 (``by="class"``) and 4-2 (``by="region"``): alerts per day per sensor
    address against the compared period, with each class's top signatures. ``alerts``: the
    :func:`signature_alerts` of the period and of the compared one, when already computed."""
    col = "class" if by == "class" else "region"
    prev_p = period.compared(compare) if compare != "none" else None
    if alerts is None:
        alerts = (signature_alerts(obs, period, rules, group),
                  signature_alerts(obs, prev_p, rules, group) if prev_p is not None else None)
    cur, prev = alerts

    def tally(t: pa.Table) -> dict[str, int]:
        a = t.group_by(col).aggregate([("alerts", "sum")])
        return {str(k): int(n) for k, n in zip(a.column(col).to_pylist(), a.column("alerts_sum").to_pylist(),
                                                strict=True)}

    cur_c = tally(cur)
    prev_c = tally(prev) if prev is not None and prev.num_rows else None
    prev_days = address_days(obs, prev_p, group) if prev_c is not None and prev_p is not None else None
    cmp = compare_counts(cur_c, prev_c, address_days(obs, period, group), prev_days)
    for r in cmp.rows:
        if by == "region":
            code = None if r["key"] == "--" else r["key"]
            r["name_ja"], r["name_en"] = country_name(code, "ja"), country_name(code, "en")
    top: dict[str, list[dict[str, Any]]] = {}
    if cur.num_rows:
        per = cur.group_by("sid").aggregate([("alerts", "sum")])
        info = {r.sid: r for r in rules}
        for s, c in sorted(zip(per.column("sid").to_pylist(), per.column("alerts_sum").to_pylist(), strict=True),
                           key=lambda x: (-x[1], x[0])):
            top.setdefault(info[s].klass, []).append({"sid": s, "msg": info[s].msg, "alerts": c})
    return {"period": period.to_json(), "previous": prev_p.to_json() if prev_p else None, "by": by,
            "classes": list(CLASSES), "total": cmp.total, "rows": cmp.rows,
            "top_signatures": {k: v[:5] for k, v in top.items()}}
