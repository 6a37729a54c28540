"""Which engine a command or the web app runs on, from its options or settings:
``--engine`` / ``TEITEN_ENGINE`` (``duckdb``, the embedded default, or ``spark``), and for
Spark its master (``--spark-master`` / ``TEITEN_SPARK_MASTER``: ``local[*]``,
``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://…``) and extra Spark settings
(``--spark-conf`` / ``TEITEN_SPARK_CONF``: a ``spark-defaults.conf`` file, or
``key=value`` pairs separated by commas)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teiten.engine.observation import Observation
from teiten.errors import SettingError
from teiten.settings import setting

__all__ = ["EngineChoice", "engine_choice", "spark_conf"]

_KEY = re.compile(r"spark\.[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class EngineChoice:
    """An engine and, for Spark, where it runs and how."""

    name: str = "duckdb"
    master: str = "local[*]"
    conf: tuple[tuple[str, str], ...] = ()

    def _spark(self) -> dict[str, Any]:
        return {"master": self.master, "conf": dict(self.conf)} if self.name == "spark" else {}

    def open(self, store: Path) -> Observation:
        """The store's observation on this engine."""
        from teiten.engine import open_observation

        return open_observation(store, engine=self.name, **self._spark())

    def sql(self, store: Path, query: str) -> tuple[list[str], list[dict[str, Any]]] | None:
        """``query`` over the store's SQL views on this engine (``teiten sql``)."""
        from teiten.engine import run_sql

        return run_sql(store, query, engine=self.name, **self._spark())

    def describe(self) -> str:
        return f"spark ({self.master})" if self.name == "spark" else self.name


def spark_conf(text: str | None) -> dict[str, str]:
    """Spark settings from ``text``: the path of a ``spark-defaults.conf`` file (``key value``
    or ``key=value`` per line, ``#`` comments), or ``key=value`` pairs separated by commas.
    Every key is a ``spark.*`` name."""
    if not text or not text.strip():
        return {}
    path = Path(text.strip()).expanduser()
    if path.is_file():
        pairs = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"(\S+?)(?:\s*=\s*|\s+)(.*)", line)
            if m is None:
                raise SettingError(f"{path}:{n}: a Spark setting is 'key value' or 'key=value', not {line!r}")
            pairs.append((m.group(1), m.group(2).strip(), f"{path}:{n}"))
    elif "=" in text:
        pairs = []
        for item in text.split(","):
            if item.strip():
                k, sep, v = item.partition("=")
                if not sep:
                    raise SettingError(f"TEITEN_SPARK_CONF: {item.strip()!r} is not key=value")
                pairs.append((k.strip(), v.strip(), "TEITEN_SPARK_CONF"))
    else:
        raise SettingError(f"TEITEN_SPARK_CONF: {text!r} is neither a file nor key=value pairs")
    out = {}
    for k, v, where in pairs:
        if not _KEY.fullmatch(k):
            raise SettingError(f"{where}: {k!r} is not a Spark setting (spark.…)")
        out[k] = v
    return out


def engine_choice(name: str | None = None, master: str | None = None, conf: str | None = None) -> EngineChoice:
    """The engine of the given options, each one not given read from its setting."""
    from teiten.engine import ENGINES

    name = (name or setting("engine") or "duckdb").strip().lower()
    if name not in ENGINES:
        raise SettingError(f"unknown engine {name!r} (engines: {', '.join(ENGINES)})")
    master = (master or setting("spark_master") or "local[*]").strip()
    return EngineChoice(name, master, tuple(sorted(spark_conf(conf if conf is not None
                                                              else setting("spark_conf")).items())))
