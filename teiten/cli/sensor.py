"""``teiten sensor``: what runs on a sensor host (``run`` captures, ``keygen`` makes the
signing key, ``ship`` sends the closed intervals to the collector)."""

from __future__ import annotations

import json
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
@click.option("--snaplen", type=click.IntRange(64, 262144), default=65535, show_default=True)
@click.option("--promiscuous", is_flag=True, help="Capture in promiscuous mode (off by default).")
@click.option("--buffer-mb", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="The kernel's capture buffer.")
@user_errors
def sensor_run(name: str, interface: str, addresses: str, spool: Path, credentials: Path, rotate: int,
               bpf: str | None, snaplen: int, promiscuous: bool, buffer_mb: int) -> None:
    """Capture what reaches the sensor's addresses into one file per interval, each closed
    with a signed manifest (a heartbeat when no packet came). SIGTERM or SIGINT closes the
    current interval and stops; SIGHUP closes it and opens the capture again. Nothing is
    sent: the capture only listens. One JSON line per closed interval on stdout."""
    from teiten.sensors.capture import SensorConfig, run

    cfg = SensorConfig(name, interface, [a for a in addresses.split(",") if a.strip()], spool, credentials,
                       rotate, bpf, snaplen, promiscuous, buffer_mb << 20)
    run(cfg, on_close=lambda m: click.echo(json.dumps({"seq": m.seq, "start": m.interval_start, "packets": m.packets,
                                                        "file": m.file}), nl=True))


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [sensor]
