"""schemathesis over the API's own OpenAPI: no server error, every response matches its schema.

The number of examples per operation is bounded (HIMAYA_FUZZ_EXAMPLES, default 12) so CI
stays fast; the reliability suite runs a larger budget.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api_data import intake
from tests.conftest import ApiClient

EXAMPLES = int(os.environ.get("HIMAYA_FUZZ_EXAMPLES", "12"))
SKIPPED = {("POST", "/api/v1/auth/revoke")}  # would revoke the fuzzer's own token


# Each user on one database (the coordinator's operations on SQLite, the administrator's on PostgreSQL)
# keeps the suite short; HIMAYA_FUZZ_ALL=1 runs every user on both.
PAIRS = ([(db, user) for db in ("sqlite", "postgresql") for user in ("cape.tanger", "admin")]
         if os.environ.get("HIMAYA_FUZZ_ALL") else [("sqlite", "cape.tanger"), ("postgresql", "admin")])


@pytest.mark.parametrize(("database", "username"), PAIRS, indirect=["database"])
def test_openapi_fuzzing_finds_no_server_error(api: ApiClient, username: str):
    engine = api.app.extensions["himaya"]
    assert api.post("/api/v1/cases", "cape.tanger", json=intake(engine)).status_code == 201
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.app)
    headers = {"Authorization": f"Bearer {api.token(username)}"}
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) >= 20
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        check()
