from __future__ import annotations

import pytest

from teiten.enrich.names import country_name


@pytest.mark.parametrize(("code", "ja", "en"), [
    ("US", "米国", "United States"), ("GB", "英国", "United Kingdom"), ("CN", "中国", "China"),
    ("KR", "韓国", "South Korea"), ("TW", "台湾", "Taiwan"), ("HK", "香港", "Hong Kong"),
    ("RU", "ロシア", "Russia"), ("IN", "インド", "India"), ("NL", "オランダ", "Netherlands"),
    ("BR", "ブラジル", "Brazil"), ("JP", "日本", "Japan"), ("DE", "ドイツ", "Germany"),
])
def test_report_names(code: str, ja: str, en: str) -> None:
    assert country_name(code) == ja
    assert country_name(code, "en") == en


def test_every_iso_code_and_fallbacks() -> None:
    assert country_name("ZW") == "ジンバブエ"
    assert country_name("jp") == "日本"
    assert country_name("ZZ") == "ZZ"
    assert country_name(None) == "不明" and country_name("", "en") == "Unknown"
    with pytest.raises(ValueError):
        country_name("JP", "fr")
