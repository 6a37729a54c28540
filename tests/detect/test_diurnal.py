"""The 24-hour rhythm measure on built profiles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner

from teiten.capture.frames import ICMP, TCP, PacketColumns
from teiten.capture.writer import CaptureWriter
from teiten.cli.main import cli
from teiten.detect.diurnal import diurnal_findings, rhythm
from teiten.detect.thresholds import DiurnalRules
from teiten.engine import open_observation
from teiten.periods import period_between


def test_cosine_profile_amplitude_and_peak() -> None:
    prof = [1000 * (1 + 0.4 * math.cos(2 * math.pi * (h - 21) / 24)) for h in range(24)]
    a, peak = rhythm(prof)
    assert a == pytest.approx(0.4) and peak == pytest.approx(21.0)


def test_flat_and_empty() -> None:
    assert rhythm([500.0] * 24)[0] == pytest.approx(0.0, abs=1e-12)
    assert rhythm([0.0] * 24) == (0.0, 0.0)


def test_bursts_are_not_a_rhythm_and_a_daily_cycle_is(tmp_path: Path) -> None:
    """Four weeks: 23/TCP flat, 445/TCP rising and falling every day (peak 21:00 UTC), and
    8/ICMP flat but for bursts at 03:00 on one day in each half (a strong profile, both halves agree)."""
    rng = np.random.default_rng(5)
    t0 = 1_782_864_000_000_000  # 2026-07-01 00:00 UTC
    day, hour = 86_400_000_000, 3_600_000_000
    ts: list[npt.NDArray[np.int64]] = []
    port: list[npt.NDArray[np.int64]] = []
    for d in range(28):
        base = t0 + d * day
        flat = base + rng.integers(0, day, 300)
        h = rng.choice(24, 300, p=_cosine(21.0))
        cyc = base + h * hour + rng.integers(0, hour, 300)
        ts += [flat, cyc, base + rng.integers(0, day, 100)]
        port += [np.full(300, 23), np.full(300, 445), np.full(100, 0)]
        if d in (3, 20):
            ts.append(base + 3 * hour + rng.integers(0, hour // 4, 3000))
            port.append(np.full(3000, 0))
    t, p = np.concatenate(ts), np.concatenate(port)
    order = np.argsort(t)
    t, p = t[order], p[order]
    icmp = p == 0
    pk = PacketColumns.make(len(t), ts=t, src=0x0A000000 + rng.integers(0, 5000, len(t)),
                            dst=0xCB007100 + rng.integers(0, 256, len(t)), proto=np.where(icmp, ICMP, TCP),
                            sport=40000, dport=np.where(icmp, 0, p), flags=np.where(icmp, 0, 2),
                            icmp_type=np.where(icmp, 8, 0), seq=rng.integers(1, 1 << 31, len(t)), window=64240)
    with CaptureWriter(tmp_path / "d.pcap") as w:
        w.write(pk)
    s = tmp_path / "store"
    assert CliRunner().invoke(cli, ["ingest", str(tmp_path / "d.pcap"), "--store", str(s), "-q"]).exit_code == 0
    obs = open_observation(s)
    got = {f.key: f for f in diurnal_findings(obs, period_between("2026-07-01", "2026-07-28"),
                                                 rules=DiurnalRules(min_packets=1000))}
    assert "445/TCP" in got and abs(got["445/TCP"].evidence["peak_hour"] - 21.0) < 1.0
    assert got["445/TCP"].evidence["weeks_agreeing"] == 4
    assert "8/ICMP" not in got and "23/TCP" not in got


def _cosine(peak: float) -> npt.NDArray[np.float64]:
    w = np.array([1 + 0.8 * math.cos(2 * math.pi * (h - peak) / 24) for h in range(24)])
    out: npt.NDArray[np.float64] = w / w.sum()
    return out
