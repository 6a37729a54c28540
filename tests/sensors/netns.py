"""Network namespaces for sensor tests: a *scanner* namespace that routes a documentation
prefix over a veth pair to a *sensor* namespace, which holds none of its addresses (a
darknet: its kernel drops the packets, answering nothing). All traffic stays inside them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

PREFIX = "198.51.100.0/25"


@dataclass(frozen=True)
class Darknet:
    scanner: str  # namespace names
    sensor: str
    interface: str  # the sensor's end of the veth
    prefix: str

    def run(self, ns: str, *argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", ns, *argv], check=True, capture_output=True, text=True,
                              **kw)  # type: ignore[call-overload]

    def popen(self, ns: str, *argv: str, **kw: object) -> subprocess.Popen[str]:
        return subprocess.Popen(["ip", "netns", "exec", ns, *argv], text=True, **kw)  # type: ignore[call-overload]

    def sensor_run(self, spool: Path, creds: Path, name: str = "s1", rotate: int = 2, *extra: str
                   ) -> subprocess.Popen[str]:
        """``teiten sensor run`` on the sensor's end of the veth (``extra`` options added), its
        output piped."""
        return self.popen(self.sensor, sys.executable, "-m", "teiten.cli", "sensor", "run", "--name", name,
                          "--interface", self.interface, "--addresses", self.prefix, "--spool", str(spool),
                          "--credentials", str(creds), "--rotate", str(rotate), *extra, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=ROOT)

    def connect(self, payload: bytes, *targets: str) -> list[dict[str, object]]:
        """From the scanner: ordinary TCP connections that send ``payload`` (tests.sensors.traffic)."""
        out = self.run(self.scanner, sys.executable, "-m", "tests.sensors.traffic", "connect", payload.decode(),
                       *targets, cwd=ROOT).stdout
        return [json.loads(x) for x in out.splitlines()]

    def send(self, udp: int, icmp: int, syn: int) -> None:
        """From the scanner: UDP datagrams, ICMP echo requests and TCP SYNs (tests.sensors.traffic)."""
        self.run(self.scanner, sys.executable, "-m", "tests.sensors.traffic", str(udp), str(icmp), str(syn),
                 cwd=ROOT)


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


def can_make_namespaces() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    probe = f"tt-probe-{uuid.uuid4().hex[:6]}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as e:
        return f"ip netns add failed: {e.stderr.decode(errors='replace').strip()}"
    _ip("netns", "del", probe)
    return None


@contextmanager
def darknet(prefix: str = PREFIX) -> Iterator[Darknet]:
    """A scanner and a sensor namespace joined by a veth pair; ``prefix`` routed to the sensor."""
    why = can_make_namespaces()
    if why:
        pytest.skip(why)
    tag = uuid.uuid4().hex[:6]
    scan, sens = f"tt-scan-{tag}", f"tt-sens-{tag}"
    a, b = f"ts{tag}", f"tn{tag}"  # interface names: at most 15 characters
    _ip("netns", "add", scan)
    _ip("netns", "add", sens)
    try:
        _ip("link", "add", a, "netns", scan, "type", "veth", "peer", "name", b, "netns", sens)
        for ns, dev, addr in ((scan, a, "10.199.0.1/30"), (sens, b, "10.199.0.2/30")):
            _ip("-n", ns, "addr", "add", addr, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", scan, "route", "add", prefix, "via", "10.199.0.2", "dev", a)
        yield Darknet(scan, sens, b, prefix)
    finally:
        subprocess.run(["ip", "netns", "del", scan], capture_output=True)
        subprocess.run(["ip", "netns", "del", sens], capture_output=True)
