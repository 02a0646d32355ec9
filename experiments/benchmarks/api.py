"""REST API for benchmarks, dataset versions, predictions, evaluations and promotions.

Thin: access helper → input serializer → service/selector → output serializer. Roles:
stakeholders read; engineers upload predictions and request evaluations; leads create and
change benchmarks, upload dataset versions and promote champions.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import ErrorSerializer, Pagination
from experiments.benchmarks import selectors, services
from experiments.benchmarks.access import benchmark_for_user, dataset_for_user, evaluation_for_user
from experiments.benchmarks.models import (
    Benchmark,
    BenchmarkTask,
    BenchmarkUnit,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSource,
    Verdict,
)
from experiments.benchmarks.serializers import (
    BenchmarkDetailOutput,
    BenchmarkOutput,
    ChampionChangeOutput,
    DatasetOutput,
    EvaluationDetailOutput,
    EvaluationOutput,
    EvaluationRequestOutput,
    PredictionSetOutput,
    PredictionUploadOutput,
    benchmark_out,
    change_out,
    dataset_out,
    evaluation_out,
    predictions_out,
)
from experiments.benchmarks.uploads import install_upload_handlers, too_large_error
from experiments.evaluation import METRICS
from experiments.tracking.access import run_for_user
from tickets.access import id_or_none, project_for_user
from tickets.api import E400, E401, E403, E404
from tickets.models import Project, Role

E409 = OpenApiResponse(
    ErrorSerializer, description="Conflict: the champion changed since the evaluation (another promotion won)."
)
ALL_METRICS = sorted({m for names in METRICS.values() for m in names})


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def _upload_path(upload: UploadedFile) -> Path:
    # The upload handlers always stream to a temporary file.
    return Path(upload.temporary_file_path())


class UploadApiView(APIView):
    """Streams uploaded files to disk and stops them past UPLOAD_MAX_BYTES (see experiments.uploads)."""

    parser_classes = [MultiPartParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            install_upload_handlers(request)
        return super().initialize_request(request, *args, **kwargs)

    def upload_data(self, request: Request) -> dict:
        data = request.data
        error = too_large_error(request._request)
        if error is not None:
            raise error
        return data


def _benchmark_row(benchmark: Benchmark) -> Benchmark:
    """The benchmark as the list selector returns it (champion value, counts, current dataset)."""
    for row in selectors.benchmarks_of_project(project=benchmark.project):
        if row.pk == benchmark.pk:
            return row
    raise Http404(f"There is no benchmark {benchmark.pk}.")


# --- Benchmarks -------------------------------------------------------------------------
class BenchmarkCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=64, help_text="Letters, digits, . _ -; used in the agileml.benchmark tag.")
    task = serializers.ChoiceField(choices=BenchmarkTask.choices)
    primary_metric = serializers.ChoiceField(
        choices=ALL_METRICS, required=False, help_text="Defaults to auc / accuracy / rmse by task."
    )
    threshold = serializers.FloatField(default=0.5, help_text="Binary decision threshold for accuracy and F1.")
    guardrails = serializers.DictField(
        child=serializers.FloatField(min_value=0),
        required=False,
        default=dict,
        help_text="{metric: margin}: the largest tolerated regression of each guardrail metric.",
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    unit = serializers.ChoiceField(
        choices=BenchmarkUnit.choices,
        default=BenchmarkUnit.INDEPENDENT,
        help_text="The unit of independence: independent rows, or rows grouped by subject, session or device "
        "(then every truth file needs a group column).",
    )
    effect_of_interest = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The smallest improvement of the primary metric worth detecting, in its unit.",
    )


class BenchmarkUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    primary_metric = serializers.ChoiceField(choices=ALL_METRICS, required=False)
    threshold = serializers.FloatField(required=False)
    guardrails = serializers.DictField(child=serializers.FloatField(min_value=0), required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    unit = serializers.ChoiceField(choices=BenchmarkUnit.choices, required=False)
    effect_of_interest = serializers.FloatField(required=False, allow_null=True)


class BenchmarkListApi(APIView):
    @extend_schema(responses={200: BenchmarkOutput(many=True), 401: E401, 404: E404}, summary="A project's benchmarks")
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        rows = selectors.benchmarks_of_project(project=project)
        return Response(BenchmarkOutput([benchmark_out(b) for b in rows], many=True).data)

    @extend_schema(
        request=BenchmarkCreateInput,
        responses={201: BenchmarkOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Create a benchmark (leads)",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        data = BenchmarkCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        benchmark = services.benchmark_create(project=project, user=request.user, **data.validated_data)
        benchmark.project = project
        return Response(BenchmarkOutput(benchmark_out(_benchmark_row(benchmark))).data, status=status.HTTP_201_CREATED)


# The benchmark's page in the API embeds this many of the newest promotions; the rest are paged
# at ``champion_history_url`` (a benchmark promoted daily for years must not grow its answer).
CHAMPION_HISTORY_EMBEDDED = 10
# Likewise the newest dataset versions; every version is paged at ``datasets_url``.
DATASETS_EMBEDDED = 10


class BenchmarkDetailApi(APIView):
    def _detail(self, request: Request, benchmark: Benchmark) -> dict:
        row = benchmark_out(_benchmark_row(benchmark))
        datasets = selectors.dataset_rows(benchmark=benchmark)
        row["datasets"] = [dataset_out(d) for d in datasets[:DATASETS_EMBEDDED]]
        row["datasets_count"] = datasets.count()
        row["datasets_url"] = request.build_absolute_uri(
            reverse("api-benchmark-datasets", kwargs={"benchmark_id": benchmark.pk})
        )
        changes = selectors.champion_change_rows(benchmark=benchmark)
        newest = selectors.credited_changes(list(changes[:CHAMPION_HISTORY_EMBEDDED]), benchmark=benchmark)
        row["champion_history"] = [change_out(c, benchmark.project) for c in newest]
        row["champion_history_count"] = changes.count()
        row["champion_history_url"] = request.build_absolute_uri(
            reverse("api-benchmark-champion-history", kwargs={"benchmark_id": benchmark.pk})
        )
        return BenchmarkDetailOutput(row).data

    @extend_schema(
        responses={200: BenchmarkDetailOutput, 401: E401, 404: E404},
        summary="One benchmark with its newest dataset versions and newest promotions",
        description=f"``datasets`` holds the newest {DATASETS_EMBEDDED} dataset versions; ``datasets_count`` "
        "says how many there are, and ``datasets_url`` pages through all. Likewise ``champion_history`` holds "
        f"the newest {CHAMPION_HISTORY_EMBEDDED} promotions; ``champion_history_count`` says how many there are, "
        "and ``champion_history_url`` pages through all.",
    )
    def get(self, request: Request, benchmark_id: str) -> Response:
        return Response(self._detail(request, benchmark_for_user(request.user, benchmark_id)))

    @extend_schema(
        request=BenchmarkUpdateInput,
        responses={200: BenchmarkDetailOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Change a benchmark's name, description, primary metric, threshold or guardrails (leads)",
    )
    def patch(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id, need=Role.LEAD)
        data = BenchmarkUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.benchmark_update(benchmark=benchmark, **data.validated_data)
        return Response(self._detail(request, benchmark))


class ChampionHistoryPage(serializers.Serializer):
    """One page of promotions, newest first (``?page=``, ``?page_size=`` up to 500)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ChampionChangeOutput(many=True)


