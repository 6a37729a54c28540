"""Replaying the SIP, ZMap and Masscan generators of a scenario for per-source detail.

truth.json records those phenomena's sources and packets, not who sent what on which day;
:func:`replay` runs their generators again with the truth's seed and scale and returns the
packets each source sent on each port key and UTC day (:class:`Activity`).  The accuracy
scorer (docs/accuracy.md) explains findings with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from teiten.enrich.geo import load_geo
from teiten.synth import phenomena as ph
from teiten.synth.population import DAY_US, Traffic
from teiten.synth.sensors import telescope
from teiten.synth.truth import key_names, port_keys, source_countries

__all__ = ["STREAMS", "Activity", "Truth", "replay"]

Truth = dict[str, Any]

#: Generators replayed for per-source detail: their index among the scenario's random
#: streams (``SeedSequence(seed).spawn(9)`` in ``teiten.synth.scenario._traffic``).
STREAMS = {"sip": 6, "zmap": 7, "masscan": 8}


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
