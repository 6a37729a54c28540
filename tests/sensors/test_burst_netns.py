"""Drop accounting under a burst: a million packets replayed at top speed (``tcpreplay
--topspeed``) into the veth while ``teiten sensor run`` captures with a kernel buffer far
too small for them. Some are dropped; every one is accounted for: the packets the
manifests count plus the drops they report equal what was sent. (The sensor is stopped,
SIGSTOP, for the first 0.3 s of the burst: since the capture stopped waiting for files to
close it keeps up with a burst even in 1 MiB on an idle machine, and a test whose drops
depend on the machine's load proves nothing when there are none.)"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from teiten.sensors import credentials
from teiten.sensors.spool import Spool
from tests.sensors.burst import burst_pcap
from tests.sensors.live import wait_until
from tests.sensors.netns import darknet

SENT = 1_000_000


@pytest.mark.skipif(shutil.which("tcpreplay") is None, reason="tcpreplay is not installed"
                    " (scripts/install-system-packages.sh installs it)")
def test_captured_plus_reported_drops_equal_what_was_sent(tmp_path: Path) -> None:
    creds, spool_dir = tmp_path / "creds", tmp_path / "spool"
    credentials.generate(creds)
    with darknet() as net:
        mac = net.run(net.sensor, "cat", f"/sys/class/net/{net.interface}/address").stdout.strip()
        capture = burst_pcap(tmp_path / "burst.pcap", SENT, bytes.fromhex(mac.replace(":", "")))
        sensor = net.sensor_run(spool_dir, creds, "s1", 2, "--buffer-mb", "1")
        try:
            wait_until(lambda: (spool_dir / "tmp" / "s1-open.pcap").exists(), 20, "the capture did not start")
            time.sleep(0.3)
            dev = re.search(r"\d+: (ts\w+)@", net.run(net.scanner, "ip", "-o", "link").stdout)
            assert dev is not None
            replay = net.popen(net.scanner, "tcpreplay", "-i", dev.group(1), "--topspeed", str(capture),
                               stdout=subprocess.PIPE)
            sensor.send_signal(signal.SIGSTOP)  # a sensor that stalls: its buffer fills, the kernel drops
            time.sleep(0.3)
            sensor.send_signal(signal.SIGCONT)
            out, _ = replay.communicate(timeout=120)
            time.sleep(2.5)  # the interval the burst ended in closes
        finally:
            sensor.send_signal(signal.SIGTERM)
            _, err = sensor.communicate(timeout=120)
        assert sensor.returncode == 0, err
    ok = re.search(r"Successful packets:\s+(\d+)", out)
    assert ok is not None, out
    sent = int(ok.group(1))
    assert sent == SENT, out  # tcpreplay sent them all (no failed sends to account for)
    ms = Spool(spool_dir, "s1").manifests()
    captured = sum(m.packets for m in ms)
    dropped = sum(m.dropped["kernel"] + m.dropped["interface"] for m in ms)
    assert dropped > 0, "a stalled sensor with a 1 MiB buffer lost nothing: the burst proves nothing"
    assert captured + dropped == sent, (captured, dropped, sent)
