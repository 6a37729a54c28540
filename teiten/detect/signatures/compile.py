"""One rule's text compiled to a :class:`Rule` of tests that run on numpy arrays of a whole
batch of packets at once, or skipped with the reason (docs/detection.md).

Accepted: actions ``alert drop reject sdrop log`` (a sensor alerts on all of them); protocols
``ip tcp udp icmp`` and ``tcp-pkt``; ``->`` and ``<>``; addresses and ports with variables, lists, ranges
and negations (teiten.detect.signatures.addresses); ``msg sid rev gid classtype priority reference
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

from collections.abc import Mapping
from typing import Any

from teiten.detect.signatures.addresses import address_set, port_set
from teiten.detect.signatures.parse import (
    FRAG_BITS,
    bit_test,
    byte_op,
    content_bytes,
    integer,
    isdataat,
    number_test,
    option_pairs,
    pcre,
    rule_parts,
    threshold,
    unquote,
)
from teiten.detect.signatures.rule import ByteOp, Content, Pcre, Rule
from teiten.detect.signatures.skips import (
    APP_REASON,
    BUFFER_PREFIXES,
    HTTP_REASON,
    STREAM_REASON,
    UNSUPPORTED,
    RuleSkip,
)

__all__ = ["ACTIONS", "CLASSTYPES", "compile_rule"]

#: The classtypes that map to the NPA Table 6-1 classes (:data:`CLASSES`; any other is Others).
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
_NUMBER_FIELDS = {"itype": "itype", "icode": "icode", "ttl": "ttl", "dsize": "dsize", "id": "ipid", "seq": "seq",
                  "ack": "ack", "window": "window", "icmp_id": "icmp_id", "icmp_seq": "icmp_seq"}


def _klass(classtype: str, msg: str) -> str:
    k = CLASSTYPES.get(classtype.lower(), "Others")
    if k == "Others":
        up = msg.upper()
        for prefix, name in MSG_CLASSES:
            if up.startswith(prefix):
                return name
    return k


def compile_rule(text: str, vars_: Mapping[str, str]) -> Rule:
    toks, body = rule_parts(text)
    opts = option_pairs(body)
    if len(toks) != 7:
        raise RuleSkip("invalid rule: the header needs action proto src sport -> dst dport")
    action, proto, src_s, sport_s, direction, dst_s, dport_s = toks
    action, proto = action.lower(), proto.lower()
    if action == "pass":
        raise RuleSkip("pass rules (they suppress alerts) are not supported")
    if action not in ACTIONS:
        raise RuleSkip(f"invalid rule: action {action!r}")
    if proto == "tcp-stream":
        raise RuleSkip(STREAM_REASON)
    if proto not in PROTOCOLS:
        raise RuleSkip(HTTP_REASON if proto.startswith("http") else f"protocol {proto}: {APP_REASON}"
                       if proto.isalnum() or "-" in proto else f"invalid protocol {proto}")
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
            last_content = Content(content_bytes(unquote(v.lstrip("!").strip())), negated=neg)
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
                n = integer(value, name)
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
            op = byte_op("test" if name == "byte_test" else "jump", value)
            if op.relative and after_pcre:
                raise RuleSkip("a match relative to a pcre is not supported")
            ops.append(op)
        elif name == "isdataat":
            op = isdataat(value)
            if op.relative and after_pcre:
                raise RuleSkip("a match relative to a pcre is not supported")
            ops.append(op)
        elif name == "pcre":
            pcres.append(pcre(value))
            after_pcre = True
        elif name == "flags":
            kw["flags"] = bit_test(value)
        elif name == "fragbits":
            kw["fragbits"] = bit_test(value, FRAG_BITS, "fragbits")
        elif name in _NUMBER_FIELDS:
            kw[_NUMBER_FIELDS[name]] = number_test(value, name)
        elif name == "ip_proto":
            kw["ip_proto"] = number_test(value, name, IP_PROTOS)
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
                    raise RuleSkip(STREAM_REASON)
                elif f == "only_frag":
                    raise RuleSkip("flow:only_frag: fragments are not reassembled")
                else:
                    raise RuleSkip(f"flow:{f} is not supported")
        elif name in ("threshold", "detection_filter"):
            if "threshold" in kw:
                raise RuleSkip("threshold and detection_filter together are not supported")
            kw["threshold"] = threshold(value, name)
        elif name.startswith(BUFFER_PREFIXES):
            raise RuleSkip(HTTP_REASON if name.startswith("http") else APP_REASON)
        else:
            raise RuleSkip(f"unknown keyword {name!r}")
    if "sid" not in info:
        raise RuleSkip("invalid rule: no sid")
    sid = integer(info["sid"], "sid")
    msg = unquote(info.get("msg")) or f"sid {sid}"
    classtype = info.get("classtype", "")
    return Rule(sid, msg, _klass(classtype, msg), PROTOCOLS[proto], address_set(src_s, vars_),
                address_set(dst_s, vars_), port_set(sport_s, vars_), port_set(dport_s, vars_),
                bidirectional=direction == "<>", ops=tuple(ops), pcres=tuple(pcres),
                gid=integer(info.get("gid", "1"), "gid"), rev=integer(info.get("rev", "0"), "rev"),
                classtype=classtype, references=tuple(refs), raw=text, **kw)
