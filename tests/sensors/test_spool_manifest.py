"""A sensor's spool and manifests: wall-clock intervals, atomic closing, a signed hash chain
that any change breaks, heartbeats, resuming the sequence after a crash."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from teiten.errors import InputError, SettingError
from teiten.sensors import credentials
from teiten.sensors.manifest import chain_problems, parse_manifest
from teiten.sensors.spool import Spool, interval_name, interval_of

T0 = 1_780_000_000  # 2026-05-28T20:26:40Z


def test_intervals_start_on_multiples_of_the_rotation() -> None:
    assert interval_of(T0 + 0.5, 300) == (1_779_999_900, 1_780_000_200)
    day = 86_400
    starts = {interval_of(T0 + day * k + 17.25, 300)[0] % 300 for k in range(400)}  # no drift over a year
    assert starts == {0}
    assert interval_name("tokyo-1", 1_779_999_900) == "tokyo-1-20260528T202500Z"
    with pytest.raises(SettingError):
        interval_of(T0, 0)


def test_keys_are_private_and_kept(tmp_path: Path) -> None:
    key = credentials.generate(tmp_path / "creds")
    assert os.stat(tmp_path / "creds" / credentials.PRIVATE).st_mode & 0o777 == 0o600
    pub = credentials.public_key((tmp_path / "creds" / credentials.PUBLIC).read_text())
    assert credentials.public_hex(pub) == credentials.public_hex(key.public_key())
    loaded = credentials.load_private(tmp_path / "creds")
    assert credentials.public_hex(loaded.public_key()) == credentials.public_hex(pub)
    with pytest.raises(SettingError, match="exists"):
        credentials.generate(tmp_path / "creds")
    with pytest.raises(SettingError, match="no signing key"):
        credentials.load_private(tmp_path / "nothing")


def _closed(spool: Spool, key: credentials.Ed25519PrivateKey, k: int, packets: int) -> None:
    start = 1_779_999_900 + 300 * k
    cap = None
    if packets:
        cap = spool.tmp / "open.pcapng"
        cap.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(60 * packets))
    spool.close_interval(start, start + 300, cap, packets=packets, size=64 * packets, first=start + 1.5,
                         last=start + 299.25, dropped={"kernel": k, "interface": 0}, key=key)


def test_intervals_close_into_a_signed_chain(tmp_path: Path) -> None:
    key = credentials.generate(tmp_path / "creds")
    spool = Spool(tmp_path / "spool", "tokyo-1")
    for k, n in enumerate([3, 0, 5]):
        _closed(spool, key, k, n)
    ms = spool.manifests()
    assert [m.seq for m in ms] == [1, 2, 3] and [m.heartbeat for m in ms] == [False, True, False]
    assert ms[1].file is None and ms[1].packets == 0 and ms[1].first_ts is None  # a heartbeat: no file
    assert sorted(p.name for p in spool.ready.iterdir()) == [
        "tokyo-1-20260528T202500Z.json", "tokyo-1-20260528T202500Z.pcapng", "tokyo-1-20260528T203000Z.json",
        "tokyo-1-20260528T203500Z.json", "tokyo-1-20260528T203500Z.pcapng"]
    assert list(spool.tmp.iterdir()) == []
    pub = key.public_key()
    assert all(m.verified(pub) for m in ms)
    assert ms[0].prev is None and ms[1].prev == ms[0].digest() and ms[2].prev == ms[1].digest()
    assert chain_problems(ms[0], ms[1]) == ([], 0) and chain_problems(ms[1], ms[2]) == ([], 0)
    assert ms[0].interval_start == "2026-05-28T20:25:00Z" and ms[0].first_ts == "2026-05-28T20:25:01.500000Z"
    assert ms[2].dropped == {"kernel": 2, "interface": 0}
    # any change breaks the signature; a changed manifest breaks the next one's chain
    forged = replace(ms[1], packets=7)
    assert not forged.verified(pub)
    assert chain_problems(forged, ms[2])[0] == ["prev does not match manifest 2: the chain is broken"]
    other = credentials.Ed25519PrivateKey.generate()
    assert not ms[0].signed(other).verified(pub)
    # a gap in seq is reported, not refused
    assert chain_problems(ms[0], ms[2]) == ([], 1)
    assert chain_problems(ms[2], ms[1])[0] == ["seq 2 is not after 3"]


def test_a_restart_resumes_the_sequence_and_drops_half_files(tmp_path: Path) -> None:
    key = credentials.generate(tmp_path / "creds")
    spool = Spool(tmp_path / "spool", "s1")
    _closed(spool, key, 0, 2)
    _closed(spool, key, 1, 2)
    spool.mark_sent(spool.manifests()[0])
    (spool.tmp / "open.pcapng").write_bytes(b"half")  # kill -9 while the interval was open
    again = Spool(tmp_path / "spool", "s1")
    assert [p.name for p in again.recover()] == ["open.pcapng"]
    assert again.last() is not None and again.last().seq == 2  # type: ignore[union-attr]
    _closed(again, key, 2, 1)
    ms = again.manifests(again.ready)
    assert [m.seq for m in ms] == [2, 3] and ms[1].prev == ms[0].digest()
    assert [m.seq for m in again.manifests(again.sent)] == [1]


def test_prune_sent_keeps_the_newest_within_the_quota(tmp_path: Path) -> None:
    key = credentials.generate(tmp_path / "creds")
    spool = Spool(tmp_path / "spool", "s1")
    for k in range(4):
        _closed(spool, key, k, 10)
    for m in spool.manifests():
        spool.mark_sent(m)
    total = sum(p.stat().st_size for p in spool.sent.iterdir())
    gone = spool.prune_sent(total // 2)
    assert gone and all(g.name < min(p.name for p in spool.sent.iterdir()) for g in gone)
    assert sum(p.stat().st_size for p in spool.sent.iterdir()) <= total // 2


@pytest.mark.parametrize("change", [
    lambda d: d.update(seq=0), lambda d: d.update(packets=-1), lambda d: d.update(extra=1),
    lambda d: d.pop("sig"), lambda d: d.update(seq="1"), lambda d: d.update(dropped={"kernel": 1}),
    lambda d: d.update(file=None),  # packets but no file
])
def test_bad_manifests_are_refused_clearly(tmp_path: Path, change: object) -> None:
    key = credentials.generate(tmp_path / "creds")
    spool = Spool(tmp_path / "spool", "s1")
    _closed(spool, key, 0, 2)
    d = json.loads(spool.manifests()[0].to_bytes())
    change(d)  # type: ignore[operator]
    with pytest.raises(InputError):
        parse_manifest(json.dumps(d).encode())
    with pytest.raises(InputError):
        parse_manifest(b"\xff not json")


def test_sensor_names_cannot_leave_the_spool(tmp_path: Path) -> None:
    for bad in ("../x", "a/b", ".hidden", ""):
        with pytest.raises(SettingError):
            Spool(tmp_path / "spool", bad)


def test_past_the_quota_the_oldest_unshipped_intervals_go_as_a_gap(tmp_path: Path) -> None:
    key = credentials.generate(tmp_path / "creds")
    spool = Spool(tmp_path / "spool", "s1")
    for k in range(6):
        _closed(spool, key, k, 20)
    sizes = spool.size()
    lost = spool.enforce_quota(sizes // 2)
    left = spool.manifests()
    assert lost and [m.seq for m in lost] == list(range(1, len(lost) + 1))
    assert spool.size() <= sizes // 2 and left[-1].seq == 6
    assert [m.seq for m in left] == list(range(len(lost) + 1, 7))
    assert chain_problems(None, left[0])[1] == 0 and chain_problems(lost[-1], left[0]) == ([], 0)
    # the collector, whose last is the interval before the lost ones, sees a gap
    assert chain_problems(replace(lost[0], seq=0), left[0])[1] == len(lost)
    assert spool.enforce_quota(1) and [m.seq for m in spool.manifests()] == [6]  # the newest always stays


def test_closed_intervals_waiting_for_their_manifests_survive_a_crash(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", "s1")
    spool.open_file.write_bytes(b"interval one")
    one = spool.hold(1_780_000_200, 1_780_000_500, {"kernel": 3, "interface": 0}, 7)
    assert one.capture.read_bytes() == b"interval one" and not spool.open_file.exists()
    # the next interval closed as far as its note when the sensor was killed: its capture is
    # still the open file, complete (the writer had closed it)
    spool.open_file.write_bytes(b"interval two")
    note = spool.tmp / f"{interval_name('s1', 1_780_000_500)}.held.json"
    note.write_text('{"start": 1780000500, "end": 1780000800, "dropped": {"kernel": 0, "interface": 1},'
                    ' "replies": 0}')
    lost = spool.tmp / f"{interval_name('s1', 1_780_000_800)}.held.json"  # its capture lost: no file
    lost.write_text('{"start": 1780000800, "end": 1780001100, "dropped": {"kernel": 0, "interface": 0},'
                    ' "replies": 0}')
    (spool.tmp / "junk.tmp").write_bytes(b"half")
    again = Spool(tmp_path / "spool", "s1")
    held = again.held()
    assert [(h.start, h.end, h.capture.read_bytes(), h.dropped, h.replies) for h in held] == [
        (1_780_000_200, 1_780_000_500, b"interval one", {"kernel": 3, "interface": 0}, 7),
        (1_780_000_500, 1_780_000_800, b"interval two", {"kernel": 0, "interface": 1}, 0)]
    assert [p.name for p in again.recover(keep=held)] == ["junk.tmp"]
    assert sorted(p.name for p in again.tmp.iterdir()) == sorted(
        n for h in held for n in (h.capture.name, h.note.name))
