"""Demo data for planning. Idempotent: running it again changes nothing.

Longer than ~500 lines on purpose: most of it is the demo project's story as data (epics,
sprints, tickets with their questions and answers), which reads best in one place.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from tickets import clock, services
from tickets.models import (
    Decision,
    Epic,
    Membership,
    Outcome,
    Project,
    Role,
    Sprint,
    Ticket,
    TicketKind,
    TicketStatus,
    WorkType,
)

User = get_user_model()

DEMO_PASSWORD = "demo"  # noqa: S105 - documented demo login, created only by seed_demo
DEMO_USERS = [
    ("lead", "Lena", "Lead", Role.LEAD),
    ("engineer", "Eric", "Engineer", Role.ENGINEER),
    ("stakeholder", "Sam", "Stakeholder", Role.STAKEHOLDER),
]


@dataclass
class DemoPeople:
    project: Project
    lead: User
    engineer: User
    stakeholder: User


@transaction.atomic
def seed_people() -> DemoPeople:
    project, _ = Project.objects.get_or_create(
        key="AUTH",
        defaults={
            "name": "Continuous authentication",
            "description": (
                "Recognise the phone's owner from how they type and move, so the phone stays "
                "unlocked for them and locks for anyone else. Primary metric: AUC on held-out "
                "subjects; guardrail: equal error rate."
            ),
        },
    )
    users = {}
    for username, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, project=project, defaults={"role": role})
        users[username] = user
    # The demo lead may start projects of their own; the others may not (a site permission).
    users["lead"].user_permissions.add(
        Permission.objects.get(content_type__app_label="tickets", codename="add_project")
    )
    return DemoPeople(project=project, **users)


# --- The plan --------------------------------------------------------------------------
# A believable history for AUTH: three epics, three closed sprints, one active and one
# planned, both ticket kinds across every work type, answered questions, and one
# reassessment after a refuted hypothesis. Everything goes through the services at past
# moments (tickets.clock.frozen_at), so the history (and any burndown drawn from it) is
# complete: creation, every move into and out of a sprint, every status change.

Q, C = TicketKind.QUESTION, TicketKind.CODE
WT = WorkType
PR = "https://git.example.com/agileml/auth-recognition/pull/{}"

EPICS = [
    (
        "data",
        "Behavioural data pipeline",
        "Every consenting test phone streams clean keystroke-timing and motion windows we can train and "
        "evaluate on, labelled by subject.",
        "Pilot: 48 volunteers, two weeks each. Windows of 50 keystrokes; motion at 100 Hz while typing.",
    ),
    (
        "model",
        "Owner recognition model",
        "Keep the phone unlocked for its owner and lock it for anyone else: AUC of at least 0.95 on held-out "
        "subjects, equal error rate under 8%.",
        "Champion/challenger on the frozen held-out subjects; guardrail metric is the equal error rate.",
    ),
    (
        "rollout",
        "On-device rollout",
        "Ship the recogniser in the app behind a flag: under 30 ms per decision, falling back to the PIN "
        "whenever it is unsure.",
        "",
    ),
]

SPRINTS = [
    ("Sprint 1", "A skeleton end to end: clean data, a frozen evaluation split and a rule-based champion."),
    ("Sprint 2", "A learned model challenges the rule-based champion."),
    ("Sprint 3", "Find out whether motion sensors are worth their battery cost."),
    ("Sprint 4", "A calibrated typing model running on a phone, fast enough to ship."),
    ("Sprint 5", "Ship to pilot users behind a flag, with the PIN as fallback."),
]

# slug: (title, kind, work type, epic, extra fields)
TICKETS: dict[str, tuple[str, str, str, str, dict]] = {
    "lit-free-text": (
        "What do published keystroke-dynamics systems reach on free text?",
        Q,
        WT.LITERATURE_REVIEW,
        "model",
        {
            "question": "What equal error rates do published free-text keystroke-dynamics systems report, and with "
            "how many keystrokes?",
            "hypothesis": "The state of the art reaches an EER below 10% with about 200 keystrokes.",
        },
    ),
    "pilot-clean": (
        "Is the pilot typing data clean enough to train on?",
        Q,
        WT.DATA_EXPLORATION,
        "data",
        {
            "question": "How many pilot sessions have sensor dropouts, duplicated events or clock jumps?",
            "hypothesis": "Fewer than 10% of sessions need to be dropped.",
            "description": "Look at inter-key intervals per session; flag negative or > 5 s gaps.\n\n"
            "- dropouts\n- duplicated key events\n- clock jumps after sleep",
        },
    ),
    "windowing": (
        "Cut pilot keystroke logs into per-subject windows",
        C,
        WT.DATA_EXPLORATION,
        "data",
        {
            "description": "Windows of 50 keystrokes with dwell and flight times; one file per subject.",
            "deliverable_url": PR.format(3),
        },
    ),
    "split": (
        "Freeze the evaluation split by subject",
        C,
        WT.DATA_EXPLORATION,
        "data",
        {"description": "Hold out 12 of the 48 subjects. **Never** train on them.", "deliverable_url": PR.format(5)},
    ),
    "baseline": (
        "Baseline champion: a hand-written dwell-time rule",
        C,
        WT.ALGORITHM_DEVELOPMENT,
        "model",
        {
            "description": "Mean dwell time within 2 standard deviations of the owner's enrolment. Crude on "
            "purpose: it is the first champion every model has to beat.",
            "deliverable_url": PR.format(7),
        },
    ),
    "protocol-review": (
        "Review the evaluation protocol with the security team",
        C,
        WT.REVIEW,
        "model",
        {
            "description": "Security wants impostor attempts from people who watched the owner type.",
            "deliverable_url": PR.format(11),
        },
    ),
    "gbm": (
        "Gradient-boosted model on keystroke timings",
        C,
        WT.ALGORITHM_DEVELOPMENT,
        "model",
        {
            "description": "LightGBM-style trees on dwell/flight histograms per window.",
            "deliverable_url": PR.format(14),
        },
    ),
    "gbm-errors": (
        "Where does the boosted model fail?",
        Q,
        WT.RESULT_ANALYSIS,
        "model",
        {
            "question": "Which subjects and which apps account for most false rejections?",
            "hypothesis": "Errors concentrate in a few subjects rather than spreading evenly.",
        },
    ),
    "calibrate": (
        "Calibrate scores into probabilities",
        C,
        WT.ALGORITHM_DEVELOPMENT,
        "model",
        {
            "description": "Isotonic calibration on the validation subjects so the app can pick a threshold.",
            "deliverable_url": PR.format(19),
        },
    ),
    "motion-signal": (
        "Does motion data add signal beyond typing?",
        Q,
        WT.DATA_EXPLORATION,
        "model",
        {
            "question": "Do accelerometer and gyroscope features, added to the typing features, raise AUC on "
            "held-out subjects?",
            "hypothesis": "Adding motion features raises AUC by at least 0.02.",
            "description": "Same model, same split; only the feature set changes. Report the AUC difference "
            "with a bootstrap interval over subjects.",
        },
    ),
    "gyro-v2": (
        "Gyroscope feature extractor v2",
        C,
        WT.ALGORITHM_DEVELOPMENT,
        "data",
        {"description": "Orientation-invariant features from the gyroscope at 100 Hz."},
    ),
    "fusion": (
        "Fuse motion and typing features in one model",
        C,
        WT.ALGORITHM_DEVELOPMENT,
        "model",
        {"deliverable_url": PR.format(23)},
    ),
    "walking": (
        "Collect walking sessions from 20 volunteers",
        C,
        WT.DATA_EXPLORATION,
        "data",
        {"description": "Typing while walking, for motion features."},
    ),
    "cold-start": (
        "How do others handle a new owner's first days?",
        Q,
        WT.LITERATURE_REVIEW,
        "model",
        {
            "question": "How do published systems enrol a new user, and how many sessions do they need?",
            "hypothesis": "Two days of normal use are enough to enrol.",
        },
    ),
    "on-device": (
        "Prototype on-device inference in the app",
        C,
        WT.DEPLOYMENT,
        "rollout",
        {
            "description": "Export the trees, evaluate in the keyboard extension, log latency.",
            "deliverable_url": PR.format(27),
        },
    ),
    "drift": (
        "Does the model stay accurate after a week?",
        Q,
        WT.RESULT_ANALYSIS,
        "model",
        {
            "question": "How much does AUC drop when the model scores sessions recorded a week after enrolment?",
            "hypothesis": "AUC drops by less than 0.01 after a week.",
        },
    ),
    "quantise": ("Quantise the model for the phone", C, WT.DEPLOYMENT, "rollout", {}),
    "security-review": (
        "Security review of the unlock fallback",
        C,
        WT.REVIEW,
        "rollout",
        {"description": "Walk the security team through the PIN fallback and the lock thresholds."},
    ),
    "latency": (
        "Latency benchmark on three phone models",
        C,
        WT.RESULT_ANALYSIS,
        "rollout",
        {"deliverable_url": PR.format(31)},
    ),
    "left-handed": (
        "Do left-handed owners need their own model?",
        Q,
        WT.DATA_EXPLORATION,
        "model",
        {
            "question": "Is the error rate of the 6 left-handed pilot subjects higher than the others'?",
            "hypothesis": "Left-handed subjects have a higher false rejection rate.",
        },
    ),
    "flag": ("Feature flag and PIN fallback in the app", C, WT.DEPLOYMENT, "rollout", {}),
    "pilot-ux": (
        "Is the unlock experience acceptable to pilot users?",
        Q,
        WT.REVIEW,
        "rollout",
        {
            "question": "Do pilot users notice wrong locks often enough to turn the feature off?",
            "hypothesis": "Fewer than 1 in 10 pilot users turn it off within a week.",
        },
    ),
    "privacy": (
        "Which privacy rules apply to behavioural biometrics?",
        Q,
        WT.LITERATURE_REVIEW,
        "rollout",
        {
            "question": "Do keystroke timings count as biometric data under the GDPR when they never leave the phone?",
            "hypothesis": "On-device processing without export needs no extra consent.",
        },
    ),
    "error-dashboard": ("Dashboard of per-subject error rates", C, WT.RESULT_ANALYSIS, "model", {}),
    "nightly": ("Retrain nightly from new sessions", C, WT.DEPLOYMENT, "data", {}),
    "transformer": (
        "Would a small transformer beat the boosted trees?",
        Q,
        WT.ALGORITHM_DEVELOPMENT,
        "model",
        {
            "question": "Does a 2-layer transformer over raw key events beat the boosted model on held-out subjects?",
            "hypothesis": "It gains at least 0.01 AUC at the same latency.",
        },
    ),
}

ANSWERS = {
    "lit-free-text": (
        "Published free-text systems report **EERs of 5–12%** with 150–400 keystrokes; the best use "
        "dwell and flight-time histograms with tree ensembles.",
        Outcome.SUPPORTED,
    ),
    "pilot-clean": (
        "6.5% of sessions have dropouts or clock jumps after the phone sleeps; dropping them leaves "
        "41 of 48 subjects with at least 10 sessions.",
        Outcome.SUPPORTED,
    ),
    "gbm-errors": (
        "Three subjects who type with two thumbs account for 58% of false rejections; no app stands out.",
        Outcome.SUPPORTED,
    ),
    "motion-signal": (
        "AUC rose by **0.004** (95% interval −0.006 to 0.013): no real gain. Motion only helped in the few "
        "walking sessions, and costs 9% battery.",
        Outcome.REFUTED,
    ),
    "cold-start": (
        "Papers disagree: between one and seven days, depending on how much people type. Our pilot is too "
        "short to settle it.",
        Outcome.INCONCLUSIVE,
    ),
}


# Ideas nobody has picked up yet.
UNASSIGNED = {"privacy", "transformer", "error-dashboard", "nightly", "walking", "security-review"}


@dataclass
class DemoPlan:
    project: Project
    epics: dict[str, Epic]
    sprints: list[Sprint]
    tickets: dict[str, Ticket]


def _moment(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


class _Story:
    """Replays the plan's history one dated step at a time."""

    def __init__(self, people: DemoPeople) -> None:
        self.people = people
        self.project = people.project
        self.epics: dict[str, Epic] = {}
        self.tickets: dict[str, Ticket] = {}

    def who(self, name: str):
        return getattr(self.people, name)

    def create(self, at: datetime.datetime, slug: str, *, by: str = "lead", assignee: str | None = "", sprint=None):
        title, kind, work_type, epic, extra = TICKETS[slug]
        if assignee == "":
            assignee = None if slug in UNASSIGNED else "lead" if work_type == WT.LITERATURE_REVIEW else "engineer"
        with clock.frozen_at(at):
            self.tickets[slug] = services.ticket_create(
                project=self.project,
                actor=self.who(by),
                title=title,
                kind=kind,
                work_type=work_type,
                epic=self.epics[epic],
                assignee=self.who(assignee) if assignee else None,
                sprint=sprint,
                **extra,
            )

    def move(self, at: datetime.datetime, slugs: list[str], sprint: Sprint | None) -> None:
        with clock.frozen_at(at):
            services.tickets_move(
                project=self.project,
                actor=self.people.lead,
                keys=[self.tickets[s].key for s in slugs],
                sprint_id=sprint.pk if sprint else None,
            )

    def status(self, at: datetime.datetime, slug: str, status: str, *, by: str = "engineer", reason: str = "") -> None:
        with clock.frozen_at(at):
            services.ticket_transition(ticket=self._fresh(slug), actor=self.who(by), status=status, reason=reason)

    def answer(self, at: datetime.datetime, slug: str, *, by: str = "engineer") -> None:
        text, outcome = ANSWERS[slug]
        with clock.frozen_at(at):
            services.ticket_answer(ticket=self._fresh(slug), actor=self.who(by), answer=text, outcome=outcome)

    def comment(self, at: datetime.datetime, slug: str, body: str, *, by: str = "engineer") -> None:
        with clock.frozen_at(at):
            services.comment_create(ticket=self._fresh(slug), author=self.who(by), body=body)

    def start(self, at: datetime.datetime, sprint: Sprint) -> Sprint:
        with clock.frozen_at(at):
            return services.sprint_start(sprint=sprint, actor=self.people.lead)

    def close(self, at: datetime.datetime, sprint: Sprint, carry_over_to: Sprint | None) -> Sprint:
        with clock.frozen_at(at):
            return services.sprint_close(sprint=sprint, actor=self.people.lead, carry_over_to=carry_over_to)

    def work(
        self,
        day: datetime.date,
        slug: str,
        *,
        done_on: datetime.date | None = None,
        review: bool = False,
        by: str = "engineer",
    ) -> None:
        """Start on ``day``; optionally go through review; finish on ``done_on``."""
        self.status(_moment(day, 9, 30), slug, TicketStatus.IN_PROGRESS, by=by)
        if review:
            self.status(_moment(done_on or day, 11), slug, TicketStatus.REVIEW, by=by)
        if done_on:
            self.status(_moment(done_on, 15), slug, TicketStatus.DONE, by=by)

    def _fresh(self, slug: str) -> Ticket:
        ticket = Ticket.objects.select_related("sprint").get(pk=self.tickets[slug].pk)
        ticket.project = self.project
        return ticket


