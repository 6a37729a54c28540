"""A data set of incident reports whose statistics are those of the JPCERT/CC
incident response report 2017Q4 (October–December 2017):
tables 1–4 and the shares in its text, with the previous quarter (2017Q3), the same quarter
a year before (2016Q4) and the two quarters between them for the twelve-month trends.

``seed004_reports()`` returns the reports as the lines of ``teiten incidents import``
(dicts; ``write_jsonl`` writes them). Each month's reports are received in it in
Asia/Tokyo; the first of every month at 00:30 JST, which is the month before in UTC. Some
reports name an incident of the month before again (by its ref): it counts once, in its
first month. The counts are fixed; which report, time and target is random (``seed``).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["CATEGORY_ORDER", "MONTHS", "SCAN_PORTS_Q4", "SEED004", "seed004_reports", "write_jsonl"]

TZ = "Asia/Tokyo"
CATEGORY_ORDER = ("phishing", "defacement", "malware_site", "scan", "dos", "ics", "targeted", "other")

#: The figures of the JPCERT/CC incident response report 2017Q4: tables 1–3 by month, and the
#: totals its text compares with.
SEED004: dict[str, Any] = {
    "reports": {"2017-10": 1460, "2017-11": 1596, "2017-12": 1474, "previous_total": 4600},
    "incidents": {"2017-10": 1522, "2017-11": 1710, "2017-12": 1503, "previous_total": 4811},
    "coordinations": {"2017-10": 621, "2017-11": 576, "2017-12": 704, "previous_total": 2234},
    # table 2: category → (October, November, December, previous quarter's total)
    "categories": {"phishing": (265, 301, 286, 1011), "defacement": (111, 69, 96, 254),
                   "malware_site": (26, 28, 34, 98), "scan": (668, 687, 624, 2554), "dos": (6, 2, 0, 7),
                   "ics": (9, 12, 12, 13), "targeted": (5, 4, 0, 7), "other": (432, 607, 451, 867)},
    # table 3: brand origin → (October, November, December); previous quarter 173 / 686 / 152
    "brand_origin": {"domestic": (42, 32, 43), "foreign": (192, 216, 191), "unknown": (31, 53, 52)},
    "brand_origin_previous": {"domestic": 173, "foreign": 686, "unknown": 152},
    # figure 9 over the 716 phishing sites whose brand is known: 55.7 %, 18.0 %, 8.8 %
    "industries": {"ecommerce": 399, "finance": 129, "telecom": 63, "sns": 52, "webmail": 41, "other": 32},
    # phishing coordinations: domestic share this quarter and the previous one
    "phishing_domestic_pct": (25, 24),
    # the text's year-ago totals: reports +12 % (4,045), coordinations −34 % (2,880), phishing 521
    "year_ago": {"reports": 4045, "coordinations": 2880, "phishing": 521},
}

#: Table 4: port → (October, November, December); ``other`` is many ports seen at most twice.
SCAN_PORTS_Q4: dict[str, tuple[int, int, int]] = {
    "22/tcp": (457, 458, 333), "25/tcp": (91, 101, 109), "80/tcp": (32, 54, 30), "23/tcp": (12, 19, 54),
    "21/tcp": (9, 10, 26), "2323/tcp": (1, 6, 24), "445/tcp": (7, 2, 16), "443/tcp": (3, 4, 11),
    "3389/tcp": (6, 2, 5), "53/udp": (9, 0, 1), "2222/tcp": (7, 0, 1), "9000/tcp": (5, 1, 1),
    "4752/udp": (1, 2, 3), "110/tcp": (2, 3, 1), "81/tcp": (2, 1, 1), "52869/tcp": (0, 0, 4),
    "143/tcp": (1, 1, 2), "123/udp": (0, 4, 0), "26551/udp": (3, 0, 0), "1433/tcp": (1, 1, 1),
    "other": (580, 298, 581),
}

Q4 = ("2017-10", "2017-11", "2017-12")


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _plan() -> dict[str, dict[str, Any]]:
    """Per month: reports, incidents per category, coordinations."""
    s = SEED004
    plan: dict[str, dict[str, Any]] = {}
    for i, m in enumerate(Q4):
        plan[m] = {"reports": s["reports"][m], "coordinations": s["coordinations"][m],
                   "categories": {c: s["categories"][c][i] for c in CATEGORY_ORDER}}
    q3 = ("2017-07", "2017-08", "2017-09")
    for c in CATEGORY_ORDER:
        for m, n in zip(q3, _split(s["categories"][c][3], 3), strict=True):
            plan.setdefault(m, {"categories": {}})["categories"][c] = n
    for m, r, k in zip(q3, _split(s["reports"]["previous_total"], 3), _split(s["coordinations"]["previous_total"], 3),
                       strict=True):
        plan[m].update(reports=r, coordinations=k)
    # the year before, and the two quarters between (for the trends): numbers of our own
    others = {"phishing": 521, "defacement": 300, "malware_site": 90, "scan": 2100, "dos": 10, "ics": 12,
              "targeted": 8, "other": 1100}
    quarters = {("2016-10", "2016-11", "2016-12"): (s["year_ago"]["reports"], s["year_ago"]["coordinations"], 1.0),
                ("2017-01", "2017-02", "2017-03"): (4210, 2500, 1.05),
                ("2017-04", "2017-05", "2017-06"): (4390, 2300, 1.1)}
    for months, (reports, coords, f) in quarters.items():
        for c, n in others.items():
            for m, k in zip(months, _split(round(n * f), 3), strict=True):
                plan.setdefault(m, {"categories": {}})["categories"][c] = k
        for m, r, k in zip(months, _split(reports, 3), _split(coords, 3), strict=True):
            plan[m].update(reports=r, coordinations=k)
    return dict(sorted(plan.items()))


MONTHS = tuple(_plan())


def _month_bounds(m: str) -> tuple[datetime, datetime]:
    y, mo = int(m[:4]), int(m[5:])
    z = ZoneInfo(TZ)
    start = datetime(y, mo, 1, tzinfo=z)
    end = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=z)
    return start, end


def _iso(t: datetime) -> str:
    return t.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def _targets(rng: random.Random, cat: str, n: int) -> list[str]:
    host = f"site{n}.example{rng.randrange(100)}.jp"
    if cat in ("phishing", "defacement", "malware_site"):
        return [rng.choice([f"hxxp://{host.replace('.', '[.]')}/login", f"https://{host}/index.html"])]
    return [f"192.0.2.{n % 250 + 1}" if n % 2 else f"198.51.100.{n % 250 + 1}"]


def seed004_reports(seed: int = 4, months: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The reports (see the module docstring), in the order received; ``months``: only
    those months (``YYYY-MM``) of :data:`MONTHS` (a month after one left out has no
    re-reports)."""
    rng = random.Random(seed)
    plan = _plan()
    lines: list[dict[str, Any]] = []
    previous: list[dict[str, Any]] = []  # the incidents of the month before (for re-reports)
    industries = [k for k, n in SEED004["industries"].items() for _ in range(n)]
    rng.shuffle(industries)
    scan_ports = _scan_port_lists(rng)
    serial = 0
    phishing_sent: dict[str, int] = {}  # phishing coordinations so far, per quarter
    for m, p in plan.items():
        if months is not None and m not in months:
            previous = []
            continue
        start, end = _month_bounds(m)
        span = (end - start - timedelta(days=1)).total_seconds()
        incidents: list[dict[str, Any]] = []
        for c in CATEGORY_ORDER:
            for k in range(p["categories"].get(c, 0)):
                serial += 1
                inc: dict[str, Any] = {"ref": f"INC-{m}-{serial:06d}", "category": c,
                                       "targets": _targets(rng, c, serial)}
                if c == "phishing":
                    inc.update(_phishing(m, k, industries, rng))
                if c == "scan":
                    inc["ports"] = scan_ports[m][k] if m in scan_ports else ["22/tcp"]
                incidents.append(inc)
        rng.shuffle(incidents)
        again = min(40, len(previous))  # reports naming only an incident of the month before
        carrying = p["reports"] - again
        if carrying <= 0 or len(incidents) < carrying:
            raise ValueError(f"{m}: {len(incidents)} incidents cannot fill {carrying} reports")
        reports: list[dict[str, Any]] = []
        for r in range(p["reports"]):
            t = start + timedelta(minutes=30) if r == 0 else start + timedelta(seconds=rng.uniform(3600, span))
            reports.append({"id": f"R-{m}-{r + 1:05d}", "received_at": _iso(t), "_t": t,
                            "channel": rng.choice(("web", "web", "email", "email", "email", "fax")),
                            "reporter": f"reporter{rng.randrange(500)}@example.net", "incidents": [],
                            "coordinations": []})
        for i, inc in enumerate(incidents):
            reports[i % carrying]["incidents"].append(inc)
        for rep, old in zip(reports[carrying:], rng.sample(previous, again), strict=True):
            rep["incidents"].append({"ref": old["ref"], "category": old["category"]})
        _coordinate(m, p["coordinations"], reports[:carrying], rng, phishing_sent)
        for rep in reports:
            del rep["_t"]
        lines += sorted(reports, key=lambda x: str(x["received_at"]))
        previous = incidents
    return lines


