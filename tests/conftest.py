"""Shared fixtures: the public capture corpus in ../shared/corpus/public."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

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