def _build_plan(people: DemoPeople) -> DemoPlan:
    story = _Story(people)
    project = people.project
    today = timezone.localdate()
    # The active sprint (the fourth) started five days ago; sprints last two weeks.
    starts = [today - datetime.timedelta(days=5 + 14 * (3 - i)) for i in range(5)]
    d = datetime.timedelta

    for slug, title, goal, description in EPICS:
        story.epics[slug] = services.epic_create(project=project, title=title, goal=goal, description=description)
    sprints = [
        services.sprint_create(project=project, name=name, goal=goal, start_date=start, end_date=start + d(days=13))
        for (name, goal), start in zip(SPRINTS, starts, strict=True)
    ]
    s1, s2, s3, s4, s5 = sprints

    # --- Sprint 1: the skeleton ---------------------------------------------------------
    before = starts[0] - d(days=3)
    for i, slug in enumerate(["lit-free-text", "pilot-clean", "windowing", "split", "baseline", "protocol-review"]):
        story.create(_moment(before, 10, 5 * i), slug)
    for i, slug in enumerate(["gbm", "gbm-errors", "calibrate", "privacy", "transformer"]):
        story.create(_moment(before + d(days=1), 14, 5 * i), slug)
    story.move(_moment(starts[0], 9, 15), ["lit-free-text", "pilot-clean", "windowing", "split", "baseline"], s1)
    story.start(_moment(starts[0], 9, 30), s1)
    day = starts[0]
    story.work(day, "lit-free-text", by="lead")
    story.work(day, "pilot-clean")
    story.answer(_moment(day + d(days=2), 16), "pilot-clean")
    story.answer(_moment(day + d(days=3), 11), "lit-free-text", by="lead")
    story.comment(
        _moment(day + d(days=3), 11, 30),
        "lit-free-text",
        "The [survey by Teh et al.](https://example.org/keystroke-survey) was the most useful starting point.",
        by="lead",
    )
    story.work(day + d(days=3), "windowing", done_on=day + d(days=5), review=True)
    story.work(day + d(days=6), "split", done_on=day + d(days=7))
    story.move(_moment(day + d(days=7), 10), ["protocol-review"], s1)  # added during the sprint
    story.work(day + d(days=8), "baseline", done_on=day + d(days=10), review=True)
    story.status(_moment(day + d(days=11), 9, 30), "protocol-review", TicketStatus.IN_PROGRESS, by="lead")
    story.move(_moment(starts[0] + d(days=12), 16), ["gbm", "gbm-errors", "calibrate"], s2)
    story.close(_moment(s1.end_date, 17), s1, carry_over_to=s2)

    # --- Sprint 2: a learned challenger -------------------------------------------------
    day = starts[1]
    story.start(_moment(day, 9, 30), s2)
    story.work(day, "protocol-review", done_on=day + d(days=1), by="lead")
    story.work(day + d(days=1), "gbm", done_on=day + d(days=6), review=True)
    story.comment(
        _moment(day + d(days=6), 15, 30),
        "gbm",
        "Beats the dwell-time rule by a wide margin on held-out subjects; evaluation attached.",
    )
    story.work(day + d(days=7), "gbm-errors")
    story.answer(_moment(day + d(days=9), 14), "gbm-errors")
    story.work(day + d(days=10), "calibrate")
    for i, slug in enumerate(["motion-signal", "gyro-v2", "fusion", "walking", "cold-start", "on-device"]):
        story.create(_moment(day + d(days=11), 10, 5 * i), slug)
    story.move(
        _moment(day + d(days=12), 16), ["motion-signal", "gyro-v2", "fusion", "walking", "cold-start", "on-device"], s3
    )
    story.close(_moment(s2.end_date, 17), s2, carry_over_to=s3)

    # --- Sprint 3: motion, refuted, and a reassessment ----------------------------------
    day = starts[2]
    story.start(_moment(day, 9, 30), s3)
    story.status(_moment(day + d(days=1), 10), "calibrate", TicketStatus.REVIEW)
    story.status(_moment(day + d(days=1), 16), "calibrate", TicketStatus.DONE)
    story.work(day, "motion-signal")
    story.work(day + d(days=1), "gyro-v2")
    story.work(day + d(days=2), "cold-start", by="lead")
    story.answer(_moment(day + d(days=5), 15), "motion-signal")
    story.comment(
        _moment(day + d(days=5), 15, 20),
        "motion-signal",
        "Battery cost measured on two phones: 8–10% per day with motion sampling on.",
    )
    with clock.frozen_at(_moment(day + d(days=6), 10)):
        services.reassessment_create(
            question=story._fresh("motion-signal"),
            actor=people.lead,
            note="Motion adds no real signal and costs battery: we build a typing-only model and spend the time "
            "on getting it onto the phone.",
            decisions=[
                services.DecisionInput(
                    story.tickets["gyro-v2"].key,
                    Decision.SKIP,
                    reason="Motion features were refuted: +0.004 AUC, not worth 9% battery.",
                ),
                services.DecisionInput(
                    story.tickets["fusion"].key,
                    Decision.EDIT,
                    changes={"title": "Per-user score calibration for the typing model"},
                ),
                services.DecisionInput(
                    story.tickets["walking"].key, Decision.BACKLOG, reason="Only useful if motion comes back."
                ),
                services.DecisionInput(story.tickets["on-device"].key, Decision.KEEP),
                services.DecisionInput(story.tickets["cold-start"].key, Decision.KEEP),
            ],
        )
    story.answer(_moment(day + d(days=8), 12), "cold-start", by="lead")
    story.work(day + d(days=7), "fusion", done_on=day + d(days=10), review=True)
    story.work(day + d(days=9), "on-device")
    for i, slug in enumerate(["drift", "quantise", "security-review", "latency"]):
        story.create(_moment(day + d(days=11), 11, 5 * i), slug)
    story.move(_moment(day + d(days=12), 16), ["drift", "quantise", "security-review", "latency"], s4)
    story.close(_moment(s3.end_date, 17), s3, carry_over_to=s4)

    # --- Sprint 4: in progress ----------------------------------------------------------
    day = starts[3]
    story.start(_moment(day, 9, 30), s4)
    story.status(_moment(day + d(days=1), 14), "on-device", TicketStatus.REVIEW)
    story.work(day + d(days=1), "drift")
    story.work(day + d(days=1), "latency", done_on=day + d(days=3))
    story.create(_moment(day + d(days=2), 10), "left-handed", by="engineer", assignee="engineer", sprint=s4)
    story.comment(
        _moment(day + d(days=2), 10, 5),
        "left-handed",
        "Came up while looking at the error dashboard mock-ups; cheap to check.",
        by="engineer",
    )
    story.work(day + d(days=4), "quantise")
    for i, slug in enumerate(["flag", "pilot-ux", "error-dashboard", "nightly"]):
        story.create(_moment(day + d(days=4), 15, 5 * i), slug)
    story.move(_moment(day + d(days=4), 16), ["flag", "pilot-ux"], s5)

    return DemoPlan(project=project, epics=story.epics, sprints=sprints, tickets=story.tickets)


def _existing_plan(project: Project) -> DemoPlan:
    epics = {slug: Epic.objects.get(project=project, title=title) for slug, title, _, _ in EPICS}
    sprints = list(Sprint.objects.filter(project=project, name__in=[n for n, _ in SPRINTS]).order_by("start_date"))
    by_title = {t.title: t for t in Ticket.objects.filter(project=project)}
    renamed = {"fusion": "Per-user score calibration for the typing model"}
    tickets = {slug: by_title.get(renamed.get(slug, spec[0])) for slug, spec in TICKETS.items()}
    return DemoPlan(project=project, epics=epics, sprints=sprints, tickets={k: v for k, v in tickets.items() if v})


def seed_plan(people: DemoPeople | None = None) -> DemoPlan:
    """The AUTH plan; built once (idempotent: a project that already has epics is left alone)."""
    people = people or seed_people()
    if Epic.objects.filter(project=people.project).exists():
        return _existing_plan(people.project)
    with transaction.atomic():
        return _build_plan(people)
