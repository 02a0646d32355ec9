from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from tickets import clock
from tickets.attribution import SprintPeriod


class Role(models.TextChoices):
    """A member's role in one project. Ranked: lead > engineer > stakeholder."""

    LEAD = "lead", "Lead"
    ENGINEER = "engineer", "Engineer"
    STAKEHOLDER = "stakeholder", "Stakeholder"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def allows(self, need: Role) -> bool:
        """True when this role may do what ``need`` may do."""
        return self.rank >= Role(need).rank


_ROLE_RANK = {Role.STAKEHOLDER: 1, Role.ENGINEER: 2, Role.LEAD: 3}

project_key_validator = RegexValidator(
    r"^[A-Z][A-Z0-9]{1,9}$",
    "Use 2–10 upper-case letters or digits, starting with a letter (e.g. AUTH).",
)


class Project(models.Model):
    key = models.CharField(max_length=10, unique=True, validators=[project_key_validator])
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # Last ticket number handed out; bumped under a row lock so keys stay gap-free.
    ticket_counter = models.PositiveIntegerField(default=0)
    # Bumped in the same transaction as any change shown on the project's pages (tickets.versions):
    # cached page fragments are keyed on it, so they go stale the moment the change commits.
    content_version = models.PositiveBigIntegerField(default=0, editable=False)
    # Bumped by every logging call (metric points, params, tags) to one of the project's runs, which
    # changes the run list only: kept apart so training runs logging all day leave the rest cached.
    tracking_version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} — {self.name}"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__key", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="one_membership_per_user_and_project"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project.key} as {self.role}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class TicketKind(models.TextChoices):
    QUESTION = "question", "Question"
    CODE = "code", "Code"


class WorkType(models.TextChoices):
    LITERATURE_REVIEW = "literature_review", "Literature review"
    DATA_EXPLORATION = "data_exploration", "Data exploration"
    ALGORITHM_DEVELOPMENT = "algorithm_development", "Algorithm development"
    RESULT_ANALYSIS = "result_analysis", "Result analysis"
    REVIEW = "review", "Review"
    DEPLOYMENT = "deployment", "Deployment"


class TicketStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    REVIEW = "review", "Review"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class Outcome(models.TextChoices):
    SUPPORTED = "supported", "Supported"
    REFUTED = "refuted", "Refuted"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


class EpicStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class SprintState(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class Epic(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="epics")
    title = models.CharField(max_length=200)
    goal = models.TextField(help_text="The business outcome this epic should achieve.")
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=EpicStatus.choices, default=EpicStatus.OPEN)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "order", "id"]

    def __str__(self) -> str:
        return self.title

    def _load_counts(self) -> None:
        # Selectors annotate these; a lone epic counts its tickets itself.
        if not hasattr(self, "done_count"):
            counts = self.tickets.aggregate(
                total=models.Count("id"),
                done=models.Count("id", filter=models.Q(status=TicketStatus.DONE)),
                skipped=models.Count("id", filter=models.Q(status=TicketStatus.SKIPPED)),
            )
            self.ticket_count, self.done_count, self.skipped_count = counts["total"], counts["done"], counts["skipped"]

    @property
    def progress(self) -> float | None:
        """Done tickets over the tickets still meant to be done: skipped ones are left out, because
        dropping work after an answer is a decision, not unfinished work. None while nothing is planned."""
        self._load_counts()
        relevant = self.ticket_count - self.skipped_count
        return self.done_count / relevant if relevant else None

    @property
    def progress_percent(self) -> int:
        progress = self.progress
        return round(100 * progress) if progress is not None else 0


