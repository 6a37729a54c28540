"""``teiten web export``: the public observation pages of a period as a static site."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from teiten.cli.options import (
    engine_options,
    group_option,
    period_options,
    resolve_period,
    store_option,
    tz_option,
    user_errors,
)

if TYPE_CHECKING:
    from teiten.engine.choice import EngineChoice

__all__ = ["COMMANDS", "web"]


@click.group()
def web() -> None:
    """The observation dashboard's static site (the live one is teiten serve)."""


@web.command("export")
@store_option
@engine_options
@period_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="The site's folder.")
@click.option("--lang", "langs", default="ja,en", show_default=True, metavar="ja,en",
              help="Languages, the first the default page.")
@click.option("--top", type=click.IntRange(1, 200), default=20, show_default=True,
              help="Port pages and region pages of this many top keys.")
@group_option
@tz_option
@user_errors
def export(store: Path, period: str | None, first: str | None, last: str | None, out: Path, langs: str, top: int,
           engine: EngineChoice, group: str | None, tz: str) -> None:
    """Write the overview, the port pages of the top ports, the region pages, the map and
    every table's JSON and CSV as a static site that opens from file:// or any web server
    (no request leaves the page; source addresses only as their /24 or /48)."""
    from teiten.errors import SettingError
    from teiten.web.export import export_site

    chosen = [x.strip() for x in langs.split(",") if x.strip()]
    if not chosen or any(x not in ("ja", "en") for x in chosen):
        raise SettingError("--lang: ja, en or both (ja,en)")
    obs = engine.open(store)
    p = resolve_period(obs, period, first, last, tz)
    r = export_site(obs, p, out, langs=chosen, top=top, group=group)
    click.echo(f"{out}: {len(r.pages)} pages, {len(r.data)} data files ({p.label}); open {out / 'index.html'}")


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [web]
