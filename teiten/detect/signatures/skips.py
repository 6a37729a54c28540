"""Why a rule is skipped: :class:`RuleSkip` carries the reason, and the reasons for the
keywords, buffers and fields the store cannot answer (docs/detection.md lists them).
"""

from __future__ import annotations

__all__ = ["APP_REASON", "BUFFER_PREFIXES", "HTTP_REASON", "STATE_REASON", "STREAM_REASON", "UNSUPPORTED",
           "RuleSkip", "not_stored"]


class RuleSkip(Exception):
    """A rule the store cannot answer or the loader cannot read: its reason (no sid, no line:
    equal reasons are counted together)."""


HTTP_REASON = "HTTP buffers need stream reassembly and an HTTP parser"
APP_REASON = "application-layer buffers need stream reassembly and a protocol parser"
STATE_REASON = "flow state (flowbits, xbits, flowint, hostbits) is not kept"
STREAM_REASON = "stream reassembly is not kept"


def not_stored(kw: str, what: str) -> str:
    return f"{kw}: not stored: {what} (docs/schema.md)"


#: Keywords the store cannot answer, with the reason a rule using one is skipped.
UNSUPPORTED: dict[str, str] = {
    **{k: STATE_REASON for k in ("flowbits", "xbits", "flowint", "hostbits", "noalert")},
    **{k: STREAM_REASON for k in ("stream_size", "stream_reassemble", "replace")},
    **{k: HTTP_REASON for k in ("uricontent", "urilen", "http_uri", "http_raw_uri", "http_header", "http_raw_header",
                                "http_cookie", "http_raw_cookie", "http_method", "http_client_body", "http_server_body",
                                "http_stat_code", "http_stat_msg", "http_encode", "http_user_agent", "http_host",
                                "http_raw_host", "http_request_line", "http_response_line", "http_accept",
                                "http_accept_enc", "http_accept_lang", "http_referer", "http_connection",
                                "http_content_type", "http_content_len", "http_start", "http_protocol",
                                "http_header_names")},
    **{k: APP_REASON for k in ("file_data", "file.data", "base64_decode", "base64_data", "dce_iface", "dce_opnum",
                               "dce_stub_data", "ssl_version", "ssl_state", "tls_cert_subject", "tls_cert_issuer",
                               "tls.sni", "tls_sni", "dns_query", "dns.query", "sip_method", "sip_stat_code",
                               "sip_header", "sip_body", "ftpbounce", "smb.named_pipe", "asn1", "cvs",
                               "app-layer-protocol", "app-layer-event", "ja3.hash", "ja3_hash", "ja3s.hash",
                               "ssh_proto", "ssh.proto", "ssh.software", "modbus", "dnp3_func", "dnp3_ind", "dnp3_obj",
                               "dnp3_data", "gtp_type", "gtp_info", "gtp_version", "krb5_msg_type", "filename",
                               "fileext", "filemagic", "filestore", "filemd5", "filesha1", "filesha256", "filesize",
                               "luajit", "lua", "dataset", "datarep", "byte_extract", "byte_math", "rpc",
                               "decode-event", "stream-event")},
    "fragoffset": not_stored("fragoffset", "the fragment offset (only first/non-first: frag)"),
    "ipopts": not_stored("ipopts", "IP options"),
    "tos": not_stored("tos", "the IP TOS byte"),
    "ip.flags": "ip.flags: use fragbits",
    "tcp.flags": "tcp.flags: use flags",
    "endswith": "content endswith: the store keeps only the first payload bytes",
}
#: Option names that read an application-layer buffer.
BUFFER_PREFIXES = ("http.", "http_", "tls.", "tls_", "dns.", "dns_", "smb.", "ssh.", "file.", "krb5", "sip.", "ja3",
                   "snmp.", "ike.", "dhcp.", "mqtt.", "rfb.", "smtp.", "ftp", "dce_", "ssl_")

