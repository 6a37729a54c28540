"""Incident categories (JPCERT/CC's incident report of 2017Q4, appendix 1), their names in Japanese and English, and the
class and type of the Reference Security Incident Taxonomy (RSIT) each maps to."""

from __future__ import annotations

from dataclasses import dataclass

from teiten.errors import SettingError

__all__ = [
    "BRAND_ORIGINS",
    "CATEGORIES",
    "CHANNELS",
    "COORDINATION_STATES",
    "COORDINATION_STATUSES",
    "INCIDENT_STATUSES",
    "OTHER_STATE",
    "Category",
    "category",
    "check_choice",
]


@dataclass(frozen=True)
class Category:
    code: str
    name_ja: str
    name_en: str
    rsit_taxonomy: str  # RSIT class (IntelMQ classification.taxonomy)
    rsit_type: str  # RSIT type (IntelMQ classification.type)
    definition_ja: str


#: In the 2017Q4 incident report's order (table 2).
CATEGORIES: tuple[Category, ...] = (
    Category("phishing", "フィッシングサイト", "Phishing site", "fraud", "phishing",
             "サービス事業者の正規サイトを装い、利用者のIDやパスワード、クレジットカード番号等の情報を"
             "だまし取るフィッシング詐欺に使用されるサイト"),
    Category("defacement", "Web サイト改ざん", "Website defacement", "information-content-security",
             "unauthorised-information-modification",
             "攻撃者もしくはマルウェアによって、Web サイトのコンテンツが書き換えられたサイト"),
    Category("malware_site", "マルウェアサイト", "Malware site", "malicious-code", "malware-distribution",
             "閲覧することで PC がマルウェアに感染してしまう攻撃用サイトや、"
             "攻撃に使用するマルウェアを公開しているサイト"),
    Category("scan", "スキャン", "Scan", "information-gathering", "scanner",
             "システムの存在確認や弱点探索のために攻撃者によって行われるアクセス"
             "（システムへの影響がないもの）"),
    Category("dos", "DoS/DDoS", "DoS/DDoS", "availability", "dos",
             "ネットワークリソースに対して、サービスを提供できないようにする攻撃"),
    Category("ics", "制御システム関連", "ICS-related", "vulnerable", "vulnerable-system",
             "制御システムや各種プラントが関連するインシデント"),
    Category("targeted", "標的型攻撃", "Targeted attack", "intrusion-attempts", "exploit",
             "特定の組織、企業、業種などを標的として、マルウェア感染や情報の窃取などを試みる攻撃"),
    Category("other", "その他", "Other", "other", "other", "上記以外のインシデント"),
)
_BY_CODE = {c.code: c for c in CATEGORIES}

CHANNELS = ("web", "email", "fax", "api")
BRAND_ORIGINS = ("domestic", "foreign", "unknown")
INCIDENT_STATUSES = ("proposed", "new", "coordinating", "resolved", "closed")  # proposed: awaits a handler
#: The states a handler sets (the web form's choices).
COORDINATION_STATUSES = ("draft", "sent", "replied", "resolved", "no_response", "failed")
#: An imported word no mapping knows (``teiten.incidents.status_words``); the word is kept.
OTHER_STATE = "other"
#: Every state a coordination can be in: what is stored, shown and filtered.
COORDINATION_STATES = (*COORDINATION_STATUSES, OTHER_STATE)


def category(code: str) -> Category:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise SettingError(f"unknown incident category {code!r} (one of {', '.join(_BY_CODE)})") from None


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingError(f"{what} must be one of {', '.join(choices)}, not {value!r}")
    return value
