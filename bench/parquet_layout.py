"""Parquet layout benchmark: write time and size of every stored column under each encoding × codec.

    .venv/bin/python bench/parquet_layout.py [--packets 3000000]

Generates a capture, decodes and enriches it as ``teiten ingest`` does, then writes each
column alone in parts of ``PART_ROWS`` rows under each layout (best of 5) and prints
milliseconds per million packets and bytes per packet; ``*`` marks the layout that
``teiten.store.dataset.LAYOUT`` uses.  Last, the whole table with teiten's layout against
plain zstd for every column, in the same run.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from teiten.capture.reader import CaptureReader
from teiten.enrich import load_geo
from teiten.ingest.pipeline import enriched
from teiten.schema import packet_schema
from teiten.store.catalog import sensor_map
from teiten.store.dataset import LAYOUT, PART_ROWS, WRITER_OPTIONS
from teiten.synth.radiation import synthetic_capture

VARIANTS: dict[str, dict[str, object]] = {
    "plain/zstd": {"compression": "zstd", "use_dictionary": False},
    "plain/none": {"compression": "none", "use_dictionary": False},
    "dict/zstd": {"compression": "zstd", "use_dictionary": True},
    "dict/none": {"compression": "none", "use_dictionary": True},
    "delta/zstd": {"compression": "zstd", "use_dictionary": False, "column_encoding": "DELTA_BINARY_PACKED"},
    "delta/none": {"compression": "none", "use_dictionary": False, "column_encoding": "DELTA_BINARY_PACKED"},
}


def write_time(table: pa.Table, reps: int = 5, **opts: object) -> tuple[float, float]:
    """Best seconds to write ``table`` in parts, and bytes written."""
    best, size = float("inf"), 0
    for _ in range(reps):
        buf = io.BytesIO()
        t = time.perf_counter()
        for off in range(0, table.num_rows, PART_ROWS):
            pq.write_table(table.slice(off, PART_ROWS), buf, row_group_size=PART_ROWS, **opts)  # type: ignore[arg-type]
        best, size = min(best, time.perf_counter() - t), buf.tell()
    return best, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=3_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="teiten-layout-") as work:
        cap = Path(work) / "layout.pcap"
        synthetic_capture(cap, args.packets, seed=1)
        geo, smap = load_geo(Path(work) / "store"), sensor_map([])
        schema = packet_schema()
        parts = [enriched(b.packets, geo, smap, None, 1).select(schema.names).cast(schema)
                 for b in CaptureReader(cap)]
    table = pa.concat_tables(parts).combine_chunks()
    n = table.num_rows / 1e6
    print(f"{table.num_rows:,} packets; ms per million packets / bytes per packet\n")
    print(f"{'column':12}" + "".join(f"{v:>18}" for v in VARIANTS))
    for name in table.column_names:
        col = table.select([name])
        used = "/".join(LAYOUT.get(name, ("plain", "zstd")))
        cells = []
        for label, opts in VARIANTS.items():
            if "column_encoding" in opts and not pa.types.is_integer(col.schema[0].type) \
                    and not pa.types.is_timestamp(col.schema[0].type):
                cells.append(f"{'-':>18}")
                continue
            t, size = write_time(col, write_statistics=False, **opts)
            mark = "*" if label == used else " "
            cells.append(f"{t * 1e3 / n:8.1f}/{size / table.num_rows:6.2f}{mark:>3}")
        print(f"{name:12}" + "".join(cells))
    t_all, s_all = write_time(table, 3, compression="zstd", use_dictionary=False)
    t_ours, s_ours = write_time(table, 3, **WRITER_OPTIONS)
    print(f"\nwhole table, plain zstd everywhere: {table.num_rows / t_all:,.0f} packets/s, "
          f"{s_all / table.num_rows:.1f} B/packet")
    print(f"whole table, teiten's layout:       {table.num_rows / t_ours:,.0f} packets/s, "
          f"{s_ours / table.num_rows:.1f} B/packet ({t_all / t_ours:.2f}× faster)")


if __name__ == "__main__":
    main()
