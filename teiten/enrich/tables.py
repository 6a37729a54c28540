"""Compiled geo tables: what is stored in a ``.npz`` file and read back.

A :class:`GeoTables` holds one :class:`~teiten.enrich.ranges.Segments` table for IPv4
(addresses in the low half) and one for IPv6, the AS names, and the data sources with
their dates.  Country codes are stored as ``uint16`` holding the two ASCII letters
(``"JP"`` -> ``0x4A50``), 0 meaning unknown, so tables from different sources combine
without a shared code list.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from teiten.enrich.ranges import Segments
from teiten.errors import GeoDataError

__all__ = ["FORMAT", "GeoSource", "GeoTables", "decode_cc", "encode_cc", "load_tables", "save_tables"]

#: Bumped whenever the layout of the compiled files changes.
FORMAT = 1


@dataclass(frozen=True)
class GeoSource:
    """One data source: its name, its date (YYYY-MM-DD) and what it provides."""

    name: str
    date: str
    detail: str


@dataclass(frozen=True)
class GeoTables:
    v4: Segments
    v6: Segments
    as_names: dict[int, str]
    sources: tuple[GeoSource, ...]
    provides: frozenset[str]  # subset of {"country", "asn"}
    inputs: dict[str, list[int]] = field(default_factory=dict)  # path -> [size, mtime_ns]


def encode_cc(codes: npt.NDArray[np.bytes_]) -> npt.NDArray[np.uint16]:
    """``S2`` codes -> uint16; empty, ``??`` and ``--`` -> 0."""
    two = np.asarray(codes, dtype="S2")
    out = two.view(">u2").astype(np.uint16) if two.size else np.zeros(0, np.uint16)
    bad = (two == b"") | (two == b"??") | (two == b"--") | (np.char.str_len(two) != 2)
    out[bad] = 0
    return out


def decode_cc(values: npt.NDArray[np.uint16]) -> npt.NDArray[np.bytes_]:
    """uint16 -> ``S2`` codes (0 -> ``b""``)."""
    return np.asarray(values, dtype=np.uint16).astype(">u2").view("S2")


def _names_blob(names: dict[int, str]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], bytes]:
    nums = np.array(sorted(names), dtype=np.uint32)
    encoded = [names[int(n)].encode() for n in nums]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    return nums, offsets, b"".join(encoded)


def save_tables(tables: GeoTables, path: Path) -> None:
    """Write atomically (temporary file + rename)."""
    nums, offsets, blob = _names_blob(tables.as_names)
    meta = {
        "format": FORMAT,
        "sources": [[s.name, s.date, s.detail] for s in tables.sources],
        "provides": sorted(tables.provides),
        "inputs": tables.inputs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(
                fh,
                meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                v4_start=tables.v4.lo.astype(np.uint32), v4_cc=tables.v4.cc, v4_asn=tables.v4.asn,
                v6_hi=tables.v6.hi, v6_lo=tables.v6.lo, v6_cc=tables.v6.cc, v6_asn=tables.v6.asn,
                as_num=nums, as_off=offsets, as_blob=np.frombuffer(blob, dtype=np.uint8),
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_tables(path: Path) -> GeoTables:
    try:
        with np.load(path) as z:
            meta = json.loads(z["meta"].tobytes())
            if meta.get("format") != FORMAT:
                raise GeoDataError(f"{path} was compiled by another teiten version; rebuild it")
            v4s = z["v4_start"]
            v4 = Segments(np.zeros(len(v4s), np.uint64), v4s.astype(np.uint64), z["v4_cc"], z["v4_asn"])
            v6 = Segments(z["v6_hi"], z["v6_lo"], z["v6_cc"], z["v6_asn"])
            nums, offsets, blob = z["as_num"], z["as_off"], z["as_blob"].tobytes()
    except (OSError, ValueError, KeyError) as exc:
        raise GeoDataError(f"cannot read compiled geo tables {path}: {exc}") from exc
    names = {int(n): blob[offsets[i] : offsets[i + 1]].decode() for i, n in enumerate(nums)}
    return GeoTables(
        v4=v4,
        v6=v6,
        as_names=names,
        sources=tuple(GeoSource(*s) for s in meta["sources"]),
        provides=frozenset(meta["provides"]),
        inputs={k: list(v) for k, v in meta.get("inputs", {}).items()},
    )
