"""``teiten incidents import FILE.jsonl``: one report per line (``teiten.incidents.intake``).

A line that is not JSON, or not a valid report, is reported with its number and the
reason, and changes nothing; the other lines are imported. Lines are stored in batches of
:data:`BATCH`, one flush each; when the database refuses a batch, its lines are stored
again one by one, each in its own savepoint. A report id already stored is skipped (re-importing a file adds nothing).

A coordination's status may be in any tracker's words (``teiten.incidents.status_words``):
a word no mapping knows is kept on the coordination, whose state is ``other``, and counted
in the summary by its spelling (``other_statuses``); it never refuses a line. Times without
a UTC offset are read in the zone given (``tz``), else refused.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from teiten.errors import InputError
from teiten.incidents.db import IncidentDB
from teiten.incidents.intake import Outcome, Pending, Reading, ReportIn, parse_report, propose, record

__all__ = ["ImportSummary", "import_jsonl", "import_reports"]

#: Lines per transaction.
BATCH = 500


@dataclass
class ImportSummary:
    lines: int = 0  # reports read (lines of a JSONL file, messages of an mbox)
    imported: int = 0
    duplicates: int = 0
    incidents: int = 0  # new incidents
    linked: int = 0  # known incidents reported again
    coordinations: int = 0
    proposals: int = 0  # duplicate proposals for a handler
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    other_statuses: Counter[str] = field(default_factory=Counter)  # stored coordinations' unknown words, by spelling

    def to_json(self) -> dict[str, object]:
        return {"lines": self.lines, "imported": self.imported, "duplicates": self.duplicates,
                "incidents": self.incidents, "linked": self.linked, "coordinations": self.coordinations,
                "proposals": self.proposals, "other_statuses": dict(sorted(self.other_statuses.items())),
                "errors": [{"line": n, "error": e} for n, e in self.errors]}


def _parsed(path: Path, out: ImportSummary, how: Reading) -> Iterator[tuple[int, ReportIn]]:
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            out.lines += 1
            try:
                yield number, parse_report(json.loads(line), how)
            except UnicodeDecodeError as e:
                out.errors.append((number, f"not UTF-8 text: {e}"))
            except json.JSONDecodeError as e:
                out.errors.append((number, f"not JSON: {e.msg} at column {e.colno}"))
            except InputError as e:
                out.errors.append((number, str(e)))


def import_jsonl(db: IncidentDB, path: Path, actor: str = "import", how: Reading | None = None) -> ImportSummary:
    """Import the reports of a JSONL file; ``how``: its status words and time zone (:class:`Reading`)."""
    out = ImportSummary()
    return import_reports(db, _parsed(path, out, how or Reading()), actor, out)


def import_reports(db: IncidentDB, reports: Iterable[tuple[int, ReportIn]], actor: str = "import",
                   out: ImportSummary | None = None) -> ImportSummary:
    """Store (number, report) pairs in batches (see the module docstring); errors name the number."""
    out = out if out is not None else ImportSummary()
    batch: list[tuple[int, ReportIn]] = []
    for item in reports:
        batch.append(item)
        if len(batch) >= BATCH:
            _store(db, batch, out, actor)
            batch = []
    _store(db, batch, out, actor)
    out.errors.sort()
    return out


def _store(db: IncidentDB, parsed: list[tuple[int, ReportIn]], out: ImportSummary, actor: str) -> None:
    """One transaction for the batch: flushed at once when every report goes in, else one by
    one, each in a savepoint, so that a report refused by the database changes nothing."""
    if not parsed:
        return
    got: list[tuple[ReportIn, Outcome]]
    with db.session(actor) as s:
        try:
            with s.begin_nested():
                pending = Pending()
                pending.load(s, [r for _, r in parsed])
                got = [(r, record(s, r, pending)) for _, r in parsed]
                s.flush()
                proposals = len(propose(s, pending))
        except (InputError, DBAPIError, ValueError):
            got, proposals = [], 0
            for number, r in parsed:
                sp = s.begin_nested()
                try:
                    one = record(s, r)
                    sp.commit()
                except (InputError, DBAPIError, ValueError) as e:
                    sp.rollback()
                    out.errors.append((number, str(e.orig) if isinstance(e, DBAPIError) else str(e)))
                    continue
                got.append((r, one))
                proposals += len(one.proposals)
        for r, o in got:
            if o.status == "duplicate":
                out.duplicates += 1
                continue
            out.other_statuses.update(c.raw_status for c in r.coordinations if c.raw_status is not None)
            out.imported += 1
            out.incidents += len(o.new_incidents)
            out.linked += len(o.linked_incidents)
            out.coordinations += len(o.coordinations)
        out.proposals += proposals

