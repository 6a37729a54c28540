"""What the Spark engine handles for the analyses: exactly the committed parts, empty and
legacy stores, one session, isolated stores, streamed batches, materialised tables, the
bitwise aggregates and Spark SQL over the views of ``teiten sql``."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import ibis
import pyarrow.parquet as pq
import pytest

from teiten.engine import ENGINES, open_observation, run_sql
from teiten.errors import SettingError
from teiten.ingest.pipeline import ingest_paths
from teiten.store.catalog import Sensor, add_sensor
from teiten.store.open import open_store
from tests.spark.conftest import MASTER, assert_same, on_both, on_spark
from tests.store.synth import syn_pcap

pytestmark = [pytest.mark.xdist_group("spark")]


def _store(tmp: Path, n: int = 3000, seed: int = 1) -> Path:
    store = tmp / "store"
    with open_store(store, lock=False) as con:
        add_sensor(con, Sensor("s1", ("203.0.113.0/24",), "JP", "domestic"))
    pcap = syn_pcap(tmp / f"s{seed}.pcap", n, seed=seed, start=1_700_006_400, seconds=86400 * 2)
    assert all(r.status == "ok" for r in ingest_paths(store, [pcap]))
    return store


def _count(obs: Any) -> int:
    return int(obs.packets.count().to_pyarrow().as_py())


def test_engines_and_the_one_session(spark: Any) -> None:
    from teiten.engine.spark import spark_session

    assert ENGINES == ("duckdb", "spark")
    assert spark_session(MASTER) is spark and spark_session("local[1]") is spark  # reused, never a second
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.ui.enabled") == "false" and conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_only_the_committed_parts_are_read(spark: Any, tmp_path: Path) -> None:
    store = _store(tmp_path)
    duck, sp = on_both(spark, store)
    n = _count(duck)
    part = next((store / "packets").rglob("*.parquet"))
    shutil.copy(part, part.with_name("stray-not-in-the-manifest.parquet"))  # a crashed ingest's leftover
    assert _count(on_spark(spark, store)) == _count(sp) == n == 3000


def test_stores_opened_together_stay_apart(spark: Any, tmp_path: Path) -> None:
    a = on_spark(spark, _store(tmp_path / "a", 1000, 1))
    b = on_spark(spark, _store(tmp_path / "b", 2000, 2))
    assert (_count(a), _count(b)) == (1000, 2000)


def test_an_empty_store(spark: Any, tmp_path: Path) -> None:
    store = tmp_path / "empty"
    with open_store(store, lock=False) as con:
        add_sensor(con, Sensor("s1", ("203.0.113.0/24",), "JP"))
    duck, sp = on_both(spark, store)
    assert _count(sp) == 0 and sp.data_span() is None
    assert sp.packets.schema() == duck.packets.schema() or set(sp.packets.columns) == set(duck.packets.columns)
    assert sp.rollups is not None and sp.rollups.count().to_pyarrow().as_py() == 0
    assert run_sql(store, "SELECT count(*) AS n FROM packets", engine="spark") == (["n"], [{"n": 0}])


def test_parts_from_before_the_later_columns(spark: Any, tmp_path: Path) -> None:
    """Parts without ts_inferred, ip_flags, icmp_id, icmp_seq read them as false and null."""
    store = _store(tmp_path, 500)
    for part in (store / "packets").rglob("*.parquet"):
        t = pq.read_table(part)
        pq.write_table(t.drop_columns(["ts_inferred", "ip_flags", "icmp_id", "icmp_seq"]), part)
    con = sqlite3.connect(store / "manifest.sqlite")
    con.execute("ALTER TABLE files DROP COLUMN ts_inferred")
    con.commit()
    con.close()
    duck, sp = on_both(spark, store)

    def flags(obs: Any) -> Any:
        t = obs.packets
        return t.aggregate(n=t.count(), inferred=t.ts_inferred.sum(), known=t.ts_inferred.count(),
                           ip_flags=t.ip_flags.count()).to_pyarrow().to_pylist()

    assert flags(sp) == flags(duck) == [{"n": 500, "inferred": 0, "known": 500, "ip_flags": 0}]


def test_values_types_and_batches(spark: Any, tmp_path: Path) -> None:
    """Spark has no unsigned integers: the values are the same, in wider signed types; times
    are UTC instants on both; batches are streamed at most ``rows`` rows at a time."""
    duck, sp = on_both(spark, _store(tmp_path))
    cols = ["ts", "ts_us", "src4", "dst4", "sport", "dport", "proto", "ttl", "seq", "key", "kc", "region", "part_day"]

    def rows(obs: Any) -> list[dict[str, Any]]:
        t = obs.packets.select(*cols)
        got = [r for b in obs.batches(t, 700) for r in b.to_pylist()]
        sizes = [b.num_rows for b in obs.batches(t, 700)]
        assert max(sizes) <= 700 and sum(sizes) == 3000
        return sorted(got, key=lambda r: (r["ts_us"], r["src4"], r["seq"]))

    assert_same(rows(duck), rows(sp))
    assert sp.packets.schema()["ts"] == duck.packets.schema()["ts"]  # timestamp('UTC', 6)
    assert str(sp.packets.schema()["src4"]) == "int64" and str(duck.packets.schema()["src4"]) == "uint32"


def test_materialised_tables_and_bit_or(spark: Any, tmp_path: Path) -> None:
    duck, sp = on_both(spark, _store(tmp_path))

    def answer(obs: Any) -> Any:
        t = obs.packets
        agg = t.group_by("key").aggregate(m=(ibis.literal(1, "int64") << (t.dport % 8).cast("int64")).bit_or(),
                                          n=t.count(), first=t.ts.min())
        m = obs.materialize(agg, "bits")
        assert m.schema() == agg.schema()
        return m.order_by("key").to_pyarrow().to_pylist()

    assert_same(answer(duck), answer(sp))


def test_sql_over_the_same_views(spark: Any, tmp_path: Path) -> None:
    store = _store(tmp_path)
    for q in ("SELECT key, count(*) AS n, min(src_ip) AS lo, max(dst_ip) AS hi, min(day) AS d FROM packets"
              " GROUP BY key ORDER BY key",
              "SELECT count(*) AS n FROM packets_raw", "SELECT count(*) AS n FROM outbound",
              "SELECT name FROM sensors", "SELECT count(*) AS n, sum(packets) AS p FROM files",
              "SELECT sum(packets) AS p FROM slots_raw"):
        duck = run_sql(store, q)
        sp = run_sql(store, q, engine="spark", master=MASTER)
        assert duck is not None and sp is not None
        assert sp[0] == duck[0], q
        assert_same(duck[1], sp[1])
    with pytest.raises(SettingError, match="SQL error"):
        run_sql(store, "SELECT nothing FROM nowhere", engine="spark")
    with pytest.raises(SettingError, match="unknown engine"):
        open_observation(store, engine="spork")
