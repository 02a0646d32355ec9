"""A small project history made through the planning services (so the history is complete),
shared by the dashboard, demo and share-link tests.

Sprint 1 ran ten days, twenty days ago, and closed; Sprint 2 is running; Sprint 3 is planned.
Keys: AUTH-1 question (answered, supported), AUTH-2 code (done), AUTH-3 code (carried over),
AUTH-4 question (skipped), AUTH-5 code (pulled in, then sent back), AUTH-6 code (added,
carried over), AUTH-7 question of Sprint 2 (answered, refuted).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from tickets import clock, services
from tickets.models import Sprint, Ticket, TicketKind, WorkType


@dataclass
class Story:
    cast: object
    s1: Sprint
    s2: Sprint
    s3: Sprint
    tickets: dict[str, Ticket]
    s1_start: datetime.date

    def ticket(self, key: str) -> Ticket:
        return Ticket.objects.get(project=self.cast.project, number=int(key.rpartition("-")[2]))


def moment(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


def build_story(cast) -> Story:
    project, lead = cast.project, cast.lead
    today = timezone.localdate()
    start = today - datetime.timedelta(days=20)
    day = lambda n: start + datetime.timedelta(days=n)  # noqa: E731

    s1 = services.sprint_create(
        project=project, name="Sprint 1", start_date=day(0), end_date=day(9), goal="Stand up the evaluation skeleton"
    )
    s2 = services.sprint_create(
        project=project, name="Sprint 2", start_date=day(14), end_date=day(27), goal="Beat the baseline"
    )
    s3 = services.sprint_create(
        project=project, name="Sprint 3", start_date=day(28), end_date=day(41), goal="Ship the model"
    )

    def question(title: str, sprint=None):
        return services.ticket_create(
            project=project,
            actor=lead,
            title=title,
            kind=TicketKind.QUESTION,
            work_type=WorkType.DATA_EXPLORATION,
            question=f"{title}?",
            hypothesis="Yes.",
            sprint=sprint,
        )

    def code(title: str, sprint=None, work_type=WorkType.ALGORITHM_DEVELOPMENT):
        return services.ticket_create(project=project, actor=lead, title=title, work_type=work_type, sprint=sprint)

    t: dict[str, Ticket] = {}
    with clock.frozen_at(moment(day(-2), 10)):
        t["q1"] = question("Is typing rhythm stable across days", s1)  # AUTH-1
        t["c1"] = code("Baseline rule", s1)  # AUTH-2
        t["c2"] = code("Evaluation pipeline", s1, WorkType.DEPLOYMENT)  # AUTH-3
        t["q2"] = question("Does motion add signal", s1)  # AUTH-4
        t["c4"] = code("Feature store")  # AUTH-5, backlog
    with clock.frozen_at(moment(day(0), 9)):
        s1 = services.sprint_start(sprint=s1, actor=lead)
    with clock.frozen_at(moment(day(1), 14)):
        services.ticket_transition(ticket=t["c1"], actor=lead, status="in_progress")
    with clock.frozen_at(moment(day(2), 15)):
        services.ticket_transition(ticket=t["c1"], actor=lead, status="done")
    with clock.frozen_at(moment(day(3), 11)):
        services.ticket_answer(ticket=t["q1"], actor=lead, answer="Yes: **stable** over a week.", outcome="supported")
    with clock.frozen_at(moment(day(4), 10)):
        t["c3"] = code("Threshold calibration", s1)  # AUTH-6, added
    with clock.frozen_at(moment(day(5), 16)):
        services.ticket_update(ticket=t["q2"], actor=lead, status="skipped", skip_reason="Answered by AUTH-1")
    with clock.frozen_at(moment(day(6), 9)):
        services.tickets_move(project=project, actor=lead, keys=[f"{project.key}-5"], sprint_id=s1.pk)
    with clock.frozen_at(moment(day(7), 9)):
        services.tickets_move(project=project, actor=lead, keys=[f"{project.key}-5"], sprint_id=None)
    with clock.frozen_at(moment(day(9), 17)):
        s1 = services.sprint_close(sprint=s1, actor=lead, carry_over_to=s2)
    with clock.frozen_at(moment(day(13), 10)):
        t["q3"] = question("Does a GBM beat the rule", s2)  # AUTH-7
    with clock.frozen_at(moment(day(14), 9)):
        s2 = services.sprint_start(sprint=s2, actor=lead)
    with clock.frozen_at(moment(day(15), 12)):
        services.ticket_transition(ticket=Ticket.objects.get(pk=t["c2"].pk), actor=lead, status="done")
    with clock.frozen_at(moment(day(16), 12)):
        services.ticket_answer(
            ticket=Ticket.objects.get(pk=t["q3"].pk), actor=lead, answer="No, not yet.", outcome="refuted"
        )
    for ticket in t.values():
        ticket.refresh_from_db()
    return Story(cast=cast, s1=s1, s2=s2, s3=s3, tickets=t, s1_start=start)


def png_bytes(width: int = 40, height: int = 24, color=(79, 70, 229)) -> bytes:
    """A small real PNG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def add_picture(story: Story, key: str = "AUTH-1", title: str = "Rhythm over a week"):
    from experiments.dashboards import services as dashboards_services

    return dashboards_services.demo_material_add_image(
        ticket=story.ticket(key), actor=story.cast.engineer, data=png_bytes(), filename="chart.png", title=title
    )


