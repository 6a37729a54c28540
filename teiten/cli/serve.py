"""``teiten serve``: the web UI and JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from teiten.cli.options import (
    db_option,
    engine_options,
    open_incident_db,
    setting_option,
    store_option,
    tz_option,
    user_errors,
)
from teiten.errors import SettingError

if TYPE_CHECKING:
    from teiten.engine.choice import EngineChoice

__all__ = ["COMMANDS", "secure_cookies"]


def secure_cookies(mode: str | None) -> bool | None:
    """``web_secure_cookies`` as create_app takes it: on True, off False, auto None (Secure
    unless a request comes over plain HTTP to a loopback address)."""
    try:
        return {"on": True, "off": False, "auto": None}[(mode or "auto").strip().lower()]
    except KeyError:
        raise SettingError(f"TEITEN_WEB_SECURE_COOKIES: auto, on or off, not {mode!r}") from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@setting_option("forwarded_allow_ips", "--forwarded-allow-ips")
@db_option
@store_option
@engine_options
@tz_option
@user_errors
def serve(host: str, port: int, forwarded_allow_ips: str | None, db_url: str | None, store: Path,
          engine: EngineChoice, tz: str) -> None:
    """Serve the web UI and JSON API: the incidents, and the observation dashboard of the
    store's packets (/observe) when the store holds any (sign in with a user of teiten
    incidents user).

    The web secret is TEITEN_WEB_SECRET when set, else the one in <store>/web-secret (made
    on first run, mode 0600). Cookies are Secure unless plain HTTP on loopback
    (TEITEN_WEB_SECURE_COOKIES). Put a TLS reverse proxy in front of it in production and
    name it with --forwarded-allow-ips: X-Forwarded-Proto and X-Forwarded-For are believed
    from those addresses only.
    """
    import uvicorn

    from teiten.settings import setting
    from teiten.web.app import create_app
    from teiten.web.sessions import stored_secret

    secret = setting("web_secret") or stored_secret(store / "web-secret")
    app = create_app(open_incident_db(db_url, store), secret=secret, tz=tz,
                     secure_cookies=secure_cookies(setting("web_secure_cookies")),
                     store=store if (store / "manifest.sqlite").exists() else None, engine=engine)
    proxies = (forwarded_allow_ips or "").strip()
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=bool(proxies), forwarded_allow_ips=proxies)


#: The commands of this module, registered by teiten.cli.main.
COMMANDS = [serve]
