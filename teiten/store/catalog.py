"""The sensor catalog: which addresses each sensor watches, and since when.

Packets are attributed to a sensor by their destination address; the number of
catalogued addresses active on a day is the denominator of 一日・1IP当たり.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from teiten.enrich.ranges import halves6, within6
from teiten.errors import SettingError
from teiten.store.manifest import transaction

__all__ = ["Sensor", "SensorMap", "add_sensor", "list_sensors", "parse_networks", "sensor_map"]

KINDS = ("passive", "responder")


@dataclass(frozen=True)
class Sensor:
    name: str
    addresses: tuple[str, ...]
    country: str | None = None
    group: str | None = None
    kind: str = "passive"
    operator: str | None = None
    active_from: str | None = None
    active_to: str | None = None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default=(), compare=False, repr=False)

    @property
    def address_count(self) -> int:
        return sum(n.num_addresses for n in self.networks)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "addresses": list(self.addresses), "address_count": self.address_count,
                "country": self.country, "group": self.group, "kind": self.kind,
                "operator": self.operator, "active_from": self.active_from, "active_to": self.active_to}


def parse_networks(addresses: list[str] | tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The networks of a sensor's addresses (CIDRs or single addresses; a clear error for a bad one)."""
    nets = []
    for a in addresses:
        try:
            nets.append(ipaddress.ip_network(a.strip(), strict=False))
        except ValueError as e:
            raise SettingError(f"not an IP address or CIDR: {a!r}") from e
    return tuple(nets)


def _check_date(d: str | None, what: str) -> str | None:
    if d is None:
        return None
    try:
        return date.fromisoformat(d).isoformat()
    except ValueError as e:
        raise SettingError(f"{what} must be a date YYYY-MM-DD, not {d!r}") from e


def add_sensor(con: sqlite3.Connection, s: Sensor) -> Sensor:
    """Add or replace a sensor; its addresses must not overlap another sensor's."""
    if not s.name or not s.addresses:
        raise SettingError("a sensor needs a name and at least one address")
    if s.kind not in KINDS:
        raise SettingError(f"sensor kind must be one of {', '.join(KINDS)}, not {s.kind!r}")
    nets = parse_networks(s.addresses)
    country = s.country.upper() if s.country else None
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise SettingError(f"country must be an ISO 3166 alpha-2 code, not {s.country!r}")
    for other in list_sensors(con):
        if other.name == s.name:
            continue
        for a in nets:
            for b in other.networks:
                if a.version == b.version and a.overlaps(b):
                    raise SettingError(f"{a} overlaps {b} of sensor {other.name!r}")
    with transaction(con):
        con.execute(
            "INSERT OR REPLACE INTO sensors(name, addresses, country, grp, kind, operator, active_from, active_to)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (s.name, json.dumps([str(n) for n in nets]), country, s.group, s.kind, s.operator,
             _check_date(s.active_from, "active from"), _check_date(s.active_to, "active to")))
    return next(x for x in list_sensors(con) if x.name == s.name)


def list_sensors(con: sqlite3.Connection) -> list[Sensor]:
    out = []
    for r in con.execute("SELECT * FROM sensors ORDER BY name"):
        addrs = tuple(json.loads(r["addresses"]))
        out.append(Sensor(r["name"], addrs, r["country"], r["grp"], r["kind"], r["operator"],
                          r["active_from"], r["active_to"], parse_networks(addrs)))
    return out


@dataclass(frozen=True)
class SensorMap:
    """Sorted IPv4 ranges of the catalog, for vectorised attribution."""

    starts: np.ndarray  # uint32, sorted
    ends: np.ndarray  # uint32, inclusive
    index: np.ndarray  # int32 into names
    names: tuple[str, ...]
    v6: tuple[tuple[ipaddress.IPv6Network, str], ...]

    def attribute(self, table: pa.Table, side: str = "dst") -> pa.Array:
        """The sensor name of each packet by its destination address (``side="src"``: by its
        source address), null if none, dictionary-encoded."""
        codes = self._codes(table, side)
        dictionary = pa.array(self.names, pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), dictionary)

    def sent(self, table: pa.Table) -> np.ndarray:
        """Which packets a sensor sent (a responder's SYN-ACKs and RSTs): from a sensor's
        address to an address of none."""
        if not self.names:
            return np.zeros(table.num_rows, dtype=bool)
        return (self._codes(table, "src") >= 0) & (self._codes(table, "dst") < 0)

    def touches(self, table: pa.Table) -> np.ndarray:
        """Which packets are to or from a sensor's address."""
        if not self.names:
            return np.zeros(table.num_rows, dtype=bool)
        return (self._codes(table, "dst") >= 0) | (self._codes(table, "src") >= 0)

    def _codes(self, table: pa.Table, side: str) -> np.ndarray:
        """Each packet's sensor index by its ``side`` ("src" or "dst") address, -1 for none."""
        n = table.num_rows
        codes = np.full(n, -1, dtype=np.int32)
        if len(self.starts):
            col = table.column(f"{side}4")
            has = ~np.asarray(pc.is_null(col))
            d = np.asarray(col.fill_null(0), dtype=np.uint32)
            i = np.searchsorted(self.starts, d, side="right") - 1
            ok = has & (i >= 0)
            ok[ok] &= d[ok] <= self.ends[i[ok]]
            codes[ok] = self.index[i[ok]]
        if self.v6:
            col6 = table.column(f"{side}6")
            if isinstance(col6, pa.ChunkedArray):
                col6 = col6.combine_chunks()
            if col6.null_count < n:
                hi, lo = halves6(col6)  # one pass per network
                has6 = np.asarray(col6.is_valid())
                for net, name in self.v6:
                    inside = within6(hi, lo, int(net.network_address), int(net.broadcast_address))
                    codes[has6 & (codes < 0) & inside] = self.names.index(name)
        return codes


def sensor_map(sensors: list[Sensor]) -> SensorMap:
    starts, ends, idx, v6 = [], [], [], []
    names = tuple(s.name for s in sensors)
    for k, s in enumerate(sensors):
        for net in s.networks:
            if isinstance(net, ipaddress.IPv4Network):
                starts.append(int(net.network_address))
                ends.append(int(net.broadcast_address))
                idx.append(k)
            else:
                v6.append((net, s.name))
    order = np.argsort(np.array(starts, dtype=np.uint32), kind="stable")
    return SensorMap(np.array(starts, np.uint32)[order], np.array(ends, np.uint32)[order],
                     np.array(idx, np.int32)[order], names, tuple(v6))
