"""Rule header addresses and ports: variables, lists, ranges and negations compiled to sorted
disjoint ranges (docs/detection.md).

An address spec (``any``, ``$HOME_NET``, ``10.0.0.0/8``, ``2001:db8::/32``,
``[$EXTERNAL_NET,!10.0.0.0/8]``, ``![a,b]``, nested lists) becomes an :class:`AddrSet`:
the IPv4 and the IPv6 addresses it stands for, each as sorted disjoint inclusive ranges of
integers. A list is the union of its items without a ``!`` (all addresses when every item
has one) less the union of its items with one, as in Snort and Suricata; ``!x`` is the
complement of ``x`` in both families. A port spec (``any``, ``80``, ``1:1024``, ``1024:``,
``:1023``, ``[80,443,8000:8100]``, ``!$HTTP_PORTS``) becomes a :class:`PortSet` the same
way. A spec that stands for every address (or port) is ``None``: no test at all.

Variables: ``HOME_NET`` defaults to the sensor catalog's addresses (any without a
catalog), ``EXTERNAL_NET`` to any (not ``!$HOME_NET``: a darknet's sources are all
external, and ET rules written ``$EXTERNAL_NET -> $HOME_NET`` should see every packet to
the sensor), the server groups of Suricata's default configuration to ``$HOME_NET``, and
the port groups to Suricata's defaults (:data:`DEFAULTS`); ``--var NAME=VALUE`` overrides
any of them. An undefined variable is a reason to skip the rule, not to guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from teiten.detect.signatures.skips import RuleSkip
from teiten.enrich.ranges import within6
from teiten.errors import SettingError

__all__ = ["DEFAULTS", "PORT_MAX", "V4_MAX", "V6_MAX", "AddrSet", "PortSet", "address_set", "in_ranges", "parse_var",
           "port_set", "variables"]

V4_MAX = (1 << 32) - 1
V6_MAX = (1 << 128) - 1
PORT_MAX = 65535

#: Variables a rule file may use without defining them (Suricata's suricata.yaml defaults;
#: HOME_NET and EXTERNAL_NET as the module says).
DEFAULTS: dict[str, str] = {
    "HOME_NET": "any", "EXTERNAL_NET": "any",
    **{k: "$HOME_NET" for k in ("HTTP_SERVERS", "SMTP_SERVERS", "SQL_SERVERS", "DNS_SERVERS", "TELNET_SERVERS",
                                "DC_SERVERS", "DNP3_SERVER", "DNP3_CLIENT", "MODBUS_CLIENT", "MODBUS_SERVER",
                                "ENIP_CLIENT", "ENIP_SERVER", "SIP_SERVERS", "SNMP_SERVERS", "FTP_SERVERS",
                                "SSH_SERVERS")},
    "AIM_SERVERS": "$EXTERNAL_NET",
    "HTTP_PORTS": "80", "SHELLCODE_PORTS": "!80", "ORACLE_PORTS": "1521", "SSH_PORTS": "22", "DNP3_PORTS": "20000",
    "MODBUS_PORTS": "502", "FILE_DATA_PORTS": "[$HTTP_PORTS,110,143]", "FTP_PORTS": "21", "GENEVE_PORTS": "6081",
    "VXLAN_PORTS": "4789", "TEREDO_PORTS": "3544", "SIP_PORTS": "[5060,5061,5600]", "GTP_PORTS": "[2123,2152,3386]",
}


Ranges = tuple[tuple[int, int], ...]


def _normal(rs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(rs):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _minus(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges of ``a`` not in ``b`` (both normal)."""
    out = []
    j = 0
    for lo, hi in a:
        cur = lo
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return out


