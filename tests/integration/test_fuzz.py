"""Both APIs fuzzed from their own OpenAPI documents (schemathesis) on a real stack, PostgreSQL and Redis:
no answer is a 5xx, and every answer is one the document describes (status, media type and body)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.stack import Stack, postgres_stack, running

pytestmark = pytest.mark.integration

# Examples per operation and generation mode: ~30 operations, so a few hundred requests in all.
EXAMPLES = int(os.environ.get("ADUAN_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The staff API as three roles: the front office (its own queue), the head of office (reads all)
# and the admin (writes categories, the calendar, the disposition instructions).
STAFF_ROLES = ("fo", "kadis", "admin")


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(postgres_stack(tmp_path_factory.mktemp("stack-fuzz"), redis_db=10)) as s:
        lines = [line.strip() for line in s.banner.splitlines()]
        [password] = [line.removeprefix("admin / ") for line in lines if line.startswith("admin / ")]
        s.tokens["admin"] = s.login("admin", password)
        yield s


def _operations(base_url: str) -> list[APIOperation[Any, Any, Any, Any]]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=10)
    schema.config.update(base_url=base_url)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid OpenAPI
        operations.append(result.ok())
    return operations


def _fuzz(base_url: str, mode: GenerationMode, call: Callable[[Case[Any]], None]) -> None:
    """Send EXAMPLES generated cases to each operation; fail with every operation that misbehaved."""
    failures: list[str] = []
    for operation in _operations(base_url):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],  # the first failure as found: shrinking costs minutes
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def run(case: Case[Any]) -> None:
            call(case)

        try:
            run()
        except Unsatisfiable:
            continue  # negative mode, and nothing in the operation that could be made invalid
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_intake_api_answers_as_documented(fuzz_stack: Stack, mode: GenerationMode) -> None:
    def call(case: Case[Any]) -> None:
        case.headers["X-Kiosk-Key"] = fuzz_stack.kiosk_key
        case.call_and_validate(checks=CHECKS, timeout=20)

    _fuzz(fuzz_stack.intake_url, mode, call)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_staff_api_answers_as_documented(fuzz_stack: Stack, mode: GenerationMode) -> None:
    def call(case: Case[Any]) -> None:
        for user in STAFF_ROLES:
            case.headers["Authorization"] = f"Bearer {fuzz_stack.tokens[user]}"
            case.call_and_validate(checks=CHECKS, timeout=20)

    _fuzz(fuzz_stack.staff_url, mode, call)
