"""The JSON form of a report (a line of ``teiten incidents import``, the body of
``POST /api/reports``) as a JSON Schema, for the API's OpenAPI document and the tools that
read it. :func:`teiten.incidents.intake.parse_report` is what decides: it also accepts a
tracker's status words and times without an offset (in the import's zone), which the schema
describes as text."""

from __future__ import annotations

from typing import Any

from teiten.incidents.taxonomy import BRAND_ORIGINS, CATEGORIES, CHANNELS

__all__ = ["REPORT_SCHEMA"]

_TEXT: dict[str, Any] = {"type": "string", "maxLength": 100_000}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time", "description": "ISO 8601, with a UTC offset",
                         "examples": ["2017-10-02T09:30:00+09:00"]}
_ID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 200}

_INCIDENT: dict[str, Any] = {
    "type": "object",
    "required": ["category"],
    "properties": {
        "category": {"enum": [c.code for c in CATEGORIES]},
        "ref": _TEXT, "brand": _TEXT, "brand_origin": {"enum": list(BRAND_ORIGINS)}, "industry": _TEXT,
        "targets": {"type": "array", "items": _TEXT}, "ports": {"type": "array", "items": {"type": "string",
                                                                                            "examples": ["22/tcp"]}},
        "first_seen": _TIME, "status": _TEXT, "summary": _TEXT,
    },
}
_COORDINATION: dict[str, Any] = {
    "type": "object",
    "required": ["incident_ref", "party", "domestic"],
    "properties": {
        "incident_ref": _TEXT, "party": _TEXT, "domestic": {"type": "boolean"}, "sent_at": _TIME,
        "status": _TEXT, "method": _TEXT, "replied_at": _TIME, "ticket": _TEXT, "note": _TEXT,
    },
}

#: A report, as ``POST /api/reports`` takes it.
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "channel", "received_at"],
    "properties": {
        "id": _ID, "channel": {"enum": list(CHANNELS)}, "received_at": _TIME, "reporter": _TEXT,
        "subject": _TEXT, "content": _TEXT,
        "incidents": {"type": "array", "items": _INCIDENT},
        "coordinations": {"type": "array", "items": _COORDINATION},
    },
}
