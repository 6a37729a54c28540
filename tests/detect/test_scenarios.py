"""DoS victims and scanners against two generated scenarios (what was planted is known), and the
victim of ICMP errors taken from the quoted packet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teiten.detect.backscatter import dos_attacks, dos_findings
from teiten.engine import open_observation
from teiten.ingest.pipeline import ingest_paths
from teiten.periods import period_between
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from teiten.synth.scenario import generate


@pytest.fixture(scope="module", params=[3, 11], ids=["seed3", "seed11"])
def scenario(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp(f"dos{request.param}")
    s = generate(tmp / "scenario", seed=request.param, scale=0.03 if request.param == 11 else 0.02)
    truth = json.loads(s.truth_path.read_text())
    with open_store(tmp / "store", lock=False) as con:
        for x in json.loads(s.sensors_path.read_text())["sensors"]:
            add_sensor(con, Sensor(x["name"], tuple(x["addresses"]), x.get("country"), x.get("group")))
    assert all(r.status == "ok" for r in ingest_paths(tmp / "store", s.captures))
    return tmp / "store", truth


def test_every_planted_attack_is_found_and_nothing_else(scenario: tuple[Path, dict[str, Any]]) -> None:
    store, truth = scenario
    bs = truth["phenomena"]["backscatter"]
    obs = open_observation(store)
    found = dos_attacks(obs, period_between(truth["start"], truth["end"]))
    planted = sorted(bs["attacks"], key=lambda a: a["start"])
    got = sorted(found, key=lambda a: a["start"])
    assert len(got) == len(planted) >= 2
    for g, p in zip(got, planted, strict=True):
        assert g["victim"] == bs["victim"] and g["country"] == "KR" and g["packets"] == p["packets"]
        assert round(g["peak_pps"] * 60) == p["max_60s"]
        assert abs(g["duration_s"] - (p["end"] - p["start"]) / 1e6) < 1e-3
        assert g["type"] == "syn_flood" and set(g["types"]) == {"syn_flood", "ping_flood", "udp_flood"}
        assert list(g["victim_ports"]) == [80]
        assert g["intensity_pps"] == pytest.approx(g["peak_pps"] * 2**32 / g["monitored_addresses"])
        assert g["monitored_addresses"] == sum(s.address_count for s in obs.sensors)
    f = dos_findings(obs, period_between(truth["start"], truth["end"]))
    assert {x.victim for x in f} == {bs["victim"]} and all(x.kind == "dos_victim" for x in f)


def test_planted_scanners_are_found(scenario: tuple[Path, dict[str, Any]]) -> None:
    from teiten.detect.scans import scan_findings, scans

    store, truth = scenario
    obs = open_observation(store)
    period = period_between(truth["start"], truth["end"])
    found, monitored, need = scans(obs, period)
    assert need == max(10, -(-monitored // 10))
    by_source: dict[str, set[str]] = {}
    for s in found:
        by_source.setdefault(s["source"], set()).add(s["key"])
        assert s["addresses"] >= need and s["packets"] >= s["addresses"]
    ph = truth["phenomena"]
    sweeper = ph["icmp_sweeper"]["sources"][0]
    assert by_source[sweeper] == {"8/ICMP"}
    widest = max((s for s in found if s["source"] == sweeper), key=lambda s: s["addresses"])
    assert widest["addresses"] == ph["icmp_sweeper"]["addresses_hit"]
    for tool in ("zmap", "masscan"):
        for src in ph[tool]["sources"]:
            assert by_source.get(src, set()) & set(ph[tool]["keys"]), (tool, src)
    # the DoS victim's replies are backscatter, not a scan
    assert ph["backscatter"]["victim"] not in by_source
    findings = scan_findings(obs, period)
    assert findings[0].kind == "scan" and findings[0].evidence["widest"] >= findings[-1].evidence["widest"]


def test_planted_surges_are_found(scenario: tuple[Path, dict[str, Any]]) -> None:
    from datetime import date, timedelta

    from teiten.detect.changes import change_findings
    from teiten.detect.thresholds import ChangeRules
    from teiten.periods import parse_period

    store, truth = scenario
    obs = open_observation(store)
    start = date.fromisoformat(truth["start"])
    rules = ChangeRules(min_packets=10)  # a small scenario: tens of packets a day
    q2 = change_findings(obs, parse_period("2026Q2"), rules=rules)
    surge = truth["phenomena"]["oracle_surge"]
    hits = [f for f in q2 if f.kind == "surge" and f.key == "1521/TCP"]
    assert hits, [(f.kind, f.key) for f in q2]
    first = min(date.fromisoformat(f.start) for f in hits)
    # at this scale the first days of the surge are a few packets: found within 10 days of its late phase
    assert start + timedelta(days=surge["first_day"]) <= first <= start + timedelta(days=surge["late_day"] + 10)
    q3 = change_findings(obs, parse_period("2026Q3"), rules=rules)
    sweep_day = truth["phenomena"]["icmp_sweeper"]["window_utc"][0][:10]
    assert any(f.kind == "surge" and f.key == "8/ICMP" and f.start <= sweep_day <= f.end for f in q3)
    a0, a1 = (x[:10] for x in truth["phenomena"]["backscatter"]["window_utc"])  # the attacks' days
    assert any(f.kind == "surge" and f.key == "0/ICMP" and f.start <= a1 and a0 <= f.end for f in q3)


def test_planted_concentration_and_rhythm(scenario: tuple[Path, dict[str, Any]]) -> None:
    from teiten.detect.concentration import concentration_findings
    from teiten.detect.diurnal import diurnal_findings
    from teiten.detect.thresholds import ConcentrationRules, DiurnalRules
    from teiten.periods import parse_period

    store, truth = scenario
    obs = open_observation(store)
    ph = truth["phenomena"]
    q2 = {(f.key, f.by): f for f in concentration_findings(obs, parse_period("2026Q2"))}
    assert q2[("1521/TCP", "source_port")].value == 6000
    assert q2[("1521/TCP", "source_port")].score >= 0.9
    assert q2[("1521/TCP", "country")].value == "CN"
    small = ConcentrationRules(min_packets=50)  # the victim's replies are ~100 packets at this scale
    q3 = {(f.key, f.by): f for f in concentration_findings(obs, parse_period("2026Q3"), rules=small)}
    assert q3[("8/ICMP", "source")].value == ph["icmp_sweeper"]["sources"][0]
    assert q3[("0/ICMP", "source")].value == ph["backscatter"]["victim"]
    rhythms = {f.key: f for f in diurnal_findings(obs, parse_period("2026Q2"), rules=DiurnalRules(min_packets=500))}
    d = ph["diurnal"]
    key = d["keys"][0]
    hits = [f for k, f in rhythms.items() if k.startswith(key + "@") and k.split("@")[1] in d["countries"]]
    hits += [rhythms[k] for k in d["countries"] if k in rhythms]
    assert hits, list(rhythms)
    utc_peak = (d["peak_local_hour"] - d["utc_offset_hours"]) % 24
    assert all(min(abs(f.evidence["peak_hour"] - utc_peak) % 24, 24 - abs(f.evidence["peak_hour"] - utc_peak)
                   % 24) <= 1.5 for f in hits)
    assert not any(k in ("CN", "US") for k in rhythms)  # flat senders have no rhythm


def test_bucketed_busiest_sources_and_ports_equal_the_exact_count(scenario: tuple[Path, dict[str, Any]]) -> None:
    """Concentration's busy sources and source ports per key, found through hashed buckets,
    are exactly the values whose count per (key, value) reaches the share."""
    from teiten.analyze.rankings import counts
    from teiten.detect.concentration import busiest_values
    from teiten.keys import key_codes, key_name
    from teiten.periods import parse_period

    store, _ = scenario
    obs = open_observation(store)
    period = parse_period("2026Q2")
    per_key = counts(obs, "ports", period)
    keys = sorted(per_key, key=lambda k: -per_key[k])[:30]
    raw = obs.in_period(period)
    raw = raw.filter(raw.kc.isin(key_codes(keys)))
    share = {"src4": 0.05, "sport": 0.2}
    got = busiest_values(raw, share, dict(zip(key_codes(keys), (per_key[k] for k in keys), strict=True)))
    for j, col in enumerate(("src4", "sport")):
        t = raw.filter(raw.ip_version == 4) if col == "src4" else raw.filter(raw.sport.notnull())
        every = t.group_by(["kc", col]).aggregate(n=t.count()).to_pyarrow().to_pylist()
        want = {(key_name(r["kc"]), r[col], r["n"]) for r in every if r["n"] >= share[col] * per_key[key_name(r["kc"])]}
        assert want and {(r["key"], r[col], r["packets"]) for r in got[j]} == want