def _phishing(m: str, k: int, industries: list[str], rng: random.Random) -> dict[str, Any]:
    if m in Q4:
        i = Q4.index(m)
        bo = SEED004["brand_origin"]
        d, f = bo["domestic"][i], bo["foreign"][i]
        origin = "domestic" if k < d else "foreign" if k < d + f else "unknown"
    elif m in ("2017-07", "2017-08", "2017-09"):
        prev = SEED004["brand_origin_previous"]
        x = k * 3 + ("2017-07", "2017-08", "2017-09").index(m)  # spread each origin over the months
        origin = "domestic" if x < prev["domestic"] else "foreign" if x < prev["domestic"] + prev["foreign"] \
            else "unknown"
    else:
        origin = rng.choice(("domestic", "foreign", "foreign", "unknown"))
    out: dict[str, Any] = {"brand_origin": origin}
    if origin != "unknown":
        out["brand"] = rng.choice(("ShopBrand", "BankBrand", "MailBrand", "CardBrand"))
        if m in Q4:
            out["industry"] = industries.pop()
        else:
            out["industry"] = rng.choice(("ecommerce", "finance", "telecom"))
    return out


def _scan_port_lists(rng: random.Random) -> dict[str, list[list[str]]]:
    """Per month of 2017Q4, the ports of each scan incident: table 4's (incident, port) pairs,
    every incident with at least one, none with a port twice."""
    out: dict[str, list[list[str]]] = {}
    other_port = 30000
    for i, m in enumerate(Q4):
        n = SEED004["categories"]["scan"][i]
        entries: list[str] = []
        for port, counts in SCAN_PORTS_Q4.items():
            if port != "other":
                entries += [port] * counts[i]
        for j in range(SCAN_PORTS_Q4["other"][i]):  # ports seen at most twice in the quarter
            entries.append(f"{other_port + j // 2}/{'tcp' if j % 3 else 'udp'}")
        other_port += SCAN_PORTS_Q4["other"][i] // 2 + 1
        lists: list[list[str]] = [[] for _ in range(n)]
        for k, port in enumerate(entries):
            lists[k % n].append(port)
        if any(not x or len(set(x)) < len(x) for x in lists):
            raise ValueError(f"{m}: table 4 does not fit {n} scan incidents")
        rng.shuffle(lists)
        out[m] = lists
    return out


