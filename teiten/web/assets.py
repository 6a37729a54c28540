"""The vendored client-side assets the observation pages use (teiten/web/static/vendor,
docs/vendored.md)."""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["world_script"]


@cache
def world_script() -> str:
    """The vendored country shapes as a script that registers them for the map
    (``window.TEITEN_WORLD``: a page opened from ``file://`` cannot fetch JSON)."""
    shapes = (resources.files("teiten.web") / "static" / "vendor" / "world" / "countries.geojson").read_text()
    return "window.TEITEN_WORLD = " + shapes + ";\n"
