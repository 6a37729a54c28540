"""Compile the default geo tables now: ``python -m teiten.enrich.build [DIR]``.

``make install`` runs this so the first ingest does not pay for it; without it
``load_geo()`` compiles on first use.  DIR defaults to the geo data directory
(``$TEITEN_GEO_DIR``, else ``teiten/data/geo``, else ``~/.cache/teiten/geo``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from teiten.enrich.geo import build_default
from teiten.enrich.tables import load_tables
from teiten.errors import GeoDataError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    started = time.perf_counter()
    try:
        path = build_default(Path(args[0]) if args else None)
    except GeoDataError as exc:
        print(f"teiten.enrich.build: {exc}", file=sys.stderr)
        return 1
    tables = load_tables(path)
    print(f"wrote {path} ({len(tables.v4)} IPv4 and {len(tables.v6)} IPv6 ranges, "
          f"{len(tables.as_names)} AS names) in {time.perf_counter() - started:.1f} s")
    for s in tables.sources:
        print(f"  {s.name}  {s.date}  {s.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
