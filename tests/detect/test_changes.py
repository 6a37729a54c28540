"""Robust z against a trailing baseline, on series built to surge and drop."""

from __future__ import annotations

import numpy as np

from teiten.detect.changes import _runs, robust_z


def test_step_up_and_down() -> None:
    rng = np.random.default_rng(2)
    base = rng.poisson(200, size=(1, 60)).astype(float)
    up, down = base.copy(), base.copy()
    up[0, 40:45] *= 3  # five days at three times the usual
    down[0, 40:] = 5  # the source stops
    z_up, med = robust_z(up, 28)
    z_down, _ = robust_z(down, 28)
    assert z_up.shape == (1, 32) and abs(med[0, 0] - 200) < 15
    assert _runs(z_up[0] >= 6) == [(12, 16)]  # days 40-44 of the series
    assert (z_down[0, 12:12 + 5] <= -6).all()  # the drop is flagged while the baseline remembers the level
    assert (np.abs(robust_z(base, 28)[0]) < 6).all()  # plain Poisson noise is not a change


def test_sparse_series_needs_real_counts() -> None:
    m = np.zeros((1, 40))
    m[0, 35] = 3  # three packets where there were none: z = 3 with the √median + 1 floor
    z, _ = robust_z(m, 28)
    assert z[0, 7] == 3.0 and (z[0, :7] == 0).all()
