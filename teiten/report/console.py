"""A ranking as a terminal table (rich), with the published reports' display rules."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.table import Table

from teiten.analyze.rankings import Ranking
from teiten.report.tables import change_footnote, format_change, format_delta, format_rank, format_value, table_rows

__all__ = ["output_console", "print_ranking"]

#: width of tables written to a pipe or a log: wide enough that no row wraps
PIPE_WIDTH = 1000


def output_console(stderr: bool = False) -> Console:
    """The console for standard output (or error): the terminal's width on a terminal;
    elsewhere (a pipe, a log file) ``COLUMNS`` when set, else wide enough that rows never
    wrap at 80 columns."""
    if (sys.stderr if stderr else sys.stdout).isatty():
        return Console(stderr=stderr)
    cols = os.environ.get("COLUMNS", "")
    width = int(cols) if cols.isdigit() and int(cols) > 0 else PIPE_WIDTH
    return Console(stderr=stderr, width=width)


def print_ranking(r: Ranking, limit: int = 10, lang: str = "en", show_all: bool = False,
                  console: Console | None = None) -> None:
    """The comparison table of a ranking (top ``limit`` rows, then the rise/fall rows) and its footnotes."""
    t = r.total
    prev = ""
    if r.previous is not None:
        prev = f" vs {r.previous.label}" if t["prev_packets"] is not None else f" (no packets in {r.previous.label})"
    title = (f"{r.period.label}{prev}: {'destination ports' if r.dimension == 'ports' else 'source regions'}"
             f" — per day per address {format_value(t['per_ip_day'], lang, 1)}"
             + (f", {format_change(t['change_pct'], lang)} {format_delta(t['delta'], lang, 1)}"
                if t["delta"] is not None else ""))
    table = Table(title=title, title_justify="left")
    for c in ("rank", "prev", "key", "per day/addr", "change", "delta", "rise", "fall"):
        table.add_column(c, justify="left" if c == "key" else "right", no_wrap=c != "key")
    notes: list[str] = []
    rows = r.rows if show_all else table_rows(r.rows, limit)
    for row in rows:
        if row is None:
            table.add_row("…", "…", "", "", "", "", "", "")
            continue
        note = change_footnote(row, lang)
        mark = ""
        if note:
            notes.append(note)
            mark = f" [{len(notes)}]"
        name = row.get("label") or f"{row.get('name_ja' if lang == 'ja' else 'name_en')} ({row['key']})"
        table.add_row(format_rank(row["rank"], row["per_ip_day"], lang),
                      format_rank(row["prev_rank"], row["prev_per_ip_day"], lang), name,
                      format_value(row["per_ip_day"], lang), format_change(row["change_pct"], lang, mark),
                      format_delta(row["delta"], lang), str(row["rise_rank"] or ""), str(row["fall_rank"] or ""))
    console = console or output_console()
    console.print(table)
    for i, n in enumerate(notes, 1):
        console.print(f"[{i}] {n}", markup=False, highlight=False)
    console.print(f"{t['packets']:,} packets over {t['address_days']:,} address-days"
                  + (f"; sensor group {r.group}" if r.group else ""), markup=False, highlight=False)
