"""A subset of Suricata/Snort rule syntax, parsed with idstools and compiled to tests that
run on numpy arrays of a whole batch of packets at once.

Supported: action ``alert``; protocols ``ip tcp udp icmp``; addresses ``any``, CIDRs,
lists and ``!`` (``$VARS`` mean any); ports ``any``, ``N``, ``N:M``, ``[a,b]``, ``!``;
options ``msg sid rev gid classtype priority reference metadata`` (recorded), ``flags``
(``S``, ``SA``, ``A``, ``R``, ``F``, ``P``, ``U``, ``+``/``*``/``!`` modifiers, a mask after
the comma), ``itype icode ttl dsize`` (``N``, ``<N``, ``>N``, ``N<>M``), ``content`` (with
``|hex|`` and ``!``), ``nocase offset depth`` (for the content before them), and
``threshold`` (``type limit|threshold|both, track by_src|by_dst, count N, seconds S``).
Anything else is an error that names the rule and the keyword: a rule is never half-applied.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import idstools.rule

from teiten.errors import SettingError

__all__ = ["CLASSES", "Content", "Rule", "Threshold", "load_rules", "parse_rules"]

#: NPA Table 6-1 classes, and the classtypes that map to them.
CLASSES = ("Worm", "Scan", "UDP spam", "DoS", "DNS", "Others")
CLASSTYPES = {
    "worm": "Worm", "scan": "Scan", "attempted-recon": "Scan", "network-scan": "Scan", "udp-spam": "UDP spam",
    "dos": "DoS", "attempted-dos": "DoS", "denial-of-service": "DoS", "dns": "DNS",
}
PROTOCOLS = {"ip": None, "tcp": 6, "udp": 17, "icmp": 1}
_INFO = {"msg", "sid", "rev", "gid", "classtype", "priority", "reference", "metadata"}
_FLAG_BITS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32, "C": 128, "W": 128, "E": 64, "1": 128, "2": 64}


@dataclass(frozen=True)
class Content:
    pattern: bytes
    negated: bool = False
    nocase: bool = False
    offset: int = 0
    depth: int | None = None


@dataclass(frozen=True)
class Threshold:
    type: str  # limit | threshold | both
    track: str  # by_src | by_dst
    count: int
    seconds: float


@dataclass(frozen=True)
class Rule:
    sid: int
    msg: str
    klass: str  # one of CLASSES
    proto: int | None
    src: tuple[tuple[int, int], ...] | None  # inclusive IPv4 ranges; None = any
    src_negated: bool
    dst: tuple[tuple[int, int], ...] | None
    dst_negated: bool
    sport: tuple[tuple[int, int], ...] | None
    sport_negated: bool
    dport: tuple[tuple[int, int], ...] | None
    dport_negated: bool
    flags: tuple[str, int, int] | None = None  # (mode exact|any|all|not, bits, mask)
    itype: tuple[str, int, int] | None = None  # (op, a, b)
    icode: tuple[str, int, int] | None = None
    ttl: tuple[str, int, int] | None = None
    dsize: tuple[str, int, int] | None = None
    contents: tuple[Content, ...] = ()
    threshold: Threshold | None = None
    raw: str = field(default="", compare=False)


def _unquote(v: str | None) -> str:
    v = (v or "").strip()
    return v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v


def _content_bytes(text: str, where: str) -> bytes:
    out = bytearray()
    for i, part in enumerate(re.split(r"\|", text)):
        if i % 2:
            try:
                out += bytes.fromhex(part)
            except ValueError:
                raise SettingError(f"{where}: bad hex in content |{part}|") from None
        else:
            out += part.replace('\\"', '"').replace("\\;", ";").replace("\\\\", "\\").encode()
    return bytes(out)


def _number_test(v: str, where: str) -> tuple[str, int, int]:
    s = v.replace(" ", "")
    try:
        if "<>" in s:
            a, b = s.split("<>")
            return "between", int(a), int(b)
        if s.startswith(("<=", ">=")):
            return s[:2], int(s[2:]), 0
        if s.startswith(("<", ">")):
            return s[0], int(s[1:]), 0
        return "=", int(s), 0
    except ValueError:
        raise SettingError(f"{where}: not a number test: {v!r}") from None


def _ranges(spec: str, kind: str, where: str) -> tuple[tuple[tuple[int, int], ...] | None, bool]:
    s = spec.strip()
    neg = s.startswith("!")
    s = s.lstrip("!").strip()
    if s == "any" or s.startswith("$"):
        return None, False
    items = [x.strip() for x in s.strip("[]").split(",") if x.strip()]
    out = []
    for it in items:
        if it.startswith("!"):
            raise SettingError(f"{where}: negation inside a {kind} list is not supported: {spec!r}")
        if kind == "address":
            try:
                net = ipaddress.ip_network(it, strict=False)
            except ValueError:
                raise SettingError(f"{where}: not an address: {it!r}") from None
            if net.version != 4:
                raise SettingError(f"{where}: IPv6 addresses in rules are not supported: {it!r}")
            out.append((int(net.network_address), int(net.broadcast_address)))
        else:
            try:
                if ":" in it:
                    a, b = it.split(":")
                    out.append((int(a or 0), int(b or 65535)))
                else:
                    out.append((int(it), int(it)))
            except ValueError:
                raise SettingError(f"{where}: not a port: {it!r}") from None
    return tuple(out), neg


def _flags(v: str, where: str) -> tuple[str, int, int]:
    spec, _, mask_s = v.partition(",")
    mode = "exact"
    bits = 0
    for ch in spec.strip():
        if ch == "+":
            mode = "all"
        elif ch == "*":
            mode = "any"
        elif ch == "!":
            mode = "not"
        elif ch == "0":
            continue
        elif ch.upper() in _FLAG_BITS:
            bits |= _FLAG_BITS[ch.upper()]
        else:
            raise SettingError(f"{where}: unknown TCP flag {ch!r} in flags:{v}")
    ignore = 0
    for ch in mask_s.strip():
        if ch.upper() in _FLAG_BITS:
            ignore |= _FLAG_BITS[ch.upper()]
    return mode, bits, 0xFF & ~ignore


def _threshold(v: str, where: str) -> Threshold:
    parts = dict(p.strip().split(None, 1) for p in v.split(",") if p.strip())
    try:
        t = Threshold(parts["type"].strip(), parts["track"].strip(), int(parts["count"]), float(parts["seconds"]))
    except (KeyError, ValueError):
        raise SettingError(f"{where}: threshold needs type, track, count and seconds: {v!r}") from None
    if t.type not in ("limit", "threshold", "both") or t.track not in ("by_src", "by_dst"):
        raise SettingError(f"{where}: threshold type limit|threshold|both, track by_src|by_dst: {v!r}")
    return t


def _compile(r: Any, where: str) -> Rule:
    if r.action != "alert":
        raise SettingError(f"{where}: only alert rules are supported, not {r.action!r}")
    if r.proto not in PROTOCOLS:
        raise SettingError(f"{where}: protocol {r.proto!r} is not supported (ip, tcp, udp, icmp)")
    if r.direction != "->":
        raise SettingError(f"{where}: only -> rules are supported")
    src, sn = _ranges(r.source_addr, "address", where)
    dst, dn = _ranges(r.dest_addr, "address", where)
    sp, spn = _ranges(r.source_port, "port", where)
    dp, dpn = _ranges(r.dest_port, "port", where)
    kw: dict[str, Any] = {}
    contents: list[Content] = []
    for opt in r.options:
        name, value = opt["name"], opt["value"]
        if name in _INFO:
            continue
        if name == "content":
            text = _unquote(value.lstrip("!").strip() if value else value)
            contents.append(Content(_content_bytes(text, where), negated=bool(value and value.startswith("!"))))
        elif name in ("nocase", "offset", "depth"):
            if not contents:
                raise SettingError(f"{where}: {name} before any content")
            c = contents[-1]
            if name == "nocase":
                contents[-1] = Content(c.pattern, c.negated, True, c.offset, c.depth)
            else:
                try:
                    n = int(value)
                except (TypeError, ValueError):
                    raise SettingError(f"{where}: {name} needs a number, not {value!r}") from None
                contents[-1] = Content(c.pattern, c.negated, c.nocase, n if name == "offset" else c.offset,
                                       n if name == "depth" else c.depth)
        elif name == "flags":
            kw["flags"] = _flags(value, where)
        elif name in ("itype", "icode", "ttl", "dsize"):
            kw[name] = _number_test(value, where)
        elif name == "threshold":
            kw["threshold"] = _threshold(value, where)
        else:
            raise SettingError(f"{where}: keyword {name!r} is not supported (see teiten.detect.rules_compile)")
    klass = CLASSTYPES.get((r.classtype or "").lower(), "Others")
    return Rule(int(r.sid), r.msg or f"sid {r.sid}", klass, PROTOCOLS[r.proto], src, sn, dst, dn, sp, spn, dp, dpn,
                contents=tuple(contents), raw=r.raw, **kw)


def parse_rules(text: str, source: str = "rules") -> list[Rule]:
    """Every rule of ``text`` (comments and blank lines skipped); errors name the line."""
    rules = []
    sids: set[int] = set()
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        where = f"{source}:{n}"
        parsed = idstools.rule.parse(s)
        if parsed is None:
            raise SettingError(f"{where}: not a rule: {s[:80]!r}")
        where += f" (sid {parsed.sid})"
        rule = _compile(parsed, where)
        if rule.sid in sids:
            raise SettingError(f"{where}: sid {rule.sid} given twice")
        sids.add(rule.sid)
        rules.append(rule)
    return rules


def load_rules(path: Path | None = None) -> list[Rule]:
    """The shipped rule set (``rules/teiten.rules``), or the file at ``path``."""
    if path is None:
        from importlib import resources

        return parse_rules(resources.files("teiten.detect").joinpath("rules/teiten.rules").read_text("utf-8"),
                           "teiten.rules")
    return parse_rules(path.read_text("utf-8"), str(path))
