"""Pages for benchmarks, evaluations and the champion. Thin: access helper → form → service/selector → render.

Who may do what (documented in the README): stakeholders read every page; engineers upload
predictions (creating a run if they like) and request evaluations; leads create and change
benchmarks, upload dataset versions and promote champions.
"""

from __future__ import annotations

from functools import wraps
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from experiments.benchmarks import selectors, services
from experiments.benchmarks.access import benchmark_for_user
from experiments.benchmarks.charts import ForestRow, det_figure, forest_figure, roc_figure
from experiments.benchmarks.forms import (
    BenchmarkForm,
    DatasetUploadForm,
    SubmitPredictionsForm,
    guardrails_text,
)
from experiments.benchmarks.models import (
    Benchmark,
    BenchmarkUnit,
    EvaluationDataset,
    PredictionSource,
    Verdict,
)
from experiments.benchmarks.text import metric_label
from experiments.benchmarks.uploads import install_upload_handlers, too_large_error
from experiments.evaluation import HIGHER_IS_BETTER, METRICS
from experiments.tracking.access import run_for_user
from experiments.tracking.selectors import run_of_project
from tickets.access import id_or_none, project_for_user, ticket_for_user
from tickets.fragments import Deferred, fragment_context, shared_page
from tickets.models import Role
from tickets.paging import page_of

EVALUATIONS_PER_PAGE = 50
FOREST_ROWS = 30


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def streamed_uploads(view):
    """Install the streaming, size-limited upload handlers before anything parses the body.

    Django's CSRF middleware reads ``request.POST``, which would parse the upload with the
    default handlers, so the view is exempted there and checks the token itself afterwards
    (Django's documented pattern for changing upload handlers).
    """
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            install_upload_handlers(request)
        return protected(request, *args, **kwargs)

    return wrapped


