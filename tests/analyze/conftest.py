from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from teiten.cli import commands  # noqa: F401 - registers the commands
from teiten.cli.main import cli
from tests.analyze.npa_2009 import SENSOR_ADDRESSES, write_captures


@pytest.fixture(scope="session")
def npa_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding June and July 2009 built to reproduce NPA Table 3-1."""
    tmp = tmp_path_factory.mktemp("npa2009")
    store = tmp / "store"
    r = CliRunner().invoke(cli, ["sensors", "add", "npa", "--addresses", *SENSOR_ADDRESSES, "--country", "JP",
                                 "--group", "domestic", "--store", str(store)])
    assert r.exit_code == 0, r.output
    files = write_captures(tmp / "captures")
    r = CliRunner().invoke(cli, ["ingest", *map(str, files), "--store", str(store), "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    return store
