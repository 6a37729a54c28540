"""The demo telescope: sensor sites, their addresses and capture file formats."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SITES", "Site", "Telescope", "telescope"]


@dataclass(frozen=True)
class Site:
    """One sensor site: a catalog entry plus how its daily capture files are written."""

    name: str
    cidrs4: tuple[str, ...]
    addrs6: tuple[str, ...]
    country: str
    group: str  # domestic / foreign
    kind: str  # passive / responder
    fmt: str = "pcap"  # pcap / pcapng
    compress: str = ""  # "", "gz", "zst" (every file), or "zst-sun" (Sundays only)

    def catalog(self) -> dict[str, Any]:
        return {"name": self.name, "addresses": [*self.cidrs4, *(f"{a}/128" for a in self.addrs6)],
                "country": self.country, "group": self.group, "kind": self.kind}


#: Unannounced blocks (no origin AS in the shipped data); their GeoIP does not matter.
SITES: tuple[Site, ...] = (
    Site("tokyo-1", ("133.255.16.0/25",), ("2001:2f8:ffff:d::a0", "2001:2f8:ffff:d::a1", "2001:2f8:ffff:d::a2",
                                           "2001:2f8:ffff:d::a3"), "JP", "domestic", "passive"),
    Site("osaka-1", ("192.50.50.128/25",), ("2001:2f8:ffff:e::b0", "2001:2f8:ffff:e::b1"), "JP", "domestic",
         "passive", compress="zst-sun"),
    Site("th-1", ("157.179.5.208/29",), (), "TH", "foreign", "passive", compress="gz"),
    Site("id-1", ("160.22.187.80/29",), (), "ID", "foreign", "passive", compress="gz"),
    Site("ph-1", ("160.30.3.112/29",), (), "PH", "foreign", "responder", fmt="pcapng"),
)


@dataclass(frozen=True)
class Telescope:
    """Every sensor address with the index of its site (IPv4 and IPv6 apart)."""

    sites: tuple[Site, ...]
    addr4: npt.NDArray[np.uint32]
    site4: npt.NDArray[np.int16]
    addr6: npt.NDArray[np.uint8]  # (k, 16)
    site6: npt.NDArray[np.int16]

    def site_of4(self, dst: npt.NDArray[np.uint32]) -> npt.NDArray[np.int16]:
        order = np.argsort(self.addr4)
        pos = np.searchsorted(self.addr4[order], dst)
        out: npt.NDArray[np.int16] = self.site4[order[np.minimum(pos, len(order) - 1)]]
        return out


def telescope(sites: tuple[Site, ...] = SITES) -> Telescope:
    a4: list[int] = []
    s4: list[int] = []
    a6: list[bytes] = []
    s6: list[int] = []
    for i, site in enumerate(sites):
        for cidr in site.cidrs4:
            hosts = [int(a) for a in ipaddress.ip_network(cidr)]
            a4 += hosts
            s4 += [i] * len(hosts)
        a6 += [ipaddress.IPv6Address(a).packed for a in site.addrs6]
        s6 += [i] * len(site.addrs6)
    return Telescope(sites, np.array(a4, dtype=np.uint32), np.array(s4, dtype=np.int16),
                     np.frombuffer(b"".join(a6), dtype=np.uint8).reshape(-1, 16).copy(),
                     np.array(s6, dtype=np.int16))
