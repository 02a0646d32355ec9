"""Pages for online tests. Thin: access helper → service/selector → render.

Every member reads a test's dashboard; engineers upload event files; leads start and stop (the API
does the same). The dashboard body is polled by htmx while the test runs.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from experiments.abtests import selectors, services
from experiments.abtests.access import onlinetest_for_user
from experiments.abtests.charts import sequence_figure, sequence_points
from experiments.abtests.forms import NewTestForm
from experiments.abtests.models import AbTestDecision, AbTestState, OnlineTest
from experiments.abtests.serializers import abtest_out
from experiments.benchmarks.access import benchmark_for_user
from tickets.access import id_or_none, project_for_user, ticket_for_user
from tickets.models import Role

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _context(test: OnlineTest, **extra) -> dict:
    selectors.attach_run_names([test])
    row = abtest_out(test, detail=True)
    project = test.benchmark.project
    lead = row["difference"]
    snapshots = [(s.at.isoformat(), s.analysis) for s in selectors.snapshots_of(test=test)]
    points = [p for p in sequence_points(snapshots, lead["variant"]) if p["estimate"] is not None]
    figure = None
    if points:
        figure = sequence_figure(points, metric=lead["metric"], variant=lead["variant"], champion=test.champion_variant)
    context = {
        "project": project,
        "benchmark": test.benchmark,
        "test": test,
        "row": row,
        "figure": figure,
        "running": test.state == AbTestState.RUNNING,
        "can_decide": project.role.allows(Role.LEAD),
        "can_send": project.role.allows(Role.ENGINEER),
        "decisions": AbTestDecision.choices,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def abtest_detail(request: HttpRequest, key: str, abtest_id: int) -> HttpResponse:
    test = onlinetest_for_user(request.user, abtest_id, project_key=key)
    return render(request, "abtests/abtest_detail.html", _context(test))


@login_required
@require_GET
def abtest_body(request: HttpRequest, key: str, abtest_id: int) -> HttpResponse:
    """The dashboard's body, polled by htmx while the test runs (it stops polling once stopped)."""
    test = onlinetest_for_user(request.user, abtest_id, project_key=key)
    return render(request, "abtests/partials/abtest_body.html", _context(test))


