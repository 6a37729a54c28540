"""``teiten sensor``: what runs on a sensor host (``run`` captures, ``keygen`` makes the
signing key, ``ship`` sends the closed intervals to the collector)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from teiten.cli.options import user_errors

__all__ = ["COMMANDS", "sensor"]


@click.group()
def sensor() -> None:
    """Run a darknet sensor: capture, sign and ship intervals to a collector."""


@sensor.command("run")
@click.option("--name", required=True, help="The sensor's name (as registered at the collector).")
@click.option("--interface", "-i", required=True, help="The interface the sensor's addresses are routed to.")
@click.option("--addresses", "-a", required=True, metavar="CIDR[,CIDR...]", help="The sensor's addresses.")
@click.option("--spool", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Spool folder (tmp/, ready/, sent/).")
@click.option("--credentials", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder with the signing key (teiten sensor keygen).")
@click.option("--rotate", type=click.IntRange(1), default=300, show_default=True,
              help="Seconds per interval; intervals start on multiples of it in UTC.")
@click.option("--filter", "bpf", metavar="BPF", help="Capture only what this BPF expression also passes.")
@click.option("--snaplen", type=click.IntRange(64, 262144), default=65535, show_default=True,
              help="Bytes captured of each packet.")
@click.option("--promiscuous", is_flag=True, help="Capture in promiscuous mode (off by default).")
@click.option("--buffer-mb", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="The kernel's capture buffer.")
@click.option("--quota", type=click.IntRange(1), metavar="BYTES",
              help="Keep the spool within this size while the collector is away: the oldest unshipped"
              " intervals go, and the collector records them as a gap.")
@click.option("--respond", is_flag=True,
              help="Answer each TCP SYN to the addresses with one SYN-ACK, keep the first payload, then reset"
              " (stateless; the capture then records both directions).")
@click.option("--payload-bytes", type=click.IntRange(0, 65535), metavar="N",
              help="Store at most about N bytes of payload per packet (the snap length: N plus the largest"
              " Ethernet, IPv4 and TCP headers, 134 bytes).")
@click.option("--rate-limit", type=click.FloatRange(1), default=1000.0, show_default=True, metavar="PPS",
              help="With --respond: replies per second in all (bursts of twice as many).")
@click.option("--per-source-limit", type=click.FloatRange(0.1), default=20.0, show_default=True, metavar="PPS",
              help="With --respond: replies per second to one source address (bursts of twice as many).")
@click.option("--arp", is_flag=True,
              help="With --respond: answer ARP requests for the addresses (a directly attached segment).")
@user_errors
def sensor_run(name: str, interface: str, addresses: str, spool: Path, credentials: Path, rotate: int,
               bpf: str | None, snaplen: int, promiscuous: bool, buffer_mb: int, quota: int | None,
               respond: bool, payload_bytes: int | None, rate_limit: float, per_source_limit: float,
               arp: bool) -> None:
    """Capture what reaches the sensor's addresses into one file per interval, each closed
    with a signed manifest (a heartbeat when no packet came). SIGTERM or SIGINT closes the
    current interval and stops; SIGHUP closes it and opens the capture again. Nothing is
    sent unless --respond. One JSON line per closed interval on stdout."""
    from teiten.errors import SettingError
    from teiten.sensors.capture import SensorConfig, run
    from teiten.sensors.respond import Limits

    if arp and not respond:
        raise SettingError("--arp answers for a responder: give --respond too")
    if payload_bytes is not None:
        snaplen = min(snaplen, 134 + payload_bytes)
    limits = Limits(rate_limit, 2 * rate_limit, per_source_limit, 2 * per_source_limit)
    cfg = SensorConfig(name, interface, [a for a in addresses.split(",") if a.strip()], spool, credentials,
                       rotate, bpf, snaplen, promiscuous, buffer_mb << 20, quota, respond, limits, arp)
    run(cfg, on_close=lambda m: click.echo(json.dumps({"seq": m.seq, "start": m.interval_start, "packets": m.packets,
                                                        "replies": m.replies, "file": m.file}), nl=True))


@sensor.command("keygen")
@click.option("--credentials", "folder", required=True, type=click.Path(path_type=Path), metavar="DIR",
              help="The sensor's credentials folder (made, 0700).")
@user_errors
def keygen(folder: Path) -> None:
    """Make the sensor's Ed25519 signing key; print its public key (for collector add-sensor --public-key)."""
    from teiten.sensors import credentials

    click.echo(credentials.public_hex(credentials.generate(folder).public_key()))


@sensor.command("ship")
@click.option("--spool", required=True, type=click.Path(path_type=Path, file_okay=False), metavar="DIR")
@click.option("--collector", "url", required=True, metavar="https://HOST:PORT")
@click.option("--credentials", "folder", required=True, type=click.Path(path_type=Path, file_okay=False),
              metavar="DIR", help="The folder of collector add-sensor --out (name, token, CA).")
@click.option("--once", is_flag=True, help="One pass over the spool, then exit (non-zero on failure).")
@click.option("--quota", type=click.IntRange(0), metavar="BYTES",
              help="Keep the spool within this size by deleting the oldest shipped files.")
@click.option("--poll", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds between passes.")
@user_errors
def ship(spool: Path, url: str, folder: Path, once: bool, quota: int | None, poll: float) -> None:
    """Ship the spool's closed intervals to the collector, oldest first, resuming cut uploads."""
    from teiten.sensors.ship import Shipper, client, read_credentials, run
    from teiten.sensors.spool import Spool

    name, token, ca = read_credentials(folder)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with client(url, token, ca) as http:
        shipped = run(Shipper(Spool(spool, name), http, quota=quota), once=once, poll=poll)
    click.echo(f"{shipped} interval(s) shipped")


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [sensor]
