"""The ``teiten`` command: a thin layer over the library. Each module of ``teiten.cli``
holds the commands of one part and lists them in ``COMMANDS``; this one registers them."""

from __future__ import annotations

import click

from teiten import __version__
from teiten.cli import analysis, collector, demo, detection, incidents, notices, report, sensor, serve, store, web

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="teiten")
def cli() -> None:
    """teiten: Internet fixed-point observation (darknet) statistics.

    Ingest pcap/pcapng captures into a Parquet store, enriched with source country,
    AS and service names; then ask questions with `teiten top` and `teiten sql`.
    """


for _module in (store, analysis, detection, report, demo, incidents, notices, serve, web, sensor, collector):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    cli(prog_name="teiten")
