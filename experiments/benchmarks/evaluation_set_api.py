"""Files to download: the evaluation set for engineers: row ids (and groups) without labels, a
predictions template, and, for leads, the ground truth. Streamed CSV (see ``evaluation_set``).

Engineers and leads download ids and templates (they make predictions); only leads the truth
(seeing labels would let anyone fit the test set). Stakeholders get 403, outsiders 404.
The exports of evaluations and champion history are for anyone who may read the benchmark.
"""

from __future__ import annotations

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from agileml.csv_export import csv_download
from experiments.benchmarks import evaluation_set, export, selectors
from experiments.benchmarks.access import benchmark_for_user, dataset_for_user
from experiments.benchmarks.models import Verdict
from tickets.api import E400, E401, E403, E404
from tickets.models import Role

CSV = OpenApiResponse(OpenApiTypes.STR, description="CSV (UTF-8), streamed as an attachment.")
ERRORS = {401: E401, 403: E403, 404: E404}


def _stored(download, dataset):
    try:
        return download(dataset)
    except evaluation_set.StoredFileMissing as error:
        raise NotFound(str(error)) from None


class DatasetIdsApi(APIView):
    @extend_schema(
        responses={(200, "text/csv"): CSV, **ERRORS},
        summary="The dataset version's row ids, with their group if it has one: id[,group], no labels (engineers)",
    )
    def get(self, request: Request, benchmark_id: str, version: str) -> StreamingHttpResponse:
        dataset = dataset_for_user(request.user, benchmark_id, version, need=Role.ENGINEER)
        return _stored(evaluation_set.ids_download, dataset)


class DatasetTemplateApi(APIView):
    @extend_schema(
        responses={(200, "text/csv"): CSV, **ERRORS},
        summary="A predictions file to fill in: every id with the task's columns left empty (engineers)",
        description="Binary: id,score. Multiclass: id,label,p_<class>… Regression: id,prediction.",
    )
    def get(self, request: Request, benchmark_id: str, version: str) -> StreamingHttpResponse:
        dataset = dataset_for_user(request.user, benchmark_id, version, need=Role.ENGINEER)
        return _stored(evaluation_set.template_download, dataset)


class DatasetTruthApi(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): CSV, **ERRORS},
        summary="The ground-truth file as uploaded, labels included (leads)",
    )
    def get(self, request: Request, benchmark_id: str, version: str) -> FileResponse:
        dataset = dataset_for_user(request.user, benchmark_id, version, need=Role.LEAD)
        return _stored(evaluation_set.truth_download, dataset)


# --- Exports (CSV, UTF-8 with BOM, for spreadsheets; anyone who may read the benchmark) ---
class EvaluationExportApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("dataset", str, description="A dataset version (3 or v3); default all."),
            OpenApiParameter("verdict", str, enum=list(Verdict.values)),
        ],
        responses={(200, "text/csv"): CSV, 400: E400, 401: E401, 404: E404},
        summary="A benchmark's evaluations as CSV, newest first; streamed",
    )
    def get(self, request: Request, benchmark_id: str) -> StreamingHttpResponse:
        benchmark = benchmark_for_user(request.user, benchmark_id)
        version = request.query_params.get("dataset")
        dataset = dataset_for_user(request.user, benchmark_id, version) if version else None
        verdict = request.query_params.get("verdict") or None
        if verdict and verdict not in Verdict.values:
            raise serializers.ValidationError(
                {"verdict": [f"{verdict!r} is not a verdict; use {', '.join(Verdict.values)}."]}
            )
        rows = selectors.evaluations_of_benchmark(benchmark=benchmark, dataset=dataset, verdict=verdict)
        name = f"{benchmark.name}-evaluations.csv"
        return csv_download(export.evaluation_rows(project=benchmark.project, evaluations=rows), name, spreadsheet=True)


class ChampionHistoryExportApi(APIView):
    @extend_schema(
        responses={(200, "text/csv"): CSV, 401: E401, 404: E404},
        summary="A benchmark's champion history as CSV, newest first, each promotion credited to its sprint",
    )
    def get(self, request: Request, benchmark_id: str) -> StreamingHttpResponse:
        benchmark = benchmark_for_user(request.user, benchmark_id)
        history = selectors.champion_history(benchmark=benchmark)
        name = f"{benchmark.name}-champion-history.csv"
        return csv_download(export.history_rows(history=history), name, spreadsheet=True)
