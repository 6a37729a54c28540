"""``teiten collector``: the central collector that sensors ship their intervals to."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from teiten.cli.options import store_option, user_errors
from teiten.errors import SettingError

__all__ = ["COMMANDS", "collector"]


@click.group()
def collector() -> None:
    """Receive sensors' signed intervals over HTTPS and ingest them into a store."""


@collector.command("init")
@store_option
@click.option("--hostname", "hostnames", multiple=True, metavar="NAME",
              help="A name or address sensors reach the collector by (repeat; localhost is always in).")
@user_errors
def init(store: Path, hostnames: tuple[str, ...]) -> None:
    """Make the collector's CA, its server certificate and its sensor table in STORE/collector."""
    from teiten.ingest.collector import collector_folder
    from teiten.ingest.collector_db import CollectorDB
    from teiten.ingest.collector_pki import init_pki

    folder = collector_folder(store)
    ca = init_pki(folder, hostnames)
    CollectorDB(folder / "collector.sqlite")
    click.echo(f"collector in {folder}; sensors trust {ca}")


@collector.command("add-sensor")
@click.argument("name")
@store_option
@click.option("--addresses", required=True, metavar="CIDR[,CIDR]", help="The sensor's addresses.")
@click.option("--kind", type=click.Choice(["passive", "responder"]), default="passive", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), metavar="CREDS_DIR",
              help="Write the token and the CA certificate there (and a signing key when it has none).")
@click.option("--public-key", metavar="HEX", help="The sensor's public key (teiten sensor keygen on its host).")
@user_errors
def add_sensor(name: str, store: Path, addresses: str, kind: str, out: Path | None, public_key: str | None) -> None:
    """Allow sensor NAME to ship to this collector, and add it to the store's catalog.

    Its token is given once: written into CREDS_DIR with --out, else printed.
    """
    from teiten.ingest.collector import check_sensor_name, collector_folder
    from teiten.ingest.collector_db import CollectorDB
    from teiten.ingest.collector_pki import CA_CERT
    from teiten.sensors import credentials
    from teiten.sensors.ship import write_credentials
    from teiten.store.catalog import Sensor
    from teiten.store.catalog import add_sensor as catalog_add
    from teiten.store.open import open_store

    check_sensor_name(name)
    folder = collector_folder(store)
    if not (folder / "collector.sqlite").exists():
        raise SettingError(f"no collector in {store} (teiten collector init --store {store})")
    if public_key is None and out is None:
        raise SettingError("give --out CREDS_DIR or --public-key HEX")
    if public_key is not None:
        pub = credentials.public_hex(credentials.public_key(public_key))
    elif out is not None and (out / credentials.PRIVATE).exists():
        pub = credentials.public_hex(credentials.load_private(out).public_key())
    else:
        assert out is not None
        pub = credentials.public_hex(credentials.generate(out).public_key())
    nets = tuple(a.strip() for a in addresses.split(",") if a.strip())
    with open_store(store) as con:
        sensor = catalog_add(con, Sensor(name, nets, kind=kind))
    token = CollectorDB(folder / "collector.sqlite").add_sensor(name, sensor.addresses, pub)
    if out is not None:
        write_credentials(out, name, token, (folder / CA_CERT).read_bytes())
        click.echo(f"sensor {name}: token and CA in {out}")
    else:
        click.echo(f"sensor {name}: token {token} (give it to the sensor with {folder / CA_CERT})")


@collector.command("revoke-sensor")
@click.argument("name")
@store_option
@user_errors
def revoke_sensor(name: str, store: Path) -> None:
    """Refuse sensor NAME's token from now on (add-sensor again gives it a new one)."""
    from teiten.ingest.collector import collector_folder
    from teiten.ingest.collector_db import CollectorDB

    CollectorDB(collector_folder(store) / "collector.sqlite").revoke(name)
    click.echo(f"sensor {name}: token revoked")


@collector.command("serve")
@store_option
@click.option("--listen", default="127.0.0.1:8443", show_default=True, metavar="HOST:PORT")
@click.option("--cert", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Server certificate (PEM; default: the one of collector init).")
@click.option("--key", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Its private key.")
@click.option("--max-file-bytes", type=click.IntRange(1), default=1 << 30, show_default=True,
              help="The largest capture taken (413 past it).")
@click.option("--metrics", is_flag=True,
              help="Serve Prometheus metrics at /metrics, to clients on loopback only (no token).")
@user_errors
def serve(store: Path, listen: str, cert: Path | None, key: Path | None, max_file_bytes: int, metrics: bool) -> None:
    """Serve the upload API over TLS 1.3 and ingest what arrives into STORE, in batches."""
    from teiten.ingest.collector import Limits
    from teiten.ingest.collector_serve import serve as run

    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise SettingError(f"--listen is HOST:PORT, not {listen!r}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(store, host=host.strip("[]"), port=int(port), cert=cert, key=key,
        limits=Limits(max_file=max_file_bytes), metrics=metrics)


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [collector]
