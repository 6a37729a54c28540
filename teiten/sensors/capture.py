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
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from teiten.capture.reader import CaptureReader
from teiten.errors import SettingError
from teiten.sensors.credentials import load_private
from teiten.sensors.libpcap import Capture, Stats
from teiten.sensors.manifest import Manifest
from teiten.sensors.respond import Limits, Responder
from teiten.sensors.spool import Held, Spool, interval_of

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


class _Closer(threading.Thread):
    """Writes the manifests of closed intervals, in order, while the capture goes on (reading
    a closed capture back and hashing it takes a while at a million packets per second)."""

    def __init__(self, spool: Spool, key: Ed25519PrivateKey, prev: Manifest | None, quota: int | None,
                 on_close: Callable[[Manifest], None] | None) -> None:
        super().__init__(name="closer", daemon=True)
        self.spool, self.key, self.prev, self.quota, self.on_close = spool, key, prev, quota, on_close
        self.queue: queue.Queue[Held | None] = queue.Queue()
        self.written: list[Manifest] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        while (h := self.queue.get()) is not None:
            try:
                self.close(h)
            except BaseException as e:  # handed to the capture loop, which stops with it
                self.error = e
                return

    def close(self, h: Held) -> None:
        frames, first, last = _summary(h.capture)
        m = self.spool.close_interval(h.start, h.end, h.capture, packets=frames, size=h.capture.stat().st_size,
                                      first=first, last=last, dropped=h.dropped, key=self.key, prev=self.prev,
                                      replies=h.replies)
        h.note.unlink()
        self.prev = m
        self.written.append(m)
        if self.quota is not None:
            self.spool.enforce_quota(self.quota)
        if self.on_close is not None:
            self.on_close(m)

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def finish(self) -> list[Manifest]:
        self.queue.put(None)
        self.join()
        self.check()
        return self.written


def run(cfg: SensorConfig, *, clock: Callable[[], float] = time.time, stop_after: float | None = None,
        on_close: Callable[[Manifest], None] | None = None) -> list[Manifest]:
    """Capture until SIGTERM/SIGINT (or ``stop_after`` seconds, for tests); the manifests
    written, oldest first (those of intervals a crash left closed but unsigned first)."""
    key = load_private(cfg.credentials)
    spool = Spool(cfg.spool, cfg.name)
    held = spool.held()
    spool.recover(keep=held)
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
    closer = _Closer(spool, key, prev, cfg.quota, on_close)
    closer.start()
    for h in held:
        closer.queue.put(h)
    resumed = max(([prev.end().timestamp()] if prev else []) + [h.end for h in held], default=None)
    # interval boundaries are whole seconds (the files are named by their start's second)
    start = float(math.floor(began) if resumed is None else max(math.floor(began), resumed))
    end = float(interval_of(start, cfg.rotate)[1])
    last_stats = Stats(0, 0, 0)
    last_replies = 0
    try:
        cap.open_file(spool.open_file)
        while True:
            cap.dispatch()
            closer.check()
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
            closer.queue.put(spool.hold(start, close_at, drops, replies - last_replies))
            last_replies = replies
            if flags["stop"]:
                break
            if reload:
                flags["reload"] = False
                time.sleep(max(0.0, close_at - clock()))  # the next interval starts on that second
                cap.close()
                cap = open_capture()
                last_stats = Stats(0, 0, 0)
            start = close_at
            end = float(interval_of(max(now, close_at), cfg.rotate)[1])
            cap.open_file(spool.open_file)
    finally:
        halt.set()
        if responder is not None and serving is not None:
            serving.join()
            responder.close()
        cap.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return closer.finish()
