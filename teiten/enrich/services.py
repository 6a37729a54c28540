"""Names for port keys: IANA service names, ICMP types, IP protocol numbers.

Port keys (:mod:`teiten.keys`) are ``445/TCP``, ``5060/UDP``, ``8/ICMP`` (ICMP by type),
``128/ICMPv6``, ``47/OTHER`` (protocol without ports) and ``FRAG``.  Service names
come from ``teiten/data/services.tsv``, generated from the IANA registry as shipped
by Wireshark (``python -m teiten.enrich.services --regenerate SRC``).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pyarrow as pa

__all__ = ["ICMP6_TYPES", "ICMP_TYPES", "PROTOCOLS", "key_label", "key_labels", "regenerate", "service_name"]

DATA = Path(__file__).resolve().parent.parent / "data" / "services.tsv"
PROTOS = ("tcp", "udp", "sctp", "dccp")

ICMP_TYPES: dict[int, str] = {
    0: "Echo Reply", 3: "Destination Unreachable", 4: "Source Quench", 5: "Redirect",
    8: "Echo Request", 9: "Router Advertisement", 10: "Router Solicitation", 11: "Time Exceeded",
    12: "Parameter Problem", 13: "Timestamp", 14: "Timestamp Reply", 15: "Information Request",
    16: "Information Reply", 17: "Address Mask Request", 18: "Address Mask Reply", 30: "Traceroute",
    42: "Extended Echo Request", 43: "Extended Echo Reply",
}
ICMP6_TYPES: dict[int, str] = {
    1: "Destination Unreachable", 2: "Packet Too Big", 3: "Time Exceeded", 4: "Parameter Problem",
    128: "Echo Request", 129: "Echo Reply", 130: "Multicast Listener Query",
    131: "Multicast Listener Report", 132: "Multicast Listener Done", 133: "Router Solicitation",
    134: "Router Advertisement", 135: "Neighbor Solicitation", 136: "Neighbor Advertisement",
    137: "Redirect", 143: "Multicast Listener Report v2",
}
#: IANA protocol numbers (the ones a darknet sees).
PROTOCOLS: dict[int, str] = {
    0: "HOPOPT", 1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP", 33: "DCCP", 41: "IPv6",
    43: "IPv6-Route", 44: "IPv6-Frag", 46: "RSVP", 47: "GRE", 50: "ESP", 51: "AH", 58: "ICMPv6",
    59: "IPv6-NoNxt", 60: "IPv6-Opts", 88: "EIGRP", 89: "OSPF", 94: "IPIP (KA9Q)", 103: "PIM",
    112: "VRRP", 115: "L2TP", 132: "SCTP", 136: "UDPLite", 137: "MPLS-in-IP",
}


@functools.cache
def _table() -> dict[tuple[int, str], str]:
    out: dict[tuple[int, str], str] = {}
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line:
            continue
        port, proto, name = line.split("\t")
        out.setdefault((int(port), proto), name)
    return out


def service_name(port: int, proto: str) -> str | None:
    """IANA service name of ``port`` over ``proto`` (tcp/udp/sctp/dccp), or None."""
    return _table().get((int(port), proto.lower()))


def key_label(key: str) -> str:
    """``"23/TCP"`` -> ``"23/TCP (telnet)"``; keys without a known name come back unchanged."""
    if key == "FRAG":
        return "FRAG (non-first fragment)"
    number, _, kind = key.partition("/")
    if not number.isdigit():
        return key
    n = int(number)
    name: str | None
    if kind == "ICMP":
        name = ICMP_TYPES.get(n)
    elif kind == "ICMPv6":
        name = ICMP6_TYPES.get(n)
    elif kind == "OTHER":
        name = PROTOCOLS.get(n)
    else:
        name = service_name(n, kind) if kind.lower() in PROTOS else None
    return f"{key} ({name})" if name else key


def key_labels(keys: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`key_label` over an Arrow string array, computed once per distinct key."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    encoded = keys.dictionary_encode()
    labels = pa.array([key_label(k) for k in encoded.dictionary.to_pylist()], type=pa.string())
    return pa.DictionaryArray.from_arrays(encoded.indices, labels).cast(pa.string())


def regenerate(src: Path, dest: Path = DATA) -> int:
    """Rewrite ``dest`` from a services(5)-format file (Wireshark's IANA copy); rows written."""
    rows: dict[tuple[int, str], str] = {}
    for line in src.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or "/" not in fields[1]:
            continue
        port, *protos = fields[1].split("/")
        if not port.isdigit():
            continue
        for proto in protos:
            if proto in PROTOS:
                rows.setdefault((int(port), proto), fields[0])
    body = [f"{p}\t{proto}\t{name}" for (p, proto), name in sorted(rows.items())]
    header = (f"# IANA service names by port; generated from {src} (Wireshark's copy of "
              "https://www.iana.org/assignments/service-names-port-numbers) by "
              "`python -m teiten.enrich.services --regenerate SRC`")
    dest.write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    _table.cache_clear()
    return len(body)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--regenerate":
        print(f"wrote {regenerate(Path(sys.argv[2]))} rows to {DATA}")
    else:
        sys.exit("usage: python -m teiten.enrich.services --regenerate SRC"
                 "  (e.g. /usr/share/wireshark/services)")
