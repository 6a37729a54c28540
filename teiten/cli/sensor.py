"""``teiten sensor``: what runs on a sensor host (``run`` captures, ``keygen`` makes the
signing key, ``ship`` sends the closed intervals to the collector)."""

from __future__ import annotations

import click

__all__ = ["COMMANDS", "sensor"]


@click.group()
def sensor() -> None:
    """Run a darknet sensor: capture, sign and ship intervals to a collector."""


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [sensor]
