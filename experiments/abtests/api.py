"""REST API for online tests. Thin: access helper → input serializer → service/selector → output serializer.

Roles: stakeholders read and may ask for assignments; engineers create drafts and send events; leads
start, stop and ship. A production service authenticates with the API token of a project member.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments.abtests import selectors, services
from experiments.abtests.access import assignment_design_for_user, onlinetest_for_user
from experiments.abtests.models import AbTestState
from experiments.abtests.serializers import (
    AbTestAssignmentOutput,
    AbTestBatchErrorOutput,
    AbTestCreateInput,
    AbTestDetailOutput,
    AbTestIngestOutput,
    AbTestOutput,
    AbTestStopInput,
    abtest_out,
)
from experiments.benchmarks.access import benchmark_for_user
from experiments.evaluation.online import Assigner
from tickets.api import E400, E401, E403, E404
from tickets.models import Role

# 10,000 events of a few hundred bytes each, with room to spare.
MAX_BATCH_BYTES = 16 * 1024 * 1024
E409 = OpenApiResponse(
    AbTestBatchErrorOutput, description="The test is not running (a draft or stopped): nothing stored."
)
E413 = OpenApiResponse(AbTestBatchErrorOutput, description="More than 10,000 events in one batch: nothing stored.")
EBATCH = OpenApiResponse(
    AbTestBatchErrorOutput, description="A bad line: every problem by line and column; nothing stored."
)


class RawBatchParser(BaseParser):
    """Keeps an event batch's bytes as they came (CSV or JSON lines); the service parses them by line."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return b""
        body = stream.read(MAX_BATCH_BYTES + 1)
        if len(body) > MAX_BATCH_BYTES:
            raise TooLarge(f"A batch may hold at most {MAX_BATCH_BYTES // (1024 * 1024)} MB; split it.")
        return body


class TooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def _detail(test) -> dict:
    return AbTestDetailOutput(abtest_out(selectors.onlinetest_fresh(test=test), detail=True)).data


class BenchmarkTestsApi(APIView):
    @extend_schema(responses={200: AbTestOutput(many=True), 401: E401, 404: E404}, summary="A benchmark's online tests")
    def get(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id)
        rows = selectors.abtests_of_benchmark(benchmark=benchmark)
        return Response(AbTestOutput([abtest_out(t) for t in rows], many=True).data)

    @extend_schema(
        request=AbTestCreateInput,
        responses={201: AbTestDetailOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Create a draft online test of the champion against challengers (engineers and leads)",
        description="The first arm is the champion (the benchmark's current champion, if it has one). The design is "
        "checked by the statistics engine; a problem is answered with 400 naming the field.",
    )
    def post(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id, need=Role.ENGINEER)
        data = AbTestCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        test = services.onlinetest_create(benchmark=benchmark, user=request.user, **data.validated_data)
        test.benchmark = benchmark
        return Response(_detail(test), status=status.HTTP_201_CREATED)


class TestDetailApi(APIView):
    @extend_schema(
        responses={200: AbTestDetailOutput, 401: E401, 404: E404},
        summary="One online test: arms, the difference with its confidence sequence, SRM, decision",
    )
    def get(self, request: Request, abtest_id: str) -> Response:
        test = onlinetest_for_user(request.user, abtest_id)
        selectors.attach_run_names([test])
        return Response(AbTestDetailOutput(abtest_out(test, detail=True)).data)


class TestStartApi(APIView):
    @extend_schema(
        request=None,
        responses={200: AbTestDetailOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Start a draft test: assignment and events open (leads)",
    )
    def post(self, request: Request, abtest_id: str) -> Response:
        test = onlinetest_for_user(request.user, abtest_id, need=Role.LEAD)
        services.onlinetest_start(test=test, user=request.user)
        return Response(_detail(test))


class TestStopApi(APIView):
    @extend_schema(
        request=AbTestStopInput,
        responses={200: AbTestDetailOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Stop a running test with a decision (leads); ship goes through the promotion gate",
        description="ship needs the online statistics to support the challenger (no sample-ratio mismatch, better on "
        "the primary outcome, every guardrail holding) and the benchmark's promotion gate to accept its "
        "evaluation; otherwise 400 with the reasons under `decision` and nothing changes. A ship writes the "
        "champion history with the online evidence attached.",
    )
    def post(self, request: Request, abtest_id: str) -> Response:
        test = onlinetest_for_user(request.user, abtest_id, need=Role.LEAD)
        data = AbTestStopInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.onlinetest_stop(test=test, user=request.user, **data.validated_data)
        return Response(_detail(test))


class AssignApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("unit", str, required=True, description="The user, session or device id.")],
        responses={200: AbTestAssignmentOutput, 400: E400, 401: E401, 404: E404, 409: E409},
        summary="The variant a unit sees: hash-based, sticky, no database write (any member)",
        description="While the test runs: the hash of the README. Once stopped: the shipped challenger for a ship, "
        "else the champion, for every unit. A draft answers 409.",
    )
    def get(self, request: Request, abtest_id: str) -> Response:
        design = assignment_design_for_user(request.user, abtest_id)
        unit = (request.query_params.get("unit") or "").strip()
        if not unit:
            raise ValidationError({"unit": "Give the unit of randomisation: ?unit=<user, session or device id>."})
        if design["state"] == AbTestState.DRAFT:
            return Response(
                {"message": "This test is a draft; start it before assigning units.", "lines": []},
                status=status.HTTP_409_CONFLICT,
            )
        if design["state"] == AbTestState.RUNNING:
            variant = Assigner(design["salt"], design["arms"]).assign(unit)
        else:
            variant = design["decision_variant"] or design["arms"][0][0]
        return Response({"test": design["id"], "unit": unit, "variant": variant, "state": design["state"]})


class EventsApi(APIView):
    parser_classes = [RawBatchParser]

    @extend_schema(
        request={"text/csv": str, "application/x-ndjson": str},
        responses={200: AbTestIngestOutput, 400: EBATCH, 401: E401, 403: E403, 404: E404, 409: E409, 413: E413},
        summary="Send a batch of outcome events (engineers and leads; up to 10,000 per request)",
        description="CSV with a header, or JSON lines, with event_id, unit, variant, outcome, timestamp, optional "
        "covariate and one column per guardrail. Idempotent by event_id: sending a batch twice stores nothing "
        "new. A bad line refuses the whole batch, naming every problem by line and column.",
    )
    def post(self, request: Request, abtest_id: str) -> Response:
        test = onlinetest_for_user(request.user, abtest_id, need=Role.ENGINEER)
        # An empty request has no stream to parse, and DRF then gives an empty dict.
        body = request.data if isinstance(request.data, bytes | str) else b""
        try:
            result = services.events_ingest(test=test, body=body, content_type=request.content_type)
        except services.EventBatchError as error:
            return Response({"message": str(error), "lines": error.errors}, status=error.status)
        return Response(AbTestIngestOutput(result.__dict__).data)
