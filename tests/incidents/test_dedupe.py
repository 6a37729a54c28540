"""One form per target: defanged, cased and default-ported variants of a site are one."""

from __future__ import annotations

import pytest

from teiten.incidents.dedupe import classify, normalise, refang


@pytest.mark.parametrize(("given", "kind", "want"), [
    ("hxxp://example[.]com/a", "url", "http://example.com/a"),
    ("hxxps://Shop.Example:443/login?x=1#frag", "url", "https://shop.example/login?x=1"),
    ("http://EXAMPLE.com.:8080", "url", "http://example.com:8080/"),
    ("https://[2001:DB8::1]/x", "url", "https://[2001:db8::1]/x"),
    ("http://例え.jp/", "url", "http://xn--r8jz45g.jp/"),
    ("Example(.)ORG.", "domain", "example.org"),
    ("192.0.2[.]1", "ip", "192.0.2.1"),
    ("2001:0DB8:0::1", "ip", "2001:db8::1"),
    ("198.51.100.0/24", "ip", "198.51.100.0/24"),
])
def test_normalise(given: str, kind: str, want: str) -> None:
    assert classify(given) == kind
    assert normalise(given) == want


def test_refang_leaves_plain_text_alone() -> None:
    assert refang(" https://a.example/p ") == "https://a.example/p"
    assert refang("user[at]example[.]com") == "user@example.com"
