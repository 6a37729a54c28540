"""``teiten sensor``: what runs on a sensor host (``run`` captures, ``keygen`` makes the
signing key, ``ship`` sends the closed intervals to the collector)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from teiten.cli.options import user_errors

__all__ = ["COMMANDS", "sensor"]


@click.group()
def sensor() -> None:
    """Run a darknet sensor: capture, sign and ship intervals to a collector."""


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
    from teiten.ingest.collector_client import Shipper, client, read_credentials, run
    from teiten.sensors.spool import Spool

    name, token, ca = read_credentials(folder)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with client(url, token, ca) as http:
        shipped = run(Shipper(Spool(spool, name), http, quota=quota), once=once, poll=poll)
    click.echo(f"{shipped} interval(s) shipped")


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [sensor]