def _form_error(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _upload_form(form_class, request: HttpRequest):
    form = form_class(request.POST, request.FILES)
    too_large = too_large_error(request)
    if too_large is not None:
        form.is_valid()
        form.errors.pop("file", None)
        _form_error(form, too_large)
    return form


# --- Benchmark list and definition ------------------------------------------------------
@login_required
@require_GET
def benchmark_list(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    page = page_of(request, selectors.benchmark_rows(project=project))
    benchmarks = selectors.with_current_datasets(list(page.object_list), project=project)
    return render(
        request,
        "benchmarks/benchmark_list.html",
        {"project": project, "page": page, "benchmarks": benchmarks, "can_define": project.role.allows(Role.LEAD)},
    )


def _metric_menu() -> dict[str, list[str]]:
    return {task: list(names) for task, names in METRICS.items()}


@login_required
@require_http_methods(["GET", "POST"])
def benchmark_create(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.LEAD)
    form = BenchmarkForm(request.POST or None, initial={"task": "binary", "threshold": 0.5})
    if request.method == "POST" and form.is_valid():
        try:
            values = dict(form.cleaned_data)
            values["unit"] = values["unit"] or BenchmarkUnit.INDEPENDENT
            benchmark = services.benchmark_create(project=project, user=request.user, **values)
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Benchmark {benchmark.name} created. Upload its ground truth next.")
            return redirect("benchmark-detail", key=project.key, benchmark_id=benchmark.pk)
    status = 400 if request.method == "POST" else 200
    context = {"project": project, "form": form, "metrics_by_task": _metric_menu(), "editing": False}
    return render(request, "benchmarks/benchmark_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def benchmark_edit(request: HttpRequest, key: str, benchmark_id: int) -> HttpResponse:
    benchmark = benchmark_for_user(request.user, benchmark_id, need=Role.LEAD, project_key=key)
    initial = {
        "name": benchmark.name,
        "task": benchmark.task,
        "primary_metric": benchmark.primary_metric,
        "threshold": benchmark.threshold,
        "guardrails": guardrails_text(benchmark.guardrails),
        "description": benchmark.description,
        "unit": benchmark.unit,
        "effect_of_interest": benchmark.effect_of_interest,
    }
    form = BenchmarkForm(request.POST or None, initial=initial)
    form.fields["task"].disabled = True
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        values.pop("task")
        values["primary_metric"] = values["primary_metric"] or None
        values["unit"] = values["unit"] or None
        try:
            services.benchmark_update(benchmark=benchmark, **values)
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Benchmark {benchmark.name} saved.")
            return redirect("benchmark-detail", key=key, benchmark_id=benchmark.pk)
    context = {
        "project": benchmark.project,
        "benchmark": benchmark,
        "form": form,
        "metrics_by_task": _metric_menu(),
        "editing": True,
    }
    return render(request, "benchmarks/benchmark_form.html", context, status=400 if request.method == "POST" else 200)


# --- The benchmark page -----------------------------------------------------------------
def _dataset_from_query(request: HttpRequest, datasets: list[EvaluationDataset]) -> EvaluationDataset | None:
    wanted = (request.GET.get("dataset") or "").lstrip("vV")
    for dataset in datasets:
        if dataset.version == id_or_none(wanted):
            return dataset
    return datasets[0] if datasets else None


def _curves_context(benchmark: Benchmark, evaluation_id: int | None) -> dict:
    picked = selectors.curves_of(benchmark=benchmark, evaluation_id=evaluation_id)
    if picked is None:
        return {"curves": None}
    names = {"champion": picked["champion_name"] or "champion", "challenger": picked["run_name"]}
    return {
        "curves": picked,
        "roc": roc_figure(picked["curves"], names=names),
        "det": det_figure(picked["curves"], names=names),
    }


# What the page's cached fragments read (tickets.fragments): computed only when one is missing.
BENCHMARK_FRAGMENT_NAMES = (
    *("history", "history_page", "champion_change", "page", "forest", "curve_choices", "sequence"),
    *("curves", "roc", "det"),
)


def _benchmark_page(request: HttpRequest, benchmark: Benchmark, **extra) -> dict:
    project = benchmark.project
    benchmark = selectors.benchmark_with_champion(benchmark=benchmark)
    datasets = selectors.datasets_of_benchmark(benchmark=benchmark)
    dataset = _dataset_from_query(request, datasets)
    verdict = request.GET.get("verdict") if request.GET.get("verdict") in Verdict.values else None
    can_submit = project.role.allows(Role.ENGINEER)
    shown = (dataset.pk if dataset else "-", verdict, *(request.GET.get(p, "") for p in ("page", "history_page")))
    deferred = Deferred(lambda: _benchmark_fragments(request, benchmark, datasets, dataset, verdict))
    context = {
        "project": project,
        "benchmark": benchmark,
        "datasets": datasets,
        "dataset": dataset,
        "current_dataset": datasets[0] if datasets else None,
        "verdict_filter": verdict,
        "verdicts": Verdict.choices,
        "can_submit": can_submit,
        "can_define": project.role.allows(Role.LEAD),
        "submit_form": SubmitPredictionsForm(),
        "dataset_form": DatasetUploadForm(),
        "guardrails": [(m, metric_label(m), margin) for m, margin in benchmark.guardrails.items()],
        **fragment_context(project, benchmark.pk, *shown, request.GET.get("challenger", "")),
        **deferred.context(BENCHMARK_FRAGMENT_NAMES),
    }
    context.update(extra)
    return context


def _benchmark_fragments(
    request: HttpRequest,
    benchmark: Benchmark,
    datasets: list[EvaluationDataset],
    dataset: EvaluationDataset | None,
    verdict: str | None,
) -> dict:
    project = benchmark.project
    history_page = page_of(request, selectors.champion_change_rows(benchmark=benchmark), param="history_page")
    # The newest promotion heads the page whichever history page is shown: credited in one go with the page.
    latest = selectors.champion_change_rows(benchmark=benchmark)[:1]
    latest, *history = selectors.credited_changes([*latest, *history_page.object_list], benchmark=benchmark) or [None]
    page = None
    forest = None
    if dataset is not None:
        rows = selectors.evaluations_of_benchmark(benchmark=benchmark, dataset=dataset, verdict=verdict)
        page = Paginator(rows, EVALUATIONS_PER_PAGE).get_page(request.GET.get("page"))
        selectors.attach_project(page.object_list, project)
        forest_data = selectors.forest_rows(benchmark=benchmark, dataset=dataset, limit=FOREST_ROWS)
        if forest_data:
            forest = forest_figure(
                [
                    ForestRow(
                        label=f"{row['run__name'] or 'run'} #{row['run_id']}",
                        delta=row["delta"],
                        low=row["delta_ci_low"],
                        high=row["delta_ci_high"],
                        verdict=row["verdict"],
                        url=reverse("evaluation-detail", args=[project.key, row["pk"]]),
                    )
                    for row in forest_data
                ],
                metric_label=metric_label(benchmark.primary_metric),
                higher_is_better=benchmark.primary_metric in HIGHER_IS_BETTER,
            )
    return {
        "history": history,
        "history_page": history_page,
        "champion_change": latest,
        "page": page,
        "forest": forest,
        "curve_choices": selectors.compared_choices(benchmark=benchmark, dataset=dataset) if dataset else [],
        "sequence": selectors.dataset_sequence(benchmark=benchmark, dataset=datasets[0]) if datasets else None,
        **_curves_context(benchmark, id_or_none(request.GET.get("challenger"))),
    }


@login_required
@require_GET
def benchmark_detail(request: HttpRequest, key: str, benchmark_id: int) -> HttpResponse:
    benchmark = benchmark_for_user(request.user, benchmark_id, project_key=key)
    return shared_page(
        request, benchmark.project, "benchmarks/benchmark_detail.html", lambda: _benchmark_page(request, benchmark)
    )


@login_required
@require_GET
def benchmark_curves(request: HttpRequest, key: str, benchmark_id: int) -> HttpResponse:
    """The ROC/DET card for the challenger picked in its menu (an htmx fragment)."""
    benchmark = benchmark_for_user(request.user, benchmark_id, project_key=key)
    benchmark = selectors.benchmark_with_champion(benchmark=benchmark)
    selected = request.GET.get("challenger", "")
    context = {"project": benchmark.project, "benchmark": benchmark}
    context.update(_curves_context(benchmark, id_or_none(selected)))
    datasets = selectors.latest_datasets(benchmark_ids=[benchmark.pk])
    dataset = datasets.get(benchmark.pk)
    context["curve_choices"] = selectors.compared_choices(benchmark=benchmark, dataset=dataset) if dataset else []
    return render(request, "benchmarks/partials/benchmark_curves.html", context)


# --- Dataset versions -------------------------------------------------------------------
@streamed_uploads
@login_required
@require_http_methods(["GET", "POST"])
def benchmark_datasets(request: HttpRequest, key: str, benchmark_id: int) -> HttpResponse:
    """The dataset versions; leads upload the next one here."""
    need = Role.LEAD if request.method == "POST" else Role.STAKEHOLDER
    benchmark = benchmark_for_user(request.user, benchmark_id, need=need, project_key=key)
    form = DatasetUploadForm()
    status = 200
    if request.method == "POST":
        form = _upload_form(DatasetUploadForm, request)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                dataset = services.dataset_upload(
                    benchmark=benchmark,
                    user=request.user,
                    path=Path(upload.temporary_file_path()),
                    original_name=upload.name,
                    note=form.cleaned_data["note"],
                    move=True,
                )
            except ValidationError as error:
                _form_error(form, error)
            else:
                messages.success(
                    request,
                    f"Dataset {dataset.label} accepted: {dataset.n_rows:,} rows"
                    + (f", {dataset.n_groups:,} groups." if dataset.n_groups else "."),
                )
                return redirect("benchmark-detail", key=key, benchmark_id=benchmark.pk)
        status = 400
    page = page_of(request, selectors.dataset_rows(benchmark=benchmark))
    context = {
        "project": benchmark.project,
        "benchmark": benchmark,
        "page": page,
        "datasets": page.object_list,
        "dataset_form": form,
        "can_define": benchmark.project.role.allows(Role.LEAD),
        "can_submit": benchmark.project.role.allows(Role.ENGINEER),
    }
    return render(request, "benchmarks/benchmark_datasets.html", context, status=status)


# --- Submitting predictions -------------------------------------------------------------
@streamed_uploads
@login_required
@require_http_methods(["GET", "POST"])
def benchmark_submit(request: HttpRequest, key: str, benchmark_id: int) -> HttpResponse:
    """Upload a run's predictions (creating the run if needed) and evaluate them at once."""
    benchmark = benchmark_for_user(request.user, benchmark_id, need=Role.ENGINEER, project_key=key)
    dataset = selectors.latest_dataset(benchmark=benchmark)
    status = 200
    if request.method == "POST":
        form = _upload_form(SubmitPredictionsForm, request)
        if dataset is None:
            form.add_error(None, f"{benchmark.name} has no dataset yet; a lead must upload its ground truth first.")
        elif form.is_valid():
            try:
                evaluation = _submit(request, benchmark, dataset, form)
            except ValidationError as error:
                _form_error(form, error)
            else:
                return redirect("evaluation-detail", key=key, evaluation_id=evaluation.pk)
        status = 400
    else:
        run = request.GET.get("run", "")
        form = SubmitPredictionsForm(initial={"run": id_or_none(run)})
    context = {
        "project": benchmark.project,
        "benchmark": benchmark,
        "dataset": dataset,
        "submit_form": form,
    }
    return render(request, "benchmarks/benchmark_submit.html", context, status=status)


def _submit(request: HttpRequest, benchmark: Benchmark, dataset: EvaluationDataset, form: SubmitPredictionsForm):
    """The predictions, for an existing run of the project or a new one, evaluated at once."""
    run = None
    run_id = form.cleaned_data.get("run")
    if run_id:
        run = run_of_project(project=benchmark.project, run_id=run_id)
        if run is None:
            raise ValidationError({"run": f"There is no run {run_id} in {benchmark.project.key}."})
    upload = form.cleaned_data["file"]
    submission = services.predictions_submit(
        dataset=dataset,
        user=request.user,
        path=Path(upload.temporary_file_path()),
        original_name=upload.name,
        source=PredictionSource.BROWSER,
        run=run,
        run_name=form.cleaned_data.get("run_name", ""),
        ticket_key=form.cleaned_data.get("ticket", "").strip() or None,
    )
    return submission.evaluation


# --- Panels for the run and ticket pages ------------------------------------------------
@login_required
@require_GET
def run_evaluations(request: HttpRequest, key: str, run_id: int) -> HttpResponse:
    """The run's evaluations and verdicts, as an htmx fragment for the run page."""
    run = run_for_user(request.user, run_id, project_key=key)
    evaluations = selectors.evaluations_of_run(run=run)
    context = {
        "project": run.project,
        "run": run,
        "evaluations": evaluations,
        "polling": any(not e.is_finished for e in evaluations),
        "benchmarks": selectors.benchmark_names(project=run.project),
        "can_submit": run.project.role.allows(Role.ENGINEER),
    }
    return render(request, "benchmarks/partials/run_evaluations.html", context)


@login_required
@require_GET
def ticket_evaluations(request: HttpRequest, ticket_key: str) -> HttpResponse:
    """The evaluations of a ticket's runs, as an htmx fragment for the ticket page (a full page otherwise)."""
    ticket = ticket_for_user(request.user, ticket_key)
    context = {
        "project": ticket.project,
        "ticket": ticket,
        "evaluations": selectors.evaluations_of_ticket(ticket=ticket),
    }
    template = (
        "benchmarks/partials/ticket_evaluations.html" if _is_htmx(request) else "benchmarks/ticket_evaluations.html"
    )
    return render(request, template, context)
