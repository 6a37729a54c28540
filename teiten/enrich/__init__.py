"""Enrichment: source country and AS, service names, country names (docs/enrichment.md).

``enrich(table, geo)`` appends the ``country`` and ``asn`` columns of
:mod:`teiten.schema` to a decoded packet table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from teiten.enrich.geo import GeoDB, GeoSource, load_geo
from teiten.enrich.mmdb import import_mmdb
from teiten.enrich.names import country_name
from teiten.enrich.services import key_label, key_labels, service_name

__all__ = [
    "GeoDB",
    "GeoSource",
    "country_name",
    "enrich",
    "import_mmdb",
    "key_label",
    "key_labels",
    "load_geo",
    "service_name",
]


def _column(table: pa.Table, name: str) -> pa.Array:
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def enrich(table: pa.Table, geo: GeoDB) -> pa.Table:
    """``table`` with ``country`` (dictionary-encoded string) and ``asn`` (uint32) of the source address."""
    n = table.num_rows
    version = np.asarray(_column(table, "ip_version").to_numpy(zero_copy_only=False))
    rows4 = np.nonzero(version == 4)[0]
    rows6 = np.nonzero(version == 6)[0]
    code = np.full(n, -1, dtype=np.int32)
    asn = np.zeros(n, dtype=np.uint32)
    if rows4.size:
        src4 = _column(table, "src4")
        addrs = np.asarray(src4.fill_null(0).to_numpy(), dtype=np.uint32)[rows4]
        c4, a4 = geo.codes4(addrs)
        if src4.null_count:
            ok = np.asarray(src4.is_valid().to_numpy(zero_copy_only=False))[rows4]
            c4, a4 = np.where(ok, c4, -1), np.where(ok, a4, 0)
        code[rows4], asn[rows4] = c4, a4
    if rows6.size:
        src6 = pc.take(_column(table, "src6"), pa.array(rows6))
        c6, a6 = geo.codes6(src6)
        code[rows6], asn[rows6] = c6, a6
    country, asn_arr = geo.arrays(code, asn, dictionary=True)
    return table.append_column(pa.field("country", country.type), country).append_column(
        pa.field("asn", pa.uint32()), asn_arr
    )
