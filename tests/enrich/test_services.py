from __future__ import annotations

import pyarrow as pa

from teiten.enrich.services import key_label, key_labels, service_name


def test_service_names() -> None:
    assert service_name(23, "tcp") == "telnet"
    assert service_name(445, "TCP") == "microsoft-ds"
    assert service_name(5060, "udp") == "sip"
    assert service_name(65000, "tcp") is None


def test_key_labels() -> None:
    assert key_label("23/TCP") == "23/TCP (telnet)"
    assert key_label("3389/TCP") == "3389/TCP (ms-wbt-server)"
    assert key_label("8/ICMP") == "8/ICMP (Echo Request)"
    assert key_label("128/ICMPv6") == "128/ICMPv6 (Echo Request)"
    assert key_label("47/OTHER") == "47/OTHER (GRE)"
    assert key_label("FRAG") == "FRAG (non-first fragment)"
    assert key_label("64999/TCP") == "64999/TCP"
    keys = pa.array(["23/TCP", None, "23/TCP", "8/ICMP"])
    labels = key_labels(keys).to_pylist()
    assert labels == ["23/TCP (telnet)", None, "23/TCP (telnet)", "8/ICMP (Echo Request)"]
