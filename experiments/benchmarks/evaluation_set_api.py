"""The evaluation set as files for engineers: row ids (and groups) without labels, a
predictions template, and, for leads, the ground truth. Streamed CSV (see ``evaluation_set``).

Engineers and leads download ids and templates (they make predictions); only leads the truth
(seeing labels would let anyone fit the test set). Stakeholders get 403, outsiders 404.
"""

from __future__ import annotations

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from experiments.benchmarks import evaluation_set
from experiments.benchmarks.access import dataset_for_user
from tickets.api import E401, E403, E404
from tickets.models import Role

CSV = OpenApiResponse(OpenApiTypes.STR, description="CSV (UTF-8), streamed as an attachment.")
ERRORS = {401: E401, 403: E403, 404: E404}


class DatasetIdsApi(APIView):
    @extend_schema(
        responses={(200, "text/csv"): CSV, **ERRORS},
        summary="The dataset version's row ids, with their group if it has one: id[,group], no labels (engineers)",
    )
    def get(self, request: Request, benchmark_id: str, version: str) -> StreamingHttpResponse:
        dataset = dataset_for_user(request.user, benchmark_id, version, need=Role.ENGINEER)
        return evaluation_set.ids_download(dataset)


class DatasetTemplateApi(APIView):
    @extend_schema(
        responses={(200, "text/csv"): CSV, **ERRORS},
        summary="A predictions file to fill in: every id with the task's columns left empty (engineers)",
        description="Binary: id,score. Multiclass: id,label,p_<class>… Regression: id,prediction.",
    )
    def get(self, request: Request, benchmark_id: str, version: str) -> StreamingHttpResponse:
        dataset = dataset_for_user(request.user, benchmark_id, version, need=Role.ENGINEER)
        return evaluation_set.template_download(dataset)


class DatasetTruthApi(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): CSV, **ERRORS},
        summary="The ground-truth file as uploaded, labels included (leads)",
    )
    def get(self, request: Request, benchmark_id: str, version: str) -> FileResponse:
        dataset = dataset_for_user(request.user, benchmark_id, version, need=Role.LEAD)
        return evaluation_set.truth_download(dataset)
