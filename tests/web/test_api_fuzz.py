"""The API fuzzed from its own OpenAPI document (schemathesis over a live server): requests
generated to fit the schema and to break it, and not one answered with a 5xx."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.conftest import ROOT
from tests.web.conftest import Live

#: Examples per operation and generation mode: ~600 requests in all, a few seconds.
EXAMPLES = 100


def test_no_generated_request_gets_a_server_error(live: Live) -> None:
    headers = {"Authorization": f"Bearer {live.tokens['hana']}"}
    report = {"id": "fuzz-1", "channel": "email", "received_at": "2017-10-02T09:30:00+09:00",
              "incidents": [{"category": "scan", "ref": "INC-1", "ports": ["22/tcp"]}]}
    assert httpx.post(f"{live.base}/api/reports", json=report, headers=headers).status_code == 201  # incident 1
    doc = httpx.get(f"{live.base}/api/openapi.json", headers=headers).raise_for_status().json()
    schema = schemathesis.openapi.from_dict(doc)
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /api/reports", "GET /api/incidents/{iid}", "GET /api/stats"}
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                r = case.call(base_url=live.base, headers=headers, timeout=10)
                statuses[r.status_code] += 1
                if r.status_code >= 500:
                    server_errors.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}"
                                         f" -> {r.status_code} {r.text[:200]}")

            call()
    total = sum(statuses.values())
    summary = {"requests": total, "statuses": dict(sorted(statuses.items())), "server_errors": len(server_errors)}
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "api-fuzz.json").write_text(json.dumps(summary, indent=1))
    print(f"\napi fuzz: {summary}")
    assert server_errors == []
    assert total >= 3 * EXAMPLES  # every operation was exercised
    assert any(200 <= s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
