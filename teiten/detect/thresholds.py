"""The thresholds of every detector, in one place: each detector takes its rules as an
argument with these defaults, and ``teiten detect --help`` (:func:`describe`) and
docs/detection.md state them from here.

Defaults follow the tools and reports they come from: the DoS rules are CAIDA corsaro's
RS-DoS plugin; a scanner reaches a tenth of the monitored addresses, as in the darknet
scan studies of Durumeric et al. (USENIX Security 2014); the change thresholds are robust
z-scores against the four weeks before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PAYLOAD_MIN_SOURCES", "ChangeRules", "ConcentrationRules", "DiurnalRules", "RSDoS", "ScanRules",
           "describe"]

#: A tool name in first payloads is a finding when at least this many sources sent it.
PAYLOAD_MIN_SOURCES = 3


@dataclass(frozen=True)
class RSDoS:
    """The attack thresholds of corsaro's RS-DoS plugin."""

    timeout: float = 300.0
    min_packets: int = 25
    min_duration: float = 60.0
    window: float = 60.0
    min_window_packets: int = 30


@dataclass(frozen=True)
class ScanRules:
    """When a source's packets to one port key are a scan."""

    timeout: float = 3600.0
    min_addresses: int | None = None  # None: max(10, ceil(monitored / 10))
    exclude_backscatter: bool = True  # replies of DoS victims are not scans

    def threshold(self, monitored: int) -> int:
        """The addresses a scan must reach when ``monitored`` are watched."""
        return self.min_addresses if self.min_addresses is not None else max(10, math.ceil(monitored / 10))


@dataclass(frozen=True)
class ChangeRules:
    """When a key's daily packets surged, dropped, newly entered or climbed the ranking."""

    baseline: int = 28  # trailing days of the baseline
    z: float = 6.0  # |robust z| that flags a day
    min_packets: int = 100  # a surge day has at least this many packets (a drop: its baseline median)
    max_keys: int = 500  # the keys with the most packets are followed
    jump: int = 10  # rank jump: climbed this many places ...
    within: int = 20  # ... into the top this many
    min_sources: int = 1  # a surge's peak day has packets from at least this many sources
    top_sources: int = 3  # the busiest sources of a surge's or drop's peak day listed


@dataclass(frozen=True)
class ConcentrationRules:
    """When one source, source port or country dominates a key (shares of its packets)."""

    max_keys: int = 100  # the busiest keys are examined
    min_packets: int = 500  # ... that have at least this many packets
    source: float = 0.5
    source_port: float = 0.8
    country: float = 0.8
    country_lift: float = 2.0


@dataclass(frozen=True)
class DiurnalRules:
    """When the hourly packets of a region, key or pair follow a 24-hour rhythm."""

    top: int = 15  # busiest regions and keys examined (and their pairs)
    min_packets: int = 2000
    amplitude: float = 0.3
    noise_sigmas: float = 6.0
    max_peak_shift: float = 2.0
    week_shift: float = 3.0  # a week's own peak this close to the period's ...
    weeks_share: float = 0.6  # ... in this share of the weeks with a quarter of the median week's packets


def describe() -> str:
    """What ``teiten detect`` looks for, with the default thresholds (its --help)."""
    d, s, c, k, r = RSDoS(), ScanRules(), ChangeRules(), ConcentrationRules(), DiurnalRules()
    return (
        "List what is notable in a period (docs/detection.md). Packets of known tools and malware by their"
        " fingerprints (Mirai, legacy ZMap, Masscan, Nmap SYN, Unicornscan; the table is"
        " teiten/detect/rules/fingerprints.toml), each with a score (1 - matches expected by chance /"
        " matches), its sources, ports, regions and daily counts; DoS attacks on victims whose backscatter"
        f" reached the sensors (corsaro RS-DoS rules: {d.timeout:g} s timeout, >= {d.min_packets} packets,"
        f" >= {d.min_duration:g} s, >= {d.min_window_packets} packets in {d.window:g} s), with type, peak rate"
        " and estimated intensity; scanners: IPv4 or IPv6 sources reaching a tenth of the monitored addresses"
        f" (at least 10) on one port key with no gap over {s.timeout / 3600:g} h; surges and drops of the"
        f" daily packets of a port key or region against the {c.baseline} days before (robust z >= {c.z:g},"
        f" >= {c.min_packets} packets), keys new in the top {c.within}, and keys that climbed {c.jump} places"
        f" into the top {c.within}; tool names in User-Agent/Server headers of first payloads (SIP scanners),"
        f" sent by at least {PAYLOAD_MIN_SOURCES} sources; signature alerts (the rules of"
        " teiten/detect/rules/teiten.rules or --rules); one source address"
        f" ({k.source:.0%}), source port ({k.source_port:.0%}) or country ({k.country:.0%} and"
        f" {k.country_lift:g} times its overall share) dominating one of the {k.max_keys} busiest keys; and a"
        f" 24-hour rhythm (amplitude >= {r.amplitude:g}) in the hourly packets of a busy region, key or key"
        f" from one region that recurs in {r.weeks_share:.0%} of the weeks.")
