"""Every public capture is read without a crash; counts and times agree with tshark."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from teiten.capture.reader import read_capture
from teiten.errors import CaptureError, UnsupportedCapture
from tests.conftest import CORPUS, corpus_rows

ROWS = corpus_rows()


def _iso(us: int | None) -> str:
    if us is None:
        return ""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _expected_frames(row: dict[str, str]) -> int:
    """Records in the file per tshark/capinfos (custom blocks are not packets)."""
    m = re.search(r"capinfos counts (\d+) packets", row["tshark_note"])
    return int(m.group(1)) if m else int(row["frames"])


def test_corpus_is_complete() -> None:
    assert len(ROWS) == 398
    assert all((CORPUS / r["path"]).exists() for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_file_reads_like_tshark(row: dict[str, str]) -> None:
    path = CORPUS / row["path"]
    note = row["tshark_note"]
    if row["format"] == "unknown":
        with pytest.raises(CaptureError, match="not a pcap or pcapng"):
            read_capture(path)
        return
    if "major version 1" in note:
        with pytest.raises(UnsupportedCapture):
            read_capture(path)
        return
    table, s = read_capture(path)
    assert table.num_rows == s.packets
    assert s.packets + s.nonip + s.quarantined == s.frames
    if "network type" in note and "unknown or unsupported" in note:
        # tshark refuses these link types outright; we read the records and count them as not IP
        assert s.frames > 0 and s.nonip == s.frames and s.undecoded_linktypes
        return
    assert s.frames == _expected_frames(row)
    if row["damaged"] == "no":
        assert s.damage is None
    elif row["damaged"] == "damaged" or "unknown SHB version" in note:
        assert s.damage is not None and s.tail_bytes > 0
    if row["first_ts"] and "out of range" not in note and not row["first_ts"].startswith("tshark-raw"):
        assert _iso(s.first_ts) == row["first_ts"]
        assert _iso(s.last_ts) == row["last_ts"]
    if s.packets:
        frames = table.column("frame").to_numpy()
        assert (frames >= 1).all() and (frames <= s.frames).all()
