"""Sensor attribution by destination address, IPv4 and IPv6, against ipaddress."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
import pytest

from teiten.errors import SettingError
from teiten.store.catalog import Sensor, parse_networks, sensor_map

SENSORS = [
    Sensor("tokyo", ("203.0.113.0/25", "2001:db8:1::/64"),
           networks=parse_networks(("203.0.113.0/25", "2001:db8:1::/64"))),
    Sensor("osaka", ("198.51.100.7", "2001:db8:ff00::/40"),
           networks=parse_networks(("198.51.100.7", "2001:db8:ff00::/40"))),
]


def _expected(addr: str | None) -> str | None:
    if addr is None:
        return None
    a = ipaddress.ip_address(addr)
    for s in SENSORS:
        if any(a.version == n.version and a in n for n in s.networks):
            return s.name
    return None


def _table(addrs: list[str | None]) -> pa.Table:
    v4 = [int(ipaddress.ip_address(a)) if a and ":" not in a else None for a in addrs]
    v6 = [ipaddress.ip_address(a).packed if a and ":" in a else None for a in addrs]
    return pa.table({"dst4": pa.array(v4, pa.uint32()), "dst6": pa.array(v6, pa.binary(16))})


def test_attribution_matches_ipaddress() -> None:
    rng = np.random.default_rng(7)
    addrs: list[str | None] = [
        "203.0.113.0", "203.0.113.127", "203.0.113.128", "198.51.100.7", "198.51.100.8",
        "2001:db8:1::", "2001:db8:1:0:ffff:ffff:ffff:ffff", "2001:db8:1:1::", "2001:db8:ff00::1",
        "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::", "::", None,
    ]
    for _ in range(300):  # random addresses around the sensors' edges
        base = ipaddress.ip_address(rng.choice(["2001:db8:1::", "2001:db8:ff00::", "2001:db8:0:ffff::"]))
        addrs.append(str(base + int(rng.integers(-(1 << 62), 1 << 62))))
        addrs.append(str(ipaddress.ip_address("203.0.113.0") + int(rng.integers(-5, 200))))
    got = sensor_map(SENSORS).attribute(_table(addrs)).to_pylist()
    assert got == [_expected(a) for a in addrs]


def test_attribution_of_a_sliced_chunked_column() -> None:
    addrs: list[str | None] = ["2001:db9::", "2001:db8:1::5", None, "203.0.113.9", "2001:db8:ff00::9"]
    t = pa.concat_tables([_table(addrs), _table(list(reversed(addrs)))]).slice(1, 8)
    want = [_expected(a) for a in (addrs + list(reversed(addrs)))[1:9]]
    assert sensor_map(SENSORS).attribute(t).to_pylist() == want
    one = _table(addrs).slice(1, 4)  # one chunk with an offset
    assert sensor_map(SENSORS).attribute(one).to_pylist() == [_expected(a) for a in addrs[1:5]]


def test_bad_address_is_a_clear_error() -> None:
    with pytest.raises(SettingError, match="not an IP address"):
        parse_networks(("203.0.113.0/33",))
