"""Writing a report: the templates (Jinja, autoescaped: every string from the network is
escaped where it is shown), the document as HTML or PDF (WeasyPrint), whole or not at all,
and its tables as CSV."""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from teiten.errors import SettingError

__all__ = ["TEMPLATES", "check_out", "quiet_svg_css", "write_csv", "write_document"]

#: The report templates (teiten/report/templates).
TEMPLATES = Environment(loader=PackageLoader("teiten.report", "templates"),
                        autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined, trim_blocks=True,
                        lstrip_blocks=True)


def write_csv(folder: Path, tables: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Each table as ``folder/<name>.csv`` (the folder made anew), its columns in order of appearance."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    out = []
    for name, rows in tables.items():
        path = folder / f"{name}.csv"
        cols: list[str] = []
        for r in rows:
            cols += [c for c in r if c not in cols]
        with open(path, "w", newline="", encoding="utf-8") as f:
            wr = csv.DictWriter(f, fieldnames=cols or ["key"], lineterminator="\n")
            wr.writeheader()
            wr.writerows(rows)
        out.append(path)
    return out


def _svg_css_noise(record: logging.LogRecord) -> bool:
    """False for WeasyPrint's notes on SVG presentation properties (fill, stroke, ...) that its
    HTML CSS parser does not know but its SVG renderer draws; every other message passes."""
    msg = record.getMessage()
    return not (msg.startswith("Ignored `") and msg.endswith("unknown property."))


def quiet_svg_css() -> None:
    """Silence WeasyPrint's notes on SVG properties (:func:`_svg_css_noise`)."""
    log = logging.getLogger("weasyprint")
    if _svg_css_noise not in log.filters:
        log.addFilter(_svg_css_noise)


def check_out(out: Path) -> None:
    """A clear error for an output name that is neither HTML nor PDF."""
    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise SettingError(f"--out must end in .html or .pdf, not {out.name!r}")


def write_document(html: str, out: Path) -> Path:
    """``html`` written to ``out`` as HTML, or as PDF when ``out`` ends in .pdf: whole or not at all."""
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".pdf":
        from weasyprint import HTML

        quiet_svg_css()
        HTML(string=html).write_pdf(tmp)
    else:
        tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