class Sprint(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sprints")
    name = models.CharField(max_length=120)
    goal = models.TextField(blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    state = models.CharField(max_length=16, choices=SprintState.choices, default=SprintState.PLANNED)
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Ticket keys in the sprint when it started, so the close snapshot can tell committed from added.
    committed = models.JSONField(null=True, blank=True)
    # Frozen when the sprint closes: committed, added, removed, completed, skipped, carried over.
    snapshot = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "start_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(state="active"),
                name="one_active_sprint_per_project",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="sprint_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        """Planned or active: tickets can still move in and out."""
        return self.state != SprintState.CLOSED

    @property
    def period(self) -> SprintPeriod:
        """When it was active, for :mod:`tickets.attribution` (the rule crediting moments to sprints)."""
        return SprintPeriod(self.pk, self.name, self.started_at, self.closed_at)

    @property
    def starts_in_future(self) -> bool:
        """Planned to start after today: starting it now moves its dates (see ``sprint_start``)."""
        return self.state == SprintState.PLANNED and self.start_date > timezone.localdate(clock.now())

    @property
    def moved_end_date(self) -> datetime.date:
        """The end date if it started today, keeping its length."""
        today = timezone.localdate(clock.now())
        return today + (self.end_date - self.start_date)


OPEN_STATUSES = (TicketStatus.TODO, TicketStatus.IN_PROGRESS, TicketStatus.REVIEW)


class TicketFacts:
    """What a ticket says about itself from its own fields, for model instances and for the
    backlog's plain rows (``tickets.selectors.PlanRow``) alike."""

    __slots__ = ()

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_question(self) -> bool:
        return self.kind == TicketKind.QUESTION


class Ticket(TicketFacts, models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tickets")
    # Per-project sequence: the key is f"{project.key}-{number}", allocated gap-free.
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=TicketKind.choices, default=TicketKind.CODE)
    work_type = models.CharField(max_length=32, choices=WorkType.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")
    status = models.CharField(max_length=16, choices=TicketStatus.choices, default=TicketStatus.TODO)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    epic = models.ForeignKey(Epic, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    sprint = models.ForeignKey(Sprint, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    rank = models.BigIntegerField(db_index=True)
    estimate = models.PositiveSmallIntegerField(null=True, blank=True)
    # Question tickets.
    question = models.TextField(blank=True)
    hypothesis = models.TextField(blank=True)
    answer = models.TextField(blank=True, help_text="Markdown.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Code tickets.
    deliverable_url = models.URLField(blank=True, max_length=500)
    skip_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A default rather than auto_now_add so demo history can be written at past dates.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "rank", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="ticket_number_unique_in_project"),
        ]
        indexes = [models.Index(fields=["project", "sprint", "rank"], name="ticket_plan_idx")]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"


class TicketEvent(models.Model):
    """One change to a ticket. Burndown and timelines are computed from these rows.

    Replaying a ticket's events in ``(created_at, id)`` order rebuilds its history:

    - ``created``: ``old`` is None and ``new`` is the initial state
      ``{"status", "sprint", "epic", "assignee", "kind", "estimate"}`` (ids or None);
    - every other field: ``old`` → ``new`` for that one field, with ids for foreign keys
      (``sprint``, ``epic``, ``assignee``), the choice value for ``status``, ``kind`` and
      ``outcome``, the Markdown text for ``answer`` and an integer for ``estimate``.

    ``note`` carries the reason given with the change (why a ticket was skipped, which
    sprint close carried it over); ``reassessment`` links changes made while reassessing.
    """

    class Field(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status"
        SPRINT = "sprint", "Sprint"
        ASSIGNEE = "assignee", "Assignee"
        EPIC = "epic", "Epic"
        KIND = "kind", "Kind"
        ANSWER = "answer", "Answer"
        OUTCOME = "outcome", "Outcome"
        ESTIMATE = "estimate", "Estimate"
        # An experiment run attached (new = run name) or detached (old = run name).
        RUN = "run", "Run"
        # A pull request or commit linked from Git (new = its title; written by the integrations app).
        LINK = "link", "Code link"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    field = models.CharField(max_length=16, choices=Field.choices)
    # Raw values (ids for foreign keys, None for empty) so history can be replayed.
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    reassessment = models.ForeignKey(
        "Reassessment", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticket_event_time_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.field}: {self.old} → {self.new}"


class Comment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(help_text="Markdown.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on {self.ticket_id}"


class Reassessment(models.Model):
    """What the lead decided about the open tickets after ``question`` was answered."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reassessments")
    question = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="reassessments")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # The outcome the decisions were based on (the answer may be revised later).
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    note = models.TextField(blank=True, help_text="What the answer changes, in the lead's words.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Reassessment after {self.question_id}"


class Decision(models.TextChoices):
    KEEP = "keep", "Keep"
    SKIP = "skip", "Skip"
    BACKLOG = "backlog", "Send to backlog"
    EDIT = "edit", "Edit"


class ReassessmentDecision(models.Model):
    reassessment = models.ForeignKey(Reassessment, on_delete=models.CASCADE, related_name="decisions")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="reassessment_decisions")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason = models.TextField(blank=True)
    # For edits: {field: [old, new]} of what changed.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["reassessment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reassessment", "ticket"], name="one_decision_per_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.ticket_id}"


class ImportedIssue(models.Model):
    """A Jira issue brought in by the importer, so importing the same export again changes nothing.

    ``digest`` is a hash of everything the importer read from the issue's row: an unchanged
    row is skipped without touching its ticket or epic.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imported_issues")
    jira_key = models.CharField(max_length=64)
    jira_id = models.CharField(max_length=64, blank=True)
    ticket = models.OneToOneField(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="imported_issue"
    )
    epic = models.OneToOneField(Epic, null=True, blank=True, on_delete=models.CASCADE, related_name="imported_issue")
    digest = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "jira_key"]
        constraints = [
            models.UniqueConstraint(fields=["project", "jira_key"], name="jira_key_unique_in_project"),
        ]

    def __str__(self) -> str:
        return f"{self.jira_key} → {self.ticket_id or self.epic_id}"
