"""Screenshots of the observation dashboard for docs/dashboard.md:

    .venv/bin/python scripts/dashboard-screenshots.py [--store demo-out/store] [--period 2026Q3]

Serves the store on 127.0.0.1 (a throwaway incident database with one handler), signs in
with Debian's chromium through Playwright and writes docs/images/dashboard-{overview,port}-{ja,en}.png.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from teiten.incidents.db import open_db
    from teiten.incidents.users import add_user
    from teiten.web.app import create_app
    from tests.incidents.conftest import free_port

    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, default=ROOT / "demo-out" / "store")
    ap.add_argument("--period", default="2026Q3")
    ap.add_argument("--port-key", default="23-tcp")
    a = ap.parse_args()
    out = ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(f"sqlite:///{tmp}/incidents.sqlite")
        password = "tawny-grill-ocean-47"
        with db.session("admin") as s:
            add_user(s, "analyst", "handler", password)
        port = free_port()
        srv = uvicorn.Server(uvicorn.Config(create_app(db, secret=secrets.token_hex(32), store=a.store), host="127.0.0.1",
                                            port=port, log_level="warning"))
        threading.Thread(target=srv.run, daemon=True).start()
        while not srv.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                  args=["--no-sandbox", "--disable-gpu"])
            page = b.new_context(viewport={"width": 1280, "height": 1800}, locale="ja-JP").new_page()
            page.goto(f"{base}/observe")
            page.fill("input[name=name]", "analyst")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url("**/observe")
            for lang in ("ja", "en"):
                for name, path in (("overview", "/observe"), ("port", f"/observe/ports/{a.port_key}")):
                    page.goto(f"{base}{path}?period={a.period}&lang={lang}", timeout=120000)
                    page.wait_for_selector("figure.chart[data-drawn]", timeout=120000)
                    target = out / f"dashboard-{name}-{lang}.png"
                    page.screenshot(path=str(target), full_page=False)
                    print(target)
            b.close()
        srv.should_exit = True


if __name__ == "__main__":
    main()
