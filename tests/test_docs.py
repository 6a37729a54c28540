"""Docs that are generated from code must not drift from it."""

from __future__ import annotations

from pathlib import Path

from teiten.schema import schema_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_schema_doc_is_current() -> None:
    assert (ROOT / "docs" / "schema.md").read_text() == schema_markdown() + "\n", (
        "docs/schema.md is stale: run `make docs`")


def test_readme_names_the_two_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:30])
    assert "make demo" in head and "make test" in head


def test_settings_doc_is_current() -> None:
    from teiten.settings import settings_table

    assert (ROOT / "docs" / "settings.md").read_text() == settings_table(), "docs/settings.md is stale: run `make docs`"
