"""Pages: the project ("kaizen") dashboard, the sprint dashboard, the stakeholder demo (for
members and through share links), demo material, share-link management.

Thin: access helper → selector/service → figures from the pure builders → render.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from experiments.abtests.selectors import abtests_for_story
from experiments.dashboards import charts, result_charts, selectors, services
from experiments.dashboards.forms import SprintReviewForm
from experiments.dashboards.models import MaterialKind
from experiments.dashboards.online_story import online_rows
from experiments.dashboards.result_selectors import BenchmarkProgress, benchmark_progress
from tickets import clock
from tickets.access import project_for_user, sprint_for_user
from tickets.attribution import SprintPeriod
from tickets.fragments import Deferred, fragment_context, shared_page
from tickets.models import Outcome, Project, Role, Sprint, SprintState, TicketStatus

# The project demo tells the recent story in full; older answers live on their sprint's page.
DEMO_QUESTIONS = 12
DEMO_SHIPPED = 15


def _figure(figure: dict, dom_id: str, label: str) -> dict[str, Any]:
    return {"figure": figure, "dom_id": dom_id, "label": label}


def _span(sprint: Sprint, now: datetime.datetime) -> charts.SprintSpan | None:
    """The sprint's band on time charts: when it was active (the attribution rule), not its planned dates."""
    window = selectors.sprint_window(sprint, now=now)
    return charts.SprintSpan(sprint.name, *window) if window else None


def _window(sprint: Sprint, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime] | None:
    return selectors.sprint_window(sprint, now=now)


def _online_tests(
    project: Project, benchmarks: list[BenchmarkProgress], sprint: Sprint | None = None, now=None
) -> list[dict[str, Any]]:
    """Online tests beside the offline evaluations: none (and no query) without a benchmark; for a
    sprint, those running or stopped while it ran (none before it starts)."""
    window = _window(sprint, now) if sprint is not None else None
    if not benchmarks or (sprint is not None and window is None):
        return []
    return online_rows(abtests_for_story(project=project, between=window))


def _gain(
    benchmark: BenchmarkProgress | None, sprint: Sprint, periods: list[SprintPeriod] | None = None
) -> float | None:
    if benchmark is None:
        return None
    return benchmark.gain(sprint.period, periods or [sprint.period])


def _champion_figures(benchmarks: list[BenchmarkProgress], sprints: list[Sprint], now) -> list[dict[str, Any]]:
    spans = [span for span in (_span(s, now) for s in sprints) if span is not None]
    periods = [s.period for s in sprints]
    return [
        {
            **_figure(
                result_charts.champion_progress_figure(
                    metric=b.metric,
                    promotions=b.promotions,
                    challengers=b.challengers,
                    sprints=spans,
                    periods=periods,
                    until=now,
                    title=f"{b.name}: champion {b.metric}, sprint by sprint",
                ),
                f"champion-{b.id}",
                f"{b.name}: the champion's {b.metric} over time, with every challenger",
            ),
            "benchmark": b,
        }
        for b in benchmarks
    ]


