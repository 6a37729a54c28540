"""Source country and AS of IPv4/IPv6 addresses, offline and vectorised.

``load_geo()`` returns a :class:`GeoDB` built from compiled range tables: the default
ones (tor-geoipdb + libloc-database, compiled on first use into the geo data
directory) overlaid with whatever the user imported into ``<store>/geo/`` with
``teiten geo import`` (:func:`teiten.enrich.mmdb.import_mmdb`).  A lookup is one
``numpy.searchsorted`` over the range starts; no Python runs per address.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from teiten.enrich.ranges import Segments, bucket_index, compress, from_ranges, halves6, locate, locate4, overlay
from teiten.enrich.tables import GeoSource, GeoTables, decode_cc, load_tables, save_tables
from teiten.settings import setting

__all__ = ["GeoDB", "GeoSource", "build_default", "default_geo_dir", "load_geo"]

U32 = npt.NDArray[np.uint32]
DEFAULT_FILE = "default.npz"
IMPORTED_FILES = ("country.npz", "asn.npz")

#: IPv4 space that is never a public unicast source (RFC 6890 and friends).
BOGONS4: tuple[tuple[int, int], ...] = tuple(
    (int.from_bytes(bytes(a)), int.from_bytes(bytes(a)) + (1 << (32 - p)) - 1)
    for a, p in (
        ((0, 0, 0, 0), 8), ((10, 0, 0, 0), 8), ((100, 64, 0, 0), 10), ((127, 0, 0, 0), 8),
        ((169, 254, 0, 0), 16), ((172, 16, 0, 0), 12), ((192, 0, 0, 0), 24), ((192, 0, 2, 0), 24),
        ((192, 88, 99, 0), 24), ((192, 168, 0, 0), 16), ((198, 18, 0, 0), 15), ((198, 51, 100, 0), 24),
        ((203, 0, 113, 0), 24), ((224, 0, 0, 0), 4), ((240, 0, 0, 0), 4),
    )
)


def _writable(path: Path) -> bool:
    probe = path if path.exists() else path.parent
    return os.access(probe, os.W_OK)


def default_geo_dir() -> Path:
    """``$TEITEN_GEO_DIR``, else ``teiten/data/geo`` if writable, else ``~/.cache/teiten/geo``."""
    env = setting("geo_dir")
    if env:
        return Path(env)
    packaged = Path(__file__).resolve().parent.parent / "data" / "geo"
    if _writable(packaged):
        return packaged
    return Path.home() / ".cache" / "teiten" / "geo"


def _code_index(codes: npt.NDArray[np.uint16], cc: npt.NDArray[np.uint16]) -> npt.NDArray[np.int32]:
    """Position of each country code in the sorted ``codes``; -1 for unknown."""
    idx = np.searchsorted(codes, cc).astype(np.int32)
    idx[cc == 0] = -1
    return idx


class GeoDB:
    """Lookups over one IPv4 and one IPv6 range table."""

    def __init__(self, tables: GeoTables) -> None:
        self.sources: tuple[GeoSource, ...] = tables.sources
        self._t = tables
        self._v4_start = tables.v4.lo.astype(np.uint32)
        self._v4_bucket = bucket_index(self._v4_start)
        codes = np.unique(np.concatenate([tables.v4.cc, tables.v6.cc]))
        codes = codes[codes != 0]
        self._dictionary = pa.array(decode_cc(codes).astype(str).tolist(), type=pa.string())
        self._v4_code = _code_index(codes, tables.v4.cc)
        self._v6_code = _code_index(codes, tables.v6.cc)
        self._public4: Segments | None = None

    def arrays(self, code: npt.NDArray[np.int32], asn: npt.NDArray[np.uint32], *,
               dictionary: bool = False) -> tuple[pa.Array, pa.Array]:
        """Arrow (country, asn) from country indices (-1 = unknown) and AS numbers (0 = unknown)."""
        idx = pa.array(code, type=pa.int32(), mask=code < 0)
        country = pa.DictionaryArray.from_arrays(idx, self._dictionary)
        if not dictionary:
            country = country.cast(pa.string())
        return country, pa.array(asn, type=pa.uint32(), mask=asn == 0)

    def codes4(self, addrs: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint32]]:
        """Country indices and AS numbers of IPv4 addresses (see :meth:`arrays`)."""
        seg = locate4(self._v4_start, self._v4_bucket, np.ascontiguousarray(addrs, dtype=np.uint32))
        return self._v4_code[seg], self._t.v4.asn[seg]

    def codes6(self, addrs: pa.Array | npt.NDArray[Any]) -> tuple[npt.NDArray[np.int32], U32]:
        """Country indices and AS numbers of IPv6 addresses (nulls -> unknown)."""
        valid: npt.NDArray[np.bool_] | None = None
        if isinstance(addrs, pa.ChunkedArray):
            addrs = addrs.combine_chunks()
        if isinstance(addrs, pa.Array):
            if not pa.types.is_fixed_size_binary(addrs.type) or addrs.type.byte_width != 16:
                raise TypeError(f"IPv6 lookups need 16-byte addresses, got {addrs.type}")
            if addrs.null_count:
                valid = np.asarray(addrs.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            hi, lo = halves6(addrs)
        else:
            raw = np.ascontiguousarray(addrs).view(np.uint8).reshape(-1)
            if raw.size % 16:
                raise TypeError("IPv6 lookups need 16-byte addresses")
            hi, lo = halves6(pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), raw.size // 16,
                                                                   [None, pa.py_buffer(raw)]))
        seg = locate(self._t.v6, hi, lo)
        code, asn = self._v6_code[seg], self._t.v6.asn[seg]
        if valid is not None:
            code = np.where(valid, code, -1).astype(np.int32)
            asn = np.where(valid, asn, 0).astype(np.uint32)
        return code, asn

    def lookup4(self, addrs: npt.NDArray[np.uint32]) -> tuple[pa.Array, pa.Array]:
        """IPv4 addresses (uint32) -> (country ISO2 or null, AS number or null)."""
        return self.arrays(*self.codes4(addrs))

    def lookup6(self, addrs: pa.Array | npt.NDArray[Any]) -> tuple[pa.Array, pa.Array]:
        """16-byte IPv6 addresses (Arrow fixed-size binary, nulls allowed, or an
        ``(n, 16)`` uint8 / ``S16`` numpy array) -> (country, AS number)."""
        return self.arrays(*self.codes6(addrs))

    def as_name(self, asn: int) -> str | None:
        return self._t.as_names.get(int(asn))

    def public4(self) -> Segments:
        """The IPv4 table split at the boundaries of ``BOGONS4``: each segment's ``lo`` is its
        first address (the next segment's ``lo`` ends it; the last ends at 2**32), and the
        pieces inside a bogon range carry country and AS 0, so that only public unicast space
        has a country (synthetic traffic draws its sources from it: :mod:`teiten.synth.addresses`)."""
        if self._public4 is None:
            b = np.array(BOGONS4, dtype=np.uint64)
            zeros = np.zeros(len(b), np.uint64)
            bogons = from_ranges(zeros, b[:, 0], zeros, b[:, 1], np.ones(len(b), np.uint16),
                                 np.zeros(len(b), np.uint32))
            seg, ia, ib = overlay(self._t.v4, bogons)
            public = bogons.cc[ib] == 0
            self._public4 = Segments(seg.hi, seg.lo, np.where(public, self._t.v4.cc[ia], 0).astype(np.uint16),
                                     np.where(public, self._t.v4.asn[ia], 0).astype(np.uint32))
        return self._public4


def _stale(tables: GeoTables) -> bool:
    for path, (size, mtime) in tables.inputs.items():
        try:
            st = Path(path).stat()
        except OSError:
            continue  # inputs gone: keep using what was compiled
        if st.st_size != size or st.st_mtime_ns != mtime:
            return True
    return False


def build_default(geo_dir: Path | None = None) -> Path:
    """Compile the default tables into the geo data directory; returns the file."""
    from teiten.enrich.sources import compile_default

    path = (geo_dir or default_geo_dir()) / DEFAULT_FILE
    save_tables(compile_default(), path)
    return path


def _default_tables() -> GeoTables:
    path = default_geo_dir() / DEFAULT_FILE
    if path.exists():
        tables = load_tables(path)
        if not _stale(tables):
            return tables
    build_default(path.parent)
    return load_tables(path)


def _apply(base: Segments, imported: Segments, provides: frozenset[str]) -> Segments:
    seg, ia, ib = overlay(base, imported)
    cc = imported.cc[ib] if "country" in provides else base.cc[ia]
    asn = imported.asn[ib] if "asn" in provides else base.asn[ia]
    return compress(Segments(seg.hi, seg.lo, cc, asn))


def _combine(base: GeoTables, store_dir: Path) -> GeoTables:
    """``base`` with the tables imported into ``<store_dir>/geo`` taking precedence."""
    v4, v6, names = base.v4, base.v6, base.as_names
    sources: tuple[GeoSource, ...] = ()
    provides: frozenset[str] = frozenset()
    for name in IMPORTED_FILES:
        path = store_dir / "geo" / name
        if not path.exists():
            continue
        imp = load_tables(path)
        v4, v6 = _apply(v4, imp.v4, imp.provides), _apply(v6, imp.v6, imp.provides)
        if "asn" in imp.provides:
            names = {**names, **imp.as_names}
        sources, provides = sources + imp.sources, provides | imp.provides
    if provides >= base.provides:  # the default data is no longer used
        return GeoTables(v4, v6, names, sources, provides)
    return GeoTables(v4, v6, names, sources + base.sources, provides | base.provides)


@functools.lru_cache(maxsize=8)
def _load(store_dir: Path | None, imported: tuple[tuple[str, int, int], ...]) -> GeoDB:
    base = _default_tables()
    return GeoDB(_combine(base, store_dir) if store_dir is not None else base)


def _imported(store_dir: Path | None) -> tuple[tuple[str, int, int], ...]:
    """What is imported into ``<store_dir>/geo`` (name, size, mtime): a new import is a new key."""
    if store_dir is None:
        return ()
    out = []
    for name in IMPORTED_FILES:
        path = store_dir / "geo" / name
        if path.exists():
            st = path.stat()
            out.append((name, st.st_size, st.st_mtime_ns))
    return tuple(out)


def load_geo(store_dir: Path | None = None) -> GeoDB:
    """The geo database (cached per process, per state of the imports); prefers tables
    imported into ``store_dir`` (``teiten geo import``: :func:`teiten.enrich.mmdb.import_mmdb`)."""
    d = store_dir.resolve() if store_dir is not None else None
    return _load(d, _imported(d))
