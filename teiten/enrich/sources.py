"""The default geo data: Debian's tor-geoipdb (country) and libloc-database (AS).

Both come from the IPFire Location project.  ``tor-geoipdb`` is refreshed with every
Tor release and gives country ranges; ``libloc-database`` is older but also carries
AS numbers and names.  :func:`compile_default` merges them into one table per address
family: country from tor-geoipdb (libloc's where tor has none), AS from libloc.
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from teiten.enrich.libloc import read_libloc
from teiten.enrich.ranges import Segments, compress, flatten_prefixes, from_ranges, overlay
from teiten.enrich.tables import GeoSource, GeoTables, encode_cc
from teiten.errors import GeoDataError

__all__ = ["LIBLOC_DB", "TOR_GEOIP", "TOR_GEOIP6", "compile_default", "input_stamps", "read_tor_geoip"]

TOR_GEOIP = Path("/usr/share/tor/geoip")
TOR_GEOIP6 = Path("/usr/share/tor/geoip6")
LIBLOC_DB = Path("/usr/share/libloc-location/location.db")
_V4_MAPPED = np.uint64(0x0000_FFFF_0000_0000)
_INSTALL_HINT = "run `make install` (or `sudo apt-get install tor-geoipdb libloc-database`)"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise GeoDataError(f"geo data {path} is missing ({exc.strerror}); {_INSTALL_HINT}") from exc


def _header_date(text: str, path: Path) -> str:
    m = re.search(r"^#\s*Generated:\s*(.+)$", text[:4000], re.MULTILINE)
    if m:
        try:
            return parsedate_to_datetime(m.group(1).strip()).date().isoformat()
        except (TypeError, ValueError):
            pass
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()


def _v6_halves(texts: list[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    raw = b"".join(socket.inet_pton(socket.AF_INET6, t) for t in texts)
    both = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 2)
    return both[:, 0].copy(), both[:, 1].copy()


def read_tor_geoip(v4_path: Path, v6_path: Path) -> tuple[Segments, Segments, str]:
    """Country segments for IPv4 and IPv6 from Tor's geoip files, and the data date."""
    text4, text6 = _read_text(v4_path), _read_text(v6_path)
    rows4 = [line.split(",") for line in text4.splitlines() if line and line[0] != "#"]
    rows6 = [line.split(",") for line in text6.splitlines() if line and line[0] != "#"]
    if not rows4 or not rows6 or len(rows4[0]) != 3 or len(rows6[0]) != 3:
        raise GeoDataError(f"{v4_path} / {v6_path} are not Tor geoip files; {_INSTALL_HINT}")
    s4 = np.array([r[0] for r in rows4], dtype=np.uint64)
    e4 = np.array([r[1] for r in rows4], dtype=np.uint64)
    cc4 = encode_cc(np.array([r[2].strip() for r in rows4], dtype="S2"))
    zero4 = np.zeros(len(s4), np.uint64)
    v4 = from_ranges(zero4, s4, zero4, e4, cc4, np.zeros(len(s4), np.uint32))
    s6h, s6l = _v6_halves([r[0] for r in rows6])
    e6h, e6l = _v6_halves([r[1] for r in rows6])
    cc6 = encode_cc(np.array([r[2].strip() for r in rows6], dtype="S2"))
    v6 = from_ranges(s6h, s6l, e6h, e6l, cc6, np.zeros(len(s6h), np.uint32))
    return v4, v6, _header_date(text4, v4_path)


def _merge(country: Segments, fallback: Segments) -> Segments:
    """Country from ``country`` (``fallback``'s where unknown), AS from ``fallback``."""
    seg, ia, ib = overlay(country, fallback)
    cc = np.where(country.cc[ia] != 0, country.cc[ia], fallback.cc[ib])
    return compress(Segments(seg.hi, seg.lo, cc.astype(np.uint16), fallback.asn[ib]))


def input_stamps(paths: list[Path]) -> dict[str, list[int]]:
    """Size and modification time of each input, to notice a package upgrade."""
    out = {}
    for p in paths:
        st = p.stat()
        out[str(p)] = [st.st_size, st.st_mtime_ns]
    return out


def compile_default(
    v4_path: Path = TOR_GEOIP, v6_path: Path = TOR_GEOIP6, libloc_path: Path = LIBLOC_DB
) -> GeoTables:
    """Compile tor-geoipdb + libloc-database into one table per address family."""
    tor4, tor6, tor_date = read_tor_geoip(v4_path, v6_path)
    db = read_libloc(libloc_path)
    cc = encode_cc(db.country)
    # IPv4 networks live under ::ffff:0:0/96 in the libloc tree
    is4 = (db.hi == 0) & ((db.lo & np.uint64(0xFFFF_FFFF_0000_0000)) == _V4_MAPPED) & (db.depth >= 96)
    loc4 = flatten_prefixes(np.zeros(int(is4.sum()), np.uint64), db.lo[is4] & np.uint64(0xFFFF_FFFF),
                            db.depth[is4], cc[is4], db.asn[is4])
    loc6 = flatten_prefixes(db.hi[~is4], db.lo[~is4], db.depth[~is4], cc[~is4], db.asn[~is4])
    loc_date = db.created_at.date().isoformat()
    sources = (
        GeoSource("IPFire Location (tor-geoipdb)", tor_date,
                  f"country ranges, IPv4+IPv6 ({v4_path}, {v6_path})"),
        GeoSource("IPFire Location (libloc-database)", loc_date,
                  f"AS numbers and names; country where tor-geoipdb has none ({libloc_path})"),
    )
    return GeoTables(
        v4=_merge(tor4, loc4),
        v6=_merge(tor6, loc6),
        as_names=db.as_names,
        sources=sources,
        provides=frozenset({"country", "asn"}),
        inputs=input_stamps([v4_path, v6_path, libloc_path]),
    )