@dataclass(frozen=True)
class AddrSet:
    """IPv4 and IPv6 addresses as sorted disjoint inclusive integer ranges."""

    v4: Ranges
    v6: Ranges = ()

    @cached_property
    def v4_arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        return (np.array([r[0] for r in self.v4], np.int64), np.array([r[1] for r in self.v4], np.int64))

    def contains4(self, v: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether each IPv4 address (an int64; -1 for none) is in the set."""
        return in_ranges(v, *self.v4_arrays)

    def contains6(self, hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64],
                  present: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Whether each IPv6 address, as its high and low 64 bits, is in the set."""
        out = np.zeros(len(hi), bool)
        for a, b in self.v6:
            out |= within6(hi, lo, a, b)
        return out & present

    @property
    def count(self) -> int:
        return len(self.v4) + len(self.v6)


@dataclass(frozen=True)
class PortSet:
    ranges: Ranges

    @cached_property
    def arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        return (np.array([r[0] for r in self.ranges], np.int64), np.array([r[1] for r in self.ranges], np.int64))

    def contains(self, v: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        return in_ranges(v, *self.arrays)


def in_ranges(v: npt.NDArray[np.int64], lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Whether each value lies in one of the sorted disjoint ranges [lo, hi]: comparisons for
    a few ranges, a binary search for more."""
    if len(lo) <= 4:
        out = np.zeros(len(v), bool)
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
            out |= (v == a) if a == b else (v >= a) & (v <= b)
        return out
    i = np.searchsorted(lo, v, side="right") - 1
    return np.asarray((i >= 0) & (v <= hi[np.maximum(i, 0)]))


def _split(s: str, where: str) -> list[str]:
    """The items of a list body (commas at depth 0)."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise RuleSkip(f"unbalanced brackets in {where}")
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if depth:
        raise RuleSkip(f"unbalanced brackets in {where}")
    out.append(cur.strip())
    return [x for x in out if x]


Fam = tuple[list[tuple[int, int]], ...]


def _set(spec: str, vars_: Mapping[str, str], kind: str, depth: int = 0) -> Fam:
    """The spec as one normal range list per family (addresses: v4, v6; ports: one)."""
    universe: Fam = ([(0, V4_MAX)], [(0, V6_MAX)]) if kind == "address" else ([(0, PORT_MAX)],)
    if depth > 20:
        raise RuleSkip(f"{kind} variables nest too deep (a cycle?)")
    s = spec.strip()
    if not s:
        raise RuleSkip(f"empty {kind}")
    if s.startswith("!"):
        inner = _set(s[1:], vars_, kind, depth + 1)
        return tuple(_minus(u, x) for u, x in zip(universe, inner, strict=True))
    if s.startswith("$"):
        name = s[1:]
        if name not in vars_:
            raise RuleSkip(f"undefined variable ${name}")
        return _set(vars_[name], vars_, kind, depth + 1)
    if s == "any":
        return universe
    if s.startswith("["):
        if not s.endswith("]"):
            raise RuleSkip(f"unbalanced brackets in {kind}")
        items = _split(s[1:-1], kind)
        pos = [_set(x, vars_, kind, depth + 1) for x in items if not x.startswith("!")]
        neg = [_set(x[1:], vars_, kind, depth + 1) for x in items if x.startswith("!")]
        out = []
        for f in range(len(universe)):
            p = _normal(r for x in pos for r in x[f]) if pos else universe[f]
            out.append(_minus(p, _normal(r for x in neg for r in x[f])))
        return tuple(out)
    if kind == "address":
        try:
            net = ipaddress.ip_network(s, strict=False)
        except ValueError:
            raise RuleSkip("invalid address") from None
        r = [(int(net.network_address), int(net.broadcast_address))]
        return (r, []) if net.version == 4 else ([], r)
    try:
        if ":" in s:
            a, b = s.split(":")
            lo, hi = int(a) if a.strip() else 0, int(b) if b.strip() else PORT_MAX
        else:
            lo = hi = int(s)
    except ValueError:
        raise RuleSkip("invalid port") from None
    if not 0 <= lo <= hi <= PORT_MAX:
        raise RuleSkip("invalid port range")
    return ([(lo, hi)],)


def address_set(spec: str, vars_: Mapping[str, str]) -> AddrSet | None:
    """The addresses of ``spec``; None for every address."""
    v4, v6 = _set(spec, vars_, "address")
    if v4 == [(0, V4_MAX)] and v6 == [(0, V6_MAX)]:
        return None
    if not v4 and not v6:
        raise RuleSkip("invalid address: the list leaves no address")
    return AddrSet(tuple(v4), tuple(v6))


def port_set(spec: str, vars_: Mapping[str, str]) -> PortSet | None:
    """The ports of ``spec``; None for every port."""
    (r,) = _set(spec, vars_, "port")
    if not r:
        raise RuleSkip("invalid port: the list leaves no port")
    return None if r == [(0, PORT_MAX)] else PortSet(tuple(r))


def parse_var(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` (a leading ``$`` on the name is allowed) as (NAME, VALUE)."""
    name, sep, value = text.partition("=")
    name = name.strip().lstrip("$")
    if not sep or not name or not value.strip() or not name.replace("_", "").isalnum():
        raise SettingError(f"--var needs NAME=VALUE, e.g. HOME_NET=[192.0.2.0/24], not {text!r}")
    return name, value.strip()


def variables(home: Iterable[str] = (), overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The rule variables: :data:`DEFAULTS`, ``HOME_NET`` the addresses ``home`` (when
    any), then ``overrides``."""
    out = dict(DEFAULTS)
    home = list(home)
    if home:
        out["HOME_NET"] = "[" + ",".join(home) + "]"
    out.update(overrides or {})
    return out
