"""What a detection pass over a quarter costs at the least: the measurements behind the
≤ 60 s target of issue 4 (docs/performance.md, "Where the time goes").

    .venv/bin/python bench/detect_floor.py [--store /work/bench-detect/store] [--months 07,08,09]

On the packets of the given months of 2026 in a store (``bench/detect.py --keep DIR`` builds
one: DIR/store), in one process, two DuckDB threads, each figure the best of two runs:

  1. decoding one stored column from Parquet (``sum`` or ``max`` of it) per 100 M packets;
  2. one hash aggregation per source over the SYNs (count, min, max of unicornscan's derived
     value: the constant-source test) from the Parquet parts, from a DuckDB in-memory table
     holding just the two columns, and from a numba open-addressing hash table over the same
     two columns as numpy arrays (one core), so that engine, memory and compiled kernel are
     compared on the same rows;
  3. how far a per-file aggregate written at ingest would shrink the rows that scans and
     the constant test read: distinct (file, source, destination, key), (file, source), and
     (source, destination, key) over the whole period, against the packets.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import duckdb
import numba
import numpy as np
import numpy.typing as npt

COLUMNS = ("ts", "src4", "dst4", "seq", "sport", "dport", "proto", "tcp_flags", "icmp_type", "country", "ip_id")
_CONST = "xor(xor(seq::BIGINT, dst4::BIGINT), (dport::BIGINT << 16) + sport::BIGINT)"


def best(db: duckdb.DuckDBPyConnection, sql: str, runs: int = 2) -> tuple[float, Any]:
    out: Any = None
    secs = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        out = db.execute(sql).fetchall()
        secs = min(secs, time.perf_counter() - t)
    return secs, out


@numba.njit(cache=True)
def _per_source(src: npt.NDArray[np.int64], k: npt.NDArray[np.int64], bits: int) -> int:  # pragma: no cover
    size = 1 << bits
    mask = size - 1
    keys = np.full(size, -1, np.int64)
    n = np.zeros(size, np.int64)
    lo = np.zeros(size, np.int64)
    hi = np.zeros(size, np.int64)
    for i in range(src.shape[0]):
        s = src[i]
        h = (s * 0x9E3779B1) & mask
        while keys[h] != s and keys[h] != -1:
            h = (h + 1) & mask
        if keys[h] == -1:
            keys[h] = s
            lo[h] = k[i]
            hi[h] = k[i]
        n[h] += 1
        lo[h] = min(lo[h], k[i])
        hi[h] = max(hi[h], k[i])
    return int(((keys != -1) & (n >= 3)).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", type=Path, default=Path("/work/bench-detect/store"))
    ap.add_argument("--months", default="07,08,09", help="months of 2026, comma-separated")
    args = ap.parse_args()
    months = "".join(sorted({m.strip()[-1] for m in args.months.split(",")}))
    glob = str(args.store / "packets" / f"date=2026-0[{months}]-*" / "*.parquet")
    db = duckdb.connect()
    db.execute("SET threads = 2")
    db.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet('{glob}')")
    n = int(db.execute("SELECT count(*) FROM p").fetchall()[0][0])
    per100 = 1e8 / n
    print(f"{n:,} packets in {glob}")

    print("\n1. decoding one column from Parquet, seconds per 100 M packets")
    for c in COLUMNS:
        agg = f"max({c})" if c in ("ts", "country") else f"sum({c})"
        secs, _ = best(db, f"SELECT {agg} FROM p")
        print(f"  {c:10}{secs * per100:6.2f}")

    print("\n2. one aggregation per source over the SYNs (count, min, max), seconds")
    # the result uses every aggregate (unused ones DuckDB drops, with the columns they read)
    q = f"SELECT count(*), sum(lo), sum(hi) FROM (SELECT src4, count(*) AS n, min(k) AS lo, max(k) AS hi FROM" \
        f" (SELECT src4, {_CONST} AS k FROM p WHERE (tcp_flags & 18) = 2) GROUP BY src4) WHERE n >= 3"
    secs, groups = best(db, q)
    print(f"  DuckDB over the Parquet parts (decode included)   {secs:6.2f}   {groups[0][0]:,} sources with 3 or more")
    db.execute(f"CREATE TABLE syn AS SELECT src4::BIGINT AS src4, {_CONST} AS k FROM p WHERE (tcp_flags & 18) = 2")
    rows = int(db.execute("SELECT count(*) FROM syn").fetchall()[0][0])
    secs, _ = best(db, "SELECT count(*), sum(lo), sum(hi) FROM (SELECT src4, count(*) AS n, min(k) AS lo, max(k) AS hi"
                       " FROM syn GROUP BY src4) WHERE n >= 3")
    print(f"  DuckDB over an in-memory table of the two columns {secs:6.2f}   ({rows:,} SYNs)")
    cols = db.sql("SELECT src4, k FROM syn").fetchnumpy()
    src, k = np.asarray(cols["src4"], np.int64), np.asarray(cols["k"], np.int64)
    _per_source(src[:1000], k[:1000], 12)  # compiled before it is timed
    secs = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        found = _per_source(src, k, 21)
        secs = min(secs, time.perf_counter() - t)
    print(f"  numba hash table over numpy arrays (one core)     {secs:6.2f}   {found:,} sources with 3 or more")

    print("\n3. rows a per-file aggregate at ingest would leave, against the packets")
    for what, cols_ in (("(file, source, destination, key)", "file_id, src4, dst4, proto, dport, icmp_type"),
                        ("(file, source)", "file_id, src4"),
                        ("(source, destination, key) over the period", "src4, dst4, proto, dport, icmp_type")):
        secs, got = best(db, f"SELECT count(*) FROM (SELECT DISTINCT {cols_} FROM p)", runs=1)
        print(f"  {what:44}{got[0][0]:>12,}  ({got[0][0] / n:.0%}; {secs:.1f} s)")


if __name__ == "__main__":
    main()
