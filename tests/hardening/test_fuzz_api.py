"""Schemathesis fuzzing of every operation in the app's own OpenAPI against a real server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as core_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

from tests.hardening.conftest import server_log, server_process, strict_json

pytestmark = pytest.mark.slow

EXAMPLES_PER_MODE = 20  # per operation, per generation mode (valid and invalid inputs)
# The JSON API alone (the HTML page routes are not in the OpenAPI; tests/hardening/test_hostile_values.py
# sweeps their forms instead); the hardening issue asks for at least 1,000 fuzzed requests in all.
MIN_REQUESTS = 1000
SESSION_PARAMS = ("session_id", "sid")

# The server's caps are lowered so that a fuzzed "1000 epochs of the biggest network" stays quick; every
# code path is the same, only the numbers are smaller. Rate limits are lifted: the fuzzer is one address.
FUZZ_ENV = {
    "sessions_per_client_per_minute": "100000", "requests_per_client_per_second": "100000",
    "requests_burst": "100000", "max_units": "8", "max_hidden_layers": "2", "max_samples": "500",
}


@dataclass
class Tally:
    requests: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    with server_process(data_dir, **FUZZ_ENV) as (base_url, _process):
        yield base_url, data_dir


def _checks_for(path: str) -> list[Any]:
    """The JSON API must match its documented schema and content type; HTML routes (pages, htmx
    fragments) are checked for server errors only, as their 4xx answers are HTML fragments."""
    if path.startswith("/api/"):
        return [core_checks.not_a_server_error, openapi_checks.response_schema_conformance,
                openapi_checks.content_type_conformance]
    return [core_checks.not_a_server_error]


def _new_session(http: requests.Session, base_url: str) -> str:
    response = http.post(f"{base_url}/api/sessions", json={}, timeout=30)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


def _fuzz_operation(operation: Any, mode: GenerationMode, base_url: str, http: requests.Session,
                    tally: Tally, fixed: dict[str, str] | None) -> None:
    checks = _checks_for(operation.path)
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

    @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, phases=[Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=http, timeout=60)
        tally.requests += 1
        tally.per_operation[operation.label] = tally.per_operation.get(operation.label, 0) + 1
        label = f"{operation.label} [{mode.value}] -> {response.status_code}"
        try:
            case.validate_response(response, checks=checks)
        except (FailureGroup, AssertionError) as error:  # collected, then reported together
            tally.failures.append(f"{label}: {str(error)[:400]}")
        if operation.path.startswith("/api/") and "json" in response.headers.get("content-type", ""):
            try:
                strict_json(response.content)
            except ValueError as error:
                tally.failures.append(f"{label}: not strict JSON: {error}")

    with contextlib.suppress(Unsatisfiable):  # an operation without parameters has no invalid input
        run()


def test_fuzzing_every_operation_gives_no_server_error_and_schema_conformant_answers(
    fuzz_server: tuple[str, Path],
) -> None:
    base_url, data_dir = fuzz_server
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    http = requests.Session()
    tally = Tally()
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20, "the OpenAPI document lost its operations"
    for operation in operations:
        if operation.path.endswith("/stream"):
            continue  # an endless SSE response; test_faults reads the stream on purpose
        takes_session = any(f"{{{name}}}" in operation.path for name in SESSION_PARAMS)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Random ids (404 paths) first, then a real session so the deep code paths run too.
            _fuzz_operation(operation, mode, base_url, http, tally, None)
            if takes_session:
                session_id = _new_session(http, base_url)
                fixed = {name: session_id for name in SESSION_PARAMS if f"{{{name}}}" in operation.path}
                _fuzz_operation(operation, mode, base_url, http, tally, fixed)
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {tally.requests} requests over {len(tally.per_operation)} operations "
          f"in {elapsed:.1f} s, {len(tally.failures)} failures")
    log_tail = server_log(data_dir)[-4000:]
    kinds = sorted({failure.split(": ")[0] + " " + failure.split("- ST")[-1][:40].replace("\n", " ")
                    for failure in tally.failures})
    report = "\n".join(kinds) + "\n\n" + "\n".join(tally.failures[:5]) + "\n--- server log ---\n" + log_tail
    assert tally.failures == [], report
    assert tally.requests >= MIN_REQUESTS
    assert "Traceback" not in server_log(data_dir)