@login_required
@require_POST
def abtest_start(request: HttpRequest, key: str, abtest_id: int) -> HttpResponse:
    test = onlinetest_for_user(request.user, abtest_id, need=Role.LEAD, project_key=key)
    try:
        services.onlinetest_start(test=test, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("abtest-detail", key=key, abtest_id=test.pk)


@login_required
@require_POST
def abtest_stop(request: HttpRequest, key: str, abtest_id: int) -> HttpResponse:
    test = onlinetest_for_user(request.user, abtest_id, need=Role.LEAD, project_key=key)
    try:
        services.onlinetest_stop(
            test=test,
            user=request.user,
            decision=request.POST.get("decision", ""),
            variant=request.POST.get("variant", ""),
            note=request.POST.get("note", ""),
            override_reason=request.POST.get("override_reason", ""),
        )
    except ValidationError as error:
        test.refresh_from_db(fields=["state", "analysis", "aggregated_at", "n_events"])
        context = _context(test, stop_error=" ".join(error.messages))
        return render(request, "abtests/abtest_detail.html", context, status=400)
    messages.success(request, f"{test.name} is stopped: {test.get_decision_display().lower()}.")
    return redirect("abtest-detail", key=key, abtest_id=test.pk)


@login_required
@require_http_methods(["GET", "POST"])
def abtest_upload(request: HttpRequest, key: str, abtest_id: int) -> HttpResponse:
    """A file of events (CSV or JSON lines) for teams who batch daily: the same checks as the API."""
    test = onlinetest_for_user(request.user, abtest_id, need=Role.ENGINEER, project_key=key)
    context = {"project": test.benchmark.project, "benchmark": test.benchmark, "test": test}
    if request.method == "GET":
        return render(request, "abtests/abtest_upload.html", context)
    upload = request.FILES.get("file")
    status, error = 400, None
    if upload is None:
        error = {"message": "file: choose a CSV or JSON lines file of events.", "lines": []}
    elif upload.size > MAX_UPLOAD_BYTES:
        error = {"message": f"file: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it.", "lines": []}
    else:
        content_type = "application/x-ndjson" if upload.name.endswith((".jsonl", ".ndjson")) else "text/csv"
        try:
            result = services.events_ingest(test=test, body=upload.read(), content_type=content_type)
        except services.EventBatchError as batch:
            status, error = batch.status, {"message": str(batch), "lines": batch.errors}
        else:
            messages.success(
                request,
                f"{result.stored:,} new events stored ({result.duplicates:,} already known) from {upload.name}.",
            )
            return redirect("abtest-detail", key=key, abtest_id=test.pk)
    return render(request, "abtests/abtest_upload.html", {**context, "error": error}, status=status)


@login_required
@require_GET
def benchmark_abtests(request: HttpRequest, key: str, benchmark_id: int) -> HttpResponse:
    """A benchmark's online tests (a fragment the benchmark page loads)."""
    benchmark = benchmark_for_user(request.user, benchmark_id, project_key=key)
    tests = selectors.abtests_of_benchmark(benchmark=benchmark)
    return render(
        request,
        "abtests/partials/abtest_list.html",
        {
            "project": benchmark.project,
            "rows": [abtest_out(t) for t in tests],
            "testid": "benchmark-abtests",
            "new_url": reverse("abtest-create", args=[benchmark.project.key, benchmark.pk])
            if benchmark.project.role.allows(Role.ENGINEER)
            else "",
        },
    )


@login_required
@require_GET
def project_abtests(request: HttpRequest, key: str) -> HttpResponse:
    """A project's online tests, live ones first (a fragment the project dashboard loads)."""
    project = project_for_user(request.user, key)
    tests = selectors.abtests_of_project(project=project, states=None)
    tests.sort(key=lambda t: t.state != AbTestState.RUNNING)
    return render(
        request,
        "abtests/partials/abtest_list.html",
        {"project": project, "rows": [abtest_out(t) for t in tests], "testid": "project-abtests"},
    )


@login_required
@require_GET
def ticket_abtests(request: HttpRequest, ticket_key: str) -> HttpResponse:
    """Online tests of the ticket's runs (the ticket page's panel)."""
    ticket = ticket_for_user(request.user, ticket_key)
    tests = selectors.abtests_of_ticket(ticket=ticket)
    return render(
        request,
        "abtests/partials/abtest_list.html",
        {"project": ticket.project, "rows": [abtest_out(t) for t in tests], "testid": "ticket-abtests"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def abtest_create(request: HttpRequest, key: str, benchmark_id: int) -> HttpResponse:
    """A new draft test of the benchmark (engineers and leads); ``?challenger=<run id>`` preselects one,
    so a ticket's evaluation page leads here. A lead starts it from its page."""
    benchmark = benchmark_for_user(request.user, benchmark_id, project_key=key, need=Role.ENGINEER)
    data = request.POST if request.method == "POST" else None
    initial = {"champion": benchmark.champion_id, "challenger": id_or_none(request.GET.get("challenger"))}
    chosen = [initial["champion"], initial["challenger"]]
    if data is not None:
        chosen = [id_or_none(data.get("champion")), id_or_none(data.get("challenger"))]
    form = NewTestForm(
        data,
        initial=initial,
        runs_url=reverse("api-autocomplete-runs", kwargs={"key": benchmark.project.key}),
        run_labels=selectors.run_labels(benchmark=benchmark, ids=[pk for pk in chosen if pk is not None]),
        champion_id=benchmark.champion_id,
    )
    if request.method == "POST" and form.is_valid():
        try:
            test = services.onlinetest_create(benchmark=benchmark, user=request.user, **form.design())
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                field = NewTestForm.SERVICE_FIELDS.get(field, field)
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"Online test {test.name} created as a draft: a lead starts it here.")
            return redirect("abtest-detail", key=benchmark.project.key, abtest_id=test.pk)
    status = 400 if request.method == "POST" else 200
    context = {"project": benchmark.project, "benchmark": benchmark, "form": form}
    return render(request, "abtests/abtest_new.html", context, status=status)