class ChampionHistoryApi(APIView):
    @extend_schema(
        responses={200: ChampionHistoryPage, 401: E401, 404: E404},
        summary="A benchmark's champion history, newest first, paged",
    )
    def get(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.champion_change_rows(benchmark=benchmark), request, view=self)
        changes = selectors.credited_changes(list(page), benchmark=benchmark)
        return paginator.get_paginated_response(
            ChampionChangeOutput([change_out(c, benchmark.project) for c in changes], many=True).data
        )


# --- Dataset versions -------------------------------------------------------------------
class DatasetUploadInput(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="Ground truth: id,label[,group]; CSV, gzip- or zstd-compressed CSV, or Parquet (told by content).",
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="What changed in this version."
    )


class DatasetPage(serializers.Serializer):
    """One page of dataset versions, newest first (``?page=``, ``?page_size=`` up to 500)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DatasetOutput(many=True)


class DatasetListApi(UploadApiView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        responses={200: DatasetPage, 401: E401, 404: E404},
        summary="A benchmark's dataset versions, newest first, paged",
        # A page object, not a list: named as the list it was, beside its item's "retrieve".
        operation_id="v1_benchmarks_datasets_list",
    )
    def get(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.dataset_rows(benchmark=benchmark), request, view=self)
        return paginator.get_paginated_response(DatasetOutput([dataset_out(d) for d in page], many=True).data)

    @extend_schema(
        request={"multipart/form-data": DatasetUploadInput},
        responses={201: DatasetOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Upload the next dataset version (leads); the engine validates it first",
        description="A file the engine cannot read is rejected with a message naming file, line and column, "
        "and nothing is stored. Files larger than UPLOAD_MAX_BYTES are refused.",
    )
    def post(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id, need=Role.LEAD)
        data = DatasetUploadInput(data=self.upload_data(request))
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        dataset = services.dataset_upload(
            benchmark=benchmark,
            user=request.user,
            path=_upload_path(upload),
            original_name=upload.name,
            note=data.validated_data["note"],
            move=True,
        )
        return Response(DatasetOutput(dataset_out(dataset)).data, status=status.HTTP_201_CREATED)


class DatasetDetailApi(APIView):
    @extend_schema(responses={200: DatasetOutput, 401: E401, 404: E404}, summary="One dataset version")
    def get(self, request: Request, benchmark_id: str, version: str) -> Response:
        return Response(DatasetOutput(dataset_out(dataset_for_user(request.user, benchmark_id, version))).data)

    @extend_schema(
        responses={204: None, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Withdraw a mistaken dataset version nobody has used yet (leads)",
        description="A version with predictions or evaluations is immutable: the answer is 400 and nothing changes.",
    )
    def delete(self, request: Request, benchmark_id: str, version: str) -> Response:
        dataset = dataset_for_user(request.user, benchmark_id, version, need=Role.LEAD)
        services.dataset_delete(dataset=dataset)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Evaluations ------------------------------------------------------------------------
class EvaluationRequestInput(serializers.Serializer):
    run = serializers.CharField(help_text="Run number or MLflow run id.")
    dataset = serializers.IntegerField(required=False, min_value=1, help_text="Dataset version; default the latest.")
    force = serializers.BooleanField(default=False, help_text="Evaluate again even if an identical result exists.")


EVALUATION_FILTERS = [
    OpenApiParameter("dataset", int, description="Dataset version (default: all versions)."),
    OpenApiParameter("run", int, description="Run number."),
    OpenApiParameter("status", str, enum=EvaluationStatus.values),
    OpenApiParameter("verdict", str, enum=Verdict.values),
]


def _dataset_version(benchmark: Benchmark, version: int | None) -> EvaluationDataset:
    if version is None:
        dataset = selectors.latest_dataset(benchmark=benchmark)
        if dataset is None:
            raise ValidationError(
                {"dataset": f"Benchmark {benchmark.name} has no dataset yet; a lead must upload its ground truth."}
            )
    else:
        dataset = selectors.dataset_version(benchmark=benchmark, version=version)
        if dataset is None:
            raise ValidationError({"dataset": f"Benchmark {benchmark.name} has no dataset version {version}."})
    return dataset


def _choice(request: Request, name: str, values: list[str]) -> str | None:
    text = request.query_params.get(name) or None
    if text and text not in values:
        raise serializers.ValidationError({name: [f"Unknown {name} {text!r}; use one of {', '.join(values)}."]})
    return text


def _number_param(request: Request, name: str) -> int | None:
    text = (request.query_params.get(name) or "").strip().lstrip("vV")
    if not text:
        return None
    number = id_or_none(text)
    if number is None:
        raise serializers.ValidationError({name: [f"{text!r} is not a number."]})
    return number


class EvaluationPage(serializers.Serializer):
    """One page of evaluations (``?page=``, ``?page_size=`` up to 500)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EvaluationOutput(many=True)


