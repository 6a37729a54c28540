"""Shared fixtures: the public capture corpus in ../shared/corpus/public."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "public"


def corpus_rows() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.csv"
    if not manifest.exists():
        raise FileNotFoundError(f"the capture corpus is missing: {manifest} (CI puts ../shared beside the repo)")
    with open(manifest, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave files for a person to look at (PNG pages of reports)."""
    d = ROOT / "test-artifacts"
    d.mkdir(exist_ok=True)
    return d


@pytest.fixture(scope="session")
def npa_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding June and July 2009 built to reproduce NPA Table 3-1."""
    from teiten.cli.main import cli
    from tests.analyze.npa_2009 import SENSOR_ADDRESSES, write_captures

    tmp = tmp_path_factory.mktemp("npa2009")
    store = tmp / "store"
    r = CliRunner().invoke(cli, ["sensors", "add", "npa", "--addresses", *SENSOR_ADDRESSES, "--country", "JP",
                                 "--group", "domestic", "--store", str(store)])
    assert r.exit_code == 0, r.output
    files = write_captures(tmp / "captures")
    r = CliRunner().invoke(cli, ["ingest", *map(str, files), "--store", str(store), "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    return store
