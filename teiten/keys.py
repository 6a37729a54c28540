"""The port key of a packet, written once: ``445/TCP``, ``5060/UDP``, ``8/ICMP``,
``128/ICMPv6``, ``47/OTHER`` (protocol number) and ``FRAG`` (a non-first fragment), as in
the TSUBAME and NPA reports (docs/analysis.md, "Port keys").

Its integer code, ``proto << 16 | number`` (``(256 + proto) << 16`` for ``N/OTHER``, 0 for
``FRAG``), is what the big aggregations group on: an integer costs far less to build and
hash per packet than text, which is made for the aggregated rows only.

One table, :data:`KEYED`, gives every form (like a query language's dialect tokens):
Python (:func:`key_name`, :func:`key_codes`), numpy over Arrow columns
(:func:`key_codes_of`), Ibis expressions for any engine (:func:`port_key`,
:func:`key_code`, :func:`key_text`) and SQL text for DuckDB and Spark (:data:`KEY_SQL`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

__all__ = ["KEYED", "KEY_SQL", "OTHER", "is_key", "key_code", "key_codes", "key_codes_of", "key_from_slug", "key_name",
           "key_slug", "key_text", "port_key"]

#: The protocols whose key is a number and a name, by protocol number: (name, the stored
#: column that gives the number). Their order is the order of the tests in every form.
KEYED: dict[int, tuple[str, str]] = {6: ("TCP", "dport"), 17: ("UDP", "dport"), 132: ("SCTP", "dport"),
                                     1: ("ICMP", "icmp_type"), 58: ("ICMPv6", "icmp_type")}
#: Added to the protocol number in the code of ``N/OTHER``.
OTHER = 256
#: ``frag`` of a non-first fragment (teiten.schema): its key is ``FRAG`` and its code 0.
NON_FIRST_FRAGMENT = 2

_BY_NAME = {name: proto for proto, (name, _) in KEYED.items()}
_BY_COLUMN = {col: [p for p, (_, c) in KEYED.items() if c == col] for col in ("dport", "icmp_type")}


# Python

def key_name(code: int) -> str:
    """The key text of a code."""
    if code == 0:
        return "FRAG"
    proto, number = code >> 16, code & 0xFFFF
    return f"{proto - OTHER}/OTHER" if proto >= OTHER else f"{number}/{KEYED[proto][0]}"


def key_codes(keys: list[str]) -> list[int]:
    """The codes of key texts (the inverse of :func:`key_name`)."""
    out = []
    for k in keys:
        if k == "FRAG":
            out.append(0)
            continue
        num, _, name = k.partition("/")
        out.append((int(num) + OTHER) << 16 if name == "OTHER" else _BY_NAME[name] << 16 | int(num))
    return out


def key_slug(key: str) -> str:
    """A key as it is written in a URL or a file name: ``445-tcp``, ``8-icmp``, ``frag``."""
    return key.replace("/", "-").lower()


def key_from_slug(slug: str) -> str | None:
    """The key of a slug (any case), or None when it is not one: ``445-TCP`` → ``445/TCP``."""
    if len(slug) > 16:
        return None
    if slug.lower() == "frag":
        return "FRAG"
    num, sep, name = slug.partition("-")
    names = {n.lower(): n for n in (*_BY_NAME, "OTHER")}
    if not sep or not num.isdigit() or name.lower() not in names:
        return None
    n, proper = int(num), names[name.lower()]
    limit = 255 if proper in ("ICMP", "ICMPv6", "OTHER") else 65535
    return f"{n}/{proper}" if n <= limit else None


# numpy

def key_codes_of(t: pa.Table) -> np.ndarray:
    """The code of each packet of a table of stored columns (``proto``, ``frag``, ``dport``,
    ``icmp_type``)."""
    proto = np.asarray(t.column("proto").to_numpy(zero_copy_only=False), np.int64)
    frag = np.asarray(t.column("frag").to_numpy(zero_copy_only=False), np.int64)
    code = (proto + OTHER) << 16
    for col, protos in _BY_COLUMN.items():
        c = t.column(col)
        valid = np.asarray(c.is_valid().to_numpy(zero_copy_only=False), bool)
        number = np.asarray(c.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        code = np.where(np.isin(proto, protos) & valid, proto << 16 | number, code)
    return np.where(frag == NON_FIRST_FRAGMENT, 0, code)


# Ibis

def port_key(t: ir.Table) -> ir.StringValue:
    """The key text of each packet."""
    return ibis.cases(
        (t.frag == NON_FIRST_FRAGMENT, "FRAG"),
        *(((t.proto == p) & t[col].notnull(), t[col].cast("string") + f"/{name}") for p, (name, col) in KEYED.items()),
        else_=t.proto.cast("string") + "/OTHER",
    )


def key_code(t: ir.Table) -> ir.IntegerValue:
    """The code of each packet."""
    proto = t.proto.cast("int64")
    return ibis.cases(
        (t.frag == NON_FIRST_FRAGMENT, 0),
        *((t.proto.isin(protos) & t[col].notnull(), proto * 65536 + t[col].cast("int64"))
          for col, protos in _BY_COLUMN.items()),
        else_=(proto + OTHER) * 65536,
    ).cast("int64")


def is_key(t: ir.Table, key: str) -> ir.BooleanValue:
    """``port_key(t) == key`` written on the stored columns (``proto``, ``frag``, ``dport``,
    ``icmp_type``), so that an engine filters the packets by their statistics and pushes the
    test into the scan instead of making the key text of every packet; the same packets."""
    if key == "FRAG":
        return t.frag == NON_FIRST_FRAGMENT
    (code,) = key_codes([key])
    proto, number = code >> 16, code & 0xFFFF
    whole = t.frag.fill_null(0) != NON_FIRST_FRAGMENT
    if proto >= OTHER:  # N/OTHER: protocol N without the number its key would have
        p = proto - OTHER
        cond = (t.proto == p) & whole
        if p in KEYED:
            cond = cond & t[KEYED[p][1]].isnull()
        return cond
    return (t.proto == proto) & (t[KEYED[proto][1]] == number) & whole


def key_text(code: ir.IntegerValue) -> ir.StringValue:
    """:func:`key_name` as an engine expression, for aggregated rows."""
    proto, number = code // 65536, (code % 65536).cast("string")
    return ibis.cases((code == 0, "FRAG"), (proto >= OTHER, (proto - OTHER).cast("string") + "/OTHER"),
                      *((proto == p, number + f"/{name}") for p, (name, _) in KEYED.items()),
                      else_=ibis.null("string"))


# SQL (DuckDB and Spark SQL alike), over the stored columns

def _key_sql() -> str:
    tests = [f"    WHEN frag = {NON_FIRST_FRAGMENT} THEN 'FRAG'"]
    tests += [f"    WHEN proto = {p} AND {col} IS NOT NULL THEN CAST({col} AS STRING) || '/{name}'"
              for p, (name, col) in KEYED.items()]
    return "CASE\n" + "\n".join(tests) + "\n    ELSE CAST(proto AS STRING) || '/OTHER'\nEND"


#: The key text of a packet as an SQL expression that DuckDB and Spark both read.
KEY_SQL = _key_sql()