# --- The project ("kaizen") dashboard ---------------------------------------------------
@login_required
@require_GET
def dashboard(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    return shared_page(request, project, "dashboards/kaizen.html", lambda: _dashboard(project))


def _dashboard(project: Project) -> dict[str, Any]:
    # The same for every viewer with this role: the template caches it (tickets.fragments).
    deferred = Deferred(lambda: _dashboard_context(project))
    return {"project": project, **fragment_context(project), **deferred.context(DASHBOARD_NAMES)}


DASHBOARD_NAMES = (
    "rows",
    "benchmarks",
    "champion_figures",
    "outcomes_figure",
    "has_sprints",
    "totals",
    "primary",
    "between_gains",
    "current_sprint",
)


def _dashboard_context(project: Project) -> dict[str, Any]:
    now = clock.now()
    deliveries = selectors.sprint_deliveries(project=project)
    benchmarks = benchmark_progress(project=project)
    primary = benchmarks[0] if benchmarks else None
    periods = [d.sprint.period for d in deliveries]
    rows = []
    for delivery in deliveries:
        gains = [_gain(b, delivery.sprint, periods) for b in benchmarks]
        rows.append({"delivery": delivery, "gains": gains, "gain": gains[0] if gains else None})
    started = [r for r in rows if r["delivery"].sprint.started_at is not None]
    outcomes = charts.sprint_outcomes_figure(
        [
            charts.SprintOutcome(r["delivery"].sprint.name, r["delivery"].answered, r["delivery"].shipped, r["gain"])
            for r in started
        ],
        metric=primary.metric if primary else "",
    )
    return {
        "rows": list(reversed(rows)),
        "benchmarks": benchmarks,
        "champion_figures": _champion_figures(benchmarks, [d.sprint for d in deliveries], now),
        "outcomes_figure": _figure(outcomes, "sprint-outcomes", "Questions answered and code shipped per sprint"),
        "has_sprints": bool(started),
        "totals": {
            "answered": sum(d.answered for d in deliveries),
            "shipped": sum(d.shipped for d in deliveries),
            "closed": sum(1 for d in deliveries if d.sprint.state == SprintState.CLOSED),
            "sprints": len(deliveries),
        },
        "primary": primary,
        # Promotions made while no sprint ran belong to no sprint (tickets.attribution): shown on their own row.
        "between_gains": [b.gain_between_sprints(periods) for b in benchmarks],
        "current_sprint": next((d.sprint for d in deliveries if d.sprint.state == SprintState.ACTIVE), None),
    }


# --- The sprint dashboard ---------------------------------------------------------------
def _sprint_figures(board: selectors.SprintDashboard, benchmarks: list[BenchmarkProgress], now) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if board.progress is not None:
        figures["burndown"] = _figure(
            charts.burndown_figure(board.progress, names=board.names), "burndown", "Burndown of open tickets"
        )
        figures["burnup"] = _figure(
            charts.burnup_figure(board.progress, names=board.names), "burnup", "Burnup: scope and done tickets"
        )
    if board.tickets:
        figures["mix"] = _figure(
            charts.ticket_mix_figure(board.work_type_rows, statuses=TicketStatus.choices),
            "ticket-mix",
            "Tickets by work type and status",
        )
    if board.answered_questions:
        figures["outcomes"] = _figure(
            charts.outcomes_figure(board.outcome_counts, labels=dict(Outcome.choices)), "outcomes", "Answers by outcome"
        )
    window = _window(board.sprint, now)
    challenger_figures = []
    for b in benchmarks:
        if window is None:
            break
        points, references = b.challengers_between(*window)
        if not points:
            continue
        challenger_figures.append(
            {
                **_figure(
                    result_charts.challengers_figure(
                        points, references, metric=b.metric, title=f"{b.name}: challengers this sprint"
                    ),
                    f"challengers-{b.id}",
                    f"Challengers evaluated on {b.name} during {board.sprint.name}",
                ),
                "benchmark": b,
                "count": len(points),
                "better": sum(1 for p in points if p.verdict == "better"),
            }
        )
    figures["challengers"] = challenger_figures
    return figures


@login_required
@require_GET
def sprint_dashboard(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    sprint = sprint_for_user(request.user, key, sprint_id)
    project = sprint.project
    now = clock.now()
    board = selectors.sprint_dashboard(project=project, sprint=sprint, now=now)
    benchmarks = benchmark_progress(project=project)
    context = {
        "project": project,
        "sprint": sprint,
        "board": board,
        "figures": _sprint_figures(board, benchmarks, now),
        "benchmarks": benchmarks,
        "sprints": selectors.sprint_menu(project=project),
        "gains": [(b, _gain(b, sprint)) for b in benchmarks],
        "online_tests": _online_tests(project, benchmarks, sprint, now),
    }
    return render(request, "dashboards/sprint.html", context)


@login_required
@require_GET
def sprint_dashboard_current(request: HttpRequest, key: str) -> HttpResponse:
    """The active sprint's dashboard (else the latest started one, else the project dashboard)."""
    project = project_for_user(request.user, key)
    sprint = selectors.latest_started_sprint(project=project)
    if sprint is None:
        messages.info(request, "No sprint has started yet: the sprint dashboard fills in once one does.")
        return redirect("dashboard", key=project.key)
    return redirect("dashboard-sprint", key=project.key, sprint_id=sprint.pk)


# --- The stakeholder demo ---------------------------------------------------------------
def _plain_progress(benchmark: BenchmarkProgress) -> str:
    """The champion's progress in one sentence a stakeholder can read aloud."""
    if not benchmark.promotions:
        return f"No champion on {benchmark.name} yet: the first evaluated model becomes the baseline."
    first, last = benchmark.promotions[0], benchmark.promotions[-1]
    if len(benchmark.promotions) == 1 or first.value is None or last.value is None:
        return f"The baseline ({first.label}) holds {benchmark.metric} {_fmt(first.value)} on {benchmark.name}."
    delta = last.value - first.value
    return (
        f"On {benchmark.name}, {benchmark.metric} went from {_fmt(first.value)} (baseline, {first.label}) to "
        f"{_fmt(last.value)} ({last.label}): {delta:+.4g}, in {len(benchmark.promotions) - 1} "
        f"promotion{'s' if len(benchmark.promotions) != 2 else ''}."
    )


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


DEMO_NAMES = (
    *("deliveries", "totals", "champion_figures", "older_questions", "online_tests"),  # the project's demo
    *("board", "burnup", "challenger_figures", "gains"),  # a sprint's
    *("benchmarks", "progress_sentences", "questions", "shipped", "coming", "now"),
)


def deferred_demo_context(
    project: Project, sprint: Sprint | None, *, material_url, key: tuple = (), role: bool = True
) -> dict[str, Any]:
    """The demo page's context, computed only if its cached fragments (tickets.fragments) are
    missing; ``key`` tells apart what differs beyond the project, sprint and role (a share link)."""
    deferred = Deferred(lambda: demo_context(project, sprint, material_url=material_url, now=clock.now()))
    return {
        "project": project,
        "sprint": sprint,
        **fragment_context(project, "sprint", sprint.pk if sprint else "-", *key, role=role),
        **deferred.context(DEMO_NAMES),
    }


def demo_context(project: Project, sprint: Sprint | None, *, material_url, now: datetime.datetime) -> dict[str, Any]:
    benchmarks = benchmark_progress(project=project)
    if sprint is None:
        deliveries = selectors.sprint_deliveries(project=project)
        questions = selectors.answered_questions(project=project, limit=DEMO_QUESTIONS)
        shipped = selectors.shipped_tickets(project=project, limit=DEMO_SHIPPED)
        coming = selectors.upcoming(project=project)
        sprints = [d.sprint for d in deliveries]
        context: dict[str, Any] = {
            "deliveries": list(reversed(deliveries)),
            "totals": {
                "sprints": sum(1 for d in deliveries if d.sprint.started_at is not None),
                "answered": sum(d.answered for d in deliveries),
                "shipped": sum(d.shipped for d in deliveries),
            },
            "champion_figures": _champion_figures(benchmarks, sprints, now),
            "older_questions": max(0, sum(d.answered for d in deliveries) - len(questions)),
            "online_tests": _online_tests(project, benchmarks),
        }
    else:
        board = selectors.sprint_dashboard(project=project, sprint=sprint, now=now)
        questions = selectors.answered_questions(project=project, sprint=sprint)
        shipped = board.shipped
        coming = selectors.upcoming(project=project, after=sprint, sprints=1)
        figures = _sprint_figures(board, benchmarks, now)
        context = {
            "board": board,
            "burnup": figures.get("burnup"),
            "challenger_figures": figures["challengers"],
            "gains": [(b, _gain(b, sprint)) for b in benchmarks],
            "online_tests": _online_tests(project, benchmarks, sprint, now),
        }
    for question in questions:
        for material in question.material:
            material.url = material_url(material) if material.kind == MaterialKind.IMAGE else ""
    context.update(
        {
            "project": project,
            "sprint": sprint,
            "benchmarks": benchmarks,
            "progress_sentences": [_plain_progress(b) for b in benchmarks],
            "questions": questions,
            "shipped": shipped,
            "coming": coming,
            "now": now,
        }
    )
    return context


@login_required
@require_GET
def demo(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    return shared_page(request, project, "dashboards/demo/page.html", lambda: _demo(request, project))


def _demo(request: HttpRequest, project: Project) -> dict[str, Any]:
    context = deferred_demo_context(
        project,
        None,
        material_url=lambda m: reverse("demo-material", kwargs={"key": project.key, "material_id": m.pk}),
    )
    context.update(_member_demo_extras(request, project, context))
    return context


@login_required
@require_GET
def sprint_demo(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    """The sprint's demo: its review (show-and-tell) page once it has closed."""
    sprint = sprint_for_user(request.user, key, sprint_id)
    project = sprint.project
    context = deferred_demo_context(
        project,
        sprint,
        material_url=lambda m: reverse("demo-material", kwargs={"key": project.key, "material_id": m.pk}),
    )
    context.update(_member_demo_extras(request, project, context))
    return render(request, "dashboards/demo/page.html", context)


def _member_demo_extras(request: HttpRequest, project: Project, context: dict[str, Any]) -> dict[str, Any]:
    extras: dict[str, Any] = {
        "base_template": "base.html",
        "shared": False,
        "can_add_material": project.role.allows(Role.ENGINEER),
        "can_manage": project.role == Role.LEAD,
    }
    if context["sprint"] is not None and extras["can_manage"]:
        review = context["board"]().review
        extras["review_form"] = SprintReviewForm(
            initial={
                "goal_verdict": review.goal_verdict if review else "",
                "summary": review.summary if review else "",
                "next_steps": review.next_steps if review else "",
            }
        )
    return extras


@login_required
@require_http_methods(["GET", "POST"])
def sprint_review_edit(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    """Save the sprint's review (leads); a GET (a bookmarked or reloaded address) opens the
    sprint's demo page, where the review form is, for anyone who may read it."""
    if request.method == "GET":
        sprint = sprint_for_user(request.user, key, sprint_id)
        return redirect(reverse("demo-sprint", kwargs={"key": sprint.project.key, "sprint_id": sprint.pk}) + "#review")
    sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
    form = SprintReviewForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        messages.error(request, f"{field}: {errors[0]}")
    else:
        try:
            services.sprint_review_update(sprint=sprint, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"The review of {sprint.name} is saved.")
    return redirect("demo-sprint", key=sprint.project.key, sprint_id=sprint.pk)
