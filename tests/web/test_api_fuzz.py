"""The API fuzzed from its own OpenAPI document (schemathesis over a live server): requests
generated to fit the schema and to break it, and not one answered with a 5xx. Once over the
incident API (SQLite and PostgreSQL), once over the observation API and pages with a store
behind them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from teiten.incidents.db import open_db
from teiten.incidents.users import add_user, new_token
from teiten.web.app import create_app
from tests.conftest import ROOT
from tests.web.conftest import PASSWORD, SECRET, Live, observed_store, serve

#: Examples per operation and generation mode: ~600 requests in all, a few seconds.
EXAMPLES = 100
#: The same over the observation API (each new filter is a new query of the store).
OBSERVE_EXAMPLES = 12


@dataclass
class Fuzzed:
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    no_negative_case: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def write(self, name: str) -> None:
        summary = {"requests": self.total, "statuses": dict(sorted(self.statuses.items())),
                   "server_errors": len(self.server_errors), "no_negative_case": self.no_negative_case}
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        (ROOT / "test-artifacts" / f"{name}.json").write_text(json.dumps(summary, indent=1))
        print(f"\n{name}: {summary}")


def fuzz(base: str, headers: dict[str, str], operations: list[Any], examples: int) -> Fuzzed:
    got = Fuzzed()
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                r = case.call(base_url=base, headers=headers, timeout=30)
                got.statuses[r.status_code] += 1
                if r.status_code >= 500:
                    got.server_errors.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}"
                                             f" -> {r.status_code} {r.text[:200]}")

            try:
                call()
            except Unsatisfiable:
                # a schema that admits every request (no parameters, or free strings) has no negative case
                assert mode is GenerationMode.NEGATIVE, f"{op.method} {op.path}"
                got.no_negative_case.append(f"{op.method.upper()} {op.path}")
    return got


def operations_of(base: str, headers: dict[str, str]) -> list[Any]:
    doc = httpx.get(f"{base}/api/openapi.json", headers=headers).raise_for_status().json()
    return [r.ok() for r in schemathesis.openapi.from_dict(doc).get_all_operations()]


def test_no_generated_request_gets_a_server_error(live: Live) -> None:
    headers = {"Authorization": f"Bearer {live.tokens['hana']}"}
    report = {"id": "fuzz-1", "channel": "email", "received_at": "2017-10-02T09:30:00+09:00",
              "incidents": [{"category": "scan", "ref": "INC-1", "ports": ["22/tcp"]}]}
    assert httpx.post(f"{live.base}/api/reports", json=report, headers=headers).status_code == 201  # incident 1
    operations = [op for op in operations_of(live.base, headers)
                  if not op.path.startswith(("/api/v1/", "/observe"))]  # without a store: below
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /api/reports", "GET /api/incidents/{iid}", "GET /api/stats"}
    got = fuzz(live.base, headers, operations, EXAMPLES)
    got.write("api-fuzz")
    assert got.server_errors == []
    assert got.total >= 3 * EXAMPLES  # every operation was exercised
    assert any(200 <= s < 300 for s in got.statuses) and any(400 <= s < 500 for s in got.statuses)


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("fuzz-observe")
    store = observed_store(tmp)
    db = open_db(f"sqlite:///{tmp / 'incidents.db'}")
    with db.session("admin") as s:
        tokens = {"hana": new_token(s, add_user(s, "hana", "handler", PASSWORD))}
    yield from serve(create_app(db, secret=SECRET, tz="Asia/Tokyo", store=store), db, tokens)
    db.close()


def test_no_generated_observation_request_gets_a_server_error(observed: Live) -> None:
    headers = {"Authorization": f"Bearer {observed.tokens['hana']}"}
    operations = [op for op in operations_of(observed.base, headers)
                  if op.path.startswith(("/api/v1/", "/observe")) and op.method.upper() == "GET"]
    names = {f"GET {op.path}" for op in operations}
    assert {"GET /api/v1/summary", "GET /api/v1/series/{dimension}", "GET /api/v1/packets",
            "GET /observe", "GET /observe/ports/{slug}"} <= names, names
    got = fuzz(observed.base, headers, operations, OBSERVE_EXAMPLES)
    got.write("api-fuzz-observe")
    assert got.server_errors == []
    assert got.total >= len(operations) * OBSERVE_EXAMPLES
    # the filters are in the schema: a request can break them (only a few routes without any)
    assert "GET /api/v1/summary" not in got.no_negative_case
    assert len(got.no_negative_case) < len(operations) / 4, got.no_negative_case
    assert got.statuses[200] > 0 and got.statuses[400] > 0
