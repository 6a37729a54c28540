"""Dashboard page times: the first request of each page (its answers computed) and the warm
ones (from the cache of answers), against the same analysis run directly (the CLI's path)
in the same run.

    .venv/bin/python bench/dashboard.py --store demo-out/store --period 2026Q3 [--findings]

Serves the store with ``create_app`` on 127.0.0.1 (uvicorn, a throwaway incident database,
one handler signed in), then for each page: the first request after the server opened the
store, then the median of 5 warm requests. The peer: ``teiten top ports --json`` of the
period, timed in this process (the store opened once, as the server does).
Targets (issue 18): warm < 300 ms; first < 5 s on the 100 M-packet quarter.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import httpx
    import uvicorn

    from teiten.analyze.rankings import ranking
    from teiten.engine import open_observation
    from teiten.incidents.db import open_db
    from teiten.incidents.users import add_user
    from teiten.periods import parse_period
    from teiten.web.app import create_app
    from tests.incidents.conftest import free_port

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, default=ROOT / "demo-out" / "store")
    ap.add_argument("--period", default="2026Q3")
    ap.add_argument("--port-key", default="23-tcp")
    ap.add_argument("--region", default="CN")
    ap.add_argument("--findings", action="store_true", help="Also the findings page (runs every detector).")
    a = ap.parse_args()
    p = a.period
    pages = [("overview", f"/observe?period={p}"), ("port", f"/observe/ports/{a.port_key}?period={p}"),
             ("port tables", f"/observe/ports/{a.port_key}/tables?period={p}"),
             ("region", f"/observe/regions/{a.region}?period={p}"),
             ("region tables", f"/observe/regions/{a.region}/tables?period={p}"), ("map", f"/observe/map?period={p}"),
             ("compare", f"/observe/compare?b={p}"), ("sensors", f"/observe/sensors?period={p}"),
             ("api summary", f"/api/v1/summary?period={p}"), ("api rankings", f"/api/v1/rankings/ports?period={p}")]
    if a.findings:
        pages.append(("findings", f"/observe/findings?period={p}"))
    t0 = time.perf_counter()
    obs = open_observation(a.store)
    t_open = time.perf_counter() - t0
    t0 = time.perf_counter()
    ranking(obs, "ports", parse_period(p))
    t_cli = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(f"sqlite:///{tmp}/incidents.sqlite")
        with db.session("admin") as s:
            add_user(s, "bench", "handler", "tawny-grill-ocean-47")
        port = free_port()
        srv = uvicorn.Server(uvicorn.Config(create_app(db, secret=secrets.token_hex(32), store=a.store),
                                            host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=srv.run, daemon=True).start()
        while not srv.started:
            time.sleep(0.05)
        c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1800)
        form = c.get("/login").text
        token = re.search(r'name="token" value="([^"]+)"', form)
        assert token is not None
        c.post("/login", data={"name": "bench", "password": "tawny-grill-ocean-47", "token": token.group(1)})
        rows = []
        for name, path in pages:
            t0 = time.perf_counter()
            r = c.get(path)
            first = time.perf_counter() - t0
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            warm = []
            for _ in range(5):
                t0 = time.perf_counter()
                c.get(path)
                warm.append(time.perf_counter() - t0)
            rows.append((name, first, statistics.median(warm), len(r.content)))
        srv.should_exit = True
    print(f"store {a.store} ({a.period}); store opened in {t_open:.2f} s; ranking of ports directly (the CLI's"
          f" path, store open): {t_cli:.2f} s")
    print(f"{'page':14} {'first s':>8} {'warm ms':>8} {'bytes':>9}")
    for name, first, warm, size in rows:
        print(f"{name:14} {first:8.2f} {warm * 1000:8.1f} {size:9,}")
    drawn = [r for r in rows if not r[0].endswith(" tables")]  # the tables are fetched once the page is drawn
    print(f"warm target < 300 ms: {'met' if all(w < 0.3 for _, _, w, _ in rows) else 'NOT met'};"
          f" first target < 5 s: {'met' if all(f < 5 for _, f, _, _ in drawn) else 'NOT met'} for the pages,"
          f" {'met' if all(f < 5 for _, f, _, _ in rows) else 'NOT met'} with the tables they fetch")


if __name__ == "__main__":
    main()
