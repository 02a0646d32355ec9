"""REST API for runs. Thin: validate → access helper → service/selector → serialize."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import Pagination
from agileml.csv_export import csv_download
from experiments.tracking import export, selectors, services
from experiments.tracking.access import run_for_user
from experiments.tracking.models import MAX_RUN_NAME_LENGTH, Run, RunStatus
from tickets.access import project_for_user
from tickets.api import E400, E401, E403, E404
from tickets.models import Project, Role


def number_out(value: float, is_nan: bool = False) -> float | str:
    """JSON has no NaN or infinity: those are spelled as MLflow spells them."""
    if is_nan or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "value": {"oneOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]},
                "step": {"type": "integer"},
                "timestamp": {"type": "integer", "description": "Milliseconds since the epoch."},
            },
        },
    }
)
class LatestMetricsField(serializers.DictField):
    """The latest value of each metric: ``{key: {value, step, timestamp}}``."""


class RunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run_id = serializers.CharField(source="uuid", help_text="The MLflow run id (32 hex digits).")
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    project = serializers.CharField(source="project.key")
    ticket = serializers.CharField(allow_null=True, help_text="Key of the ticket the run is attached to, or null.")
    started_by = serializers.CharField(allow_null=True, help_text="Username of whoever started the run.")
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField(allow_null=True)
    source_commit = serializers.CharField()
    entry_point = serializers.CharField()
    notes = serializers.CharField()
    params = serializers.DictField(child=serializers.CharField())
    tags = serializers.DictField(child=serializers.CharField())
    metrics = LatestMetricsField()
    url = serializers.CharField(help_text="The run's page.")


def _runs_out(runs: list[Run], project: Project) -> list[dict]:
    """Serialize runs with their params, tags and latest metrics: three queries for any number."""
    ids = [r.pk for r in runs]
    latest = selectors.latest_metrics_of_runs(run_ids=ids)
    params = selectors.params_of_runs(run_ids=ids)
    tags = selectors.tags_of_runs(run_ids=ids)
    out = []
    for run in runs:
        run.project = project
        if run.ticket_id:
            run.ticket.project = project
        out.append(
            {
                "id": run.pk,
                "uuid": run.uuid,
                "name": run.display_name,
                "status": run.status,
                "project": {"key": project.key},
                "ticket": run.ticket.key if run.ticket_id else None,
                "started_by": run.started_by.get_username() if run.started_by_id else None,
                "start_time": run.start_time,
                "end_time": run.end_time,
                "source_commit": run.source_commit,
                "entry_point": run.entry_point,
                "notes": run.notes,
                "params": params.get(run.pk, {}),
                "tags": tags.get(run.pk, {}),
                "metrics": {
                    m.key: {"value": number_out(m.value, m.is_nan), "step": m.step, "timestamp": m.timestamp}
                    for m in latest.get(run.pk, {}).values()
                },
                "url": f"/p/{project.key}/runs/{run.pk}/",
            }
        )
    return [RunOutput(row).data for row in out]


class MetricInput(serializers.Serializer):
    key = serializers.CharField(max_length=250)
    value = serializers.FloatField()
    step = serializers.IntegerField(default=0)
    timestamp = serializers.IntegerField(required=False, help_text="Milliseconds since the epoch; default now.")


class RunCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_RUN_NAME_LENGTH, required=False, allow_blank=True, default="")
    ticket = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Ticket key, e.g. AUTH-12."
    )
    status = serializers.ChoiceField(choices=RunStatus.choices, default=RunStatus.FINISHED)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    params = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    tags = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    metrics = MetricInput(many=True, required=False, default=list)


class RunUpdateInput(serializers.Serializer):
    ticket = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Ticket key to attach to; null or empty detaches."
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    name = serializers.CharField(required=False, max_length=MAX_RUN_NAME_LENGTH)


class MetricPointOutput(serializers.Serializer):
    step = serializers.IntegerField()
    value = serializers.JSONField(help_text="A number, or NaN / Infinity / -Infinity spelled as a string.")
    timestamp = serializers.IntegerField()


RUN_FILTERS = [
    OpenApiParameter("ticket", str, description="Ticket key (e.g. AUTH-12), or `none` for unattached runs."),
    OpenApiParameter("status", str, enum=[c for c, _ in RunStatus.choices]),
    OpenApiParameter("user", str, description="Username of whoever started the run."),
    OpenApiParameter("tag", str, description="`key` (has the tag) or `key=value`."),
]


class RunPage(serializers.Serializer):
    """One page of runs (``?page=``, ``?page_size=`` up to 500)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RunOutput(many=True)


