"""Random public IPv4 source addresses in a country or an AS, for synthetic traffic.

Drawn from :meth:`teiten.enrich.geo.GeoDB.public4` (the geo tables without the bogon
ranges), weighted by range size, so that every address drawn for a country looks up to
that country.  Arrays in, arrays out: no Python runs per address.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from teiten.enrich.geo import GeoDB
from teiten.enrich.tables import encode_cc
from teiten.errors import GeoDataError

__all__ = ["sample4", "sample4_asn"]

U32 = npt.NDArray[np.uint32]


def sample4(geo: GeoDB, country: str, n: int, rng: np.random.Generator) -> U32:
    """``n`` public unicast IPv4 addresses in ``country``, weighted by range size."""
    code = encode_cc(np.array([country.upper()], dtype="S2"))[0]
    return _sample(geo, geo.public4().cc == code, n, rng, f"country {country!r}")


def sample4_asn(geo: GeoDB, asn: int, n: int, rng: np.random.Generator) -> U32:
    """``n`` public unicast IPv4 addresses announced by AS ``asn``."""
    return _sample(geo, geo.public4().asn == np.uint32(asn), n, rng, f"AS{asn}")


def _sample(geo: GeoDB, pick: npt.NDArray[np.bool_], n: int, rng: np.random.Generator, what: str) -> U32:
    """``n`` addresses drawn uniformly from the public segments selected by ``pick``."""
    seg = geo.public4()
    ends = np.append(seg.lo[1:], np.uint64(1 << 32)).astype(np.int64)  # exclusive
    starts = seg.lo.astype(np.int64)
    starts, sizes = starts[pick], (ends - starts)[pick]
    if sizes.size == 0:
        raise GeoDataError(f"no public IPv4 addresses for {what} in the geo data")
    cum = np.cumsum(sizes)
    draws = rng.integers(0, int(cum[-1]), size=n, dtype=np.int64)
    k = np.searchsorted(cum, draws, side="right")
    out: U32 = (starts[k] + draws - (cum[k] - sizes[k])).astype(np.uint32)
    return out
