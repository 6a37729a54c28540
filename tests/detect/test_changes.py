"""Robust z against a trailing baseline, on series built to surge and drop; the sources of a
surge's peak day, on a store built with a wide surge and two single-source ones."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from click.testing import CliRunner

from teiten.capture.frames import ICMP, TCP, PacketColumns
from teiten.capture.writer import CaptureWriter
from teiten.cli.main import cli
from teiten.detect.changes import change_findings, flag_runs, peak_sources, robust_z
from teiten.detect.finding import Finding
from teiten.detect.thresholds import ChangeRules
from teiten.engine import open_observation
from teiten.engine.observation import Observation
from teiten.periods import period_between


def test_step_up_and_down() -> None:
    rng = np.random.default_rng(2)
    base = rng.poisson(200, size=(1, 60)).astype(float)
    up, down = base.copy(), base.copy()
    up[0, 40:45] *= 3  # five days at three times the usual
    down[0, 40:] = 5  # the source stops
    z_up, med = robust_z(up, 28)
    z_down, _ = robust_z(down, 28)
    assert z_up.shape == (1, 32) and abs(med[0, 0] - 200) < 15
    assert flag_runs(z_up[0] >= 6) == [(12, 16)]  # days 40-44 of the series
    assert (z_down[0, 12:12 + 5] <= -6).all()  # the drop is flagged while the baseline remembers the level
    assert (np.abs(robust_z(base, 28)[0]) < 6).all()  # plain Poisson noise is not a change


def test_sparse_series_needs_real_counts() -> None:
    m = np.zeros((1, 40))
    m[0, 35] = 3  # three packets where there were none: z = 3 with the √median + 1 floor
    z, _ = robust_z(m, 28)
    assert z[0, 7] == 3.0 and (z[0, :7] == 0).all()


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> Observation:
    """40 days from 2026-07-01: 23/TCP from 200 sources (about 300 a day) tripling on days 35-37
    with 400 new sources; 8379/TCP from one source, 150 a day from day 34 on; 0/ICMP from one
    source, 2000 on day 36 alone (a DoS victim's echo replies)."""
    rng = np.random.default_rng(7)
    t0, day = 1_782_864_000_000_000, 86_400_000_000  # 2026-07-01 00:00 UTC
    ts, src, port = [], [], []
    for d in range(40):
        n = 900 if d in (35, 36, 37) else 300
        ts.append(t0 + d * day + rng.integers(0, day, n))
        src.append(np.where(np.arange(n) < 300, 0x0A000000 + rng.integers(0, 200, n),
                            0x0B000000 + rng.integers(0, 400, n)))
        port.append(np.full(n, 23))
        if d >= 34:
            ts.append(t0 + d * day + rng.integers(0, day, 150))
            src.append(np.full(150, 0x0C000001))
            port.append(np.full(150, 8379))
        if d == 36:
            ts.append(t0 + d * day + rng.integers(0, day, 2000))
            src.append(np.full(2000, 0x0D000001))
            port.append(np.full(2000, 0))
    t, s, p = np.concatenate(ts), np.concatenate(src), np.concatenate(port)
    order = np.argsort(t)
    t, s, p = t[order], s[order], p[order]
    icmp = p == 0
    pk = PacketColumns.make(len(t), ts=t, src=s, dst=0xCB007100 + rng.integers(0, 256, len(t)),
                            proto=np.where(icmp, ICMP, TCP), sport=40000, dport=np.where(icmp, 0, p),
                            flags=np.where(icmp, 0, 2), icmp_type=0, seq=rng.integers(1, 1 << 31, len(t)), window=1024)
    tmp = tmp_path_factory.mktemp("steps")
    with CaptureWriter(tmp / "s.pcap") as w:
        w.write(pk)
    store = tmp / "store"
    assert CliRunner().invoke(cli, ["ingest", str(tmp / "s.pcap"), "--store", str(store), "-q"]).exit_code == 0
    return open_observation(store)


PERIOD = ("2026-07-29", "2026-08-09")  # days 28-39: each with a whole baseline in the data


def _surges(obs: Observation, rules: ChangeRules | None = None) -> dict[str, Finding]:
    fs = change_findings(obs, period_between(*PERIOD), rules=rules or ChangeRules())
    return {f.key: f for f in fs if f.kind == "surge"}


def test_surges_name_their_sources_on_the_peak_day(steps: Observation) -> None:
    got = _surges(steps)
    assert set(got) == {"23/TCP", "8379/TCP", "0/ICMP"}
    wide = got["23/TCP"]
    assert wide.start == "2026-08-05" and wide.end == "2026-08-07"
    assert 400 < wide.sources == wide.evidence["peak_sources"] <= 600
    assert len(wide.top_sources) == 3 and all(x["packets"] < 20 for x in wide.top_sources)
    lone = got["8379/TCP"]
    assert lone.start == "2026-08-04" and lone.sources == 1
    peak = int(lone.evidence["peak_packets"])
    assert lone.top_sources == [{"source": "12.0.0.1", "region": lone.top_sources[0]["region"], "packets": peak}]
    assert got["0/ICMP"].top_sources[0]["packets"] == 2000 and got["0/ICMP"].sources == 1


def test_a_minimum_of_sources_drops_the_lone_ones(steps: Observation) -> None:
    assert set(_surges(steps, ChangeRules(min_sources=2))) == {"23/TCP"}


def test_peak_sources_counts_only_the_days_and_keys_asked(steps: Observation) -> None:
    got = peak_sources(steps, {("ports", "8379/TCP", date(2026, 8, 3)), ("ports", "8379/TCP", date(2026, 8, 4)),
                               ("ports", "23/TCP", date(2026, 8, 6)), ("regions", "US", date(2026, 8, 4))},
                       "UTC", None, top=1)
    # nothing on 8379/TCP before day 34; 12.0.0.1 is the one source in the US
    assert set(got) == {("ports", "8379/TCP", date(2026, 8, 4)), ("ports", "23/TCP", date(2026, 8, 6)),
                        ("regions", "US", date(2026, 8, 4))}
    lone = (1, [{"source": "12.0.0.1", "region": "US", "packets": 150}])
    assert got["ports", "8379/TCP", date(2026, 8, 4)] == got["regions", "US", date(2026, 8, 4)] == lone
    n, top = got["ports", "23/TCP", date(2026, 8, 6)]
    assert 400 < n <= 600 and len(top) == 1
    # a local day in Tokyo (UTC+9) begins at 15:00 UTC the day before: 8379/TCP's first day is cut
    tokyo = peak_sources(steps, {("ports", "8379/TCP", date(2026, 8, 4))}, "Asia/Tokyo", None)
    assert 0 < tokyo["ports", "8379/TCP", date(2026, 8, 4)][1][0]["packets"] < 150
    assert peak_sources(steps, set(), "UTC", None) == {}


@pytest.mark.parametrize("dimension", ["ports", "regions"])
def test_daily_matrix_is_the_tally_per_key_and_day(steps: Observation, dimension: str) -> None:
    from teiten.detect.changes import daily_matrix

    window = period_between("2026-07-01", "2026-08-09")
    keys, m = daily_matrix(steps, dimension, window, None, max_keys=2)
    t, measure = steps.tally(window)
    col = "key" if dimension == "ports" else "region"
    rows = t.group_by(["day", col]).aggregate(n=measure(t)).to_pyarrow().to_pylist()
    totals: dict[str, int] = {}
    for r in rows:
        totals[r[col]] = totals.get(r[col], 0) + r["n"]
    assert keys == sorted(totals, key=lambda k: (-totals[k], k))[:2]
    first = window.first.toordinal()
    want = np.zeros_like(m)
    for r in rows:
        if r[col] in keys:
            want[keys.index(r[col]), r["day"] + 719163 - first] += r["n"]
    assert (m == want).all() and m.sum() > 0
