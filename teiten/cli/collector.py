"""``teiten collector``: the central collector that sensors ship their intervals to."""

from __future__ import annotations

import click

__all__ = ["COMMANDS", "collector"]


@click.group()
def collector() -> None:
    """Receive sensors' signed intervals over HTTPS and ingest them into a store."""


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [collector]