def add_results(story: Story):
    """A benchmark on AUC: a baseline champion early in Sprint 1, a challenger that could not be told
    apart in Sprint 1, and in Sprint 2 a better challenger (promoted, for AUTH-6) and a worse one."""
    from experiments.models import (
        Benchmark,
        ChampionChange,
        Evaluation,
        EvaluationDataset,
        PredictionSet,
        PredictionSource,
        Run,
    )

    project, lead = story.cast.project, story.cast.lead
    day = lambda n, hour=12: moment(story.s1_start + datetime.timedelta(days=n), hour)  # noqa: E731
    benchmark = Benchmark.objects.create(project=project, name="holdout", task="binary", primary_metric="auc")
    dataset = EvaluationDataset.objects.create(
        benchmark=benchmark, version=1, file="x.csv", original_name="truth.csv", sha256="0" * 64, size=1, n_rows=10
    )

    def run(name, key):
        ticket = story.ticket(key) if key else None
        made = Run.objects.create(project=project, ticket=ticket, name=name, start_time=day(1), status="finished")
        predictions = PredictionSet.objects.create(
            run=made,
            dataset=dataset,
            file=f"{name}.csv",
            original_name=f"{name}.csv",
            sha256=name.ljust(64, "0"),
            size=1,
            n_rows=10,
            n_covered=10,
            source=PredictionSource.API,
        )
        return made, predictions

    def evaluate(name, key, queued, value, low, high, verdict):
        made, predictions = run(name, key)
        return Evaluation.objects.create(
            benchmark=benchmark,
            dataset=dataset,
            run=made,
            predictions=predictions,
            primary_metric="auc",
            threshold=0.5,
            n_resamples=100,
            key=name,
            status="succeeded",
            queued_at=queued,
            finished_at=queued + datetime.timedelta(minutes=5),
            primary_value=value,
            primary_ci_low=low,
            primary_ci_high=high,
            verdict=verdict,
        )

    baseline, _ = run("dwell-rule", "AUTH-2")
    ChampionChange.objects.create(
        benchmark=benchmark,
        run=baseline,
        run_name="dwell-rule",
        ticket=story.ticket("AUTH-2"),
        promoted_by=lead,
        promoted_at=day(2, 16),
        gate_allowed=True,
        primary_metric="auc",
        primary_value=0.80,
        primary_ci_low=0.77,
        primary_ci_high=0.83,
    )
    evaluate("rule-tweak", "AUTH-2", day(5), 0.81, 0.78, 0.84, "no_significant_difference")
    better = evaluate("gbm", "AUTH-6", day(15), 0.86, 0.84, 0.88, "better")
    evaluate("motion", "AUTH-7", day(15, 14), 0.70, 0.66, 0.74, "worse")
    ChampionChange.objects.create(
        benchmark=benchmark,
        run=better.run,
        run_name="gbm",
        previous_run=baseline,
        previous_run_name="dwell-rule",
        evaluation=better,
        ticket=story.ticket("AUTH-6"),
        promoted_by=lead,
        promoted_at=day(16, 10),
        gate_allowed=True,
        primary_metric="auc",
        primary_value=0.86,
        primary_ci_low=0.84,
        primary_ci_high=0.88,
    )
    return benchmark