def runs_from_query(request: Request, project: Project) -> QuerySet[Run]:
    """The project's runs filtered by ``ticket``, ``status``, ``user`` and ``tag`` (400 on a bad value)."""
    ticket_text = (request.query_params.get("ticket") or "").strip()
    ticket, unattached = None, False
    if ticket_text.lower() == "none":
        unattached = True
    elif ticket_text:
        try:
            ticket = services.ticket_in_project(project=project, ticket_key=ticket_text)
        except ValidationError as error:
            raise serializers.ValidationError({"ticket": error.messages}) from None
    status_text = request.query_params.get("status") or None
    if status_text and status_text not in RunStatus.values:
        raise serializers.ValidationError(
            {"status": [f"Unknown status {status_text!r}; use one of {', '.join(RunStatus.values)}."]}
        )
    tag_text = (request.query_params.get("tag") or "").strip()
    tag = None
    if tag_text:
        tag_key, sep, tag_value = tag_text.partition("=")
        tag = (tag_key, tag_value if sep else None)
    return selectors.runs_of_project(
        project=project,
        ticket=ticket,
        unattached=unattached,
        status=status_text,
        tag=tag,
        username=request.query_params.get("user") or None,
    )


class RunListApi(APIView):
    @extend_schema(
        parameters=RUN_FILTERS,
        responses={200: RunPage, 400: E400, 401: E401, 404: E404},
        summary="A project's runs, newest first",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        runs = runs_from_query(request, project)
        paginator = Pagination()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(_runs_out(page, project))

    @extend_schema(
        request=RunCreateInput,
        responses={201: RunOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Record a run (engineers and leads), with params, tags and metric points",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.ENGINEER)
        data = RunCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        now = services.now_ms()
        run = services.run_record(
            project=project,
            user=request.user,
            name=values["name"],
            ticket_key=values.get("ticket") or None,
            notes=values["notes"],
            tags=list(values["tags"].items()),
            params=list(values["params"].items()),
            metrics=[
                services.MetricPoint(key=m["key"], value=m["value"], step=m["step"], timestamp=m.get("timestamp", now))
                for m in values["metrics"]
            ],
            status=values["status"],
        )
        run = selectors.run_with_people(run=run)
        return Response(_runs_out([run], project)[0], status=status.HTTP_201_CREATED)


def _keys(request: Request, name: str) -> list[str] | None:
    """``?metrics=a,b`` (or repeated): the keys asked for; None when not given."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    return [k for k in (part.strip() for v in values for part in v.split(",")) if k]


class RunExportApi(APIView):
    @extend_schema(
        parameters=[
            *RUN_FILTERS,
            OpenApiParameter(
                "metrics",
                str,
                description="Metric keys to add as columns, comma-separated. Default: every metric of the project.",
            ),
            OpenApiParameter(
                "params",
                str,
                description="Param keys to add as columns, comma-separated. Default: every param of the project.",
            ),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR, 400: E400, 401: E401, 404: E404},
        summary="Runs as CSV (UTF-8 with BOM), newest first, with the chosen metric and param columns; streamed",
    )
    def get(self, request: Request, key: str) -> StreamingHttpResponse:
        project = project_for_user(request.user, key)
        runs = runs_from_query(request, project)
        metrics = _keys(request, "metrics")
        params = _keys(request, "params")
        metrics = selectors.metric_keys_of_project(project=project) if metrics is None else metrics
        params = selectors.param_keys_of_project(project=project) if params is None else params
        if len(metrics) + len(params) > export.MAX_COLUMNS:
            raise serializers.ValidationError(
                {"metrics": [f"{len(metrics) + len(params)} columns asked for; choose at most {export.MAX_COLUMNS}."]}
            )
        rows = export.run_rows(project=project, runs=runs, metrics=metrics, params=params)
        return csv_download(rows, f"{project.key}-runs.csv", spreadsheet=True)


class RunDetailApi(APIView):
    def _run(self, request: Request, run_id: str, need: Role) -> Run:
        return run_for_user(request.user, run_id, need=need, queryset=selectors.runs_with_people())

    @extend_schema(
        responses={200: RunOutput, 401: E401, 404: E404},
        summary="One run, by number or MLflow run id",
    )
    def get(self, request: Request, run_id: str) -> Response:
        run = self._run(request, run_id, Role.STAKEHOLDER)
        return Response(_runs_out([run], run.project)[0])

    @extend_schema(
        request=RunUpdateInput,
        responses={200: RunOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Attach to or detach from a ticket, rename, or write notes (engineers and leads)",
    )
    def patch(self, request: Request, run_id: str) -> Response:
        run = self._run(request, run_id, Role.ENGINEER)
        data = RunUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.run_change(
            run=run,
            actor=request.user,
            ticket_key=values["ticket"] or None if "ticket" in values else services.UNCHANGED,
            name=values.get("name"),
            notes=values.get("notes"),
        )
        run = selectors.run_with_people(run=run)
        return Response(_runs_out([run], run.project)[0])


class MetricHistoryApi(APIView):
    @extend_schema(
        responses={200: MetricPointOutput(many=True), 401: E401, 404: E404},
        summary="Every logged point of one metric of a run, in step order",
        parameters=[OpenApiParameter("key", OpenApiTypes.STR, OpenApiParameter.PATH, description="Metric name.")],
    )
    def get(self, request: Request, run_id: str, key: str) -> Response:
        run = run_for_user(request.user, run_id)
        points = selectors.metric_history(run=run, key=key)
        if not points and key not in selectors.latest_metrics_of_runs(run_ids=[run.pk]).get(run.pk, {}):
            raise Http404(f"Run {run.pk} has no metric {key!r}.")
        return Response([{"step": s, "value": number_out(v), "timestamp": t} for s, v, t in points])
