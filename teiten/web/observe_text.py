"""The observation pages' words, in Japanese and English (``texts(lang)``), and how their
numbers are written (the reports' forms: teiten.report.tables)."""

from __future__ import annotations

from typing import Any

from teiten.report.tables import format_change, format_delta, format_rank, format_value

__all__ = ["TEXTS", "texts"]

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "observe": "Observation", "overview": "Overview", "ports": "Ports", "regions": "Regions",
        "findings": "Findings", "sensors": "Sensors", "map": "Map", "compare": "Compare", "reports": "Reports",
        "incidents": "Incidents", "period": "Period", "from": "From", "to": "To", "tz": "Time zone",
        "group": "Sensor group", "kind": "Sensor kind", "all": "all", "passive": "passive",
        "responder": "responder", "ip": "IP version", "both": "both", "show": "Show", "language": "日本語",
        "compared_with": "compared with", "per_ip_day": "packets per day per sensor address",
        "packets": "packets", "rank": "Rank", "prev_rank": "Previous rank", "key": "Port",
        "region": "Region", "value": "Per day per address", "prev_value": "Previous", "delta": "Δ",
        "change": "Change", "share": "Share", "rise": "rise", "fall": "fall", "data_table": "Data table",
        "top_ports": "Top 10 destination ports", "top_regions": "Top 10 source regions",
        "daily_top": "Daily packets per address of the top ports", "day": "day",
        "hour": "hour of day", "no_findings": "Nothing notable in this period.",
        "findings_pending": "Running the detectors over the period…",
        "findings_failed": "The findings could not be read: see the findings page.",
        "tables_pending": "Counting the sources, TTLs and ASes of these packets…",
        "tables_failed": "The tables could not be read: reload the page.", "distinct_sources": "distinct sources",
        "all_findings": "All findings",
        "address_days": "address-days", "as_of": "data as of", "download": "Download",
        "totals": "Total packets per day per address", "this_period": "this period",
        "prev_period": "previous period", "ma7": "7-day mean", "by_country": "by source country",
        "source_ports": "Source ports", "ttl": "TTL", "fingerprints": "Fingerprinted tools",
        "heatmap": "Packets by hour and day", "top_sources": "Top sources", "asns": "Top ASes",
        "initial_ttl": "Initial TTL", "sources": "Sources", "as_name": "Name",
        "samples": "Sample packets", "pcap": "Evidence packets (pcap)", "state": "State",
        "no_store": "No store is configured for this server (teiten serve --store).",
        "sign_in": "Sign in", "world": "Packets per day per address by source country",
        "outage_note": "Shaded: days (on the heatmap, hours) in which a sensor recorded no packet at all: an"
                       " outage, not a fall in scanning.",
        "quiet_hour": "no packet from a sensor",
    },
    "ja": {
        "observe": "定点観測", "overview": "概要", "ports": "ポート", "regions": "地域",
        "findings": "注目事象", "sensors": "センサー", "map": "地図", "compare": "比較", "reports": "報告書",
        "incidents": "インシデント", "period": "期間", "from": "開始日", "to": "終了日", "tz": "タイムゾーン",
        "group": "センサー群", "kind": "センサー種別", "all": "すべて", "passive": "受動型",
        "responder": "応答型", "ip": "IPバージョン", "both": "両方", "show": "表示", "language": "English",
        "compared_with": "比較対象", "per_ip_day": "一日・1IP当たりのパケット数",
        "packets": "パケット数", "rank": "順位", "prev_rank": "前期順位", "key": "ポート",
        "region": "地域", "value": "一日・1IP当たり", "prev_value": "前期", "delta": "増減",
        "change": "増減率", "share": "割合", "rise": "増加", "fall": "減少", "data_table": "データ表",
        "top_ports": "宛先ポート上位10", "top_regions": "送信元地域上位10",
        "daily_top": "上位ポートの一日・1IP当たりのパケット数の推移", "day": "日",
        "hour": "時", "no_findings": "この期間に注目事象はありません。",
        "findings_pending": "期間の注目事象を検出しています…",
        "findings_failed": "注目事象を読み込めませんでした。注目事象のページをご覧ください。",
        "tables_pending": "送信元・TTL・ASを集計しています…",
        "tables_failed": "表を読み込めませんでした。ページを再読み込みしてください。",
        "distinct_sources": "送信元（重複なし）",
        "all_findings": "すべての注目事象",
        "address_days": "アドレス日", "as_of": "データ時点", "download": "ダウンロード",
        "totals": "一日・1IP当たりの総パケット数", "this_period": "今期",
        "prev_period": "前期", "ma7": "7日移動平均", "by_country": "送信元国別",
        "source_ports": "送信元ポート", "ttl": "TTL", "fingerprints": "ツールの特徴を持つパケット",
        "heatmap": "時間帯・日別のパケット数", "top_sources": "上位送信元", "asns": "上位AS",
        "initial_ttl": "初期TTL", "sources": "送信元数", "as_name": "名称",
        "samples": "パケットの例", "pcap": "根拠パケット (pcap)", "state": "状態",
        "no_store": "このサーバーにはストアが設定されていません (teiten serve --store)。",
        "sign_in": "ログイン", "world": "送信元国別の一日・1IP当たりのパケット数",
        "outage_note": "網掛け: センサーがパケットを一つも記録しなかった時間を含む日 (ヒートマップでは時間)。"
                       "障害であり、スキャンの減少ではない。",
        "quiet_hour": "センサー無記録",
    },
}


def texts(lang: str) -> dict[str, Any]:
    """The words of ``lang`` and the number formatters bound to it."""
    t: dict[str, Any] = dict(TEXTS["ja" if lang == "ja" else "en"])
    t.update(value_of=lambda v: format_value(v, lang), rank_of=lambda r, v: format_rank(r, v, lang),
             change_of=lambda pct: format_change(pct, lang), delta_of=lambda d: format_delta(d, lang))
    return t
