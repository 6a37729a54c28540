"""Choosing the engine: --engine / TEITEN_ENGINE, the Spark master and extra settings
(a spark-defaults.conf file or key=value pairs), and clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from teiten.cli.main import cli
from teiten.engine.choice import EngineChoice, engine_choice, spark_conf
from teiten.errors import SettingError


def test_the_default_is_duckdb_and_settings_choose_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TEITEN_ENGINE", "TEITEN_SPARK_MASTER", "TEITEN_SPARK_CONF"):
        monkeypatch.delenv(var, raising=False)
    assert engine_choice() == EngineChoice("duckdb", "local[*]", ())
    monkeypatch.setenv("TEITEN_ENGINE", "Spark")
    monkeypatch.setenv("TEITEN_SPARK_MASTER", "spark://127.0.0.1:7077")
    monkeypatch.setenv("TEITEN_SPARK_CONF", "spark.executor.memory=2g, spark.sql.shuffle.partitions=8")
    got = engine_choice()
    assert got.name == "spark" and got.master == "spark://127.0.0.1:7077"
    assert dict(got.conf) == {"spark.executor.memory": "2g", "spark.sql.shuffle.partitions": "8"}
    assert got.describe() == "spark (spark://127.0.0.1:7077)"
    # options win over settings
    assert engine_choice("duckdb", "local[2]", "").name == "duckdb"
    assert engine_choice("spark", "local[2]", "").conf == ()


def test_spark_settings_from_a_defaults_file(tmp_path: Path) -> None:
    f = tmp_path / "spark-defaults.conf"
    f.write_text("# sized for the lab cluster\nspark.executor.memory   8g\n\nspark.executor.cores=4\n"
                 "spark.driver.extraJavaOptions -Dx=1 -Dy=2\n")
    assert spark_conf(str(f)) == {"spark.executor.memory": "8g", "spark.executor.cores": "4",
                                  "spark.driver.extraJavaOptions": "-Dx=1 -Dy=2"}
    f.write_text("executor.memory 8g\n")
    with pytest.raises(SettingError, match=r"spark-defaults.conf:1: 'executor.memory' is not a Spark setting"):
        spark_conf(str(f))


@pytest.mark.parametrize(("text", "message"), [
    ("spark.a=1,oops", "'oops' is not key=value"),
    ("memory=2g", "'memory' is not a Spark setting"),
    ("/no/such/file", "neither a file nor key=value pairs"),
])
def test_bad_spark_settings_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        spark_conf(text)


def test_unknown_engine_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEITEN_ENGINE", "spork")
    with pytest.raises(SettingError, match="unknown engine 'spork'"):
        engine_choice()


@pytest.mark.parametrize("command", [["top", "ports"], ["series", "ports"], ["shares", "ports"],
                                     ["drill", "445/TCP"], ["report"], ["detect"], ["signatures"], ["sql", "SELECT 1"],
                                     ["serve"], ["web", "export"]])
def test_every_analysis_command_takes_the_engine_options(command: list[str]) -> None:
    r = CliRunner().invoke(cli, [*command, "--help"])
    assert r.exit_code == 0, r.output
    assert "--engine [duckdb|spark]" in r.output and "--spark-master" in r.output and "TEITEN_SPARK_CONF" in r.output


def test_a_bad_spark_conf_stops_the_command_before_it_opens_anything(npa_store: Path) -> None:
    r = CliRunner().invoke(cli, ["top", "ports", "--store", str(npa_store), "--engine", "spark", "--spark-conf",
                                 "memory=2g"])
    assert r.exit_code == 2 and "'memory' is not a Spark setting" in r.output
