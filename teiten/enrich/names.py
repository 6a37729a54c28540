"""Country names in Japanese and English, as Japanese CSIRT reports write them.

``teiten/data/countries.tsv`` (code, name_en, name_ja) covers every ISO 3166-1
alpha-2 code plus the registry codes seen in geo data (EU, AP, XK).  It was generated
once from pycountry's ISO 3166-1 data and Japanese translations (iso-codes project)
with the short forms of JPCERT/CC and NPA reports applied (:data:`SHORT_JA`); run
``python -m teiten.enrich.names --regenerate`` with pycountry importable to redo it.
pycountry is not needed at run time.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

__all__ = ["SHORT_EN", "SHORT_JA", "country_name", "regenerate"]

DATA = Path(__file__).resolve().parent.parent / "data" / "countries.tsv"

#: Short Japanese forms used by JPCERT/CC and NPA (警察庁) reports.
SHORT_JA: dict[str, str] = {
    "US": "米国", "GB": "英国", "CN": "中国", "KR": "韓国", "KP": "北朝鮮", "TW": "台湾", "HK": "香港",
    "MO": "マカオ", "RU": "ロシア", "IR": "イラン", "VN": "ベトナム", "SY": "シリア", "LA": "ラオス",
    "MD": "モルドバ", "TZ": "タンザニア", "VE": "ベネズエラ", "BO": "ボリビア", "CZ": "チェコ",
    "MK": "北マケドニア", "PS": "パレスチナ", "FM": "ミクロネシア", "CD": "コンゴ民主共和国",
    "CG": "コンゴ共和国", "DO": "ドミニカ共和国", "NL": "オランダ", "DE": "ドイツ", "FR": "フランス",
    "IN": "インド", "BR": "ブラジル", "JP": "日本", "AE": "アラブ首長国連邦", "SA": "サウジアラビア",
    "VA": "バチカン", "BN": "ブルネイ", "CI": "コートジボワール", "TR": "トルコ", "ZA": "南アフリカ",
    "EU": "欧州連合", "AP": "アジア太平洋地域", "XK": "コソボ",
}
#: English short forms where ISO's official name is long ("Korea, Republic of").
SHORT_EN: dict[str, str] = {
    "US": "United States", "GB": "United Kingdom", "KR": "South Korea", "KP": "North Korea",
    "TW": "Taiwan", "RU": "Russia", "IR": "Iran", "VN": "Vietnam", "SY": "Syria", "LA": "Laos",
    "MD": "Moldova", "TZ": "Tanzania", "VE": "Venezuela", "BO": "Bolivia", "CZ": "Czechia",
    "PS": "Palestine", "FM": "Micronesia", "CD": "DR Congo", "CG": "Congo", "VA": "Vatican City",
    "BN": "Brunei", "TR": "Türkiye", "EU": "European Union", "AP": "Asia/Pacific Region", "XK": "Kosovo",
}
_UNKNOWN = {"ja": "不明", "en": "Unknown"}


@functools.cache
def _table() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, en, ja = line.split("\t")
            out[code] = (en, ja)
    return out


def country_name(code: str | None, lang: str = "ja") -> str:
    """Name of an ISO 3166-1 alpha-2 ``code`` in ``lang`` ("ja" or "en").

    An unknown code comes back as itself; None or "" as 不明 / Unknown.
    """
    if lang not in _UNKNOWN:
        raise ValueError(f"lang must be 'ja' or 'en', not {lang!r}")
    if not code:
        return _UNKNOWN[lang]
    names = _table().get(code.upper())
    if names is None:
        return code
    return names[1] if lang == "ja" else names[0]


def regenerate(dest: Path = DATA) -> int:  # pragma: no cover - needs pycountry
    """Rewrite ``dest`` from pycountry (generation time only); rows written."""
    import gettext

    import pycountry

    ja = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ja"])
    rows: dict[str, tuple[str, str]] = {}
    for c in pycountry.countries:
        en = SHORT_EN.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
        name_ja = re.sub(r"\s*\(.*\)$", "", ja.gettext(c.name))
        rows[c.alpha_2] = (en, SHORT_JA.get(c.alpha_2, name_ja))
    for code in ("EU", "AP", "XK"):
        rows[code] = (SHORT_EN[code], SHORT_JA[code])
    version = getattr(pycountry, "__version__", "")
    header = (f"# code\tname_en\tname_ja; generated from pycountry {version}"
              " (ISO 3166-1 and its Japanese translation from the iso-codes project) with the short forms of"
              " teiten.enrich.names.SHORT_JA/SHORT_EN, by `python -m teiten.enrich.names --regenerate`")
    dest.write_text("\n".join([header] + [f"{k}\t{v[0]}\t{v[1]}" for k, v in sorted(rows.items())]) + "\n",
                    encoding="utf-8")
    _table.cache_clear()
    return len(rows)


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--regenerate"]:
        print(f"wrote {regenerate()} rows to {DATA}")
    else:
        sys.exit("usage: python -m teiten.enrich.names --regenerate   (needs pycountry importable)")
