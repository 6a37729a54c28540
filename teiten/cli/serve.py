"""``teiten serve``: the web UI and JSON API."""

from __future__ import annotations

from pathlib import Path

import click

from teiten.cli.options import db_option, open_incident_db, store_option, tz_option, user_errors

__all__ = ["COMMANDS"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@db_option
@store_option
@tz_option
@user_errors
def serve(host: str, port: int, db_url: str | None, store: Path, tz: str) -> None:
    """Serve the incident web UI and JSON API (sign in with a user of teiten incidents user).

    Sessions are signed with TEITEN_WEB_SECRET when set (else a random key: they end when
    the server does). Put a TLS reverse proxy in front of it in production.
    """
    import uvicorn

    from teiten.settings import setting
    from teiten.web.app import create_app

    app = create_app(open_incident_db(db_url, store), secret=setting("web_secret"), tz=tz)
    uvicorn.run(app, host=host, port=port, log_level="info")


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [serve]
