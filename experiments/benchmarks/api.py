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
    ChampionChange,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSet,
    PredictionSource,
    Verdict,
)
from experiments.benchmarks.text import comparison_sentence
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


# --- Output serializers -----------------------------------------------------------------
class IntervalOutput(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class RunRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    ticket = serializers.CharField(allow_null=True, help_text="Key of the run's ticket, or null.")


class DatasetOutput(serializers.Serializer):
    version = serializers.IntegerField()
    original_name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    n_rows = serializers.IntegerField()
    n_groups = serializers.IntegerField(
        allow_null=True, help_text="Distinct groups (subjects); null without a group column."
    )
    class_counts = serializers.DictField(child=serializers.IntegerField(), help_text="Rows per class label.")
    note = serializers.CharField()
    uploaded_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class ChampionOutput(serializers.Serializer):
    run = RunRefOutput()
    since = serializers.DateTimeField()
    primary = IntervalOutput(help_text="The champion's primary metric when it was promoted.")


class BenchmarkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    name = serializers.CharField()
    task = serializers.ChoiceField(choices=BenchmarkTask.choices)
    primary_metric = serializers.CharField()
    threshold = serializers.FloatField(help_text="Binary decision threshold: a score ≥ it is a positive decision.")
    guardrails = serializers.DictField(child=serializers.FloatField(), help_text="{metric: non-inferiority margin}.")
    description = serializers.CharField(help_text="What 'better' means for the business.")
    champion = ChampionOutput(allow_null=True)
    current_dataset = DatasetOutput(allow_null=True)
    evaluation_count = serializers.IntegerField()
    url = serializers.CharField()


class ChampionChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run = RunRefOutput(allow_null=True)
    previous_run = RunRefOutput(allow_null=True, help_text="Null for the baseline (first champion).")
    evaluation = serializers.IntegerField(allow_null=True)
    dataset_version = serializers.IntegerField(allow_null=True)
    ticket = serializers.CharField(allow_null=True)
    sprint = serializers.CharField(allow_null=True, help_text="The sprint under way at the promotion.")
    promoted_by = serializers.CharField(allow_null=True)
    promoted_at = serializers.DateTimeField()
    note = serializers.CharField()
    gate_allowed = serializers.BooleanField()
    gate_reasons = serializers.ListField(child=serializers.CharField())
    override_reason = serializers.CharField(help_text="Set when a lead promoted despite a failed gate.")
    primary_metric = serializers.CharField()
    primary = IntervalOutput()
    comparison = serializers.DictField(allow_null=True)


class BenchmarkDetailOutput(BenchmarkOutput):
    datasets = DatasetOutput(many=True)
    champion_history = ChampionChangeOutput(many=True)


class GateOutput(serializers.Serializer):
    allowed = serializers.BooleanField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


class ComparisonOutput(serializers.Serializer):
    primary = serializers.CharField()
    delta = serializers.FloatField(allow_null=True, help_text="Challenger − champion on the primary metric.")
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    verdict = serializers.ChoiceField(choices=Verdict.choices)


class EvaluationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    benchmark = serializers.IntegerField()
    benchmark_name = serializers.CharField()
    dataset_version = serializers.IntegerField()
    run = RunRefOutput()
    champion_run = RunRefOutput(allow_null=True, help_text="The champion it was compared with, if any.")
    status = serializers.ChoiceField(choices=EvaluationStatus.choices)
    stage = serializers.CharField()
    progress = serializers.IntegerField(help_text="Percent done.")
    attempts = serializers.IntegerField()
    error = serializers.CharField(help_text="Why it failed, when it failed.")
    primary_metric = serializers.CharField()
    primary = IntervalOutput()
    comparison = ComparisonOutput(allow_null=True)
    summary = serializers.CharField(help_text="The comparison in plain words.")
    gate = GateOutput()
    requested_by = serializers.CharField(allow_null=True)
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()


class EvaluationDetailOutput(EvaluationOutput):
    report = serializers.DictField(
        allow_null=True,
        help_text="The engine's report: metrics, champion_metrics, comparisons (every metric), coverage, "
        "curves (ROC/DET points), interval_methods, resampling, settings.",
    )


class EvaluationRequestOutput(serializers.Serializer):
    created = serializers.BooleanField(help_text="False when an identical earlier evaluation was reused.")
    evaluation = EvaluationOutput()


class PredictionSetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run = serializers.IntegerField()
    benchmark = serializers.IntegerField()
    benchmark_name = serializers.CharField()
    dataset_version = serializers.IntegerField()
    original_name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    n_rows = serializers.IntegerField()
    n_covered = serializers.IntegerField(help_text="Truth rows with a prediction; missing rows count as worst answers.")
    source = serializers.ChoiceField(choices=PredictionSource.choices)
    uploaded_by = serializers.CharField(allow_null=True)
    uploaded_at = serializers.DateTimeField()


class PredictionUploadOutput(serializers.Serializer):
    predictions = PredictionSetOutput()
    evaluation = EvaluationOutput(allow_null=True)
    created = serializers.BooleanField(help_text="Whether a new evaluation was queued (false: reused or none).")


# --- Building outputs -------------------------------------------------------------------
def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _run_ref(run, project: Project) -> dict | None:
    if run is None:
        return None
    return {
        "id": run.pk,
        "name": run.display_name,
        "ticket": f"{project.key}-{run.ticket.number}" if run.ticket_id else None,
    }


def dataset_out(dataset: EvaluationDataset) -> dict:
    return {
        "version": dataset.version,
        "original_name": dataset.original_name,
        "sha256": dataset.sha256,
        "size": dataset.size,
        "n_rows": dataset.n_rows,
        "n_groups": dataset.n_groups,
        "class_counts": dataset.class_counts,
        "note": dataset.note,
        "uploaded_by": _username(dataset.uploaded_by) if dataset.uploaded_by_id else None,
        "created_at": dataset.created_at,
    }


def benchmark_out(benchmark: Benchmark) -> dict:
    project = benchmark.project
    champion = None
    if benchmark.champion_id:
        champion = {
            "run": _run_ref(benchmark.champion, project),
            "since": benchmark.champion_since,
            "primary": {
                "value": benchmark.champion_value,
                "ci_low": benchmark.champion_ci_low,
                "ci_high": benchmark.champion_ci_high,
            },
        }
    return {
        "id": benchmark.pk,
        "project": project.key,
        "name": benchmark.name,
        "task": benchmark.task,
        "primary_metric": benchmark.primary_metric,
        "threshold": benchmark.threshold,
        "guardrails": benchmark.guardrails,
        "description": benchmark.description,
        "champion": champion,
        "current_dataset": dataset_out(benchmark.current_dataset) if benchmark.current_dataset else None,
        "evaluation_count": benchmark.evaluation_count or 0,
        "url": f"/p/{project.key}/benchmarks/{benchmark.pk}/",
    }


def change_out(change: ChampionChange, project: Project) -> dict:
    return {
        "id": change.pk,
        "run": {"id": change.run_id, "name": change.run_name, "ticket": change.ticket.key if change.ticket_id else None}
        if change.run_id
        else None,
        "previous_run": {"id": change.previous_run_id, "name": change.previous_run_name, "ticket": None}
        if change.previous_run_id
        else None,
        "evaluation": change.evaluation_id,
        "dataset_version": change.dataset.version if change.dataset_id else None,
        "ticket": change.ticket.key if change.ticket_id else None,
        "sprint": change.sprint.name if change.sprint_id else None,
        "promoted_by": _username(change.promoted_by) if change.promoted_by_id else None,
        "promoted_at": change.promoted_at,
        "note": change.note,
        "gate_allowed": change.gate_allowed,
        "gate_reasons": change.gate_reasons,
        "override_reason": change.override_reason,
        "primary_metric": change.primary_metric,
        "primary": {"value": change.primary_value, "ci_low": change.primary_ci_low, "ci_high": change.primary_ci_high},
        "comparison": change.comparison,
    }


def evaluation_out(evaluation: Evaluation, project: Project) -> dict:
    comparison = None
    if evaluation.verdict:
        comparison = {
            "primary": evaluation.primary_metric,
            "delta": evaluation.delta,
            "ci_low": evaluation.delta_ci_low,
            "ci_high": evaluation.delta_ci_high,
            "p_value": evaluation.p_value,
            "verdict": evaluation.verdict,
        }
    summary = ""
    if evaluation.status == EvaluationStatus.SUCCEEDED:
        summary = comparison_sentence(
            comparison, guardrails=evaluation.guardrails, gate_reasons=evaluation.gate_reasons
        )
    return {
        "id": evaluation.pk,
        "benchmark": evaluation.benchmark_id,
        "benchmark_name": evaluation.benchmark.name,
        "dataset_version": evaluation.dataset.version,
        "run": _run_ref(evaluation.run, project),
        "champion_run": _run_ref(evaluation.champion_run, project) if evaluation.champion_run_id else None,
        "status": evaluation.status,
        "stage": evaluation.stage,
        "progress": evaluation.progress,
        "attempts": evaluation.attempts,
        "error": evaluation.error,
        "primary_metric": evaluation.primary_metric,
        "primary": {
            "value": evaluation.primary_value,
            "ci_low": evaluation.primary_ci_low,
            "ci_high": evaluation.primary_ci_high,
        },
        "comparison": comparison,
        "summary": summary,
        "gate": {"allowed": evaluation.gate_allowed, "reasons": evaluation.gate_reasons},
        "requested_by": _username(evaluation.requested_by) if evaluation.requested_by_id else None,
        "queued_at": evaluation.queued_at,
        "started_at": evaluation.started_at,
        "finished_at": evaluation.finished_at,
        "url": f"/p/{project.key}/evaluations/{evaluation.pk}/",
    }


def predictions_out(prediction_set: PredictionSet) -> dict:
    dataset = prediction_set.dataset
    return {
        "id": prediction_set.pk,
        "run": prediction_set.run_id,
        "benchmark": dataset.benchmark_id,
        "benchmark_name": dataset.benchmark.name,
        "dataset_version": dataset.version,
        "original_name": prediction_set.original_name,
        "sha256": prediction_set.sha256,
        "size": prediction_set.size,
        "n_rows": prediction_set.n_rows,
        "n_covered": prediction_set.n_covered,
        "source": prediction_set.source,
        "uploaded_by": _username(prediction_set.uploaded_by) if prediction_set.uploaded_by_id else None,
        "uploaded_at": prediction_set.uploaded_at,
    }


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


class BenchmarkUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    primary_metric = serializers.ChoiceField(choices=ALL_METRICS, required=False)
    threshold = serializers.FloatField(required=False)
    guardrails = serializers.DictField(child=serializers.FloatField(min_value=0), required=False)
    description = serializers.CharField(required=False, allow_blank=True)


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


class BenchmarkDetailApi(APIView):
    def _detail(self, benchmark: Benchmark) -> dict:
        row = benchmark_out(_benchmark_row(benchmark))
        row["datasets"] = [dataset_out(d) for d in selectors.datasets_of_benchmark(benchmark=benchmark)]
        row["champion_history"] = [
            change_out(c, benchmark.project) for c in selectors.champion_history(benchmark=benchmark)
        ]
        return BenchmarkDetailOutput(row).data

    @extend_schema(
        responses={200: BenchmarkDetailOutput, 401: E401, 404: E404},
        summary="One benchmark with its dataset versions and champion history",
    )
    def get(self, request: Request, benchmark_id: str) -> Response:
        return Response(self._detail(benchmark_for_user(request.user, benchmark_id)))

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
        return Response(self._detail(benchmark))


# --- Dataset versions -------------------------------------------------------------------
class DatasetUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="Ground truth CSV: id,label[,group].")
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="What changed in this version."
    )


