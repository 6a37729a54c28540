"""The Spark parity suite's fixtures: ONE Spark session for the whole run (``local[2]``),
stores opened on both engines, and the comparison of JSON outputs.

Every test module here is marked ``xdist_group("spark")`` so that one xdist worker runs them
all (with ``--dist loadgroup``, the project's default): one JVM per test run."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from teiten.engine import open_observation
from teiten.engine.observation import Observation

pytest.importorskip("pyspark")

#: The master of the parity suite: two local cores, as the machines of CI have.
MASTER = "local[2]"
#: Small shuffles: the test stores are small (one shuffle partition per core would do).
CONF = {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"}


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The process's one SparkSession, stopped after the last test."""
    from teiten.engine.spark import spark_session, stop_spark

    session = spark_session(MASTER, CONF)
    yield session
    stop_spark()


def on_spark(spark: Any, store: Path) -> Observation:
    return open_observation(store, engine="spark", master=MASTER, conf=CONF)


def on_both(spark: Any, store: Path) -> tuple[Observation, Observation]:
    """The store on DuckDB and on Spark."""
    return open_observation(store), on_spark(spark, store)


def jsonable(x: Any) -> Any:
    """``x`` as JSON would carry it, made comparable: dicts with sorted keys, integers as
    int64, times as UTC ISO text, bytes as hex."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(np.int64(x))
    if isinstance(x, float | np.floating):
        return float(x)
    if isinstance(x, datetime):
        return (x if x.tzinfo is not None else x.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(x, date):
        return x.isoformat()
    if isinstance(x, bytes):
        return x.hex()
    if isinstance(x, set | frozenset):
        return sorted(jsonable(v) for v in x)
    if hasattr(x, "to_json"):
        return jsonable(x.to_json())
    return x


def differences(a: Any, b: Any, where: str = "$", rel: float = 1e-9) -> list[str]:
    """Where two jsonable values differ (floats within ``rel``: sums of quotients may be
    added in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool) \
                and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12):
            return []
        return [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}: keys {sorted(set(a) ^ set(b))} in one only"] if set(a) != set(b) else []
        for k in sorted(set(a) & set(b)):
            out += differences(a[k], b[k], f"{where}.{k}", rel)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{where}[{i}]", rel)]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def assert_same(duck: Any, spark: Any) -> None:
    """The two engines' answers are the same (after :func:`jsonable`; and JSON-encodable)."""
    a, b = jsonable(duck), jsonable(spark)
    json.dumps(a), json.dumps(b)
    diff = differences(a, b)
    assert not diff, "DuckDB and Spark differ:\n" + "\n".join(diff[:20])
