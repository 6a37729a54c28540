"""import_mmdb round trip with small databases written by the test itself."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import maxminddb
import numpy as np
import pyarrow as pa
import pytest

from teiten.enrich import import_mmdb, load_geo
from teiten.errors import GeoDataError

from .mmdb_writer import write_mmdb

EPOCH = 1_717_200_000  # 2024-06-01


def _v4(a: str) -> int:
    return int(ipaddress.IPv4Address(a))


def test_import_country_and_asn_round_trip(tmp_path: Path) -> None:
    country_db, asn_db = tmp_path / "country.mmdb", tmp_path / "asn.mmdb"
    write_mmdb(country_db, {
        "8.8.8.0/24": {"country": {"iso_code": "JP"}},
        "203.0.114.0/23": {"registered_country": {"iso_code": "KR"}},
        "2001:db8::/32": {"country": {"iso_code": "DE"}},
    }, "Test-Country", EPOCH)
    write_mmdb(asn_db, {"8.8.0.0/16": {"autonomous_system_number": 64500,
                                       "autonomous_system_organization": "TEST-NET"}}, "Test-ASN", EPOCH)
    with maxminddb.open_database(str(country_db)) as reader:  # the writer itself is sound
        assert reader.get("8.8.8.8") == {"country": {"iso_code": "JP"}}
    store = tmp_path / "store"
    src = import_mmdb(country_db, store / "geo")
    assert (src.name, src.date) == ("Test-Country", "2024-06-01")
    import_mmdb(asn_db, store / "geo")
    geo = load_geo(store)
    assert [s.name for s in geo.sources] == ["Test-Country", "Test-ASN"]
    country, asn = geo.lookup4(np.array([_v4("8.8.8.8"), _v4("8.8.4.4"), _v4("203.0.115.9"), _v4("1.1.1.1")],
                                        dtype=np.uint32))
    assert country.to_pylist() == ["JP", None, "KR", None]  # the imported table replaces the default
    assert asn.to_pylist() == [64500, 64500, None, None]
    assert geo.as_name(64500) == "TEST-NET"
    c6, _ = geo.lookup6(pa.array([ipaddress.IPv6Address("2001:db8::5").packed,
                                  ipaddress.IPv6Address("2001:200::1").packed], pa.binary(16)))
    assert c6.to_pylist() == ["DE", None]
    default = load_geo()
    assert default.lookup4(np.array([_v4("8.8.8.8")], dtype=np.uint32))[0].to_pylist() == ["US"]


def test_import_rejects_non_mmdb(tmp_path: Path) -> None:
    bad = tmp_path / "x.mmdb"
    bad.write_bytes(b"hello")
    with pytest.raises(GeoDataError, match="MaxMind"):
        import_mmdb(bad, tmp_path / "geo")
