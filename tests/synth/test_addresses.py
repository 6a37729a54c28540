"""Synthetic source addresses stay in their country or AS and in public unicast space."""

from __future__ import annotations

import numpy as np
import pytest

from teiten.enrich import load_geo
from teiten.enrich.geo import BOGONS4, GeoDB
from teiten.errors import GeoDataError
from teiten.synth.addresses import sample4, sample4_asn


@pytest.fixture(scope="module")
def geo() -> GeoDB:
    return load_geo()


@pytest.mark.parametrize("country", ["JP", "US", "CN", "KR", "NL"])
def test_sample4_stays_in_country_and_public(geo: GeoDB, country: str) -> None:
    addrs = sample4(geo, country, 2000, np.random.default_rng(1))
    assert addrs.dtype == np.uint32 and len(addrs) == 2000
    assert set(geo.lookup4(addrs)[0].to_pylist()) == {country}
    for lo, hi in BOGONS4:
        assert not ((addrs >= lo) & (addrs <= hi)).any()
    assert len(np.unique(addrs >> 16)) > 50  # spread over many ranges, not one block


def test_sample4_asn(geo: GeoDB) -> None:
    addrs = sample4_asn(geo, 2516, 500, np.random.default_rng(2))  # KDDI
    assert set(geo.lookup4(addrs)[1].to_pylist()) == {2516}
    with pytest.raises(GeoDataError):
        sample4(geo, "ZZ", 1, np.random.default_rng(0))


def test_public4_has_no_country_in_bogon_space(geo: GeoDB) -> None:
    seg = geo.public4()
    for lo, _hi in BOGONS4:
        i = int(np.searchsorted(seg.lo, np.uint64(lo), side="right")) - 1
        assert seg.cc[i] == 0 and seg.asn[i] == 0
