"""Fingerprints on hand-built packets, with the traps that must not match."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from teiten.capture.frames import OPT_LINUX, OPT_MSS, OPT_NONE, TCP, PacketColumns
from teiten.capture.writer import CaptureWriter
from teiten.cli.main import cli
from teiten.detect.fingerprints import fingerprint_packets, load_fingerprints
from teiten.detect.tools import region_comparison
from teiten.engine import open_observation
from teiten.errors import SettingError
from teiten.periods import period_between

T0 = 1_783_000_000_000_000  # 2026-07-02 µs
DST = 0xCB007109  # 203.0.113.9
SYN, SYNACK = 0x02, 0x12

#: (label, source, flags, seq, ip_id, dport, sport, options, mss, window): label says which fingerprint
#: must match it ("" for none)
CASES: list[tuple[str, int, int, int, int, int, int, int, int, int]] = [
    ("mirai", 0x01010101, SYN, DST, 1, 23, 40001, OPT_NONE, 0, 5840),
    ("", 0x01010102, SYNACK, DST, 2, 23, 40002, OPT_NONE, 0, 5840),  # SYN-ACK with seq = dst: backscatter
    ("", 0x01010103, SYN, int.from_bytes(DST.to_bytes(4, "big"), "little"), 3, 23, 40003, OPT_NONE, 0, 5840),
    ("zmap", 0x02020201, SYN, 77, 54321, 443, 50000, OPT_MSS, 1460, 65535),
    ("masscan", 0x03030301, SYN, 0x12345678, (DST ^ 80 ^ 0x12345678) & 0xFFFF, 80, 61000, OPT_NONE, 0, 1024),
    ("", 0x03030302, SYNACK, 0x12345678, (DST ^ 80 ^ 0x12345678) & 0xFFFF, 80, 61000, OPT_NONE, 0, 1024),
    ("nmap", 0x04040401, SYN, 99, 4, 22, 51000, OPT_MSS, 1460, 1024),
    ("", 0x04040402, SYN, 99, 5, 22, 51000, OPT_LINUX, 1460, 1024),  # more options than MSS
    ("", 0x04040403, SYN, 99, 6, 22, 51000, OPT_MSS, 1380, 1024),  # another MSS
    ("", 0x04040404, SYN, 99, 7, 22, 51000, OPT_MSS, 1460, 29200),  # an ordinary window
]
UNICORN_KEY = 0x5EED1234


def _unicorn(src: int, n: int, constant: bool, rng: np.random.Generator) -> list[tuple[int, ...]]:
    out = []
    for i in range(n):
        dport, sport = 1000 + i, 30000 + i
        seq = (UNICORN_KEY ^ DST ^ ((dport << 16) + sport)) & 0xFFFFFFFF if constant else int(rng.integers(1 << 32))
        out.append(("unicornscan" if constant and n >= 3 else "", src, SYN, seq, 100 + i, dport, sport, OPT_NONE,
                    0, 4096))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[int, ...]]]:
    tmp = tmp_path_factory.mktemp("fp")
    rng = np.random.default_rng(1)
    cases = list(CASES) + _unicorn(0x05050501, 4, True, rng) + _unicorn(0x05050502, 4, False, rng) + \
        _unicorn(0x05050503, 2, True, rng)
    cols = list(zip(*[c[1:] for c in cases], strict=True))
    n = len(cases)
    pk = PacketColumns.make(n, ts=T0 + np.arange(n) * 1000, src=cols[0], dst=DST, proto=TCP, flags=cols[1],
                            seq=cols[2], ip_id=cols[3], dport=cols[4], sport=cols[5], tcp_opts=cols[6], mss=cols[7],
                            window=cols[8])
    with CaptureWriter(tmp / "fp.pcap") as w:
        w.write(pk)
    s = tmp / "store"
    r = CliRunner().invoke(cli, ["ingest", str(tmp / "fp.pcap"), "--store", str(s), "-q"])
    assert r.exit_code == 0, r.output
    return s, cases


@pytest.mark.parametrize("name", ["mirai", "zmap", "masscan", "nmap", "unicornscan"])
def test_each_fingerprint_matches_exactly_its_packets(store: tuple[Path, list[tuple[int, ...]]], name: str) -> None:
    path, cases = store
    obs = open_observation(path)
    period = period_between("2026-07-01", "2026-07-03")
    got = fingerprint_packets(obs, load_fingerprints().get(name), period).to_pyarrow()
    expected = sorted((c[1], c[3]) for c in cases if c[0] == name)
    assert sorted(zip(got.column("src4").to_pylist(), got.column("seq").to_pylist(), strict=True)) == expected


def test_findings_json(store: tuple[Path, list[tuple[int, ...]]]) -> None:
    path, cases = store
    r = CliRunner().invoke(cli, ["detect", "--store", str(path), "--from", "2026-07-01", "--to", "2026-07-03",
                                 "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    kinds = {f["kind"]: f for f in doc["findings"]}
    # the SYN-ACK traps also trip the backscatter signature; every other finding is a fingerprint
    assert set(kinds) - {"signature"} == {"mirai", "zmap", "masscan", "nmap", "unicornscan"}
    assert doc["fingerprints_version"] >= 1
    u = kinds["unicornscan"]
    assert u["sources"] == 1 and u["evidence"]["packets"] == 4 and u["top_sources"][0]["source"] == "5.5.5.1"
    assert {"kind", "key", "title_ja", "title_en", "start", "end", "score", "evidence", "sources",
            "top_sources"} <= set(u)
    # one mirai packet among 20 IPv4 packets: expected by chance 20 × 2^-32, so the score is ~1
    assert kinds["mirai"]["score"] > 0.999
    # zmap: 1 match where 20 × 2^-16 were expected by chance
    assert kinds["zmap"]["score"] == pytest.approx(1 - len(cases) / 65536)


def test_region_comparison_ranks(store: tuple[Path, list[tuple[int, ...]]]) -> None:
    path, _ = store
    obs = open_observation(path)
    rows = region_comparison(obs, load_fingerprints().get("unicornscan"), period_between("2026-07-01", "2026-07-03"))
    fp = [r for r in rows if r["rank"] is not None]
    assert len(fp) == 1 and fp[0]["share"] == 1.0 and fp[0]["source_days"] == 1
    assert sum(r["all_share"] for r in rows) == pytest.approx(1.0)
    assert sorted(r["all_rank"] for r in rows) == list(range(1, len(rows) + 1))


def test_table_errors_name_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "f.toml"
    bad.write_text('version = 2\n[[fingerprint]]\nname = "x"\nwhere = [{ field = "proto", about = 6 }]\n')
    with pytest.raises(SettingError, match=r"fingerprint 1 \(x\).*condition"):
        load_fingerprints(bad)
    bad.write_text('version = 2\n[[fingerprint]]\nname = "y"\n')
    with pytest.raises(SettingError, match="needs a column or where"):
        load_fingerprints(bad)
    bad.write_text("version = [\n")
    with pytest.raises(SettingError, match=r"f\.toml"):
        load_fingerprints(bad)


def test_one_pass_summaries_equal_each_fingerprints_packets(tmp_path: Path,
                                                            store: tuple[Path, list[tuple[int, ...]]]) -> None:
    """The summaries of all fingerprints, counted in one pass under a mask, give each
    fingerprint exactly its own packets per source, also for a packet carrying two."""
    from teiten.detect.tools import fingerprint_summaries

    path = tmp_path / "store"
    shutil.copytree(store[0], path)  # the module's store, plus one packet
    both = PacketColumns.make(1, ts=T0 + 10_000_000, src=0x06060601, dst=DST, proto=TCP, flags=SYN, seq=DST,
                              ip_id=54321, dport=23, sport=40009, tcp_opts=OPT_NONE, window=5840)  # Mirai and ZMap
    with CaptureWriter(tmp_path / "both.pcap") as w:
        w.write(both)
    r = CliRunner().invoke(cli, ["ingest", str(tmp_path / "both.pcap"), "--store", str(path), "-q"])
    assert r.exit_code == 0, r.output
    obs = open_observation(path)
    period = period_between("2026-07-01", "2026-07-03")
    table = load_fingerprints()
    sums = fingerprint_summaries(obs, list(table.fingerprints), period)
    for fp in table.fingerprints:
        s = sums[fp.name]
        got = s.group_by("src4").aggregate(n=s.packets.sum()).to_pyarrow().to_pylist()
        pk = fingerprint_packets(obs, fp, period)
        want = pk.group_by("src4").aggregate(n=pk.count()).to_pyarrow().to_pylist()
        assert sorted((r["src4"], r["n"]) for r in got) == sorted((r["src4"], r["n"]) for r in want), fp.name
        assert (0x06060601 in {r["src4"] for r in got}) == (fp.name in ("mirai", "zmap"))
