"""Whether an uploaded capture is a sensor's own: every packet in it is to one of the
sensor's registered addresses (or, a responder's reply, from one). A capture with others
is refused whole (teiten.ingest.collector): a sensor cannot speak for addresses it was not
registered with."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from teiten.capture.reader import CaptureReader
from teiten.store.catalog import Sensor, parse_networks, sensor_map

__all__ = ["Foreign", "foreign_packets"]


@dataclass(frozen=True)
class Foreign:
    """Packets of a capture that are not to or from the sensor's addresses."""

    packets: int  # IP packets in the file
    foreign: int
    example: str | None  # the destination of the first of them

    def describe(self, sensor: str) -> str:
        return (f"{self.foreign} of {self.packets} packets are to addresses not sensor {sensor!r}'s"
                f" (the first to {self.example})")


def _address(table_row: dict[str, object]) -> str:
    v4 = table_row.get("dst4")
    if isinstance(v4, int):
        return str(ipaddress.IPv4Address(v4))
    raw = table_row.get("dst6")
    return str(ipaddress.IPv6Address(bytes(raw))) if isinstance(raw, bytes) else "?"


def foreign_packets(path: Path, name: str, addresses: tuple[str, ...]) -> Foreign:
    """Read ``path`` (batch by batch, vectorised) and count its packets to or from none of
    ``addresses``."""
    smap = sensor_map([Sensor(name, addresses, networks=parse_networks(addresses))])
    total = foreign = 0
    example: str | None = None
    for batch in CaptureReader(path):
        t = batch.packets
        if not t.num_rows:
            continue
        outside = ~smap.touches(t)
        n = int(outside.sum())
        if n and example is None:
            example = _address(t.slice(int(np.argmax(outside)), 1).to_pylist()[0])
        total, foreign = total + t.num_rows, foreign + n
    return Foreign(total, foreign, example)
