"""Import a user's MaxMind-format database (``.mmdb``) into teiten's range tables.

Country databases (GeoLite2-Country/City, DB-IP country lite, ...) provide the
country; ASN databases (GeoLite2-ASN, DB-IP ASN lite) the AS number and name.  The
networks are read once with the ``maxminddb`` package and written as
``<dest_dir>/country.npz`` or ``<dest_dir>/asn.npz``; ``load_geo(store_dir)`` then
prefers them (``dest_dir`` is ``<store_dir>/geo``).  Nothing is fetched from a network.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import maxminddb
import numpy as np

from teiten.enrich.ranges import from_ranges
from teiten.enrich.tables import GeoSource, GeoTables, encode_cc, save_tables
from teiten.errors import GeoDataError

__all__ = ["import_mmdb"]


def _country(rec: Any) -> str:
    if not isinstance(rec, dict):
        return ""
    for key in ("country", "registered_country"):
        val = rec.get(key)
        if isinstance(val, dict) and isinstance(val.get("iso_code"), str):
            return str(val["iso_code"])
        if isinstance(val, str) and len(val) == 2:
            return val
    val = rec.get("country_code")
    return val if isinstance(val, str) else ""


def _asn(rec: Any) -> tuple[int, str | None]:
    if not isinstance(rec, dict):
        return 0, None
    num = rec.get("autonomous_system_number", rec.get("asn"))
    name = rec.get("autonomous_system_organization", rec.get("as_name", rec.get("name")))
    if isinstance(num, str) and num.upper().startswith("AS"):
        num = num[2:]
    try:
        value = int(num) if num is not None else 0
    except (TypeError, ValueError):
        value = 0
    return (value if 0 < value < 2**32 else 0), (name if isinstance(name, str) else None)


def _collect(path: Path) -> tuple[dict[str, Any], list[tuple[int, int, int, str, int]], dict[int, str]]:
    """(metadata, [(family, start, end, country, asn)], AS names) from an mmdb file."""
    try:
        reader = maxminddb.open_database(str(path), maxminddb.MODE_MEMORY)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise GeoDataError(f"{path} is not a readable MaxMind DB (.mmdb) file: {exc}") from exc
    rows: list[tuple[int, int, int, str, int]] = []
    names: dict[int, str] = {}
    with reader:
        meta = reader.metadata()
        info = {"database_type": meta.database_type, "build_epoch": meta.build_epoch,
                "description": dict(meta.description)}
        for network, rec in reader:
            net = ipaddress.ip_network(network)
            asn, name = _asn(rec)
            if asn and name:
                names[asn] = name
            first, last = int(net.network_address), int(net.broadcast_address)
            rows.append((net.version, first, last, _country(rec), asn))
    return info, rows, names


def import_mmdb(path: Path, dest_dir: Path) -> GeoSource:
    """Convert ``path`` (.mmdb, country or ASN) into tables under ``dest_dir``."""
    info, rows, names = _collect(Path(path))
    has_cc = any(r[3] for r in rows)
    has_asn = any(r[4] for r in rows)
    if not (has_cc or has_asn):
        raise GeoDataError(f"{path}: no country or AS number found in its records "
                           f"(database type {info['database_type']!r})")
    provides = frozenset({"country"} if has_cc else set()) | frozenset({"asn"} if has_asn else set())
    date = datetime.fromtimestamp(int(info["build_epoch"]), UTC).date().isoformat()
    detail = " and ".join(x for x, ok in (("country", has_cc), ("AS", has_asn)) if ok)
    source = GeoSource(str(info["database_type"]), date, f"{detail} ranges imported from {Path(path).name}")
    tables = []
    for family in (4, 6):
        part = sorted(r for r in rows if r[0] == family)
        start = np.array([r[1] for r in part], dtype=object)
        end = np.array([r[2] for r in part], dtype=object)
        mask = (1 << 64) - 1
        tables.append(from_ranges(
            np.array([s >> 64 for s in start], np.uint64), np.array([s & mask for s in start], np.uint64),
            np.array([e >> 64 for e in end], np.uint64), np.array([e & mask for e in end], np.uint64),
            encode_cc(np.array([r[3] for r in part], dtype="S2")),
            np.array([r[4] for r in part], dtype=np.uint32),
        ))
    geo = GeoTables(v4=tables[0], v6=tables[1], as_names=names, sources=(source,), provides=provides)
    out = Path(dest_dir) / ("country.npz" if has_cc else "asn.npz")
    save_tables(geo, out)
    if has_cc and has_asn:  # one file serves both; drop a stale separate ASN import
        (Path(dest_dir) / "asn.npz").unlink(missing_ok=True)
    return source
