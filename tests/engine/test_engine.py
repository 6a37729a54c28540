"""The engine room: one way to open a store, engine hints behind the Observation, SQL errors
as teiten's own errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from teiten.engine import open_observation, run_sql
from teiten.engine.duckdb import DuckDBEngine
from teiten.errors import SettingError


def test_an_unknown_engine_is_a_clear_error(npa_store: Path) -> None:
    with pytest.raises(SettingError, match="unknown engine 'spork'"):
        open_observation(npa_store, engine="spork")


def test_hints_reach_the_engine_and_are_undone(npa_store: Path) -> None:
    obs = open_observation(npa_store)
    assert isinstance(obs.engine, DuckDBEngine)

    def disabled() -> str:
        assert isinstance(obs.engine, DuckDBEngine)
        return str(obs.engine.db.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0])  # type: ignore[index]

    before = disabled()
    with obs.hinted("small_build_side"):
        assert "build_side_probe_side" in disabled()
    assert disabled() == before
    with pytest.raises(ValueError, match="unknown engine hint"):
        obs.hinted("fast")


def test_sql_answers_and_errors(npa_store: Path) -> None:
    answer = run_sql(npa_store, "SELECT key, count(*) AS n FROM packets GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    assert answer is not None
    columns, rows = answer
    assert columns == ["key", "n"] and rows[0]["key"] == "445/TCP" and rows[0]["n"] > 0
    with pytest.raises(SettingError, match="SQL error"):
        run_sql(npa_store, "SELECT nothing FROM nowhere")
