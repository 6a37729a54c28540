"""Settings are declared once: nothing but teiten/settings.py reads a TEITEN_* variable, and
every TEITEN_* name the package mentions is declared there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from teiten.settings import SETTINGS, setting

PACKAGE = Path(__file__).resolve().parents[1] / "teiten"


def _sources() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))]


def test_only_settings_reads_the_environment_for_teiten_variables() -> None:
    readers = re.compile(r"(os\.environ|getenv|envvar=)[^\n]*TEITEN_")
    found = [f"{p.relative_to(PACKAGE)}: {m.group(0)}" for p, text in _sources() if p.name != "settings.py"
             for m in readers.finditer(text)]
    assert found == []


def test_every_teiten_variable_named_is_declared() -> None:
    declared = {s.var for s in SETTINGS.values()}
    named = {m for _, text in _sources() for m in re.findall(r"\bTEITEN_[A-Z_]+[A-Z]\b", text)}
    assert named - declared == set()
    assert {"TEITEN_STORE", "TEITEN_TZ", "TEITEN_MEMORY_LIMIT", "TEITEN_DB"} <= declared


def test_a_setting_is_its_variable_else_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEITEN_TZ", raising=False)
    assert setting("tz") == "UTC"
    monkeypatch.setenv("TEITEN_TZ", "Asia/Tokyo")
    assert setting("tz") == "Asia/Tokyo"
    monkeypatch.setenv("TEITEN_TZ", "")  # empty is unset
    assert setting("tz") == "UTC"
    monkeypatch.delenv("TEITEN_SMTP_HOST", raising=False)
    assert setting("smtp_host") is None
