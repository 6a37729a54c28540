"""Settings, declared once: each can be given as an option (where the command has one) or
as its ``TEITEN_*`` variable. Nothing else in teiten reads a ``TEITEN_*`` variable: the
options take their variable, default and help from :data:`SETTINGS`, and library code
asks :func:`setting`. ``python -m teiten.settings`` prints the table (docs/settings.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["DEFAULT_STORE", "SETTINGS", "Setting", "setting", "settings_table"]

DEFAULT_STORE = "teiten-store"


@dataclass(frozen=True)
class Setting:
    """One setting: its ``TEITEN_*`` variable, its default (None: none, or computed where it
    is used, as ``default_note`` says) and what it means."""

    name: str
    help: str
    default: str | None = None
    default_note: str = ""
    secret: bool = False

    @property
    def var(self) -> str:
        return "TEITEN_" + self.name.upper()


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("store", "Store directory.", DEFAULT_STORE),
    Setting("tz", "Time zone of day boundaries (IANA name, e.g. Asia/Tokyo).", "UTC"),
    Setting("memory_limit", "Engine memory bound, a size such as 8GB (DuckDB spills to disk past it).",
            default_note="40 % of the physical memory"),
    Setting("engine", "Engine the analyses, reports and detection run on: duckdb (embedded) or spark"
            " (docs/spark.md).", "duckdb"),
    Setting("spark_master", "Spark master URL of --engine spark: local[*], local[2], spark://HOST:7077, yarn,"
            " k8s://https://HOST:443.", "local[*]"),
    Setting("spark_conf", "Extra Spark settings of --engine spark: a spark-defaults.conf file, or key=value"
            " pairs separated by commas (spark.executor.memory=8g,spark.sql.shuffle.partitions=64)."),
    Setting("geo_dir", "Folder of the geolocation tables (teiten.enrich).",
            default_note="teiten/data/geo if writable, else ~/.cache/teiten/geo"),
    Setting("db", "Incident database URL (SQLAlchemy: sqlite:///… or postgresql+psycopg://…).",
            default_note="incidents.sqlite in the store"),
    Setting("status_map", "Other trackers' status words as WORD=STATE,… over the built-in mapping"
            " (teiten incidents import; docs/incidents.md)."),
    Setting("password", "Password of a new web user (asked for when not given).", secret=True),
    Setting("web_secret", "Key that signs the web app's cookies: at least 32 random bytes (64 hex digits or 43+"
            " URL-safe base64 characters).", default_note="made on first run into web-secret in the store, mode 0600",
            secret=True),
    Setting("web_secure_cookies", "Secure cookies: auto (on, but off when serving plain HTTP on a loopback"
            " address), on or off.", "auto"),
    Setting("forwarded_allow_ips", "Reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are believed"
            " (comma-separated addresses or CIDRs).", default_note="none"),
    Setting("web_max_body", "Largest request body the web app reads (bytes, or with KB/MB).", "5MB"),
    Setting("web_hsts", "Strict-Transport-Security max-age in seconds sent by the web app (0: none; set it when"
            " served over TLS).", "0"),
    Setting("web_viewer_sources", "Source addresses the dashboard shows to viewers (and their read tokens):"
            " truncated (to the /24, IPv6 /48) or full; handlers and admins always see them whole.", "truncated"),
    Setting("session_idle_minutes", "A web session ends after this many minutes without a request.", "60"),
    Setting("session_max_hours", "A web session ends this many hours after sign-in, whatever its use.", "12"),
    Setting("smtp_host", "SMTP server the notices go through."),
    Setting("smtp_port", "SMTP port of --smtp-host.", "25"),
    Setting("sender", "From address of notices.", "csirt@localhost"),
)}


def setting(name: str) -> str | None:
    """The setting's value: its variable when set and not empty, else its default."""
    s = SETTINGS[name]
    return os.environ.get(s.var) or s.default


def settings_table() -> str:
    """docs/settings.md: every setting as a Markdown table."""
    rows = ["# Settings", "",
            "Each setting is its `TEITEN_*` variable, or the option of the same name where a command has",
            "one (the option wins). Generated from `teiten/settings.py` (`make docs`).", "",
            "| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS.values():
        default = f"`{s.default}`" if s.default is not None else (s.default_note or "none")
        rows.append(f"| `{s.var}` | {default} | {s.help} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(settings_table(), end="")