class DatasetListApi(UploadApiView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        responses={200: DatasetOutput(many=True), 401: E401, 404: E404},
        summary="A benchmark's dataset versions, newest first",
    )
    def get(self, request: Request, benchmark_id: str) -> Response:
        benchmark = benchmark_for_user(request.user, benchmark_id)
        rows = selectors.datasets_of_benchmark(benchmark=benchmark)
        return Response(DatasetOutput([dataset_out(d) for d in rows], many=True).data)

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
        dataset = services.latest_dataset(benchmark)
        if dataset is None:
            raise ValidationError(
                {"dataset": f"Benchmark {benchmark.name} has no dataset yet; a lead must upload its ground truth."}
            )
    else:
        dataset = EvaluationDataset.objects.filter(benchmark=benchmark, version=version).first()
        if dataset is None:
            raise ValidationError({"dataset": f"Benchmark {benchmark.name} has no dataset version {version}."})
    dataset.benchmark = benchmark
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


class EvaluationListApi(APIView):
    @extend_schema(
        parameters=EVALUATION_FILTERS,
        responses={200: EvaluationOutput(many=True), 400: E400, 401: E401, 404: E404},
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
    fresh = evaluation_for_user_unchecked(evaluation.pk, project)
    body = {"created": created, "evaluation": evaluation_out(fresh, project)}
    return Response(
        EvaluationRequestOutput(body).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
    )


def evaluation_for_user_unchecked(evaluation_id: int, project: Project) -> Evaluation:
    """The evaluation with its joins, for a caller whose access was already checked."""
    evaluation = (
        Evaluation.objects.select_related("benchmark", "dataset", "run__ticket", "champion_run", "requested_by")
        .defer("result")
        .get(pk=evaluation_id)
    )
    selectors.attach_project([evaluation], project)
    return evaluation


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
        evaluation = (
            Evaluation.objects.select_related("run__ticket", "champion_run", "dataset")
            .filter(pk=values["evaluation"], benchmark=benchmark)
            .first()
        )
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
        change = ChampionChange.objects.select_related("ticket", "sprint", "promoted_by", "dataset").get(pk=change.pk)
        if change.ticket_id:
            change.ticket.project = benchmark.project
        return Response(ChampionChangeOutput(change_out(change, benchmark.project)).data)


# --- Predictions of a run ---------------------------------------------------------------
class PredictionUploadInput(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="Predictions CSV: binary id,score; multiclass id,label[,p_<class>…]; regression id,prediction.",
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
        prediction_set = services.predictions_upload(
            run=run,
            dataset=dataset,
            user=request.user,
            path=_upload_path(upload),
            original_name=upload.name,
            source=PredictionSource.API,
            move=True,
        )
        evaluation, created = None, False
        if values["evaluate"]:
            evaluation, created = services.evaluation_request(
                run=run, dataset=dataset, user=request.user, predictions=prediction_set, force=values["force"]
            )
        prediction_set.dataset = dataset
        body = {
            "predictions": predictions_out(prediction_set),
            "evaluation": evaluation_out(evaluation_for_user_unchecked(evaluation.pk, run.project), run.project)
            if evaluation
            else None,
            "created": created,
        }
        return Response(PredictionUploadOutput(body).data, status=status.HTTP_201_CREATED)


def _benchmark_by_ref(project: Project, ref: str) -> Benchmark:
    ref = str(ref).strip()
    rows = Benchmark.objects.filter(project=project)
    number = id_or_none(ref)
    benchmark = rows.filter(pk=number).first() if number is not None else None
    benchmark = benchmark or rows.filter(name=ref).first()
    if benchmark is None:
        known = ", ".join(rows.values_list("name", flat=True)) or "none yet"
        raise ValidationError({"benchmark": f"{project.key} has no benchmark {ref!r} (benchmarks: {known})."})
    benchmark.project = project
    return benchmark
