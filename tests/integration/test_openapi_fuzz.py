"""Schemathesis against the live OpenAPI of a real server, signed in as admin.

Every operation gets a fixed, small number of generated requests (valid ones and ones that
break the schema), derandomized so that a run repeats itself, with no shrinking so that the
run stays bounded. Each answer is checked: no 5xx, its status code is documented for the
operation, its content type and its body match what the schema says. Every failure is
collected and the test lists them all at once.

KEFU_TEST_OPENAPI_EXAMPLES sets the examples per operation and mode (default 8).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.clock import ManualClock
from tests.support.server import ADMIN_TOKEN, Server, running_server, test_settings

EXAMPLES = int(os.environ.get("KEFU_TEST_OPENAPI_EXAMPLES", "8"))
BUDGET_S = 60.0 * float(os.environ.get("KEFU_TEST_TIMEOUT_FACTOR", "1"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
LONGEST = 900  # characters of one failure's report


def fuzz(raw: dict[str, Any], base_url: str) -> tuple[int, list[str]]:
    """Every operation, every mode: how many requests went out and what failed."""
    schema = schemathesis.openapi.from_dict(raw)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        return run_all(schema, session, base_url)


def run_all(schema: Any, session: requests.Session, base_url: str) -> tuple[int, list[str]]:
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def one(case: Any) -> None:
                nonlocal sent
                sent += 1
                response = case.call(base_url=base_url, session=session, timeout=10)
                case.validate_response(response, checks=CHECKS)

            try:
                one()
            except Unsatisfiable:
                continue  # nothing to break: an operation without parameters nor a body
            except (Exception, FailureGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:LONGEST]}")
    return sent, failures


async def test_openapi_fuzz_finds_no_server_error_and_no_undocumented_answer(
    database_url: str, clock: ManualClock
) -> None:
    settings_ = test_settings(database_url)
    async with running_server(settings_, clock) as server:
        await seed(server)
        raw = (await server.http.get("/openapi.json")).json()
        started = time.monotonic()
        sent, failures = await asyncio.to_thread(fuzz, raw, server.url)
        took = time.monotonic() - started
    assert not failures, "\n\n".join(failures)
    operations = sum(len(methods) for methods in raw["paths"].values())
    assert sent >= operations, (sent, operations)
    assert took < BUDGET_S, f"the run took {took:.1f} s for {sent} requests"


async def seed(server: Server) -> None:
    """A few rows for the generated ids to find: an agent, a group, a chat."""
    await server.new_agent("小王", "1001")
    await server.group("vip", "VIP")
    customer = await server.customer()
    await customer.say("你好")
