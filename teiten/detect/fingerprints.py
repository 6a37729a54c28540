"""Fingerprints of scan tools and malware, from the versioned table ``rules/fingerprints.toml``.

``load_fingerprints()`` reads the table; ``fingerprint_packets(obs, fp, period)`` is the
Ibis table of the period's packets that carry a fingerprint, on any engine.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from teiten.engine.observation import Observation
from teiten.errors import SettingError
from teiten.periods import Period

__all__ = ["DERIVED", "Condition", "Fingerprint", "FingerprintTable", "constant_sources", "fingerprint_packets",
           "fingerprint_test", "load_fingerprints"]


def _syn_only(t: ir.Table) -> ir.BooleanValue:
    return (t.tcp_flags & 0x12) == 0x02


def _unicornscan_key(t: ir.Table) -> ir.IntegerValue:
    def i(c: ir.IntegerValue) -> ir.IntegerValue:
        return c.cast("int64")

    return i(t.seq) ^ i(t.dst4) ^ ((i(t.dport) << 16) + i(t.sport))


#: Fields computed from stored columns that fingerprints may name.
DERIVED: dict[str, Callable[[ir.Table], ir.Value]] = {"syn_only": _syn_only, "unicornscan_key": _unicornscan_key}
_OPS = ("eq", "ne", "ge", "le", "in")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any

    def expr(self, t: ir.Table) -> ir.BooleanValue:
        col = DERIVED[self.field](t) if self.field in DERIVED else t[self.field]
        if self.op == "eq":
            return col == self.value
        if self.op == "ne":
            return col != self.value
        if self.op == "ge":
            return col >= self.value
        if self.op == "le":
            return col <= self.value
        return col.isin(list(self.value))


@dataclass(frozen=True)
class Fingerprint:
    name: str
    title_ja: str
    title_en: str
    definition: str
    reference: str
    column: str | None = None
    where: tuple[Condition, ...] = ()
    constant: str | None = None
    min_packets: int = 1
    chance: float = 0.0

    def packet_filter(self, t: ir.Table) -> ir.BooleanValue:
        """The per-packet test (for ``constant`` fingerprints: the packets considered)."""
        e: ir.BooleanValue = t[self.column] if self.column else ibis.literal(True)
        for c in self.where:
            e = e & c.expr(t)
        return e


@dataclass(frozen=True)
class FingerprintTable:
    version: int
    fingerprints: tuple[Fingerprint, ...] = field(default=())

    def get(self, name: str) -> Fingerprint:
        for f in self.fingerprints:
            if f.name == name:
                return f
        raise SettingError(f"no fingerprint {name!r} (known: {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fingerprints]


def _condition(raw: dict[str, Any], where: str) -> Condition:
    ops = [k for k in raw if k in _OPS]
    if "field" not in raw or len(ops) != 1 or set(raw) - {"field", *ops}:
        raise SettingError(f"{where}: a condition is {{field = NAME, eq|ne|ge|le|in = VALUE}}, not {raw}")
    return Condition(str(raw["field"]), ops[0], raw[ops[0]])


def load_fingerprints(path: Path | None = None) -> FingerprintTable:
    """The shipped table, or the one at ``path``; errors name the entry that is wrong."""
    if path is None:
        text = resources.files("teiten.detect").joinpath("rules/fingerprints.toml").read_text("utf-8")
        where = "fingerprints.toml"
    else:
        text, where = path.read_text("utf-8"), str(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SettingError(f"{where}: {e}") from None
    fps = []
    for i, raw in enumerate(doc.get("fingerprint", [])):
        at = f"{where}: fingerprint {i + 1} ({raw.get('name', '?')})"
        kinds = [k for k in ("column", "where") if k in raw]
        if not kinds:
            raise SettingError(f"{at}: needs a column or where conditions")
        if raw.get("constant") is not None and raw["constant"] not in DERIVED:
            raise SettingError(f"{at}: constant must be one of {', '.join(DERIVED)}")
        fps.append(Fingerprint(
            name=raw["name"], title_ja=raw.get("title_ja", raw["name"]), title_en=raw.get("title_en", raw["name"]),
            definition=raw.get("definition", ""), reference=raw.get("reference", ""), column=raw.get("column"),
            where=tuple(_condition(c, at) for c in raw.get("where", [])), constant=raw.get("constant"),
            min_packets=int(raw.get("min_packets", 1)), chance=float(raw.get("chance", 0.0))))
    return FingerprintTable(int(doc.get("version", 0)), tuple(fps))


def constant_sources(t: ir.Table, fp: Fingerprint) -> ir.Table:
    """The sources (``src4``) of ``t`` whose packets considered by the ``constant``
    fingerprint ``fp`` number at least ``min_packets`` and all carry one derived value."""
    t = t.filter(fp.packet_filter(t))
    t = t.mutate(_const=DERIVED[fp.constant](t))  # type: ignore[index]
    # one value over all of a source's packets: min == max (a streaming aggregate, where a
    # count of distinct values would hold every (source, value) pair)
    per = t.group_by("src4").aggregate(n=t.count(), lo=t._const.min(), hi=t._const.max())
    return per.filter((per.n >= fp.min_packets) & (per.lo == per.hi)).select("src4")


def fingerprint_test(t: ir.Table, fp: Fingerprint) -> ir.BooleanValue:
    """Whether a packet of ``t`` carries ``fp`` (for a ``constant`` fingerprint: a considered
    packet of one of its :func:`constant_sources`)."""
    e = fp.packet_filter(t)
    return e if fp.constant is None else e & t.src4.isin(constant_sources(t, fp).src4)


def fingerprint_packets(obs: Observation, fp: Fingerprint, period: Period, group: str | None = None) -> ir.Table:
    """The period's packets that carry ``fp`` (for a ``constant`` fingerprint: every considered
    packet of each source whose derived value never varies over at least ``min_packets``)."""
    t = obs.in_period(period, group)
    return t.filter(fingerprint_test(t, fp))
