"""Synthetic darknet traffic with known ground truth (captures for tests, demos, benchmarks).

``frames`` writes :class:`PacketColumns` as pcap/pcapng, vectorised; ``scenario.generate``
writes two quarters of daily captures per sensor site with ``truth.json`` and
``sensors.json``; ``frames.synthetic_capture`` one file of background radiation.
"""

from teiten.demo.frames import CaptureWriter, synthetic_capture, write_pcap, write_pcapng
from teiten.demo.layout import PacketColumns
from teiten.demo.scenario import Scenario, generate

__all__ = ["CaptureWriter", "PacketColumns", "Scenario", "generate", "synthetic_capture", "write_pcap",
           "write_pcapng"]
