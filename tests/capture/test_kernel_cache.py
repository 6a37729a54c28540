"""The cached decoder is the decoder of today's source.

Numba's cache checks only the file of a cached function, and ``decode_records``
(teiten/capture/decode.py) inlines ``ip_start`` and constants from link.py and
walk.py: an edit there leaves a stale ``decode_records`` in ``__pycache__``.
This test decodes the corpus with the cached kernel and with one compiled afresh
from the source; when they differ, clear ``teiten/capture/__pycache__`` (or touch
decode.py).
"""

from __future__ import annotations

import pytest
from numba import njit

from teiten.capture import decode as dk
from teiten.capture.reader import read_capture
from tests.conftest import CORPUS, corpus_rows

#: one file of each link type and format the corpus holds
ROWS = list({(r["format"], r["linktypes"]): r for r in corpus_rows() if r["format"] != "unknown"}.values())


def _read_all() -> list[object]:
    out: list[object] = []
    for r in ROWS:
        try:
            table, summary = read_capture(CORPUS / r["path"])
        except Exception as e:  # the same error either way is what counts
            out.append(repr(e))
        else:
            out.append((table.to_pylist(), summary))
    return out


def test_cached_decoder_matches_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    cached = _read_all()
    monkeypatch.setattr(dk, "decode_records", njit(nogil=True)(dk.decode_records.py_func))
    assert _read_all() == cached, "stale numba cache: clear teiten/capture/__pycache__"
