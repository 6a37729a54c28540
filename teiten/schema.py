"""The one registry of the columns teiten stores (docs/schema.md).

Every stage hands the next an Arrow table whose columns are declared here, once,
with their Arrow type and meaning.  ``docs/schema.md`` is generated from this
module (``python -m teiten.schema``) and a test fails when the two drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

__all__ = [
    "DECODED_COLUMNS",
    "ENRICHED_COLUMNS",
    "PACKET_COLUMNS",
    "PAYLOAD_BYTES",
    "QUARANTINE_COLUMNS",
    "SLOT_COLUMNS",
    "Column",
    "decoded_schema",
    "packet_schema",
    "quarantine_schema",
    "rollup_schema",
    "schema_markdown",
]

#: How many leading payload bytes are kept per packet (for signatures and tool names: a SIP
#: scanner's User-Agent header is usually within the first 500 bytes).
PAYLOAD_BYTES = 512


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str
    nullable: bool = True

    def field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)


#: Columns the capture decoder produces (one row per captured IP packet).
DECODED_COLUMNS: tuple[Column, ...] = (
    Column("ts", pa.timestamp("us", tz="UTC"), "capture time, UTC, microseconds", False),
    Column("frame", pa.uint32(), "1-based record number within the capture file", False),
    Column("linktype", pa.uint16(), "link-layer type of the record (LINKTYPE_*)", False),
    Column("ip_version", pa.uint8(), "4 or 6 (outermost IP header)", False),
    Column("src4", pa.uint32(), "IPv4 source address as an integer; null for IPv6"),
    Column("dst4", pa.uint32(), "IPv4 destination address as an integer; null for IPv6"),
    Column("src6", pa.binary(16), "IPv6 source address, 16 bytes; null for IPv4"),
    Column("dst6", pa.binary(16), "IPv6 destination address, 16 bytes; null for IPv4"),
    Column("proto", pa.uint8(), "IP protocol number (after IPv6 extension headers)", False),
    Column("sport", pa.uint16(), "source port (TCP/UDP/SCTP/UDP-Lite/DCCP); null when none"),
    Column("dport", pa.uint16(), "destination port; null when none"),
    Column("icmp_type", pa.uint8(), "ICMP/ICMPv6 type; null for other protocols"),
    Column("icmp_code", pa.uint8(), "ICMP/ICMPv6 code; null for other protocols"),
    Column("icmp_id", pa.uint16(), "ICMP identifier of echo, timestamp, information and address-mask messages"
           " (ICMPv6: echo); null otherwise"),
    Column("icmp_seq", pa.uint16(), "ICMP sequence number of the same messages; null otherwise"),
    Column("tcp_flags", pa.uint8(), "TCP flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128)"),
    Column("seq", pa.uint32(), "TCP sequence number"),
    Column("ack", pa.uint32(), "TCP acknowledgement number"),
    Column("window", pa.uint16(), "TCP window"),
    Column("tcp_hlen", pa.uint8(), "TCP header length in bytes (data offset × 4)"),
    Column("tcp_opts", pa.string(), "TCP option kinds in order, e.g. 'M,S,T,N,W' (M=MSS, N=NOP, W=wscale,"
           " S=SACK-permitted, T=timestamps, E=end, other kinds as numbers); '' when none"),
    Column("mss", pa.uint16(), "TCP MSS option value"),
    Column("ip_id", pa.uint16(), "IPv4 identification (low 16 bits of the IPv6 fragment id)"),
    Column("ip_flags", pa.uint8(), "IPv4 flags: reserved=4 DF=2 MF=1; null for IPv6"),
    Column("ttl", pa.uint8(), "IPv4 TTL or IPv6 hop limit", False),
    Column("ip_len", pa.uint32(), "IP total length as the header says (IPv6: payload length + 40)", False),
    Column("frag", pa.uint8(), "0 not a fragment, 1 first fragment, 2 non-first fragment", False),
    Column("caplen", pa.uint32(), "captured bytes of the IP packet (from the IP header on)", False),
    Column("payload_len", pa.uint32(), "transport payload length implied by the IP and transport headers"),
    Column("payload", pa.binary(), f"first captured bytes of transport payload (at most {PAYLOAD_BYTES})"),
    Column("mirai", pa.bool_(), "TCP SYN without ACK, full TCP header, seq == IPv4 destination", False),
    Column("zmap", pa.bool_(), "IPv4 id 54321 (legacy ZMap ≤ 4.0)", False),
    Column("masscan", pa.bool_(), "TCP SYN with ip_id == (dst ^ dport ^ seq) & 0xFFFF", False),
    Column("backscatter", pa.bool_(), "TCP SYN+ACK or RST; ICMP 0,3,4,5,11,12,14,16,18 (v6: 1,2,3,4,129);"
           " UDP from port 53", False),
    Column("ts_inferred", pa.bool_(), "the record carried no timestamp (pcapng simple packet block): ts is that"
           " of the previous packet on interface 0 in its section, else of the section's first timed packet,"
           " else the file's modification time", False),
)

#: Columns the enrichment and store stages add.
ENRICHED_COLUMNS: tuple[Column, ...] = (
    Column("country", pa.dictionary(pa.int32(), pa.string()), "source country, ISO 3166 alpha-2; null when unknown"),
    Column("asn", pa.uint32(), "source autonomous system number; null when unknown"),
    Column("sensor", pa.dictionary(pa.int32(), pa.string()), "sensor name from the catalog or --sensor; null when"
           " unknown"),
    Column("file_id", pa.uint32(), "id of the capture file in the store manifest", False),
)

PACKET_COLUMNS: tuple[Column, ...] = DECODED_COLUMNS + ENRICHED_COLUMNS

#: Records that could not be decoded, kept with the reason (nothing is lost).
QUARANTINE_COLUMNS: tuple[Column, ...] = (
    Column("file_id", pa.uint32(), "id of the capture file in the store manifest", False),
    Column("frame", pa.uint32(), "1-based record number; 0 for a damaged tail of the file", False),
    Column("offset", pa.uint64(), "byte offset of the record (or tail) in the decompressed file", False),
    Column("ts", pa.timestamp("us", tz="UTC"), "capture time when known"),
    Column("linktype", pa.uint16(), "link-layer type when known"),
    Column("reason", pa.string(), "why the record was not stored", False),
    Column("data", pa.binary(), "the raw record bytes", False),
)


#: Packets counted per UTC hour, port key, IP version, country and sensor: one roll-up per
#: capture file and UTC day, written at ingest next to the packets (``teiten.store.rollups``).
SLOT_COLUMNS: tuple[Column, ...] = (
    Column("slot", pa.int32(), "UTC hour: hours since 1970-01-01 00:00 UTC", False),
    Column("kc", pa.int32(), "port key as an integer: proto << 16 | port (or ICMP type), (256 + proto) << 16"
           " for N/OTHER, 0 for FRAG", False),
    Column("ip_version", pa.uint8(), "4 or 6", False),
    Column("country", pa.dictionary(pa.int32(), pa.string()), "source country; null when unknown"),
    Column("sensor", pa.dictionary(pa.int32(), pa.string()), "sensor name; null when unknown"),
    Column("packets", pa.int64(), "packets in the hour with these values", False),
)


def _schema(cols: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([c.field() for c in cols])


def decoded_schema() -> pa.Schema:
    return _schema(DECODED_COLUMNS)


def packet_schema() -> pa.Schema:
    return _schema(PACKET_COLUMNS)


def quarantine_schema() -> pa.Schema:
    return _schema(QUARANTINE_COLUMNS)


def rollup_schema() -> pa.Schema:
    return _schema(SLOT_COLUMNS)


def schema_markdown() -> str:
    """The column reference of docs/schema.md."""
    out = [
        "# Store schema",
        "",
        "Generated from `teiten/schema.py` by `python -m teiten.schema > docs/schema.md`;",
        "a test fails when this file and the code disagree.",
        "",
    ]
    for title, cols in (
        ("Packet columns (decoded)", DECODED_COLUMNS),
        ("Packet columns (enrichment and store)", ENRICHED_COLUMNS),
        ("Quarantine columns", QUARANTINE_COLUMNS),
        ("Hourly roll-up columns (slots/)", SLOT_COLUMNS),
    ):
        out += [f"## {title}", "", "| column | type | null | meaning |", "|---|---|---|---|"]
        for c in cols:
            out.append(f"| `{c.name}` | `{c.type}` | {'yes' if c.nullable else 'no'} | {c.doc} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(schema_markdown())