class EvaluationListApi(APIView):
    @extend_schema(
        parameters=EVALUATION_FILTERS,
        responses={200: EvaluationPage, 400: E400, 401: E401, 404: E404},
        summary="A benchmark's evaluations, newest first",
    )
    def get(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id)
        version = _number_param(request, "dataset")
        rows = selectors.evaluations_of_benchmark(
            benchmark=benchmark,
            dataset=_dataset_version(benchmark, version) if version is not None else None,
            status=_choice(request, "status", EvaluationStatus.values),
            verdict=_choice(request, "verdict", Verdict.values),
            run_id=_number_param(request, "run"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        for evaluation in page:
            evaluation.benchmark = benchmark
        selectors.attach_project(page, benchmark.project)
        return paginator.get_paginated_response(
            EvaluationOutput([evaluation_out(e, benchmark.project) for e in page], many=True).data
        )

    @extend_schema(
        request=EvaluationRequestInput,
        responses={
            201: EvaluationRequestOutput,
            200: OpenApiResponse(EvaluationRequestOutput, description="An identical evaluation was reused."),
            400: E400,
            401: E401,
            403: E403,
            404: E404,
        },
        summary="Evaluate a run's predictions against the current champion (engineers and leads)",
    )
    def post(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id, need=Role.ENGINEER)
        data = EvaluationRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        run = _run_of_project(request, values["run"], benchmark.project)
        dataset = _dataset_version(benchmark, values.get("dataset"))
        evaluation, created = services.evaluation_request(
            run=run, dataset=dataset, user=request.user, force=values["force"]
        )
        return _evaluation_response(evaluation, benchmark.project, created)


def _run_of_project(request: Request, run_ref: str, project: Project):
    try:
        run = run_for_user(request.user, run_ref, need=Role.ENGINEER)
    except Http404:
        raise ValidationError({"run": f"There is no run {run_ref} in {project.key}."}) from None
    if run.project.pk != project.pk:
        raise ValidationError({"run": f"There is no run {run_ref} in {project.key}."})
    return run


def _evaluation_response(evaluation: Evaluation, project: Project, created: bool) -> Response:
    fresh = selectors.evaluation_with_joins(evaluation_id=evaluation.pk, project=project)
    body = {"created": created, "evaluation": evaluation_out(fresh, project)}
    return Response(
        EvaluationRequestOutput(body).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
    )


class EvaluationDetailApi(APIView):
    @extend_schema(
        responses={200: EvaluationDetailOutput, 401: E401, 404: E404},
        summary="One evaluation: progress, or every metric with its interval and the comparison",
    )
    def get(self, request: Request, evaluation_id: str) -> Response:
        evaluation = evaluation_for_user(request.user, evaluation_id)
        row = evaluation_out(evaluation, evaluation.benchmark.project)
        row["report"] = evaluation.result
        return Response(EvaluationDetailOutput(row).data)


# --- Promotion --------------------------------------------------------------------------
class PromoteInput(serializers.Serializer):
    evaluation = serializers.IntegerField(help_text="The succeeded evaluation that justifies the promotion.")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the gate failed: why the lead promotes anyway. Recorded and shown.",
    )


class PromoteApi(APIView):
    @extend_schema(
        request=PromoteInput,
        responses={200: ChampionChangeOutput, 400: E400, 401: E401, 403: E403, 404: E404, 409: E409},
        summary="Make the evaluated run the champion (leads)",
        description="Allowed when the evaluation's gate passed (the first champion is the baseline and needs "
        "no comparison). A failed gate needs override_reason. If the champion changed since the evaluation "
        "(another promotion won), the answer is 409 and nothing changes.",
    )
    def post(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id, need=Role.LEAD)
        data = PromoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        evaluation = selectors.evaluation_of_benchmark(benchmark=benchmark, evaluation_id=values["evaluation"])
        if evaluation is None:
            raise ValidationError(
                {"evaluation": f"Benchmark {benchmark.name} has no evaluation {values['evaluation']}."}
            )
        try:
            change = services.champion_promote(
                benchmark=benchmark,
                evaluation=evaluation,
                user=request.user,
                note=values["note"],
                override_reason=values["override_reason"],
            )
        except services.PromotionConflict as conflict:
            raise Conflict(str(conflict)) from None
        change = selectors.champion_change(change_id=change.pk, project=benchmark.project)
        return Response(ChampionChangeOutput(change_out(change, benchmark.project)).data)


# --- Predictions of a run ---------------------------------------------------------------
class PredictionUploadInput(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="Predictions: binary id,score; multiclass id,label[,p_<class>…]; regression id,prediction. "
        "CSV, gzip- or zstd-compressed CSV, or Parquet (told by content); errors name the line (CSV) or row (Parquet).",
    )
    benchmark = serializers.CharField(help_text="Benchmark id or name.")
    dataset = serializers.IntegerField(required=False, min_value=1, help_text="Dataset version; default the latest.")
    evaluate = serializers.BooleanField(default=True, help_text="Queue an evaluation once accepted.")
    force = serializers.BooleanField(default=False, help_text="Evaluate again even if an identical result exists.")


class RunPredictionsApi(UploadApiView):
    @extend_schema(
        responses={200: PredictionSetOutput(many=True), 401: E401, 404: E404},
        summary="A run's prediction files, newest first",
    )
    def get(self, request: Request, run_id: str) -> Response:
        run = run_for_user(request.user, run_id)
        rows = selectors.prediction_sets_of_run(run=run)
        return Response(PredictionSetOutput([predictions_out(p) for p in rows], many=True).data)

    @extend_schema(
        request={"multipart/form-data": PredictionUploadInput},
        responses={201: PredictionUploadOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Upload a run's predictions for a benchmark and evaluate them (engineers and leads)",
        description="The engine validates the file against the dataset's truth first: a bad file is rejected "
        "with a message naming file, line and column, and nothing is stored. Files larger than "
        "UPLOAD_MAX_BYTES are refused.",
    )
    def post(self, request: Request, run_id: str) -> Response:
        run = run_for_user(request.user, run_id, need=Role.ENGINEER)
        data = PredictionUploadInput(data=self.upload_data(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        benchmark = _benchmark_by_ref(run.project, values["benchmark"])
        dataset = _dataset_version(benchmark, values.get("dataset"))
        upload = values["file"]
        submission = services.predictions_submit(
            run=run,
            dataset=dataset,
            user=request.user,
            path=_upload_path(upload),
            original_name=upload.name,
            source=PredictionSource.API,
            evaluate=values["evaluate"],
            force=values["force"],
        )
        evaluation = submission.evaluation
        body = {
            "predictions": predictions_out(submission.predictions),
            "evaluation": evaluation_out(
                selectors.evaluation_with_joins(evaluation_id=evaluation.pk, project=run.project), run.project
            )
            if evaluation
            else None,
            "created": submission.created,
        }
        return Response(PredictionUploadOutput(body).data, status=status.HTTP_201_CREATED)


def _benchmark_by_ref(project: Project, ref: str) -> Benchmark:
    benchmark = selectors.benchmark_by_ref(project=project, ref=ref)
    if benchmark is None:
        known = ", ".join(b.name for b in selectors.benchmark_names(project=project)) or "none yet"
        raise ValidationError({"benchmark": f"{project.key} has no benchmark {ref!r} (benchmarks: {known})."})
    return benchmark
