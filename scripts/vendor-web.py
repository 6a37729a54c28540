#!/usr/bin/env python3
"""Vendor the web dashboard's client-side assets into teiten/web/static/vendor/, pinned by hash.

The web app runs in closed networks under ``Content-Security-Policy: default-src 'self'``: nothing is
fetched at run time, so the JavaScript and the map are committed here and installed with the package.

    python scripts/vendor-web.py                 # re-create every file from the registry at the pinned versions
    python scripts/vendor-web.py --echarts 5     # update one package (any npm version spec: 5 is the latest
                                                 # 5.x; the others stay at VENDORED.json's versions)
    python scripts/vendor-web.py --check         # verify the committed files against VENDORED.json (no network)

What is written (docs/vendored.md explains why):

* ``echarts/``: Apache ECharts' ``dist/echarts.min.js`` (the full build, with ``aria`` and decals), its
  Japanese locale ``i18n/langJA.js``, ``LICENSE``, ``NOTICE`` and ``licenses/LICENSE-d3`` (Apache-2.0);
* ``axe-core/``: ``axe.min.js``, ``LICENSE`` (MPL-2.0) and ``LICENSE-3RD-PARTY.txt``, for the
  accessibility tests;
* ``world/countries.geojson`` (and ``world/world.js``, the same registered with ECharts as "world"):
  world-atlas' ``countries-110m.json`` (Natural Earth 1:110m admin-0, TopoJSON; the small countries
  it leaves out from ``countries-50m.json``) as GeoJSON: arcs decoded, each feature named by its
  ISO 3166-1 alpha-2 code (numeric -> alpha-2 from i18n-iso-countries' ``codes.json``, used at
  vendoring time only), rings cut at the 180° meridian, coordinates rounded to 2 decimals; with
  world-atlas' ``LICENSE`` (ISC) and a README of what was done (``world/README.md``);
* ``VENDORED.json``: per file its package@version, path in the package, the tarball's integrity, its
  SHA-256 and licence.

It needs ``npm`` (the registry, through ``npm pack`` and ``npm view``); the Python standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import itertools
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "teiten" / "web" / "static" / "vendor"
MANIFEST = VENDOR / "VENDORED.json"
COUNTRIES_TSV = ROOT / "teiten" / "data" / "countries.tsv"

#: The versions used when neither the command line nor VENDORED.json says otherwise.
DEFAULT_VERSIONS = {"echarts": "5.6.0", "axe-core": "4.14.1", "world-atlas": "2.0.2", "i18n-iso-countries": "7.14.0"}

#: Copied verbatim: vendor path -> (package, path inside the package).
COPIES = {
    "echarts/echarts.min.js": ("echarts", "dist/echarts.min.js"),
    "echarts/langJA.js": ("echarts", "i18n/langJA.js"),
    "echarts/LICENSE": ("echarts", "LICENSE"),
    "echarts/NOTICE": ("echarts", "NOTICE"),
    "echarts/licenses/LICENSE-d3": ("echarts", "licenses/LICENSE-d3"),
    "axe-core/axe.min.js": ("axe-core", "axe.min.js"),
    "axe-core/LICENSE": ("axe-core", "LICENSE"),
    "axe-core/LICENSE-3RD-PARTY.txt": ("axe-core", "LICENSE-3RD-PARTY.txt"),
    "world/LICENSE": ("world-atlas", "LICENSE"),
}
#: Per package: its licence (SPDX) and its licence files as vendored (each must ship).
LICENCES = {
    "echarts": ("Apache-2.0", ["echarts/LICENSE", "echarts/NOTICE", "echarts/licenses/LICENSE-d3"]),
    "axe-core": ("MPL-2.0", ["axe-core/LICENSE", "axe-core/LICENSE-3RD-PARTY.txt"]),
    "world-atlas": ("ISC", ["world/LICENSE", "world/README.md"]),
}
WORLD_SOURCE = "countries-110m.json"
#: The countries too small for 1:110m (Singapore, Hong Kong, Macao, Bahrain, Malta, ...) come from 1:50m.
WORLD_SMALL = "countries-50m.json"
CODES_SOURCE = "codes.json"

#: Features of world-atlas without an ISO 3166-1 numeric code, by their ``properties.name``: either a
#: code to name them by, or the code of the country whose shape they are merged into (ISO 3166 and the
#: geolocation databases count them as part of it, so addresses there are counted for that country).
NO_NUMERIC = {"Kosovo": ("name", "XK"), "N. Cyprus": ("merge", "CY"), "Somaliland": ("merge", "SO")}

DECIMALS = 2

Ring = list[tuple[float, float]]
Polygon = list[Ring]


# --- the registry ---------------------------------------------------------------------------------


def npm_pack(spec: str, dest: Path) -> tuple[str, str, bytes]:
    """``npm pack spec`` into ``dest``: (resolved version, integrity, tarball bytes), the integrity
    checked against both the tarball and ``npm view``."""
    out = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(dest)],
                         check=True, capture_output=True, text=True, cwd=dest).stdout
    info = json.loads(out)[0]
    data = (dest / info["filename"]).read_bytes()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    name = spec.rsplit("@", 1)[0]
    viewed = subprocess.run(["npm", "view", f"{name}@{info['version']}", "dist.integrity"],
                            check=True, capture_output=True, text=True, cwd=dest).stdout.strip()
    if not integrity == info["integrity"] == viewed:
        raise SystemExit(f"{spec}: integrity mismatch: tarball {integrity}, npm pack {info['integrity']}, "
                         f"registry {viewed}")
    return info["version"], integrity, data


def tar_members(data: bytes) -> dict[str, bytes]:
    """The regular files of an npm tarball, by path without the leading ``package/``."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            if m.isfile():
                f = tar.extractfile(m)
                assert f is not None
                files[m.name.split("/", 1)[1]] = f.read()
    return files


