"""The 24-hour rhythm measure on built profiles."""

from __future__ import annotations

import math

import pytest

from teiten.detect.diurnal import rhythm


def test_cosine_profile_amplitude_and_peak() -> None:
    prof = [1000 * (1 + 0.4 * math.cos(2 * math.pi * (h - 21) / 24)) for h in range(24)]
    a, peak = rhythm(prof)
    assert a == pytest.approx(0.4) and peak == pytest.approx(21.0)


def test_flat_and_empty() -> None:
    assert rhythm([500.0] * 24)[0] == pytest.approx(0.0, abs=1e-12)
    assert rhythm([0.0] * 24) == (0.0, 0.0)
