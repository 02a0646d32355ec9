"""Schemathesis over the whole OpenAPI schema: no 5xx, and every response as the schema says.

Authenticated as the lead of project AUTH, which holds one of everything (the world of
tests/test_not_found.py), through the WSGI application in this process and this test's database.
A bounded number of examples per operation keeps the run to a couple of minutes.
"""

from __future__ import annotations

import zlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from agileml.wsgi import application
from tests.test_not_found import world  # noqa: F401

EXAMPLES = 5
# No 5xx, and every response as documented: status, content type, headers and body. (Whether a
# request the schema allows is accepted is a business rule here: a sprint that cannot start is a 400.)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def lead_headers(db, cast, world):  # noqa: F811
    # As Django's test client does: the test's connection (and transaction) outlives each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        token, _ = Token.objects.get_or_create(user=cast.lead)
        # Uncompressed answers: schemathesis reads the body as it comes (the app gzips for browsers).
        yield {"Authorization": f"Token {token.key}", "Accept-Encoding": "identity"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _aim_at_real_objects(case, real: dict) -> None:
    """Most examples name AUTH's real objects, so they reach past the 404 into the handlers; the
    others keep what was generated (the not-found paths)."""
    for name, value in list((case.path_parameters or {}).items()):
        if zlib.crc32(repr(value).encode()) % 4 == 0:
            continue
        if name == "key" and "/metrics/{key}" in case.path:
            case.path_parameters[name] = "loss"
        elif name in real:
            case.path_parameters[name] = real[name]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_schema(case, lead_headers, world):  # noqa: F811
    _aim_at_real_objects(case, world[0])
    case.call_and_validate(headers=lead_headers, checks=CHECKS)
