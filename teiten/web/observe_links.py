"""Where an observation page links to: on the server, ``/observe/...`` paths with the
query's filters (a permalink each); in the static site of ``teiten web export``, relative
file names (``ja/ports/445-tcp.html``), so that it opens from ``file://`` or any web
server. The templates ask a :class:`Links` for every address; nothing else differs
between the two."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from teiten.keys import key_slug
from teiten.web.observe_query import ObserveQuery

__all__ = ["Links", "region_slug"]

_PAGES = {"overview": "", "findings": "/findings", "sensors": "/sensors", "map": "/map", "compare": "/compare",
          "reports": "/reports"}


def region_slug(code: str) -> str:
    """A region as written in a URL: its alpha-2 code, ``unknown`` for ``--``."""
    return "unknown" if code == "--" else code


@dataclass
class Links:
    q: ObserveQuery
    here: str  # the page's path (server) or its file name relative to the site's root (static)
    static_site: bool = False
    exported: set[str] = field(default_factory=set)  # static: the files written (others are not linked)

    @property
    def lang(self) -> str:
        return self.q.lang

    @property
    def root(self) -> str:
        """The way back to the site's root from this page (static)."""
        return "../" * self.here.count("/")

    def static(self, name: str) -> str:
        return f"{self.root}static/{name}" if self.static_site else f"/static/{name}"

    def world(self) -> str:
        """The map's country shapes (a script that registers them with ECharts)."""
        return self.static("vendor/world/world.js")

    def _file(self, rel: str) -> str | None:
        name = f"{self.lang}/{rel}"
        return self.root + name if name in self.exported else None

    def page(self, name: str) -> str:
        if self.static_site:
            return self._file("index.html") or "#"
        return self.q.url("/observe" + _PAGES[name])

    def port(self, key: str) -> str:
        if self.static_site:
            return self._file(f"ports/{key_slug(key)}.html") or "#"
        return self.q.url(f"/observe/ports/{key_slug(key)}")

    def region(self, code: str) -> str:
        if self.static_site:
            return self._file(f"regions/{region_slug(code)}.html") or "#"
        return self.q.url(f"/observe/regions/{region_slug(code)}")

    def tables(self) -> str:
        """The tables this port or region page fetches once it is drawn (the server's pages)."""
        return self.q.url(f"{self.here}/tables")

    def finding(self, fid: str) -> str:
        return self.q.url(f"/observe/findings/{fid}")

    def api(self, path: str, **params: str) -> str:
        """An API answer (``summary``, ``rankings/ports``, …); static: its file in ``data/``."""
        if self.static_site:
            return f"{self.root}data/{path.replace('/', '_')}.json"
        return f"/api/v1/{path}?" + urlencode({**self.q.params(), **params})

    def csv(self, path: str, **params: str) -> str:
        """The CSV form of an API answer."""
        if self.static_site:
            return f"{self.root}data/{path.replace('/', '_')}.csv"
        return f"/api/v1/{path}.csv?" + urlencode({**self.q.params(), **params})

    def here_path(self) -> str:
        return self.here

    def other_language(self) -> str:
        other = "en" if self.lang == "ja" else "ja"
        if self.static_site:
            return self.root + other + "/" + self.here.split("/", 1)[1] if "/" in self.here else "#"
        return self.q.url(self.here, lang=other)
