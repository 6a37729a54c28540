"""Background radiation for big benchmark stores: one fixed, heavy-tailed population of sources.

``source_pool(geo, tel, size, rng)`` draws ``size`` sources once: a country by the weights of
:data:`~teiten.synth.population.COUNTRIES`, an address there, one or two port keys by that
country's key mix (``key_mix``), an "OS" of :data:`~teiten.synth.population.OSES` (initial
TTL, TCP options, window, ephemeral ports) and a lognormal(0, 1.5) activity weight, and a
fixed set of one to :data:`MAX_ADDRESSES` sensor addresses it sends to.
``filler_day(n, t0_us, pool, rng)`` draws the ``n`` packets of one day: each packet's source
by activity weight, its time uniform in the day, its key (the first of two keys 3 times in
4), one of the source's addresses.

The traffic is built to be invisible to the detectors but through its volume: no source
reaches more than 8 sensor addresses (the scan threshold is a tenth of the telescope's 280),
TCP packets are SYNs with an ordinary OS's options (never the lone MSS option of Nmap), ICMP
packets echo requests, UDP datagrams empty, nothing carries a payload, ``unmark`` removes
chance fingerprints, times are flat over the day (no rhythm), and every day is drawn from
the same population (no change but the volume the caller asks for).  The key "port 0" of
:data:`~teiten.synth.population.KEYS` is a random high port per packet, so no key belongs to
one source.  IPv4 only; vectorised, no Python loop per packet or per source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from teiten.capture.frames import ICMP, TCP, PacketColumns
from teiten.enrich.geo import GeoDB
from teiten.synth.population import COUNTRIES, DAY_US, KEYS, OSES, key_mix, sample_sources, unmark
from teiten.synth.sensors import Telescope

__all__ = ["MAX_ADDRESSES", "SourcePool", "filler_day", "source_pool"]

I64 = npt.NDArray[np.int64]
MAX_ADDRESSES = 8
SECOND_KEY_SHARE = 0.25


@dataclass(frozen=True)
class SourcePool:
    """The sources of the filler, one element (row) per source."""

    src: npt.NDArray[np.uint32]
    country: npt.NDArray[np.str_]
    keys: I64  # (size, 2) indices into KEYS; both equal for a source with one key
    os: I64  # index into OSES
    hops: I64
    window: I64
    mss: I64
    echo_id: I64
    dst: npt.NDArray[np.uint32]  # (size, MAX_ADDRESSES) sensor addresses; the first ``ndst`` are used
    ndst: I64
    weight: npt.NDArray[np.float64]  # activity, summing to 1

    def __len__(self) -> int:
        return int(self.src.shape[0])


def _countries(size: int, rng: np.random.Generator) -> npt.NDArray[np.str_]:
    w = np.array([c[1] for c in COUNTRIES])
    out: npt.NDArray[np.str_] = np.array([c[0] for c in COUNTRIES])[rng.choice(len(w), size=size, p=w / w.sum())]
    return out


def _keys(country: npt.NDArray[np.str_], rng: np.random.Generator) -> I64:
    """One or two key indices per source from its country's key mix (a loop over countries)."""
    keys = np.zeros((len(country), 2), dtype=np.int64)
    for cc in np.unique(country).tolist():
        sel = np.flatnonzero(country == cc)
        keys[sel] = rng.choice(len(KEYS), size=(len(sel), 2), p=key_mix(cc))
    one = rng.random(len(country)) < 0.6
    keys[one, 1] = keys[one, 0]
    return keys


def _windows(os_: I64, rng: np.random.Generator) -> I64:
    """A TCP window per source from its OS's windows."""
    table = np.zeros((len(OSES), max(len(o[3]) for o in OSES)), dtype=np.int64)
    sizes = np.array([len(o[3]) for o in OSES])
    for i, o in enumerate(OSES):
        table[i, : len(o[3])] = o[3]
    pick = (rng.random(len(os_)) * sizes[os_]).astype(np.int64)
    out: I64 = table[os_, pick]
    return out


def source_pool(geo: GeoDB, tel: Telescope, size: int, rng: np.random.Generator) -> SourcePool:
    """``size`` sources (module docstring), each sending to at most 8 of ``tel``'s IPv4 addresses."""
    country = _countries(size, rng)
    os_ = rng.choice(len(OSES), size=size, p=[o[0] for o in OSES]).astype(np.int64)
    weight = rng.lognormal(0.0, 1.5, size=size)
    return SourcePool(
        src=sample_sources(geo, country, rng), country=country, keys=_keys(country, rng), os=os_,
        hops=rng.integers(6, 25, size=size), window=_windows(os_, rng),
        mss=np.where(rng.random(size) < 0.9, 1460, 1452).astype(np.int64),
        echo_id=rng.integers(1, 1 << 16, size=size),
        dst=tel.addr4[rng.integers(0, len(tel.addr4), size=(size, MAX_ADDRESSES))],
        ndst=rng.integers(1, MAX_ADDRESSES + 1, size=size), weight=weight / weight.sum())


def filler_day(n: int, t0_us: int, pool: SourcePool, rng: np.random.Generator) -> PacketColumns:
    """``n`` packets of ``pool`` in the day from ``t0_us`` (µs since the epoch), in time order."""
    s = rng.choice(len(pool), size=n, p=pool.weight)
    ts = np.sort(t0_us + rng.integers(0, DAY_US, size=n))
    k = pool.keys[s, (rng.random(n) < SECOND_KEY_SHARE).astype(np.int64)]
    karr = np.array([(p, pr) for p, pr, _ in KEYS], dtype=np.int64)
    port, proto = karr[k, 0], karr[k, 1]
    port = np.where(port == 0, rng.integers(1024, 65536, size=n), port)
    o = pool.os[s]
    ttl0 = np.array([x[1] for x in OSES])[o]
    lo, hi = np.array([x[4][0] for x in OSES])[o], np.array([x[4][1] for x in OSES])[o]
    tcp, icmp = proto == TCP, proto == ICMP
    dst = pool.dst[s, (rng.random(n) * pool.ndst[s]).astype(np.int64)]
    cols = PacketColumns.make(
        n, ts=ts, src=pool.src[s], dst=dst, proto=proto, sport=np.where(icmp, 0, rng.integers(lo, hi)),
        dport=np.where(icmp, 0, port), flags=np.where(tcp, 0x02, 0), seq=rng.integers(0, 1 << 32, size=n),
        window=np.where(tcp, pool.window[s], 0), ip_id=rng.integers(0, 1 << 16, size=n), ttl=ttl0 - pool.hops[s],
        icmp_type=np.where(icmp, 8, 0), tcp_opts=np.where(tcp, np.array([x[2] for x in OSES])[o], 0),
        mss=pool.mss[s], wscale=np.where(ttl0 == 128, 8, 7), tsval=rng.integers(0, 1 << 32, size=n))
    cols.seq[icmp] = (pool.echo_id[s[icmp]] << 16) + rng.integers(1, 999, size=int(icmp.sum()))
    unmark(cols)
    return cols