# --- TopoJSON -> GeoJSON --------------------------------------------------------------------------


def decode_arcs(topo: dict[str, Any]) -> list[list[tuple[int, int]]]:
    """The topology's arcs as absolute quantized positions (delta decoding)."""
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x, y))
        arcs.append(pts)
    return arcs


def arc_points(arcs: list[list[tuple[int, int]]], i: int) -> list[tuple[int, int]]:
    """Arc ``i``; a negative index ``~j`` is arc ``j`` reversed."""
    return arcs[i] if i >= 0 else arcs[~i][::-1]


def stitch(arcs: list[list[tuple[int, int]]], ids: list[int]) -> list[tuple[int, int]]:
    """A ring from its arc ids: each arc after the first starts where the previous one ended."""
    ring: list[tuple[int, int]] = []
    for i in ids:
        pts = arc_points(arcs, i)
        ring.extend(pts if not ring else pts[1:])
    return ring


def merge_rings(arcs: list[list[tuple[int, int]]], polygons: list[list[list[int]]]) -> list[list[tuple[int, int]]]:
    """The rings of the union of neighbouring polygons: arcs used in both directions (the shared
    borders) are dropped and the others chained end to start."""
    used = [i for poly in polygons for ring in poly for i in ring]
    both = {i if i >= 0 else ~i for i in used if ~i in used}
    left = [i for i in used if (i if i >= 0 else ~i) not in both]
    rings = []
    while left:
        chain = [left.pop(0)]
        start = arc_points(arcs, chain[0])[0]
        while arc_points(arcs, chain[-1])[-1] != start:
            end = arc_points(arcs, chain[-1])[-1]
            nxt = next((i for i in left if arc_points(arcs, i)[0] == end), None)
            if nxt is None:
                raise SystemExit(f"cannot merge the polygons {polygons}: open chain at {end}")
            left.remove(nxt)
            chain.append(nxt)
        rings.append(stitch(arcs, chain))
    return rings


