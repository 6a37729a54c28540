"""``teiten sensor run``: capture what reaches a sensor's addresses, one file per interval.

libpcap captures with a kernel BPF filter (the sensor's destination networks, and
``--filter``) into a file in the spool's ``tmp/``; at each multiple of ``--rotate`` seconds
(UTC) the interval is closed (:meth:`teiten.sensors.spool.Spool.close_interval`): its
capture moves to ``ready/`` and its signed manifest follows, with the packets, bytes and
the kernel's and interface's drops of the interval. An interval without a packet still
writes its manifest (a heartbeat). The first interval after a (re)start begins when the
capture did, the last ends when SIGTERM or SIGINT stopped it; SIGHUP closes the interval
and opens the capture again. Nothing is ever sent unless ``respond``: then a
:class:`teiten.sensors.respond.Responder` thread answers SYNs to the sensor's addresses, the
capture records both directions (``src net`` too) and each manifest counts the replies
sent within its interval.
"""

from __future__ import annotations

import ipaddress
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teiten.capture.reader import CaptureReader
from teiten.errors import SettingError
from teiten.sensors.credentials import load_private
from teiten.sensors.libpcap import Capture, Stats
from teiten.sensors.manifest import Manifest
from teiten.sensors.respond import Limits, Responder
from teiten.sensors.spool import Spool, interval_of

__all__ = ["SensorConfig", "capture_filter", "run"]


@dataclass
class SensorConfig:
    """What ``teiten sensor run`` is told."""

    name: str
    interface: str
    addresses: list[str]
    spool: Path
    credentials: Path
    rotate: int = 300
    filter: str | None = None
    snaplen: int = 65535
    promiscuous: bool = False
    buffer_bytes: int = 64 << 20
    quota: int | None = None  # bytes of spool: past it the oldest unshipped intervals go (a gap)
    respond: bool = False  # answer SYNs (teiten.sensors.respond)
    limits: Limits = field(default_factory=Limits)
    arp: bool = False  # with respond: answer ARP for the sensor's addresses


def networks(addresses: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The sensor's networks, from ``--addresses``."""
    nets = []
    for a in addresses:
        try:
            nets.append(ipaddress.ip_network(a.strip(), strict=False))
        except ValueError:
            raise SettingError(f"--addresses: not an address or network: {a!r}") from None
    if not nets:
        raise SettingError("--addresses names no network")
    return nets


def capture_filter(addresses: list[str], extra: str | None = None, *, both_ways: bool = False) -> str:
    """The kernel filter: packets to the sensor's networks (and ``extra``); with
    ``both_ways`` (a responder), also the packets from them."""
    nets = [f"dst net {n}" for n in networks(addresses)]
    if both_ways:
        nets += [f"src net {n}" for n in networks(addresses)]
    expr = "(" + " or ".join(nets) + ")"
    return f"{expr} and ({extra})" if extra else expr


def _summary(path: Path) -> tuple[int, float | None, float | None]:
    """Records and the first and last packet time (seconds) of a closed capture file."""
    reader = CaptureReader(path)
    for _ in reader:
        pass
    s = reader.summary
    return s.frames, (s.first_ts / 1e6 if s.first_ts is not None else None), (
        s.last_ts / 1e6 if s.last_ts is not None else None)


def run(cfg: SensorConfig, *, clock: Callable[[], float] = time.time, stop_after: float | None = None,
        on_close: Callable[[Manifest], None] | None = None) -> list[Manifest]:
    """Capture until SIGTERM/SIGINT (or ``stop_after`` seconds, for tests); the manifests
    written, oldest first."""
    key = load_private(cfg.credentials)
    spool = Spool(cfg.spool, cfg.name)
    spool.recover()
    bpf = capture_filter(cfg.addresses, cfg.filter, both_ways=cfg.respond)

    def open_capture() -> Capture:
        return Capture(cfg.interface, bpf, snaplen=cfg.snaplen, promiscuous=cfg.promiscuous,
                       buffer_bytes=cfg.buffer_bytes)

    cap = open_capture()  # before the responder: its first replies are captured
    responder, halt, serving = None, threading.Event(), None
    if cfg.respond:
        try:
            responder = Responder(cfg.interface, networks(cfg.addresses), limits=cfg.limits, arp=cfg.arp)
        except BaseException:
            cap.close()
            raise
        serving = threading.Thread(target=responder.run, args=(halt,), name="responder", daemon=True)
        serving.start()
    flags = {"stop": False, "reload": False}

    def on_signal(signum: int, _frame: Any) -> None:
        flags["reload" if signum == signal.SIGHUP else "stop"] = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    began = clock()
    prev = spool.last()
    # interval boundaries are whole seconds (the files are named by their start's second)
    start = float(math.floor(began) if prev is None else max(math.floor(began), prev.end().timestamp()))
    end = float(interval_of(start, cfg.rotate)[1])
    open_path = spool.tmp / f"{cfg.name}-open.pcap"
    written: list[Manifest] = []
    last_stats = Stats(0, 0, 0)
    last_replies = 0
    try:
        cap.open_file(open_path)
        while True:
            cap.dispatch()
            now = clock()
            if stop_after is not None and now - began >= stop_after:
                flags["stop"] = True
            reload = flags["reload"] and now - start >= 1  # an interval lasts a second at least (its name)
            if now < end and not flags["stop"] and not reload:
                continue
            close_at = end if now >= end else float(math.ceil(now))
            cap.close_file()
            st = cap.stats()
            drops = {"kernel": st.kernel - last_stats.kernel, "interface": st.interface - last_stats.interface}
            last_stats = st
            replies = responder.counters.replies if responder is not None else 0
            frames, first, last = _summary(open_path)
            m = spool.close_interval(start, close_at, open_path, packets=frames, size=open_path.stat().st_size,
                                     first=first, last=last, dropped=drops, key=key, prev=prev,
                                     replies=replies - last_replies)
            last_replies = replies
            written.append(m)
            prev = m
            if cfg.quota is not None:
                spool.enforce_quota(cfg.quota)
            if on_close is not None:
                on_close(m)
            if flags["stop"]:
                return written
            if reload:
                flags["reload"] = False
                time.sleep(max(0.0, close_at - clock()))  # the next interval starts on that second
                cap.close()
                cap = open_capture()
                last_stats = Stats(0, 0, 0)
            start = close_at
            end = float(interval_of(max(now, close_at), cfg.rotate)[1])
            cap.open_file(open_path)
    finally:
        halt.set()
        if responder is not None and serving is not None:
            serving.join()
            responder.close()
        cap.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
