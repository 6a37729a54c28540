"""What a detector reports: a :class:`Finding`, and the JSON schema of ``teiten detect --json``.

Every finding names its ``kind`` (``surge``, ``mirai``, ``dos_victim``, ``signature``, …),
its ``key`` (a port key, a region, a fingerprint or rule class), titles in Japanese and
English, its time span, a ``score`` in [0, 1], how many sources and the top ones, and the
numbers behind it (``evidence``, whose fields depend on the kind: docs/detection.md).
Some kinds name one more subject: the ``dimension`` of a change (``ports``, ``regions``)
or rhythm (``key``, ``region``, ``pair``), what a ``concentration`` is ``by`` and its ``value``, the DoS ``victim``,
the ``tool`` of a payload, the scanning ``source``, the rule's ``sid``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from teiten.errors import SettingError
from teiten.periods import Period

__all__ = ["FINDING_SCHEMA", "SUBJECTS", "Finding", "findings_document", "read_findings"]

#: The optional subject fields, in the order they are written after ``key``.
SUBJECTS = ("dimension", "by", "value", "victim", "tool", "source", "sid")


@dataclass(frozen=True)
class Finding:
    kind: str
    key: str
    title_ja: str
    title_en: str
    start: str | None
    end: str | None
    score: float
    sources: int | None = None
    top_sources: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    dimension: str | None = None
    by: str | None = None
    value: Any = None
    victim: str | None = None
    tool: str | None = None
    source: str | None = None
    sid: int | None = None

    def title(self, lang: str) -> str:
        return self.title_ja if lang == "ja" else self.title_en

    def to_json(self) -> dict[str, Any]:
        """The finding as one object of ``teiten detect --json``: the common fields, and the
        subject fields that this kind has."""
        d: dict[str, Any] = {"kind": self.kind, "key": self.key}
        d.update({s: getattr(self, s) for s in SUBJECTS if getattr(self, s) is not None})
        d.update(title_ja=self.title_ja, title_en=self.title_en, start=self.start, end=self.end, score=self.score,
                 sources=self.sources, top_sources=self.top_sources, evidence=self.evidence)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Finding:
        """A finding read back from ``teiten detect --json`` (unknown fields are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def findings_document(period: Period, findings: list[Finding], fingerprints_version: int | None = None
                      ) -> dict[str, Any]:
    """The findings of a period as ``teiten detect --json`` prints them (:data:`FINDING_SCHEMA`)."""
    doc: dict[str, Any] = {"period": period.to_json()}
    if fingerprints_version is not None:
        doc["fingerprints_version"] = fingerprints_version
    doc["findings"] = [f.to_json() for f in findings]
    return doc


def read_findings(path: Path, period: Period) -> list[Finding]:
    """The findings of ``teiten detect --json`` written to ``path``, which must be of ``period``."""
    try:
        doc = json.loads(path.read_text("utf-8"))
        findings = [Finding.from_json(f) for f in doc["findings"]]
    except (ValueError, KeyError, TypeError):
        raise SettingError(f"{path}: not the JSON of teiten detect --json") from None
    if doc.get("period", {}).get("label") not in (None, period.label):
        raise SettingError(f"{path}: findings of {doc['period'].get('label')}, not of {period.label}")
    return findings


_SPAN = {"type": ["string", "null"], "description": "ISO 8601 time (or date) of the first / last packet"}

#: JSON Schema (2020-12) of ``teiten detect --json``.
FINDING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "teiten detect --json",
    "type": "object",
    "required": ["period", "findings"],
    "properties": {
        "period": {"type": "object"},
        "fingerprints_version": {"type": "integer"},
        "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
    },
    "$defs": {"finding": {
        "type": "object",
        "required": ["kind", "key", "title_ja", "title_en", "start", "end", "score", "sources", "top_sources",
                     "evidence"],
        "additionalProperties": False,
        "properties": {
            "kind": {"type": "string"},
            "key": {"type": "string"},
            "title_ja": {"type": "string"},
            "title_en": {"type": "string"},
            "start": _SPAN,
            "end": _SPAN,
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "sources": {"type": ["integer", "null"], "minimum": 0},
            "top_sources": {"type": "array", "items": {"type": "object"}},
            "evidence": {"type": "object"},
            "dimension": {"type": "string"},
            "by": {"type": "string"},
            "value": {},
            "victim": {"type": "string"},
            "tool": {"type": "string"},
            "source": {"type": "string"},
            "sid": {"type": "integer"},
        },
    }},
}