def area(ring: Ring) -> float:
    """Signed planar area (positive: counter-clockwise with y up)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


def inside(pt: tuple[float, float], ring: Ring) -> bool:
    """Whether ``pt`` is inside ``ring`` (even-odd rule)."""
    x, y = pt
    hit = False
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


def group_rings(rings: list[Ring]) -> list[Polygon]:
    """Rings into polygons: a ring inside another is its hole, the others are exteriors."""
    polys: list[Polygon] = []
    for ring in sorted(rings, key=lambda r: -abs(area(r))):
        outer = next((p for p in polys if inside(ring[0], p[0])), None)
        if outer is None:
            polys.append([ring])
        else:
            outer.append(ring)
    return polys


def cut_antimeridian(ring: Ring) -> list[Ring]:
    """``ring`` cut where it crosses the 180° meridian (consecutive vertices more than 180° of
    longitude apart), each piece closed along the meridian. A ring around a pole (an odd number of
    crossings: Antarctica) is instead closed along the pole's parallel, in 90° steps."""
    jumps = [k for k in range(len(ring) - 1) if abs(ring[k + 1][0] - ring[k][0]) > 180]
    if not jumps:
        return [ring]

    def crossing(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        """The meridian's longitude on a's side (±180) and the latitude where a-b crosses it."""
        side = 180.0 if a[0] > 0 else -180.0
        bx = b[0] + 360 if side > 0 else b[0] - 360
        lat = a[1] if bx == a[0] else a[1] + (side - a[0]) * (b[1] - a[1]) / (bx - a[0])
        return side, lat

    if len(jumps) % 2:
        out: Ring = []
        pole = -90.0 if sum(y for _, y in ring) < 0 else 90.0
        for k in range(len(ring) - 1):
            out.append(ring[k])
            if k in jumps:
                side, lat = crossing(ring[k], ring[k + 1])
                lons = [side * f for f in (1, 0.5, 0, -0.5, -1)]
                out += [(side, lat)] + [(x, pole) for x in lons] + [(-side, lat)]
        out.append(out[0])
        return [out]

    # Rotate the ring to start just after a crossing so that every piece runs meridian to meridian.
    first = jumps[0] + 1
    pts = ring[first:-1] + ring[:first]
    pieces: list[Ring] = []
    side, lat = crossing(ring[jumps[0]], ring[first])
    piece: Ring = [(-side, lat)]
    for a, b in zip(pts, [*pts[1:], pts[0]], strict=True):
        piece.append(a)
        if abs(b[0] - a[0]) > 180:
            side, lat = crossing(a, b)
            piece.append((side, lat))
            pieces.append([*piece, piece[0]])
            piece = [(-side, lat)]
    return pieces


def clean(ring: Ring) -> Ring | None:
    """``ring`` rounded to DECIMALS, without repeated vertices; None when too small to draw."""
    out: Ring = []
    for x, y in ring:
        p = (round(x, DECIMALS) + 0.0, round(y, DECIMALS) + 0.0)
        if not out or p != out[-1]:
            out.append(p)
    if out[0] != out[-1]:
        out.append(out[0])
    return out if len(out) >= 4 and area(out) != 0 else None


def countries(topo: dict[str, Any], numeric_to_alpha2: dict[str, str], known: set[str],
              skip: set[str] | None = None, cut: set[str] | None = None) -> dict[str, list[Polygon]]:
    """The polygons of a world-atlas topology's countries by alpha-2 code, rings cut at ±180° and
    rounded. With ``skip`` (the codes already drawn), only the other countries teiten knows that
    have an ISO numeric code: the small ones that a coarser scale leaves out. The codes of the
    countries cut at the meridian are added to ``cut``."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = decode_arcs(topo)
    by_code: dict[str, list[list[list[int]]]] = {}
    main: set[str] = set()
    for g in topo["objects"]["countries"]["geometries"]:
        name = g["properties"]["name"]
        if skip is not None:
            code = numeric_to_alpha2.get(g.get("id", ""), "")
            if code in skip or code not in known:
                continue
        elif "id" in g:
            code = numeric_to_alpha2[g["id"]]
        elif name in NO_NUMERIC:
            code = NO_NUMERIC[name][1]
        else:
            raise SystemExit(f"world-atlas feature {name!r} has no ISO numeric code: add it to NO_NUMERIC")
        if code not in known:
            raise SystemExit(f"{name!r} ({code}) is not in {COUNTRIES_TSV.name}")
        if NO_NUMERIC.get(name, ("",))[0] != "merge":
            if code in main:
                raise SystemExit(f"two features for {code}")
            main.add(code)
        polys = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"] if g["type"] == "MultiPolygon" else []
        by_code.setdefault(code, []).extend(polys)
    out = {}
    for code, polys in by_code.items():
        parts = [[stitch(arcs, ring) for ring in poly] for poly in polys]
        if skip is None and ("merge", code) in NO_NUMERIC.values():  # the union, without the shared border
            parts = [[r] for r in merge_rings(arcs, polys)]
        rings: list[Ring] = []
        for poly in parts:
            for qring in poly:
                pieces = cut_antimeridian([(x * sx + tx, y * sy + ty) for x, y in qring])
                if cut is not None and (len(pieces) > 1 or len(pieces[0]) > len(qring)):
                    cut.add(code)
                rings += pieces
        polygons = group_rings([r for r in (clean(r) for r in rings) if r is not None])
        if not polygons:
            print(f"{code}: too small to draw at {DECIMALS} decimals, left out")
            continue
        # RFC 7946 winding: exteriors counter-clockwise, holes clockwise.
        out[code] = [[r if (area(r) > 0) == (k == 0) else r[::-1] for k, r in enumerate(p)] for p in polygons]
    return out


def world_geojson(shapes: dict[str, list[Polygon]]) -> bytes:
    """A GeoJSON FeatureCollection, largest countries first so that smaller ones (enclaves, islands
    beside a coast) are drawn over them."""
    def size(code: str) -> float:
        return sum(abs(area(p[0])) for p in shapes[code])

    features = []
    for code in sorted(shapes, key=lambda c: (-size(c), c)):
        coords = [[[list(p) for p in r] for r in poly] for poly in shapes[code]]
        geometry = ({"type": "Polygon", "coordinates": coords[0]} if len(coords) == 1
                    else {"type": "MultiPolygon", "coordinates": coords})
        features.append({"type": "Feature", "properties": {"name": code}, "geometry": geometry})
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    return (text + "\n").encode()


def world_script(geojson: bytes) -> bytes:
    """The map as a script run after echarts.min.js, for pages that cannot fetch (opened from file://)."""
    return (b"/* teiten: Natural Earth (public domain) through world-atlas (ISC); see README.md. */\n"
            b'echarts.registerMap("world", ' + geojson.rstrip(b"\n") + b");\n")


def world_readme(atlas: str, codes: str, small: list[str], cut: list[str], missing: list[str]) -> bytes:
    merged = ", ".join(f"{n} into {c}" for n, (how, c) in NO_NUMERIC.items() if how == "merge")
    named = ", ".join(f"{n} as {c}" for n, (how, c) in NO_NUMERIC.items() if how == "name")
    return f"""# countries.geojson

Country shapes for the dashboard's world choropleth, made by
`scripts/vendor-web.py` from `{WORLD_SOURCE}` of the npm package world-atlas@{atlas}, with the
{len(small)} countries that 1:110m leaves out taken from `{WORLD_SMALL}` of the same package.
`world.js` is the same GeoJSON as a script that registers it with ECharts (`echarts.registerMap("world",
...)`, loaded after `echarts.min.js`), for pages that cannot fetch it (opened from `file://`).

## Sources and licences

* **Natural Earth** 1:110m and 1:50m Cultural Vectors, Admin 0 - Countries (version 4.1.0),
  <https://www.naturalearthdata.com/>. Natural Earth is in the **public domain**: "All versions of
  Natural Earth raster + vector map data found on this website are in the public domain. You may use
  the maps in any manner, including modifying the content and design, electronic dissemination, and
  offset printing." (<https://www.naturalearthdata.com/about/terms-of-use/>). Made with Natural Earth.
* **world-atlas** (Natural Earth as TopoJSON), Copyright 2013-2019 Michael Bostock, **ISC** licence:
  see `LICENSE` beside this file.
* The ISO 3166-1 numeric -> alpha-2 table was read from `{CODES_SOURCE}` of i18n-iso-countries@{codes}
  (MIT) at vendoring time; only the codes (facts) are kept, not the file.

## What was done

1. The TopoJSON arcs were decoded (delta and quantization transform) into longitude/latitude rings.
2. Each feature is named by its ISO 3166-1 alpha-2 code (`properties.name`, e.g. `JP`), from its
   numeric `id`. Features without an ISO numeric code: {named}; merged (their shared border removed),
   as ISO 3166 and the geolocation databases count them: {merged}.
3. Countries teiten knows (`teiten/data/countries.tsv`) that 1:110m does not have were added from
   1:50m: {" ".join(small)}.
   Codes without a shape of their own: {" ".join(missing)}. Natural Earth draws some as part of
   their country (French Guiana, Guadeloupe, Martinique, Réunion and Mayotte are France) and leaves
   the smallest out; AP and EU are not countries (regions in geolocation data).
4. Rings crossing the 180° meridian ({" ".join(cut)}) were cut at ±180 and closed along it, so they
   draw right on an equirectangular map; Antarctica, a ring around the pole, was closed along the
   meridian down to -90° and along the pole's parallel.
5. Coordinates were rounded to {DECIMALS} decimals (about 1 km), repeated vertices and degenerate rings
   dropped, and the rings wound as RFC 7946 asks (exteriors counter-clockwise). The features are
   ordered largest first, so that smaller ones (enclaves, islands off a coast) are drawn on top.

Country borders are Natural Earth's de facto boundaries, not a statement of teiten's view.
""".encode()


# --- the manifest ---------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check() -> int:
    """Compare the committed files with VENDORED.json; the number of problems."""
    manifest = json.loads(MANIFEST.read_text())
    problems = 0
    for rel, entry in manifest["files"].items():
        path = VENDOR / rel
        if not path.is_file():
            print(f"missing: {rel}")
            problems += 1
        elif sha256(path.read_bytes()) != entry["sha256"]:
            print(f"changed: {rel} (sha256 {sha256(path.read_bytes())}, VENDORED.json {entry['sha256']})")
            problems += 1
    listed = set(manifest["files"]) | {MANIFEST.name}
    for path in sorted(VENDOR.rglob("*")):
        if path.is_file() and path.relative_to(VENDOR).as_posix() not in listed:
            print(f"not in VENDORED.json: {path.relative_to(VENDOR)}")
            problems += 1
    print("ok" if not problems else f"{problems} problem(s)")
    return problems


def vendor(specs: dict[str, str]) -> None:
    packages: dict[str, dict[str, Any]] = {}
    contents: dict[str, dict[str, bytes]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in specs.items():
            version, integrity, data = npm_pack(f"{name}@{spec}", Path(tmp))
            packages[name] = {"version": version, "integrity": integrity,
                              "tarball": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"}
            contents[name] = tar_members(data)
            print(f"{name}@{version} {integrity}")
    for name in packages:
        meta = json.loads(contents[name]["package.json"])
        packages[name]["license"] = meta.get("license")
        if name in LICENCES and meta.get("license") != LICENCES[name][0]:
            raise SystemExit(f"{name}: licence is now {meta.get('license')!r}, not {LICENCES[name][0]}: review it")

    def entry(pkg: str, path: str, data: bytes) -> dict[str, Any]:
        p = packages[pkg]
        return {"source": f"{pkg}@{p['version']}", "path": path, "integrity": p["integrity"],
                "sha256": sha256(data), "bytes": len(data), "license": LICENCES[pkg][0]}

    out: dict[str, bytes] = {}
    files: dict[str, dict[str, Any]] = {}
    for rel, (pkg, path) in COPIES.items():
        out[rel] = contents[pkg][path]
        files[rel] = entry(pkg, path, out[rel])
    codes = json.loads(contents["i18n-iso-countries"][CODES_SOURCE])
    known = {line.split("\t")[0] for line in COUNTRIES_TSV.read_text().splitlines() if line and line[0] != "#"}
    numeric = {row[2]: row[0] for row in codes}
    cut: set[str] = set()
    shapes = countries(json.loads(contents["world-atlas"][WORLD_SOURCE]), numeric, known, cut=cut)
    small = countries(json.loads(contents["world-atlas"][WORLD_SMALL]), numeric, known, skip=set(shapes), cut=cut)
    out["world/countries.geojson"] = world_geojson(shapes | small)
    out["world/world.js"] = world_script(out["world/countries.geojson"])
    print(f"{len(shapes)} countries from {WORLD_SOURCE}, {len(small)} from {WORLD_SMALL}: {' '.join(sorted(small))}")
    files["world/countries.geojson"] = {
        **entry("world-atlas", WORLD_SOURCE, out["world/countries.geojson"]),
        "license": "ISC AND public domain (Natural Earth)",
        "source_sha256": sha256(contents["world-atlas"][WORLD_SOURCE]),
        "small_countries_from": {"path": WORLD_SMALL, "sha256": sha256(contents["world-atlas"][WORLD_SMALL]),
                                 "codes": sorted(small)},
        "derived": "scripts/vendor-web.py: TopoJSON -> GeoJSON, names = ISO 3166-1 alpha-2, cut at ±180°, "
                   f"{DECIMALS} decimals; see world/README.md",
        "codes_from": {"source": f"i18n-iso-countries@{packages['i18n-iso-countries']['version']}",
                       "path": CODES_SOURCE, "integrity": packages["i18n-iso-countries"]["integrity"],
                       "sha256": sha256(contents["i18n-iso-countries"][CODES_SOURCE]), "license": "MIT"},
    }
    files["world/world.js"] = {**files["world/countries.geojson"], "sha256": sha256(out["world/world.js"]),
                               "bytes": len(out["world/world.js"]),
                               "derived": "countries.geojson as a script that registers it with ECharts as \"world\""}
    out["world/README.md"] = world_readme(packages["world-atlas"]["version"],
                                          packages["i18n-iso-countries"]["version"], sorted(small), sorted(cut),
                                          sorted(known - set(shapes) - set(small)))
    files["world/README.md"] = {**entry("world-atlas", "-", out["world/README.md"]),
                                "license": "ISC AND public domain (Natural Earth)",
                                "derived": "written by scripts/vendor-web.py: the map's sources, licences, processing"}
    for rel, data in out.items():
        (VENDOR / rel).parent.mkdir(parents=True, exist_ok=True)
        (VENDOR / rel).write_bytes(data)
    manifest = {
        "comment": "Written by scripts/vendor-web.py (docs/vendored.md); `python scripts/vendor-web.py --check` "
                   "verifies the files. Paths are relative to this file's directory.",
        "packages": {n: {**p, "licence_files": LICENCES[n][1]} if n in LICENCES else
                     {**p, "use": "at vendoring time only: the ISO 3166-1 numeric -> alpha-2 codes; no file shipped"}
                     for n, p in packages.items()},
        "files": dict(sorted(files.items())),
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    for rel in sorted(files):
        print(f"{files[rel]['bytes']:>9}  {rel}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify the committed files' hashes (no network)")
    pinned = dict(DEFAULT_VERSIONS)
    if MANIFEST.exists():
        pinned |= {n: p["version"] for n, p in json.loads(MANIFEST.read_text())["packages"].items()}
    for name in DEFAULT_VERSIONS:
        parser.add_argument(f"--{name}", metavar="VERSION", default=pinned[name],
                            help=f"npm version or spec of {name} (pinned: {pinned[name]})")
    args = parser.parse_args()
    if args.check:
        return 1 if check() else 0
    vendor({name: getattr(args, name.replace("-", "_")) for name in DEFAULT_VERSIONS})
    return 0


if __name__ == "__main__":
    sys.exit(main())
