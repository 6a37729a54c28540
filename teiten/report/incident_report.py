"""The quarterly incident handling report (JPCERT/CC's incident report of 2017Q4): ``teiten incidents report``.

Built from :func:`teiten.incidents.stats.incident_stats`: table 1 (reports, incidents,
coordinations per month against the previous period), table 2 (categories), table 3
(phishing by brand origin), table 4 (scanned ports), the figures (twelve-month trends of
reports, coordinations and the main categories, category shares, coordination status,
phishing industries) and the sentences with the numbers, in Japanese or English.
Percentages in sentences are rounded half up from the exact counts.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from markupsafe import Markup

from teiten import __version__
from teiten.errors import SettingError
from teiten.incidents.taxonomy import CATEGORIES, category
from teiten.periods import Period
from teiten.report.document import TEMPLATES, check_out, write_document

__all__ = ["build_context", "change_sentence", "delta", "render", "whole_pct", "write_incident_report"]

_ORIGIN = {"ja": {"domestic": "国内ブランド", "foreign": "国外ブランド", "unknown": "ブランド不明"},
           "en": {"domestic": "Domestic brands", "foreign": "Foreign brands", "unknown": "Unknown brand"}}
_INDUSTRY = {"ja": {"ecommerce": "E コマース", "finance": "金融機関", "telecom": "通信事業者", "sns": "SNS",
                    "webmail": "Web メール", "other": "その他"},
             "en": {"ecommerce": "e-commerce", "finance": "financial institutions", "telecom": "telecom carriers",
                    "sns": "social networks", "webmail": "webmail", "other": "other"}}
_STATUS = {"ja": {"draft": "未送付", "sent": "依頼済み", "replied": "返信あり", "resolved": "対応完了",
                  "no_response": "返信なし", "failed": "送付失敗", "other": "その他"},
           "en": {"draft": "draft", "sent": "requested", "replied": "replied", "resolved": "resolved",
                  "no_response": "no response", "failed": "failed", "other": "other"}}


def whole_pct(now: int, before: int) -> int | None:
    """The change in whole percent, rounded half up from the exact ratio (4,530 against
    4,600: 2); None when there is nothing before."""
    if not before:
        return None
    return int((Decimal(abs(now - before)) * 100 / Decimal(before)).quantize(Decimal(1), ROUND_HALF_UP))


def _share(n: int, total: int) -> str:
    return str((Decimal(n) * 100 / Decimal(total)).quantize(Decimal("0.1"), ROUND_HALF_UP)) if total else "0.0"


def _n(x: int) -> str:
    return f"{x:,}"


def delta(now: int, before: int, lang: str) -> str:
    """``2%減少`` / ``down 2%``; ``横ばい`` / ``unchanged``; ``-`` when nothing is before."""
    pct = whole_pct(now, before)
    if pct is None:
        return "-"
    if now == before:
        return "横ばい" if lang == "ja" else "unchanged"
    if lang == "ja":
        return f"{pct}%{'増加' if now > before else '減少'}"
    return f"{'up' if now > before else 'down'} {pct}%"


def change_sentence(what_ja: str, what_en: str, now: int, before: int, lang: str, *, year: bool = False) -> str:
    """``報告件数は2%減少`` (``year``: ``報告件数で12%増加``) / ``reports were down 2%``."""
    d = delta(now, before, lang)
    if lang == "ja":
        return f"{what_ja}{'で' if year else 'は'}{d}"
    return f"{what_en} were {d}" if d != "-" else f"{what_en} have nothing to compare with"


def _month_label(m: str, lang: str) -> str:
    y, mo = int(m[:4]), int(m[5:])
    if lang == "ja":
        return f"{mo}月"
    return ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[mo - 1] + \
        (f" {y}" if mo == 1 else "")


def _cat_name(code: str, lang: str) -> str:
    c = category(code)
    return c.name_ja if lang == "ja" else c.name_en


def _charts(st: dict[str, Any], lang: str) -> dict[str, str]:
    from teiten.report.charts import monthly_chart, pie_chart

    tr = st["trend"]
    months = tr["months"]
    labels = [f"{m[:4]}/{m[5:]}" for m in months]
    ja = lang == "ja"
    out = {
        "fig_reports": monthly_chart(labels, {"報告件数" if ja else "reports": [tr["reports"][m] for m in months]},
                                     title="インシデント報告件数の推移" if ja else "Incident reports per month",
                                     ylabel="件" if ja else "reports"),
        "fig_coordinations": monthly_chart(
            labels, {"調整件数" if ja else "coordinations": [tr["coordinations"][m] for m in months]},
            title="インシデント調整件数の推移" if ja else "Coordinations per month",
            ylabel="件" if ja else "coordinations"),
    }
    for code in ("phishing", "defacement", "malware_site", "scan"):
        name = _cat_name(code, lang)
        out[f"fig_{code}"] = monthly_chart(labels, {name: [tr["categories"][code][m] for m in months]},
                                           title=f"{name}件数の推移" if ja else f"{name} incidents per month",
                                           ylabel="件" if ja else "incidents")
    cats = [(c.code, st["categories"][c.code]["total"]) for c in CATEGORIES if st["categories"][c.code]["total"]]
    total = sum(n for _, n in cats) or 1
    out["fig_categories"] = pie_chart([_cat_name(c, lang) for c, _ in cats], [n / total for _, n in cats],
                                      title="インシデントのカテゴリ別割合" if ja else "Incidents by category",
                                      other=_cat_name("other", lang))
    status = st["coordination_status"]
    if status:
        k = sum(status.values())
        out["fig_status"] = pie_chart([_STATUS[lang].get(s, s) for s in status], [n / k for n in status.values()],
                                      title="インシデントにおける調整・対応状況" if ja else "Coordination status",
                                      other="その他" if ja else "others")
    ind = st["phishing"]["industries"]
    if ind:
        out["fig_industries"] = pie_chart([_INDUSTRY[lang].get(k, k) for k in ind], [v / 100 for v in ind.values()],
                                          title="フィッシングサイトのブランド種別割合" if ja else
                                          "Phishing sites by industry of the brand", other=_INDUSTRY[lang]["other"])
    return out


def _port_name(port: str, lang: str) -> str:
    from teiten.enrich.services import service_name

    num, _, proto = port.partition("/")
    name = service_name(int(num), proto.upper()) if num.isdigit() else None
    return f"{name.upper()} ({num}/{proto.upper()})" if name else port


def build_context(st: dict[str, Any], period: Period, lang: str) -> dict[str, Any]:
    """The template's values: the tables of ``st`` (:func:`incident_stats`) with labels, the
    sentences and the charts."""
    if lang not in ("ja", "en"):
        raise SettingError(f"--lang must be ja or en, not {lang!r}")
    ja = lang == "ja"
    months = st["months"]
    r, i, c = st["reports"], st["incidents"], st["coordinations"]
    unit = "四半期" if period.kind == "quarter" else "月"
    prev_ja, prev_en = f"前{unit}", "the previous " + ("quarter" if period.kind == "quarter" else "month")
    s: dict[str, list[str]] = {}
    if ja:
        s["counts"] = [
            f"本{unit}に寄せられた報告件数は、{_n(r['total'])}件でした。このうち、国内外の関連するサイトとの調整を行った件数は"
            f"{_n(c['total'])}件でした。{prev_ja}と比較して、"
            f"{change_sentence('報告件数', '', r['total'], r['previous_total'], lang)}し、"
            f"{change_sentence('調整件数', '', c['total'], c['previous_total'], lang)}しました。"
            "また、前年同期と比較すると、"
            f"{change_sentence('報告件数', '', r['total'], r['year_ago_total'], lang, year=True)}し、"
            f"{change_sentence('調整件数', '', c['total'], c['year_ago_total'], lang)}しました。"]
    else:
        s["counts"] = [
            f"This {'quarter' if period.kind == 'quarter' else 'month'} {_n(r['total'])} reports were received, and "
            f"{_n(c['total'])} coordinations with the sites concerned at home and abroad were made. Compared with "
            f"{prev_en}, {change_sentence('', 'reports', r['total'], r['previous_total'], lang)} and "
            f"{change_sentence('', 'coordinations', c['total'], c['previous_total'], lang)}; compared with the same "
            f"period a year before, {change_sentence('', 'reports', r['total'], r['year_ago_total'], lang)} and "
            f"{change_sentence('', 'coordinations', c['total'], c['year_ago_total'], lang)}."]
    cats = st["categories"]
    # the two largest categories, "other" aside (JPCERT/CC's incident report of 2017Q4: scan 41.8 %, phishing 18.0 %)
    top2 = sorted((k for k in cats if cats[k]["total"] and k != "other"), key=lambda k: -cats[k]["total"])[:2]
    n_inc = i["total"]
    if ja:
        s["categories"] = ["本" + unit + "に発生したインシデントにおける各カテゴリの割合は、"
                           + "、".join(f"{_cat_name(k, lang)}が {_share(cats[k]['total'], n_inc)}%" for k in top2)
                           + "を占めています。"] if top2 else []
    else:
        s["categories"] = ["Of the incidents, " + " and ".join(
            f"{_cat_name(k, lang).lower()} made up {_share(cats[k]['total'], n_inc)}%" for k in top2) + "."] \
            if top2 else []

    def cat_sentence(code: str) -> str:
        x = cats[code]
        name = _cat_name(code, lang)
        if ja:
            return (f"本{unit}に報告が寄せられた{name}の件数は、{_n(x['total'])} 件でした。{prev_ja}の "
                    f"{_n(x['previous_total'])} 件から {delta(x['total'], x['previous_total'], lang)}しています。")
        return (f"{_n(x['total'])} {name.lower()} incidents were reported, against {_n(x['previous_total'])} in "
                f"{prev_en} ({delta(x['total'], x['previous_total'], lang)}).")

    ph = st["phishing"]
    phc = cats["phishing"]
    bo = ph["brand_origin"]
    if ja:
        s["phishing"] = [
            f"本{unit}に報告が寄せられたフィッシングサイトの件数は {_n(phc['total'])} 件で、{prev_ja}の "
            f"{_n(phc['previous_total'])} 件から {delta(phc['total'], phc['previous_total'], lang)}"
            f"しました。また、前年度同期（{_n(phc['year_ago_total'])} 件）との比較では、"
            f"{delta(phc['total'], phc['year_ago_total'], lang).replace('%', '%の')}となりました。"
            if phc["year_ago_total"] else "",
            f"国内のブランドを装ったフィッシングサイトの件数は {_n(bo['domestic']['total'])} 件となり、{prev_ja}の "
            f"{_n(bo['domestic']['previous_total'])} 件から"
            f" {delta(bo['domestic']['total'], bo['domestic']['previous_total'], lang)}しました。"
            "また、国外のブランドを装ったフィッシングサイトの件数は "
            f"{_n(bo['foreign']['total'])} 件となり、{prev_ja}の "
            f"{_n(bo['foreign']['previous_total'])} 件から"
            f" {delta(bo['foreign']['total'], bo['foreign']['previous_total'], lang)}しました。",
        ]
        if ph["industries"]:
            top = list(ph["industries"].items())[:3]
            s["phishing"].append("報告を受けたフィッシングサイトの内訳は、" + "、".join(
                f"{_INDUSTRY['ja'].get(k, k)}のサイトを装ったものが {v:.1f}%" for k, v in top) + "でした。")
        co = ph["coordination"]
        if co["coordinations"]:
            prev = co["previous"]
            s["phishing"].append(
                f"フィッシングサイトの調整先の割合は、国内が {_whole(co['domestic_pct'])}%、国外が "
                f"{_whole(co['foreign_pct'])}%であり"
                + (f"、{prev_ja}（国内 {_whole(prev['domestic_pct'])}%、国外 {_whole(prev['foreign_pct'])}%）に比べ、"
                   + ("国内への調整の割合が増加しています。" if co["domestic_pct"] > prev["domestic_pct"] else
                      "国内への調整の割合が減少しています。" if co["domestic_pct"] < prev["domestic_pct"] else
                      "割合は変わりません。") if prev["coordinations"] else "でした。"))
    else:
        s["phishing"] = [
            f"{_n(phc['total'])} phishing sites were reported, against {_n(phc['previous_total'])} in {prev_en}"
            + (f" and {_n(phc['year_ago_total'])} a year before." if phc["year_ago_total"] else "."),
            f"Sites imitating domestic brands numbered {_n(bo['domestic']['total'])} "
            f"({_n(bo['domestic']['previous_total'])} in {prev_en}); foreign brands {_n(bo['foreign']['total'])} "
            f"({_n(bo['foreign']['previous_total'])}).",
        ]
        if ph["industries"]:
            top = list(ph["industries"].items())[:3]
            s["phishing"].append("By the industry of the brand imitated: " + ", ".join(
                f"{_INDUSTRY['en'].get(k, k)} {v:.1f}%" for k, v in top) + ".")
        co = ph["coordination"]
        if co["coordinations"]:
            s["phishing"].append(f"Coordinations about phishing sites went {_whole(co['domestic_pct'])}% to domestic "
                                 f"and {_whole(co['foreign_pct'])}% to foreign parties.")
    s["phishing"] = [x for x in s["phishing"] if x]
    for code in ("defacement", "targeted", "malware_site", "scan", "other"):
        s[code] = [cat_sentence(code)]
    ports = [p for p in st["scan_ports"] if p["port"] not in ("other", "total") and p["total"]][:3]
    if ports:
        names = [_port_name(p["port"], lang) for p in ports]
        s["scan"].append(("頻繁にスキャンの対象となったポートは、" + "、".join(names) + "でした。") if ja else
                         ("The ports scanned most often were " + ", ".join(names) + "."))
    return {
        "lang": lang, "period": period.to_json(), "st": st, "months": months,
        "month_labels": [_month_label(m, lang) for m in months], "s": s,
        "categories": [{"code": c.code, "name": c.name_ja if ja else c.name_en, "definition": c.definition_ja,
                        "rsit": f"{c.rsit_taxonomy} / {c.rsit_type}"} for c in CATEGORIES],
        "origins": [(o, _ORIGIN[lang][o]) for o in ("domestic", "foreign", "unknown")],
        "title": _title(period, lang), "version": __version__,
        "charts": {k: Markup(v) for k, v in _charts(st, lang).items()},  # our own SVG
    }


def _whole(pct: float) -> int:
    return int(Decimal(str(pct)).quantize(Decimal(1), ROUND_HALF_UP))


def _title(p: Period, lang: str) -> str:
    a, b = p.first, p.last
    if lang == "ja":
        return f"インシデント報告対応レポート [{a.year}年{a.month}月{a.day}日～{b.year}年{b.month}月{b.day}日]"
    return f"Incident Handling Report [{a:%B} {a.day}, {a.year} – {b:%B} {b.day}, {b.year}]"


def render(ctx: dict[str, Any]) -> str:
    return TEMPLATES.get_template("incidents.html.j2").render(**ctx)


def write_incident_report(st: dict[str, Any], period: Period, out: Path, lang: str = "ja") -> Path:
    """The report as HTML or PDF (by ``out``'s suffix), written whole or not at all."""
    check_out(out)
    return write_document(render(build_context(st, period, lang)), out)
