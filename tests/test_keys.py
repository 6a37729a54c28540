"""The port key's forms agree: Python, numpy, Ibis on DuckDB, and the SQL text."""

from __future__ import annotations

import duckdb
import ibis
import numpy as np
import pyarrow as pa
import pytest

from teiten.keys import KEY_SQL, KEYED, is_key, key_code, key_codes, key_codes_of, key_name, key_text, port_key

# every branch: each keyed protocol with and without its number, other protocols, fragments
ROWS = [
    (6, 445, None, 0, "445/TCP"), (17, 5060, None, 0, "5060/UDP"), (132, 2905, None, 0, "2905/SCTP"),
    (1, None, 8, 0, "8/ICMP"), (58, None, 128, 0, "128/ICMPv6"), (47, None, None, 0, "47/OTHER"),
    (6, None, None, 0, "6/OTHER"), (1, None, None, 0, "1/OTHER"), (6, 80, None, 2, "FRAG"),
    (17, 0, None, 1, "0/UDP"), (0, None, None, 0, "0/OTHER"), (255, None, None, 0, "255/OTHER"),
]


def _table() -> pa.Table:
    proto, dport, itype, frag, _ = zip(*ROWS, strict=True)
    return pa.table({"proto": pa.array(proto, pa.uint8()), "dport": pa.array(dport, pa.uint16()),
                     "icmp_type": pa.array(itype, pa.uint8()), "frag": pa.array(frag, pa.uint8())})


def test_every_form_gives_the_same_key() -> None:
    t = _table()
    want = [r[-1] for r in ROWS]
    codes = key_codes_of(t).tolist()
    assert [key_name(c) for c in codes] == want  # numpy → Python
    assert key_codes(want) == codes  # Python inverse
    db = duckdb.connect()
    db.register("p", t)
    m = ibis.duckdb.from_connection(db).table("p")
    got = m.select(key=port_key(m), kc=key_code(m)).mutate(text=key_text(ibis._.kc)).to_pyarrow()
    assert got.column("key").to_pylist() == want  # Ibis text
    assert got.column("kc").to_pylist() == codes  # Ibis code
    assert got.column("text").to_pylist() == want  # Ibis text of the code
    assert [r[0] for r in db.execute(f"SELECT {KEY_SQL} FROM p").fetchall()] == want  # SQL


def test_is_key_selects_the_packets_of_the_key() -> None:
    # the drill-down's filter on the stored columns picks exactly the rows whose key text matches
    db = duckdb.connect()
    db.register("p", _table())
    m = ibis.duckdb.from_connection(db).table("p").mutate(i=ibis.row_number())
    keys = [r[-1] for r in ROWS]
    for key in [*keys, "446/TCP", "9/ICMP", "17/OTHER"]:
        got = sorted(m.filter(is_key(m, key)).i.to_pyarrow().to_pylist())
        assert got == [i for i, k in enumerate(keys) if k == key], key


@pytest.mark.parametrize("proto", sorted(KEYED))
def test_codes_round_trip_over_numbers(proto: int) -> None:
    name = KEYED[proto][0]
    numbers = np.array([0, 1, 255, 65535 if KEYED[proto][1] == "dport" else 255])
    keys = [f"{n}/{name}" for n in numbers]
    assert [key_name(c) for c in key_codes(keys)] == keys