def _coordinate(m: str, n: int, reports: list[dict[str, Any]], rng: random.Random, sent: dict[str, int]) -> None:
    """``n`` coordinations sent in month ``m``, an hour after reports of it; of those about
    phishing, the report's domestic share over the quarter (``sent`` counts them per quarter)."""
    pct = 25 if m in Q4 else 24 if m in ("2017-07", "2017-08", "2017-09") else 30
    quarter = f"{m[:4]}Q{(int(m[5:]) - 1) // 3 + 1}"
    phishing = [r for r in reports if any(i["category"] == "phishing" for i in r["incidents"])]
    others = [r for r in reports if r not in phishing]
    statuses = ("sent", "replied", "resolved", "no_response")
    for k in range(n):
        pool = phishing if k % 5 < 2 and phishing else others or phishing
        r = pool[(k // 5) % len(pool)] if pool is phishing else pool[k % len(pool)]
        inc = next(i for i in r["incidents"] if pool is not phishing or i["category"] == "phishing")
        if inc["category"] == "phishing":
            c = sent.get(quarter, 0)
            domestic = (c + 1) * pct // 100 > c * pct // 100  # after N of them, N·pct/100 (rounded down)
            sent[quarter] = c + 1
        else:
            domestic = rng.random() < 0.5
        r["coordinations"].append({"incident_ref": inc["ref"], "party": f"{'jp' if domestic else 'intl'}-party-{k}",
                                   "domestic": domestic, "sent_at": _iso(r["_t"] + timedelta(hours=1)),
                                   "status": statuses[k % len(statuses)]})


def write_jsonl(lines: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path
