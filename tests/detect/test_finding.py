"""A Finding's JSON: one order of fields for every kind, valid against FINDING_SCHEMA, read back whole."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from teiten.detect.finding import FINDING_SCHEMA, Finding, findings_document, read_findings
from teiten.errors import SettingError
from teiten.periods import parse_period

P = parse_period("2026Q3")
SAMPLES = [
    Finding("surge", "445/TCP", "急増", "surged", "2026-07-01", "2026-07-02", 0.5, 12, [{"source": "192.0.2.1"}],
            {"peak_z": 9.1}, dimension="ports"),
    Finding("concentration", "23/TCP", "集中", "from one", None, None, 0.9, None, [], {"share": 0.9}, by="source",
            value="192.0.2.7"),
    Finding("signature", "Worm", "シグネチャ", "signature", "2026-07-01T00:00:00Z", "2026-07-01T01:00:00Z", 1.0, 3,
            evidence={"alerts": 4}, sid=9000001),
    Finding("mirai", "mirai", "Mirai", "Mirai", "2026-07-01", "2026-09-30", 0.99, 40),
]


def test_json_has_one_field_order_and_is_valid() -> None:
    doc = findings_document(P, SAMPLES, 3)
    jsonschema.validate(doc, FINDING_SCHEMA)
    common = ["kind", "key", "title_ja", "title_en", "start", "end", "score", "sources", "top_sources", "evidence"]
    for f in doc["findings"]:
        assert [k for k in f if k in common] == common
    assert [k for k in doc["findings"][1]][:4] == ["kind", "key", "by", "value"]
    assert "sid" not in doc["findings"][0] and doc["findings"][2]["sid"] == 9000001


def test_schema_refuses_what_is_not_a_finding() -> None:
    bad = findings_document(P, SAMPLES[:1])
    bad["findings"][0]["score"] = 2.0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, FINDING_SCHEMA)
    del bad["findings"][0]["kind"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, FINDING_SCHEMA)


def test_read_back(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(findings_document(P, SAMPLES, 3), ensure_ascii=False), encoding="utf-8")
    assert read_findings(path, P) == SAMPLES
    with pytest.raises(SettingError, match="findings of 2026Q3, not of 2026Q2"):
        read_findings(path, parse_period("2026Q2"))
    path.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(SettingError, match="not the JSON of teiten detect"):
        read_findings(path, P)
