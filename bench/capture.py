"""Capture rate and drop accounting of ``teiten sensor run``, against dumpcap, on a veth.

    .venv/bin/python bench/capture.py [--packets 2000000] [--rates 100000,200000,300000,400000,top]
                                      [--buffer-mb 64]                         (root: namespaces)

Builds the sensor tests' darknet (tests/sensors/netns.py: a scanner and a sensor network
namespace joined by a veth pair) and replays --packets 60-byte UDP packets to the darknet
prefix with ``tcpreplay`` at each of --rates packets per second (``top``: --topspeed) into
the scanner's end, once with ``teiten sensor run`` capturing on the sensor's end (rotating
every 2 s; the count is the sum of its manifests) and once with the peer, ``dumpcap -B
--buffer-mb -w`` (Wireshark's capture engine; its count read back from its file, its drops
from its own report), each alone on the machine. Prints per rate: the rate tcpreplay
reached, what each captured, the drops it reported, whether captured + drops = sent, and
the ratio teiten/dumpcap of packets captured.
The issue's target: zero loss at >= 300 k packets/s, and exact accounting at any rate.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--rates", default="100000,200000,300000,400000,top")
    ap.add_argument("--buffer-mb", type=int, default=64)
    a = ap.parse_args()
    from teiten.capture.reader import CaptureReader
    from teiten.sensors import credentials
    from teiten.sensors.spool import Spool
    from tests.sensors.burst import burst_pcap
    from tests.sensors.netns import darknet

    rows = []
    with tempfile.TemporaryDirectory() as tmp, darknet() as net:
        mac = net.run(net.sensor, "cat", f"/sys/class/net/{net.interface}/address").stdout.strip()
        flood = burst_pcap(Path(tmp) / "flood.pcap", a.packets, bytes.fromhex(mac.replace(":", "")))
        found = re.search(r"\d+: (ts\w+)@", net.run(net.scanner, "ip", "-o", "link").stdout)
        assert found is not None
        dev = found.group(1)

        def replay(rate: str) -> tuple[int, float]:
            speed = ["--topspeed"] if rate == "top" else ["--pps", rate]
            out = net.run(net.scanner, "tcpreplay", "--preload-pcap", "-i", dev, *speed, str(flood)).stdout
            sent = re.search(r"Successful packets:\s+(\d+)", out)
            pps = re.search(r"Rated: .*?([\d.]+) pps", out)
            assert sent is not None and pps is not None, out
            return int(sent.group(1)), float(pps.group(1))

        for rate in a.rates.split(","):
            run = Path(tmp) / f"r{rate}"
            creds, spool = run / "creds", run / "spool"
            credentials.generate(creds)
            sensor = net.sensor_run(spool, creds, "bench", 2, "--buffer-mb", str(a.buffer_mb))
            while not (spool / "tmp" / "bench-open.pcap").exists():
                time.sleep(0.05)
            time.sleep(0.3)
            sent, pps = replay(rate)
            time.sleep(2.5)
            sensor.send_signal(signal.SIGTERM)
            sensor.communicate(timeout=120)
            ms = Spool(spool, "bench").manifests()
            t_cap = sum(m.packets for m in ms)
            t_drop = sum(m.dropped["kernel"] + m.dropped["interface"] for m in ms)

            out_file = run / "dumpcap.pcapng"
            peer = net.popen(net.sensor, "dumpcap", "-q", "-i", net.interface, "-B", str(a.buffer_mb), "-f",
                             f"dst net {net.prefix}", "-w", str(out_file), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
            time.sleep(1.5)
            sent2, pps2 = replay(rate)
            time.sleep(1.0)
            peer.send_signal(signal.SIGINT)
            _, err = peer.communicate(timeout=120)
            reader = CaptureReader(out_file)
            for _ in reader:
                pass
            d_cap = reader.summary.frames
            d_drop = re.search(r"Packets received/dropped on interface .*?: (\d+)/(\d+)", err)
            d_dropped = int(d_drop.group(2)) if d_drop else -1
            rows.append((rate, pps, sent, t_cap, t_drop, pps2, sent2, d_cap, d_dropped))
    print(f"{a.packets:,} UDP packets of 60 bytes per run, kernel buffer {a.buffer_mb} MiB, one veth")
    print(f"{'rate':>8} | {'teiten: pps':>11} {'captured':>10} {'drops':>9} {'exact':>5} | "
          f"{'dumpcap: pps':>12} {'captured':>10} {'drops':>9} {'exact':>5} | {'ratio':>6}")
    for rate, pps, sent, tc, td, pps2, sent2, dc, dd in rows:
        print(f"{rate:>8} | {pps:11,.0f} {tc:10,} {td:9,} {'yes' if tc + td == sent else 'NO':>5} | "
              f"{pps2:12,.0f} {dc:10,} {dd:9,} {'yes' if dc + dd == sent2 else 'NO':>5} | x{tc / max(dc, 1):5.2f}")
    zero = [pps for rate, pps, sent, tc, td, *_ in rows if tc == sent]
    print(f"highest rate with zero loss (teiten): {max(zero):,.0f} pps" if zero else "no rate without loss")


if __name__ == "__main__":
    main()
