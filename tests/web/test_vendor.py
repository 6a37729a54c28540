"""The vendored client-side assets (teiten/web/static/vendor, docs/vendored.md): the committed files
are the ones VENDORED.json pins, their licences ship, and the world map draws on an equirectangular
map with one feature per ISO 3166-1 alpha-2 code. No network."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "teiten" / "web" / "static" / "vendor"


@cache
def manifest() -> dict[str, Any]:
    return json.loads((VENDOR / "VENDORED.json").read_text())


@cache
def world() -> dict[str, Any]:
    return json.loads((VENDOR / "world" / "countries.geojson").read_text())


def rings(feature: dict[str, Any]) -> list[list[list[float]]]:
    g = feature["geometry"]
    polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
    return [ring for poly in polys for ring in poly]


def test_hashes_match_the_committed_files() -> None:
    files = manifest()["files"]
    assert files
    for rel, entry in files.items():
        assert hashlib.sha256((VENDOR / rel).read_bytes()).hexdigest() == entry["sha256"], rel
        assert entry["integrity"].startswith("sha512-") and entry["license"], rel
        package = entry["source"].split("@")[0]
        assert entry["source"] == f"{package}@{manifest()['packages'][package]['version']}", rel
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk == set(files) | {"VENDORED.json"}


def test_licences_ship() -> None:
    packages = manifest()["packages"]
    files = manifest()["files"]
    shipped = {entry["source"].split("@")[0] for entry in files.values()}
    for name in shipped:
        licences = packages[name]["licence_files"]
        assert any(Path(f).name == "LICENSE" for f in licences), name
        for rel in licences:
            assert rel in files and (VENDOR / rel).stat().st_size > 0, rel
    assert "echarts/NOTICE" in packages["echarts"]["licence_files"]
    assert "Apache Software Foundation" in (VENDOR / "echarts" / "NOTICE").read_text()
    assert "Mozilla Public License" in (VENDOR / "axe-core" / "LICENSE").read_text()
    assert "ISC" in packages["world-atlas"]["license"]
    assert "public domain" in (VENDOR / "world" / "README.md").read_text()


def test_versions_in_the_files_match_the_manifest() -> None:
    packages = manifest()["packages"]
    echarts = (VENDOR / "echarts" / "echarts.min.js").read_text()
    assert re.findall(r'\bt\.version="([^"]+)"', echarts) == [packages["echarts"]["version"]]
    assert packages["echarts"]["version"].startswith("5.")
    assert "registerLocale" in echarts and "decal" in echarts and "aria" in echarts
    assert "registerLocale('JA'" in (VENDOR / "echarts" / "langJA.js").read_text()
    axe = (VENDOR / "axe-core" / "axe.min.js").read_text()[:200]
    assert f"axe v{packages['axe-core']['version']}" in axe and packages["axe-core"]["version"].startswith("4.")


def test_world_features_are_named_by_alpha2() -> None:
    g = world()
    assert g["type"] == "FeatureCollection"
    names = [f["properties"]["name"] for f in g["features"]]
    assert len(names) >= 170
    assert all(re.fullmatch(r"[A-Z]{2}", n) for n in names)
    assert len(set(names)) == len(names)
    assert {"RU", "FJ", "US", "JP", "CN", "BR", "AU", "XK", "CY", "SO"} <= set(names)
    tsv = (ROOT / "teiten" / "data" / "countries.tsv").read_text().splitlines()
    assert set(names) <= {line.split("\t")[0] for line in tsv if line and not line.startswith("#")}


def test_world_script_registers_the_same_map() -> None:
    script = (VENDOR / "world" / "world.js").read_text()
    body = script.split('echarts.registerMap("world", ', 1)[1]
    assert body.endswith(");\n") and json.loads(body[:-3]) == world()


def test_world_draws_on_an_equirectangular_map() -> None:
    for f in world()["features"]:
        for ring in rings(f):
            name = f["properties"]["name"]
            assert len(ring) >= 4 and ring[0] == ring[-1], name
            assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring), name
            assert all(abs(b[0] - a[0]) <= 180 for a, b in itertools.pairwise(ring)), name
    by_name = {f["properties"]["name"]: f for f in world()["features"]}
    # Russia and Fiji reach both sides of the meridian; Antarctica runs along the south pole.
    for name in ("RU", "FJ"):
        lons = [x for ring in rings(by_name[name]) for x, _ in ring]
        assert min(lons) == -180 and max(lons) == 180, name
    assert min(y for ring in rings(by_name["AQ"]) for _, y in ring) == -90
