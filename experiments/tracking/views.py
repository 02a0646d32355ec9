"""Pages for runs: list, detail, compare, the ticket's runs panel, and MLflow links.

Thin: access helper → form → selector/service → render.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from experiments.tracking import charts, model_selectors, selectors, services
from experiments.tracking.access import run_for_user
from experiments.tracking.forms import AttachRunForm, AttachTicketForm, RunFilterForm, RunNotesForm
from experiments.tracking.mlflow_artifacts import artifact_download_response
from experiments.tracking.models import Run, RunStatus
from experiments.tracking.zips import zip_stream
from tickets.access import id_or_none, parse_id, project_by_id_for_user, project_for_user, ticket_for_user
from tickets.fragments import shared_page
from tickets.models import Project, Role, Ticket
from tickets.selectors import memberships_of_project

RUNS_PER_PAGE = 50
MAX_COMPARE = 10


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- Run list ---------------------------------------------------------------------------
@login_required
@require_GET
def run_list(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    template = "tracking/partials/run_table.html" if _is_htmx(request) else "tracking/run_list.html"
    # Logging to a run changes this list (its values) but not the project's other pages.
    return shared_page(
        request, project, template, lambda: _run_list(request, project, template), project.tracking_version
    )


def _run_list(request: HttpRequest, project, template: str) -> dict | HttpResponse:
    form = RunFilterForm(request.GET)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    ticket, unattached, ticket_error = _ticket_filter(project, data.get("ticket", ""))
    runs = selectors.runs_of_project(
        project=project,
        ticket=ticket,
        unattached=unattached,
        status=data.get("status") or None,
        tag=form.tag_filter() if valid else None,
        username=data.get("user") or None,
        experiment=data.get("experiment"),
    )
    sort = selectors.SortSpec.parse(request.GET.get("sort"))
    columns = selectors.run_columns(
        project=project,
        metrics=request.GET.getlist("m") if request.GET.get("columns") else None,
        params=request.GET.getlist("p") if request.GET.get("columns") else None,
    )
    page = Paginator(selectors.sort_runs(runs, sort), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    rows = selectors.run_rows(project=project, runs=list(page.object_list), columns=columns)
    context = {
        "project": project,
        "form": form,
        "ticket_error": ticket_error,
        "page": page,
        "runs": rows,
        "metric_keys": columns.metric_keys,
        "param_keys": columns.param_keys,
        "metric_columns": columns.metrics,
        "param_columns": columns.params,
        "sort": sort,
        "headers": _headers(request, sort, columns.metrics, columns.params),
        "statuses": RunStatus.choices,
        "ticket_text": _ticket_text(ticket, unattached, data.get("ticket", "")),
        "members": memberships_of_project(project=project),
        "experiments": model_selectors.experiments_of_project(project=project),
        "query": _query_without(request, "page"),
        "filtered": any(data.get(f) for f in ("ticket", "status", "tag", "user")) or data.get("experiment") is not None,
        # The export has the list's filters and shown columns (RunExportApi's parameters).
        "export_query": urlencode(
            {
                **{f: request.GET.get(f) for f in ("ticket", "status", "tag", "user") if request.GET.get(f)},
                "metrics": ",".join(columns.metrics),
                "params": ",".join(columns.params),
            }
        ),
    }
    return render(request, template, context, status=400) if ticket_error else context


def _ticket_text(ticket: Ticket | None, unattached: bool, typed: str) -> str:
    """What the ticket picker shows for the current filter (the picker asks the server for others)."""
    if unattached:
        return "Not attached"
    if ticket is not None and ticket.pk:
        return f"{ticket.key} · {ticket.title}"
    return (typed or "").strip()


def _ticket_filter(project: Project, text: str) -> tuple[Ticket | None, bool, str]:
    text = (text or "").strip()
    if not text:
        return None, False, ""
    if text.lower() == "none":
        return None, True, ""
    try:
        return services.ticket_in_project(project=project, ticket_key=text), False, ""
    except ValidationError as error:
        # Show the message and an empty list rather than every run: the filter was meant.
        return Ticket(project=project, pk=0, number=0), False, " ".join(error.messages)


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _headers(request: HttpRequest, sort: selectors.SortSpec, metrics: list[str], params: list[str]) -> list[dict]:
    base = _query_without(request, "sort", "page")
    headers = []
    columns = [("field", "name", "Run"), ("field", "status", "Status"), ("field", "ticket", "Ticket")]
    columns += [("field", "user", "Started by"), ("field", "start_time", "Started")]
    columns += [("metric", k, k) for k in metrics] + [("param", k, k) for k in params]
    for kind, key, label in columns:
        spec = selectors.SortSpec(kind, key, kind != "field" or key == "start_time")
        active = sort.kind == kind and sort.key == key
        target = sort.toggled() if active else spec
        headers.append(
            {
                "label": label,
                "kind": kind,
                "url": f"?{base + '&' if base else ''}sort={target}",
                "active": active,
                "descending": sort.descending,
            }
        )
    return headers


# --- Run detail -------------------------------------------------------------------------
def _run_page_context(run: Run) -> dict:
    latest = selectors.latest_metrics_of_runs(run_ids=[run.pk]).get(run.pk, {})
    histories = selectors.metric_histories(run_ids=[run.pk], keys=list(latest))
    figures = []
    for key in latest:
        points = histories.get((run.pk, key), [])
        figure = charts.history_figure(key, [(run.display_name, [p[0] for p in points], [p[1] for p in points])])
        figures.append({"key": key, "figure": figure, "points": len(points), "dom_id": f"figure-{len(figures)}"})
    return {
        "run": run,
        "project": run.project,
        "params": selectors.params_of_runs(run_ids=[run.pk]).get(run.pk, {}),
        "tags": selectors.tags_of_runs(run_ids=[run.pk]).get(run.pk, {}),
        "latest": list(latest.values()),
        "figures": figures,
        "artifacts": selectors.artifacts_of_run(run=run),
        "models": model_selectors.models_of_run(run=run),
        "datasets": model_selectors.datasets_of_run(run=run),
        "can_edit": run.project.role.allows(Role.ENGINEER),
        "attach_form": AttachTicketForm(initial={"ticket": run.ticket.key if run.ticket_id else ""}),
        "notes_form": RunNotesForm(initial={"notes": run.notes}),
    }


def _run_with_joins(request: HttpRequest, key: str, run_id: int, need: Role = Role.STAKEHOLDER) -> Run:
    return run_for_user(request.user, run_id, need=need, project_key=key, queryset=selectors.runs_with_people())


@login_required
@require_GET
def run_detail(request: HttpRequest, key: str, run_id: int) -> HttpResponse:
    run = _run_with_joins(request, key, run_id)
    return render(request, "tracking/run_detail.html", _run_page_context(run))


@login_required
@require_POST
def run_ticket(request: HttpRequest, key: str, run_id: int) -> HttpResponse:
    """Attach the run to a ticket chosen by key, or detach it (empty key)."""
    run = _run_with_joins(request, key, run_id, need=Role.ENGINEER)
    form = AttachTicketForm(request.POST)
    ticket_key = form.cleaned_data["ticket"].strip() if form.is_valid() else ""
    try:
        services.run_attach_ticket(run=run, ticket_key=ticket_key or None, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if run.ticket_id:
            messages.success(request, f"{run.display_name} is attached to {run.ticket.key}.")
        else:
            messages.success(request, f"{run.display_name} is no longer attached to a ticket.")
    return redirect("run-detail", key=key, run_id=run.pk)


@login_required
@require_POST
def run_notes(request: HttpRequest, key: str, run_id: int) -> HttpResponse:
    run = _run_with_joins(request, key, run_id, need=Role.ENGINEER)
    form = RunNotesForm(request.POST)
    if form.is_valid():
        services.run_update(run=run, notes=form.cleaned_data["notes"])
        messages.success(request, "Notes saved.")
    else:
        messages.error(request, f"Notes: {form.errors['notes'][0]}")
    return redirect("run-detail", key=key, run_id=run.pk)


@login_required
@require_GET
def run_artifact(request: HttpRequest, key: str, run_id: int, path: str) -> HttpResponse:
    run = run_for_user(request.user, run_id, project_key=key)
    try:
        return artifact_download_response(run, path)
    except ValidationError:
        raise Http404(f"Run {run.pk} has no artifact {path!r}.") from None


@login_required
@require_GET
def run_model_download(request: HttpRequest, key: str, run_id: int, model_id: str) -> HttpResponse:
    """A logged model of the run as one zip file (its MLflow Model folder)."""
    run = run_for_user(request.user, run_id, project_key=key)
    model = model_selectors.model_of_run(run=run, model_id=model_id)
    if model is None:
        raise Http404(f"Run {run.pk} has no model {model_id!r}.")
    files = [(path, services.logged_model_file(model, path)) for path in model_selectors.model_file_paths(model=model)]
    response = StreamingHttpResponse(zip_stream(files), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{model.name}-{model.model_id}.zip"'
    return response


# --- Compare ----------------------------------------------------------------------------
@login_required
@require_GET
def run_compare(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    raw = request.GET.getlist("runs")
    ids = list(dict.fromkeys(n for n in map(id_or_none, raw) if n is not None))
    context: dict = {"project": project}
    if not 2 <= len(ids) <= MAX_COMPARE:
        context["error"] = f"Pick between 2 and {MAX_COMPARE} runs to compare; you picked {len(ids)}."
        return render(request, "tracking/run_compare.html", context, status=400)
    comparison = selectors.run_comparison(project=project, ids=ids)
    if comparison.missing:
        raise Http404(f"There is no run {', '.join(map(str, comparison.missing))} in {project.key}.")
    figures = []
    for metric_key in comparison.metric_keys:
        series = [
            (f"{run.display_name} (#{run.pk})", [p[0] for p in points], [p[1] for p in points])
            for run in comparison.runs
            if (points := comparison.histories.get((run.pk, metric_key)))
        ]
        figure = charts.history_figure(metric_key, series, height=320)
        figures.append({"key": metric_key, "figure": figure, "dom_id": f"figure-{len(figures)}"})
    context.update(
        {
            "runs": comparison.runs,
            "param_rows": comparison.param_rows,
            "metric_rows": comparison.metric_rows,
            "figures": figures,
            "differing": sum(1 for r in comparison.param_rows if r["differs"]),
        }
    )
    return render(request, "tracking/run_compare.html", context)


# --- The ticket's runs panel ------------------------------------------------------------
KEY_METRICS = 4


def _ticket_panel(request: HttpRequest, ticket: Ticket, *, status: int = 200, error: str = "") -> HttpResponse:
    runs = list(selectors.runs_of_ticket(ticket=ticket))
    latest = selectors.latest_metrics_of_runs(run_ids=[r.pk for r in runs])
    counts = Counter(k for metrics in latest.values() for k in metrics)
    key_metrics = sorted(k for k, _ in counts.most_common(KEY_METRICS))
    for run in runs:
        run.metric_cells = [latest.get(run.pk, {}).get(k) for k in key_metrics]
    can_edit = ticket.project.role.allows(Role.ENGINEER)
    context = {
        "project": ticket.project,
        "ticket": ticket,
        "runs": runs,
        "key_metrics": key_metrics,
        "can_edit": can_edit,
        "error": error,
    }
    template = "tracking/partials/ticket_runs.html" if _is_htmx(request) else "tracking/ticket_runs.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def ticket_runs(request: HttpRequest, ticket_key: str) -> HttpResponse:
    """The runs of a ticket, as an htmx fragment for the ticket page (a full page otherwise)."""
    ticket = ticket_for_user(request.user, ticket_key)
    return _ticket_panel(request, ticket)


@login_required
@require_POST
def ticket_runs_attach(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
    form = AttachRunForm(request.POST)
    if not form.is_valid():
        return _ticket_panel(request, ticket, status=400, error=f"Run: {form.errors['run'][0]}")
    run = selectors.run_of_project(project=ticket.project, run_id=form.cleaned_data["run"])
    if run is None:
        return _ticket_panel(
            request, ticket, status=400, error=f"There is no run {form.cleaned_data['run']} in {ticket.project.key}."
        )
    services.run_attach_ticket(run=run, ticket_key=ticket.key, actor=request.user)
    if not _is_htmx(request):
        messages.success(request, f"{run.display_name} is attached to {ticket.key}.")
        return redirect("ticket-runs", ticket_key=ticket.key)
    return _ticket_panel(request, ticket)


@login_required
@require_POST
def ticket_runs_detach(request: HttpRequest, ticket_key: str, run_id: int) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
    run = selectors.run_of_project(project=ticket.project, run_id=run_id, ticket=ticket)
    if run is None:
        raise Http404(f"Run {run_id} is not attached to {ticket.key}.")
    services.run_attach_ticket(run=run, ticket_key=None, actor=request.user)
    if not _is_htmx(request):
        messages.success(request, f"{run.display_name} is no longer attached to {ticket.key}.")
        return redirect("ticket-runs", ticket_key=ticket.key)
    return _ticket_panel(request, ticket)


# --- MLflow links -----------------------------------------------------------------------
@require_GET
def mlflow_home(request: HttpRequest, key: str | None = None) -> HttpResponse:
    """Where the client's printed links land; JavaScript reads the #fragment and redirects."""
    if key is not None:
        project_for_user(request.user, key)  # the project-scoped URI shows its project's members only
    url = reverse("mlflow-project-home", kwargs={"key": key}) if key else reverse("mlflow-home")
    tracking_uri = request.build_absolute_uri(url).rstrip("/")
    return render(request, "tracking/mlflow_home.html", {"tracking_uri": tracking_uri})


@login_required
@require_GET
def mlflow_run_redirect(request: HttpRequest, run_uuid: str) -> HttpResponse:
    run = run_for_user(request.user, run_uuid)
    return redirect("run-detail", key=run.project.key, run_id=run.pk)


@login_required
@require_GET
def mlflow_experiment_redirect(request: HttpRequest, experiment_id: str) -> HttpResponse:
    project_part, _, named = experiment_id.partition("-")
    project = project_by_id_for_user(request.user, project_part)
    url = reverse("run-list", kwargs={"key": project.key})
    return redirect(f"{url}?experiment={parse_id(named)}" if named else url)
