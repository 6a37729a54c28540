"""The words of the reports, in Japanese and English."""

from __future__ import annotations

from teiten.periods import Period

__all__ = ["WORDS", "period_title", "words"]

WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "tsubame_title": "インターネット定点観測レポート", "npa_title": "インターネット定点観測 観測報告",
        "overview": "概況", "summary": "概説", "top_ports": "宛先ポート番号別パケット観測数 トップ{n}",
        "top_regions": "送信元地域別パケット観測数 トップ{n}", "rank": "順位", "prev_rank": "前期順位",
        "port": "宛先ポート番号", "region": "送信元地域", "count": "件数", "per_ip_day": "一日・1IP当たり件数",
        "change": "前期比", "rise_rank": "増加順位", "fall_rank": "減少順位", "now": "今期", "before": "前期",
        "daily_ports": "宛先ポート番号別パケット観測数の推移（トップ{n}）",
        "daily_regions": "送信元地域別パケット観測数の推移（トップ{n}）",
        "ma7": "7日移動平均（破線）", "notable": "注目された現象", "by_port": "宛先ポート別",
        "by_region": "発信元国・地域別", "table_ports": "表 {n} 宛先ポート検知件数",
        "table_regions": "表 {n} 国／地域別検知件数", "pie_world": "世界の宛先ポート比率",
        "pie_home": "{name}の宛先ポート比率", "region_mix": "宛先ポートの国別比率",
        "port_mix": "発信元国・地域別上位のポート別比率", "pie_regions": "発信元国・地域別比率",
        "compare_top": "国／地域別検知件数の前期との比較（上位{n}か国・地域）",
        "monthly": "長期推移（月別、一日・1IP当たり）", "method": "集計方法", "other": "その他",
        "observation": "観測の条件", "period": "期間", "sensors": "センサー", "geo": "地域・AS情報",
        "generated": "作成", "omitted": "前期比を記載していない行：", "rounding":
        "比率は小数点第二位で四捨五入しているため、合計が100%にならないことがある。",
        "trend_port": "宛先ポート {key} に対するアクセスの推移（発信元国・地域別）",
        "trend_region": "{name}からのアクセスの推移（宛先ポート別）",
        "unit": "件", "addresses": "アドレス", "group": "センサーグループ", "nothing": "特記事項なし",
        "phenomena": "注目された現象", "sources_day": "発信元アドレス数", "signatures": "シグネチャによる検知",
        "table_classes": "表 {n} 分類別検知件数", "table_sig_regions": "表 {n} 国／地域別検知件数（シグネチャ）",
        "class": "分類", "top_sigs": "{cls}の主なシグネチャ", "alerts": "件",
        "no_signatures": "シグネチャによる検知はなかった。",
    },
    "en": {
        "tsubame_title": "Internet Fixed-Point Observation Report", "npa_title": "Internet Fixed-Point Observation",
        "overview": "Overview", "summary": "Summary", "top_ports": "Top {n} destination ports",
        "top_regions": "Top {n} source regions", "rank": "Rank", "prev_rank": "Previous rank",
        "port": "Destination port", "region": "Source region", "count": "Count",
        "per_ip_day": "Per day per IP address", "change": "Change", "rise_rank": "Rise rank",
        "fall_rank": "Fall rank", "now": "This period", "before": "Previous period",
        "daily_ports": "Daily packets per IP address, top {n} destination ports",
        "daily_regions": "Daily packets per IP address, top {n} source regions",
        "ma7": "7-day moving average (dashed)", "notable": "Notable changes", "by_port": "By destination port",
        "by_region": "By source region", "table_ports": "Table {n}: packets by destination port",
        "table_regions": "Table {n}: packets by source region", "pie_world": "Destination ports, all sources",
        "pie_home": "Destination ports, sources in {name}", "region_mix": "Source regions of the top ports",
        "port_mix": "Destination ports of the top regions", "pie_regions": "Source regions",
        "compare_top": "Top {n} source regions against the previous period",
        "monthly": "Long-term trend (monthly, per day per IP address)", "method": "How the figures are made",
        "other": "other", "observation": "Observation", "period": "Period", "sensors": "Sensors",
        "geo": "Region and AS data", "generated": "Generated", "omitted": "Rows without a change ratio: ",
        "rounding": "Shares are rounded to one decimal and may not add up to 100 %.",
        "trend_port": "Daily packets to {key} by source region",
        "trend_region": "Daily packets from {name} by destination port",
        "unit": "", "addresses": "addresses", "group": "Sensor group", "nothing": "Nothing notable.",
        "phenomena": "Notable phenomena", "sources_day": "Distinct sources", "signatures": "Signature alerts",
        "table_classes": "Table {n}: alerts by class", "table_sig_regions": "Table {n}: alerts by source region",
        "class": "Class", "top_sigs": "Top signatures: {cls}", "alerts": "alerts",
        "no_signatures": "No signature alerted.",
    },
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def words(lang: str) -> dict[str, str]:
    return WORDS["ja" if lang == "ja" else "en"]


def period_title(p: Period, lang: str) -> str:
    """``2017年7月～9月`` / ``Jul–Sep 2017``; a month ``2009年7月期`` / ``July 2009``."""
    a, b = p.first, p.last
    if lang == "ja":
        if p.kind == "month":
            return f"{a.year}年{a.month}月期"
        if p.kind == "quarter":
            return f"{a.year}年{a.month}月～{b.month}月"
        return f"{a.isoformat()}～{b.isoformat()}"
    if p.kind == "month":
        return a.strftime("%B %Y")
    if p.kind == "quarter":
        return f"{_MONTHS_EN[a.month - 1]}–{_MONTHS_EN[b.month - 1]} {a.year}"
    return f"{a.isoformat()} – {b.isoformat()}"
