"""Snort / Suricata / Emerging Threats rule files, loaded as they are and compiled to tests
that run on numpy arrays of a whole batch of packets at once (DESIGN §4; docs/detection.md).

A file is read rule by rule: comments and blank lines are passed over, ``# alert ...``
(a disabled rule) is counted as disabled, a line ending in ``\\`` continues on the next,
``var``/``ipvar``/``portvar NAME VALUE`` lines define variables (``--var`` wins over
them). Every rule is either accepted, compiled whole, or skipped with a reason; one bad
rule never stops the load (:func:`compile_rules`), and the outcome says how many were
accepted and why each other was skipped (:class:`RuleSet`).

Accepted: actions ``alert drop reject sdrop log`` (a sensor alerts on all of them); protocols
``ip tcp udp icmp`` and ``tcp-pkt``; ``->`` and ``<>``; addresses and ports with variables, lists, ranges
and negations (teiten.detect.rule_vars); ``msg sid rev gid classtype priority reference
metadata target`` (recorded); ``flags`` (with ``+*!`` and a mask after the comma),
``fragbits`` (``M D R`` with ``+*!``, over the stored IPv4 flags), ``itype icode ttl id seq
ack window ip_proto dsize icmp_id icmp_seq`` (``N``, ``!N``, ``<N``, ``>N``,
``<=N``, ``>=N``, ``N<>M`` exclusive, ``N<=>M`` and ``N-M`` inclusive), ``sameip``;
``content`` (``|hex|``, ``!``) with ``nocase offset depth distance within startswith``,
``byte_test``, ``byte_jump``, ``isdataat`` and ``pcre`` (``/re/ismxAB``) over the stored
payload bytes; ``flow`` (``to_server``/``from_client``: every stored packet, the sensor
only receives; ``established``: a TCP packet with ACK and neither SYN nor RST, the peer's
word for a session, since a sensor keeps no session state; ``not_established``: the other
TCP packets and every non-TCP one; ``stateless``, ``no_stream``, ``no_frag``: always true);
``threshold`` and ``detection_filter``. Optimisation and logging hints (``fast_pattern``,
``rawbytes``, ``prefilter``, ``tag``, ``pkt_data``) are ignored.

Skipped, with the reason: what needs flow state (``flowbits``, ``xbits``, ``flowint``,
``flow:established`` on UDP/ICMP, ``to_client``), application-layer buffers (HTTP, TLS,
DNS, SMB, file data, ``uricontent``), stream reassembly (``stream_size``,
``only_stream``), header fields the store does not keep (``fragoffset``,
``ipopts``, ``tos``), ``pcre`` relative to an
earlier match or on a buffer, regular expressions Python cannot read, and unknown keywords.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from teiten.detect.content_match import K_BYTE_JUMP, K_BYTE_TEST, K_CONTENT, K_ISDATAAT, OP_FIELDS, OPS
from teiten.detect.rule_vars import AddrSet, PortSet, RuleSkip, address_set, port_set, variables
from teiten.errors import SettingError

__all__ = ["CLASSES", "ByteOp", "Content", "Pcre", "Rule", "RuleSet", "Skipped", "Threshold", "compile_rules",
           "load_rules", "load_ruleset", "parse_rules"]

log = logging.getLogger(__name__)

#: NPA Table 6-1 classes, and the classtypes that map to them.
CLASSES = ("Worm", "Scan", "UDP spam", "DoS", "DNS", "Others")
CLASSTYPES = {
    "worm": "Worm", "scan": "Scan", "attempted-recon": "Scan", "network-scan": "Scan",
    "successful-recon-limited": "Scan", "successful-recon-largescale": "Scan", "udp-spam": "UDP spam",
    "dos": "DoS", "attempted-dos": "DoS", "successful-dos": "DoS", "denial-of-service": "DoS", "dns": "DNS",
}
#: When the classtype says nothing more specific: the category word of an ET or Snort msg.
MSG_CLASSES = (("ET WORM", "Worm"), ("WORM", "Worm"), ("ET SCAN", "Scan"), ("SCAN ", "Scan"), ("ET DOS", "DoS"),
               ("DOS ", "DoS"), ("DDOS ", "DoS"), ("ET DNS", "DNS"), ("DNS ", "DNS"))
PROTOCOLS = {"ip": None, "tcp": 6, "udp": 17, "icmp": 1, "tcp-pkt": 6}  # tcp-pkt: per packet, as here
IP_PROTOS = {"icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17, "ipv6": 41, "rsvp": 46, "gre": 47,
             "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "ospf": 89, "pim": 103, "sctp": 132}
ACTIONS = ("alert", "drop", "reject", "sdrop", "log", "rejectsrc", "rejectdst", "rejectboth")
_INFO = {"msg", "sid", "rev", "gid", "classtype", "priority", "reference", "metadata", "target"}
_IGNORED = {"fast_pattern", "rawbytes", "prefilter", "tag", "pkt_data"}
_FLAG_BITS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32, "C": 128, "W": 128, "E": 64, "1": 128, "2": 64}
_NUMBER_FIELDS = {"itype": "itype", "icode": "icode", "ttl": "ttl", "dsize": "dsize", "id": "ipid", "seq": "seq",
                  "ack": "ack", "window": "window", "icmp_id": "icmp_id", "icmp_seq": "icmp_seq"}
_FRAG_BITS = {"M": 1, "D": 2, "R": 4}  # more fragments, don't fragment, reserved (the ip_flags column)

_HTTP = "HTTP buffers need stream reassembly and an HTTP parser"
_APP = "application-layer buffers need stream reassembly and a protocol parser"
_STATE = "flow state (flowbits, xbits, flowint, hostbits) is not kept"
_STREAM = "stream reassembly is not kept"


def _not_stored(kw: str, what: str) -> str:
    return f"{kw}: not stored: {what} (docs/schema.md)"


#: Keywords the store cannot answer, with the reason a rule using one is skipped.
UNSUPPORTED: dict[str, str] = {
    **{k: _STATE for k in ("flowbits", "xbits", "flowint", "hostbits", "noalert")},
    **{k: _STREAM for k in ("stream_size", "stream_reassemble", "replace")},
    **{k: _HTTP for k in ("uricontent", "urilen", "http_uri", "http_raw_uri", "http_header", "http_raw_header",
                          "http_cookie", "http_raw_cookie", "http_method", "http_client_body", "http_server_body",
                          "http_stat_code", "http_stat_msg", "http_encode", "http_user_agent", "http_host",
                          "http_raw_host", "http_request_line", "http_response_line", "http_accept",
                          "http_accept_enc", "http_accept_lang", "http_referer", "http_connection",
                          "http_content_type", "http_content_len", "http_start", "http_protocol",
                          "http_header_names")},
    **{k: _APP for k in ("file_data", "file.data", "base64_decode", "base64_data", "dce_iface", "dce_opnum",
                         "dce_stub_data", "ssl_version", "ssl_state", "tls_cert_subject", "tls_cert_issuer",
                         "tls.sni", "tls_sni", "dns_query", "dns.query", "sip_method", "sip_stat_code",
                         "sip_header", "sip_body", "ftpbounce", "smb.named_pipe", "asn1", "cvs", "app-layer-protocol",
                         "app-layer-event", "ja3.hash", "ja3_hash", "ja3s.hash", "ssh_proto", "ssh.proto",
                         "ssh.software", "modbus", "dnp3_func", "dnp3_ind", "dnp3_obj", "dnp3_data", "gtp_type",
                         "gtp_info", "gtp_version", "krb5_msg_type", "filename", "fileext", "filemagic",
                         "filestore", "filemd5", "filesha1", "filesha256", "filesize", "luajit", "lua",
                         "dataset", "datarep", "byte_extract", "byte_math", "rpc", "decode-event", "stream-event")},
    "fragoffset": _not_stored("fragoffset", "the fragment offset (only first/non-first: frag)"),
    "ipopts": _not_stored("ipopts", "IP options"),
    "tos": _not_stored("tos", "the IP TOS byte"),
    "ip.flags": "ip.flags: use fragbits",
    "tcp.flags": "tcp.flags: use flags",
    "endswith": "content endswith: the store keeps only the first payload bytes",
}
_BUFFER_PREFIXES = ("http.", "http_", "tls.", "tls_", "dns.", "dns_", "smb.", "ssh.", "file.", "krb5", "sip.", "ja3",
                    "snmp.", "ike.", "dhcp.", "mqtt.", "rfb.", "smtp.", "ftp", "dce_", "ssl_")


@dataclass(frozen=True)
class Content:
    pattern: bytes
    negated: bool = False
    nocase: bool = False
    offset: int = 0  # distance, when relative
    depth: int | None = None  # within, when relative
    relative: bool = False


@dataclass(frozen=True)
class ByteOp:
    """``byte_test`` (kind ``test``), ``byte_jump`` (``jump``) or ``isdataat`` (``isdataat``)."""

    kind: str
    nbytes: int = 0
    offset: int = 0
    relative: bool = False
    negated: bool = False
    base: int = 0  # 0 binary; 8, 10 or 16: the number written out
    little: bool = False
    op: str = "="
    value: int = 0
    bitmask: int = 0
    multiplier: int = 1
    align: bool = False
    from_beginning: bool = False
    post_offset: int = 0


@dataclass(frozen=True)
class Pcre:
    pattern: str
    flags: str
    negated: bool = False

    def compiled(self) -> re.Pattern[bytes]:
        f = 0
        for ch in self.flags:
            f |= {"i": re.I, "s": re.S, "m": re.M, "x": re.X}.get(ch, 0)
        body = self.pattern.encode("latin-1")
        return re.compile(rb"\A(?:" + body + rb")" if "A" in self.flags else body, f)


@dataclass(frozen=True)
class Threshold:
    type: str  # limit | threshold | both | detection (detection_filter)
    track: str  # by_src | by_dst
    count: int
    seconds: float

    @property
    def reach(self) -> int:
        """Matches in a window before it alerts at all."""
        return self.count + 1 if self.type == "detection" else self.count

    def alerts(self, n: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Alerts of windows with ``n`` matches each."""
        if self.type == "limit":
            return np.minimum(n, self.count)
        if self.type == "threshold":
            return n // self.count
        if self.type == "both":
            return (n >= self.count).astype(np.int64)
        return np.maximum(n - self.count, 0)

    def alerting_ranks(self, rank: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which matches, by 1-based rank in their window, alert."""
        if self.type == "limit":
            return np.asarray(rank <= self.count)
        if self.type == "threshold":
            return np.asarray(rank % self.count == 0)
        if self.type == "both":
            return np.asarray(rank == self.count)
        return np.asarray(rank > self.count)


NumberTest = tuple[str, int, int]


@dataclass(frozen=True)
class Rule:
    sid: int
    msg: str
    klass: str  # one of CLASSES
    proto: int | None
    src: AddrSet | None  # None: any
    dst: AddrSet | None
    sport: PortSet | None
    dport: PortSet | None
    bidirectional: bool = False
    flags: tuple[str, int, int] | None = None  # (mode exact|any|all|not, bits, mask)
    itype: NumberTest | None = None  # (op, a, b)
    icode: NumberTest | None = None
    ttl: NumberTest | None = None
    dsize: NumberTest | None = None
    ipid: NumberTest | None = None
    seq: NumberTest | None = None
    ack: NumberTest | None = None
    window: NumberTest | None = None
    ip_proto: NumberTest | None = None
    fragbits: tuple[str, int, int] | None = None  # as flags, over the IP flags (M=1 D=2 R=4)
    icmp_id: NumberTest | None = None
    icmp_seq: NumberTest | None = None
    sameip: bool = False
    established: bool | None = None  # True established, False not_established
    ops: tuple[Content | ByteOp, ...] = ()
    pcres: tuple[Pcre, ...] = ()
    threshold: Threshold | None = None
    gid: int = 1
    rev: int = 0
    classtype: str = ""
    references: tuple[str, ...] = ()
    raw: str = field(default="", compare=False)

    @property
    def contents(self) -> tuple[Content, ...]:
        return tuple(o for o in self.ops if isinstance(o, Content))

    @property
    def payload(self) -> bool:
        """Whether the rule tests payload bytes (then it is matched in the streamed path)."""
        return bool(self.ops or self.pcres)

    def program(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
        """The payload options as a program of :func:`teiten.detect.content_match.payload_match`."""
        rows, pats = [], bytearray()
        for o in self.ops:
            r = dict.fromkeys(OP_FIELDS, 0)
            if isinstance(o, Content):
                p = o.pattern.lower() if o.nocase else o.pattern
                r.update(kind=K_CONTENT, relative=int(o.relative), offset=o.offset,
                         depth=-1 if o.depth is None else o.depth, negated=int(o.negated), a=len(pats),
                         b=len(pats) + len(p), c=int(o.nocase))
                pats += p
            elif o.kind == "isdataat":
                r.update(kind=K_ISDATAAT, relative=int(o.relative), offset=o.offset, negated=int(o.negated))
            else:
                r.update(kind=K_BYTE_TEST if o.kind == "test" else K_BYTE_JUMP, relative=int(o.relative),
                         offset=o.offset, depth=o.nbytes, negated=int(o.negated), a=o.base, b=int(o.little),
                         c=OPS[o.op] if o.kind == "test" else o.multiplier,
                         value=o.value if o.kind == "test" else int(o.align), bitmask=o.bitmask,
                         from_beginning=int(o.from_beginning), post_offset=o.post_offset)
            rows.append([r[k] for k in OP_FIELDS])
        return (np.array(rows, np.int64).reshape(-1, len(OP_FIELDS)), np.frombuffer(bytes(pats) or b"\0", np.uint8))


@dataclass(frozen=True)
class Skipped:
    sid: int | None
    line: int
    reason: str


@dataclass
class RuleSet:
    """The outcome of a load: the accepted rules, the skipped ones with their reasons, and
    how many disabled (commented-out) rules were passed over."""

    source: str
    rules: list[Rule]
    skipped: list[Skipped]
    disabled: int = 0

    def report(self) -> dict[str, Any]:
        """``{"accepted": N, "skipped": [{"sid", "reason", "line"}, ...], "disabled": D}``."""
        return {"accepted": len(self.rules),
                "skipped": [{"sid": s.sid, "reason": s.reason, "line": s.line} for s in self.skipped],
                "disabled": self.disabled}

    def by_reason(self) -> list[tuple[str, int]]:
        return sorted(Counter(s.reason for s in self.skipped).items(), key=lambda x: (-x[1], x[0]))

    def summary(self) -> str:
        """Plain text: the accepted count, then the skipped count per reason."""
        lines = [f"{self.source}: {len(self.rules)} rules accepted, {len(self.skipped)} skipped"
                 + (f", {self.disabled} disabled" if self.disabled else "")]
        lines += [f"  skipped {n:>5}  {reason}" for reason, n in self.by_reason()]
        return "\n".join(lines)


def _unquote(v: str | None) -> str:
    v = (v or "").strip()
    return v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v


def _content_bytes(text: str) -> bytes:
    out = bytearray()
    if text.count("|") % 2:
        raise RuleSkip("invalid content: unbalanced |")
    for i, part in enumerate(text.split("|")):
        if i % 2:
            try:
                out += bytes.fromhex(part)
            except ValueError:
                raise RuleSkip("invalid content: bad hex") from None
        else:
            out += re.sub(r"\\(.)", r"\1", part).encode("utf-8", "surrogateescape")
    if not out:
        raise RuleSkip("invalid content: empty")
    return bytes(out)


def _int(v: str | None, what: str) -> int:
    try:
        s = (v or "").strip()
        return int(s, 16) if s.lower().startswith("0x") else int(s)
    except ValueError:
        raise RuleSkip(f"invalid {what}: not a number") from None


def _number_test(v: str | None, what: str, names: Mapping[str, int] | None = None) -> NumberTest:
    s = (v or "").replace(" ", "")

    def num(x: str) -> int:
        if names and x.lower() in names:
            return names[x.lower()]
        return _int(x, what)

    if "<=>" in s:
        a, b = s.split("<=>")
        return "between_incl", num(a), num(b)
    if "<>" in s:
        a, b = s.split("<>")
        return "between", num(a), num(b)
    if "-" in s[1:]:
        a, b = s.split("-", 1)
        return "between_incl", num(a), num(b)
    for op in ("<=", ">=", "!=", "<", ">", "!", "="):
        if s.startswith(op):
            return {"!": "!="}.get(op, op), num(s[len(op):]), 0
    return "=", num(s), 0


def _flags(v: str | None, names: dict[str, int] = _FLAG_BITS, kw: str = "flags") -> tuple[str, int, int]:
    """(mode, bits, mask) of ``flags`` (TCP) or ``fragbits`` (IP, ``names`` = _FRAG_BITS)."""
    spec, _, mask_s = (v or "").partition(",")
    mode = "exact"
    bits = 0
    for ch in spec.strip():
        if ch in "+*!":
            mode = {"+": "all", "*": "any", "!": "not"}[ch]
        elif ch == "0" and kw == "flags":
            continue
        elif ch.upper() in names:
            bits |= names[ch.upper()]
        else:
            raise RuleSkip(f"invalid {kw}: unknown flag {ch!r}")
    ignore = 0
    for ch in mask_s.strip():
        if ch.upper() in names:
            ignore |= names[ch.upper()]
    return mode, bits, 0xFF & ~ignore


def _threshold(v: str | None, kind: str) -> Threshold:
    parts = {}
    for p in (v or "").split(","):
        if p.strip():
            k, _, x = p.strip().partition(" ")
            parts[k.strip()] = x.strip()
    if kind == "detection_filter":
        parts["type"] = "detection"
    try:
        t = Threshold(parts["type"], parts["track"], int(parts["count"]), float(parts["seconds"]))
    except (KeyError, ValueError):
        raise RuleSkip(f"invalid {kind}: needs type, track, count and seconds") from None
    if t.track not in ("by_src", "by_dst"):
        raise RuleSkip(f"{kind}: track {t.track} (only by_src, by_dst)")
    if t.type not in ("limit", "threshold", "both", "detection") or t.count < 1 or t.seconds <= 0:
        raise RuleSkip(f"invalid {kind}: type limit|threshold|both, count ≥ 1, seconds > 0")
    return t


def _byte_op(kind: str, v: str | None) -> ByteOp:
    parts = [p.strip() for p in (v or "").split(",") if p.strip()]
    word = "byte_test" if kind == "test" else "byte_jump"
    need = 4 if kind == "test" else 2
    if len(parts) < need:
        raise RuleSkip(f"invalid {word}: too few arguments")
    kw: dict[str, Any] = {"nbytes": _int(parts[0], word)}
    if kind == "test":
        op = parts[1].replace(" ", "")
        neg = op.startswith("!")
        op = op.lstrip("!") or "="
        if op not in OPS:
            raise RuleSkip(f"invalid byte_test: operator {parts[1]!r}")
        kw.update(op=op, negated=neg, value=_int(parts[2], word), offset=_int(parts[3], word))
        rest = parts[4:]
    else:
        kw["offset"] = _int(parts[1], word)
        rest = parts[2:]
    base = 0
    for p in rest:
        w = p.split()
        name = w[0].lower()
        if name == "relative":
            kw["relative"] = True
        elif name in ("big", "little"):
            kw["little"] = name == "little"
        elif name == "string":
            base = base or 10
        elif name in ("hex", "dec", "oct"):
            base = {"hex": 16, "dec": 10, "oct": 8}[name]
        elif name == "bitmask" and len(w) == 2:
            kw["bitmask"] = _int(w[1], word)
        elif kind == "jump" and name == "multiplier" and len(w) == 2:
            kw["multiplier"] = _int(w[1], word)
        elif kind == "jump" and name == "align":
            kw["align"] = True
        elif kind == "jump" and name == "from_beginning":
            kw["from_beginning"] = True
        elif kind == "jump" and name == "post_offset" and len(w) == 2:
            kw["post_offset"] = _int(w[1], word)
        elif name == "dce":
            raise RuleSkip(f"{word}: dce needs the DCE/RPC parser")
        else:
            raise RuleSkip(f"{word}: option {name!r} is not supported")
    if base == 0 and not 1 <= kw["nbytes"] <= 4 and not (kind == "jump" and kw["nbytes"] <= 8):
        raise RuleSkip(f"invalid {word}: 1 to 4 bytes")
    if base and not 1 <= kw["nbytes"] <= 10:
        raise RuleSkip(f"invalid {word}: 1 to 10 digits")
    return ByteOp(kind, base=base, **kw)


def _isdataat(v: str | None) -> ByteOp:
    s = (v or "").strip()
    neg = s.startswith("!")
    parts = [p.strip() for p in s.lstrip("!").split(",")]
    rel = any(p == "relative" for p in parts[1:])
    if any(p not in ("relative", "rawbytes") for p in parts[1:]):
        raise RuleSkip("isdataat: only relative")
    return ByteOp("isdataat", offset=_int(parts[0], "isdataat"), relative=rel, negated=neg)


def _pcre(v: str | None) -> Pcre:
    s = (v or "").strip()
    neg = s.startswith("!")
    s = _unquote(s.lstrip("!").strip())
    m = re.fullmatch(r"/(.*)/([A-Za-z]*)", s, re.S)
    if m is None:
        raise RuleSkip("invalid pcre: not /regex/flags")
    body, flags = m.group(1), m.group(2)
    for ch in flags:
        if ch in "UIPHDMCKSYVW":
            raise RuleSkip(_HTTP if ch in "UIPHDMCKSY" else _APP)
        if ch == "R":
            raise RuleSkip("pcre relative to an earlier match (R) is not supported")
        if ch in "EG":
            raise RuleSkip(f"pcre modifier {ch} has no Python re equivalent")
        if ch not in "ismxABOL":
            raise RuleSkip(f"invalid pcre: modifier {ch!r}")
    p = Pcre(body, flags, neg)
    try:
        p.compiled()
    except (re.error, UnicodeEncodeError, OverflowError):
        raise RuleSkip("pcre syntax Python re cannot read") from None
    return p


def _options(body: str) -> list[tuple[str, str | None]]:
    """``name[:value]`` pairs of a rule's options (``;`` inside quotes or escaped is kept)."""
    out, cur, quote, esc = [], "", False, False
    for ch in body:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            cur += ch
            esc = True
        elif ch == '"':
            cur += ch
            quote = not quote
        elif ch == ";" and not quote:
            if cur.strip():
                out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if quote:
        raise RuleSkip("invalid rule: unbalanced quotes")
    if cur.strip():
        out.append(cur.strip())
    pairs: list[tuple[str, str | None]] = []
    for o in out:
        name, sep, value = o.partition(":")
        pairs.append((name.strip().lower(), value.strip() if sep else None))
    return pairs


def _header(text: str) -> tuple[list[str], str]:
    """The header tokens (brackets kept together) and the option body of a rule."""
    open_at = text.find("(")
    close_at = text.rfind(")")
    if open_at < 0 or close_at < open_at:
        raise RuleSkip("invalid rule: no options in parentheses")
    toks, cur, depth = [], "", 0
    for ch in text[:open_at]:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch.isspace() and depth == 0:
            if cur:
                toks.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        toks.append(cur)
    return toks, text[open_at + 1:close_at]


def _klass(classtype: str, msg: str) -> str:
    k = CLASSTYPES.get(classtype.lower(), "Others")
    if k == "Others":
        up = msg.upper()
        for prefix, name in MSG_CLASSES:
            if up.startswith(prefix):
                return name
    return k


def _compile(text: str, vars_: Mapping[str, str]) -> Rule:
    toks, body = _header(text)
    opts = _options(body)
    if len(toks) != 7:
        raise RuleSkip("invalid rule: the header needs action proto src sport -> dst dport")
    action, proto, src_s, sport_s, direction, dst_s, dport_s = toks
    action, proto = action.lower(), proto.lower()
    if action == "pass":
        raise RuleSkip("pass rules (they suppress alerts) are not supported")
    if action not in ACTIONS:
        raise RuleSkip(f"invalid rule: action {action!r}")
    if proto == "tcp-stream":
        raise RuleSkip(_STREAM)
    if proto not in PROTOCOLS:
        raise RuleSkip(_HTTP if proto.startswith("http") else
                       f"protocol {proto}: {_APP}" if proto.isalnum() or "-" in proto else f"invalid protocol {proto}")
    if direction not in ("->", "<>"):
        raise RuleSkip(f"invalid rule: direction {direction!r}")
    kw: dict[str, Any] = {}
    ops: list[Content | ByteOp] = []
    pcres: list[Pcre] = []
    info: dict[str, str] = {}
    refs: list[str] = []
    last_content: Content | None = None
    last_at = 0
    after_pcre = False
    for name, value in opts:
        if name in _INFO:
            if name == "reference" and value:
                refs.append(value)
            elif value is not None:
                info[name] = value
            continue
        if name in _IGNORED:
            continue
        if name in UNSUPPORTED:
            raise RuleSkip(UNSUPPORTED[name])
        if name == "content":
            v = (value or "").strip()
            neg = v.startswith("!")
            last_content = Content(_content_bytes(_unquote(v.lstrip("!").strip())), negated=neg)
            last_at = len(ops)
            ops.append(last_content)
        elif name == "startswith":  # Suricata: offset 0, depth the pattern
            if last_content is None:
                raise RuleSkip("invalid rule: startswith before any content")
            c = last_content
            last_content = Content(c.pattern, c.negated, c.nocase, 0, len(c.pattern), False)
            ops[last_at] = last_content
        elif name in ("nocase", "offset", "depth", "distance", "within"):
            if last_content is None:
                raise RuleSkip(f"invalid rule: {name} before any content")
            c = last_content
            if name == "nocase":
                new = Content(c.pattern, c.negated, True, c.offset, c.depth, c.relative)
            else:
                n = _int(value, name)
                relative = name in ("distance", "within")
                if c.relative != relative and (c.offset or c.depth is not None):
                    raise RuleSkip("invalid content: offset/depth mixed with distance/within")
                if name in ("depth", "within") and n < len(c.pattern):
                    raise RuleSkip(f"invalid content: {name} shorter than the pattern")
                new = Content(c.pattern, c.negated, c.nocase, n if name in ("offset", "distance") else c.offset,
                              n if name in ("depth", "within") else c.depth, relative)
                if relative and after_pcre:
                    raise RuleSkip("a match relative to a pcre is not supported")
            ops[last_at] = new
            last_content = new
        elif name in ("byte_test", "byte_jump"):
            op = _byte_op("test" if name == "byte_test" else "jump", value)
            if op.relative and after_pcre:
                raise RuleSkip("a match relative to a pcre is not supported")
            ops.append(op)
        elif name == "isdataat":
            op = _isdataat(value)
            if op.relative and after_pcre:
                raise RuleSkip("a match relative to a pcre is not supported")
            ops.append(op)
        elif name == "pcre":
            pcres.append(_pcre(value))
            after_pcre = True
        elif name == "flags":
            kw["flags"] = _flags(value)
        elif name == "fragbits":
            kw["fragbits"] = _flags(value, _FRAG_BITS, "fragbits")
        elif name in _NUMBER_FIELDS:
            kw[_NUMBER_FIELDS[name]] = _number_test(value, name)
        elif name == "ip_proto":
            kw["ip_proto"] = _number_test(value, name, IP_PROTOS)
        elif name == "sameip":
            kw["sameip"] = True
        elif name == "flow":
            for f in (x.strip().lower() for x in (value or "").split(",") if x.strip()):
                if f in ("to_server", "from_client", "stateless", "no_stream", "no_frag"):
                    continue
                if f in ("to_client", "from_server"):
                    raise RuleSkip("flow:to_client: the sensor stores only packets sent to it")
                if f in ("established", "not_established"):
                    if f == "established" and proto != "tcp":
                        raise RuleSkip("flow:established on UDP/ICMP needs two-way flow state, which is not kept")
                    kw["established"] = f == "established"
                elif f in ("only_stream",):
                    raise RuleSkip(_STREAM)
                elif f == "only_frag":
                    raise RuleSkip("flow:only_frag: fragments are not reassembled")
                else:
                    raise RuleSkip(f"flow:{f} is not supported")
        elif name in ("threshold", "detection_filter"):
            if "threshold" in kw:
                raise RuleSkip("threshold and detection_filter together are not supported")
            kw["threshold"] = _threshold(value, name)
        elif name.startswith(_BUFFER_PREFIXES):
            raise RuleSkip(_HTTP if name.startswith("http") else _APP)
        else:
            raise RuleSkip(f"unknown keyword {name!r}")
    if "sid" not in info:
        raise RuleSkip("invalid rule: no sid")
    sid = _int(info["sid"], "sid")
    msg = _unquote(info.get("msg")) or f"sid {sid}"
    classtype = info.get("classtype", "")
    return Rule(sid, msg, _klass(classtype, msg), PROTOCOLS[proto], address_set(src_s, vars_),
                address_set(dst_s, vars_), port_set(sport_s, vars_), port_set(dport_s, vars_),
                bidirectional=direction == "<>", ops=tuple(ops), pcres=tuple(pcres),
                gid=_int(info.get("gid", "1"), "gid"), rev=_int(info.get("rev", "0"), "rev"), classtype=classtype,
                references=tuple(refs), raw=text, **kw)


_ACTION_RE = re.compile(r"^\s*(?:" + "|".join([*ACTIONS, "pass"]) + r")\s", re.I)
_SID_RE = re.compile(r"\bsid\s*:\s*(\d+)")
_VAR_RE = re.compile(r"^\s*(?:var|ipvar|portvar)\s+(\w+)\s+(\S.*?)\s*$")


def compile_rules(text: str, source: str = "rules", variables_: Mapping[str, str] | None = None,
                  overrides: Mapping[str, str] | None = None) -> RuleSet:
    """Every rule of ``text``, accepted or skipped with a reason; never raises for a rule.

    ``variables_``: the rule variables (default :func:`teiten.detect.rule_vars.variables`);
    ``var`` lines of the file add to them, ``overrides`` (``--var``) win over both."""
    vars_ = dict(variables_ if variables_ is not None else variables())
    vars_.update(overrides or {})
    rules: list[Rule] = []
    skipped: list[Skipped] = []
    disabled = 0
    seen: set[int] = set()
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        start = n + 1
        s = lines[n].strip()
        n += 1
        while s.endswith("\\") and n < len(lines):
            s = s[:-1] + " " + lines[n].strip()
            n += 1
        if not s:
            continue
        if s.startswith("#"):
            if _ACTION_RE.match(s.lstrip("#")) and "(" in s:
                disabled += 1
            continue
        m = _VAR_RE.match(s)
        if m:
            if m.group(1) not in (overrides or {}):
                vars_[m.group(1)] = m.group(2)
            continue
        sm = _SID_RE.search(s)
        sid = int(sm.group(1)) if sm else None
        try:
            if not _ACTION_RE.match(s):
                raise RuleSkip("invalid rule: not a rule or a variable")
            rule = _compile(s, vars_)
            if rule.sid in seen:  # alerts are keyed by sid downstream
                raise RuleSkip("sid given twice (the first is kept)")
            seen.add(rule.sid)
            rules.append(rule)
        except RuleSkip as e:
            skipped.append(Skipped(sid, start, str(e)))
    return RuleSet(source, rules, skipped, disabled)


def parse_rules(text: str, source: str = "rules", variables_: Mapping[str, str] | None = None) -> list[Rule]:
    """The rules of ``text``, strictly: the first rule that would be skipped is an error
    naming the line, the sid and the reason (for rules written in code and tests)."""
    rs = compile_rules(text, source, variables_)
    if rs.skipped:
        s = rs.skipped[0]
        raise SettingError(f"{source}:{s.line} (sid {s.sid}): {s.reason}")
    return rs.rules


def load_ruleset(path: Path | None = None, variables_: Mapping[str, str] | None = None,
                 overrides: Mapping[str, str] | None = None) -> RuleSet:
    """The shipped rule set (``rules/teiten.rules``), or the file at ``path``, with the
    outcome of the load."""
    if path is None:
        from importlib import resources

        text = resources.files("teiten.detect").joinpath("rules/teiten.rules").read_text("utf-8")
        return compile_rules(text, "teiten.rules", variables_, overrides)
    try:
        text = path.read_text("utf-8", errors="surrogateescape")
    except OSError as e:
        raise SettingError(f"cannot read rules {path}: {e.strerror}") from None
    return compile_rules(text, str(path), variables_, overrides)


def load_rules(path: Path | None = None, variables_: Mapping[str, str] | None = None) -> list[Rule]:
    """The accepted rules of :func:`load_ruleset` (skipped ones are logged, never fatal)."""
    rs = load_ruleset(path, variables_)
    if rs.skipped:
        log.warning("%s", rs.summary())
    return rs.rules
