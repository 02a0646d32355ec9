"""How Jira's words become AgileML's: issue types to kinds, statuses to statuses, people to users.

The tables are the documented rule (README, "Moving in from Jira and MLflow"); names are
compared case-insensitively.
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower

from tickets.jira_csv import JiraIssue
from tickets.models import EpicStatus, Membership, Project, Role, TicketKind, TicketStatus, WorkType

User = get_user_model()

# Issue types that ask something rather than ship something.
QUESTION_TYPES = frozenset({"spike", "research", "investigation", "question", "analysis"})
DEPLOYMENT_TYPES = frozenset({"deployment", "release"})
EPIC_TYPE = "epic"

STATUS_MAP: dict[str, str] = {
    **dict.fromkeys(
        ("to do", "todo", "open", "backlog", "new", "reopened", "selected for development", "ready", "ready for dev"),
        TicketStatus.TODO,
    ),
    **dict.fromkeys(("in progress", "in development", "doing", "development"), TicketStatus.IN_PROGRESS),
    **dict.fromkeys(
        ("in review", "review", "code review", "peer review", "qa", "in qa", "testing", "in testing"),
        TicketStatus.REVIEW,
    ),
    **dict.fromkeys(("done", "closed", "resolved", "complete", "completed", "released"), TicketStatus.DONE),
    **dict.fromkeys(("won't do", "cancelled", "canceled", "rejected", "declined", "abandoned"), TicketStatus.SKIPPED),
}
# A done issue closed with one of these resolutions was not done: it is imported as skipped.
SKIP_RESOLUTIONS = frozenset(
    {"won't do", "won't fix", "duplicate", "cannot reproduce", "declined", "incomplete", "obsolete", "rejected"}
)
# Unknown statuses become this, with a warning in the report.
DEFAULT_STATUS = TicketStatus.TODO

IMPORTED_HYPOTHESIS = "Not recorded in Jira."


def kind_of(issue: JiraIssue) -> tuple[str, str]:
    """``(kind, work_type)``: Spike/Research… ask a question; everything else (Bug, Story, Task,
    Sub-task) ships code; Deployment/Release issues are deployment work."""
    issue_type = issue.issue_type.strip().lower()
    if issue_type in QUESTION_TYPES:
        return TicketKind.QUESTION, WorkType.DATA_EXPLORATION
    if issue_type in DEPLOYMENT_TYPES:
        return TicketKind.CODE, WorkType.DEPLOYMENT
    return TicketKind.CODE, WorkType.ALGORITHM_DEVELOPMENT


def status_of(issue: JiraIssue) -> tuple[str, str, bool]:
    """``(status, skip_reason, known)``; ``known`` is False when the default was used."""
    name = issue.status.strip().lower()
    status = STATUS_MAP.get(name)
    resolution = issue.resolution.strip()
    if status is None:
        return DEFAULT_STATUS, "", False
    if status == TicketStatus.DONE and resolution.lower() in SKIP_RESOLUTIONS:
        return TicketStatus.SKIPPED, f"Closed in Jira as {resolution}.", True
    if status == TicketStatus.SKIPPED:
        return status, f"Jira status {issue.status}" + (f", resolution {resolution}." if resolution else "."), True
    return status, "", True


def epic_status_of(issue: JiraIssue) -> str:
    status, _, _ = status_of(issue)
    return {TicketStatus.DONE: EpicStatus.DONE, TicketStatus.SKIPPED: EpicStatus.DROPPED}.get(status, EpicStatus.OPEN)


_NOT_USERNAME = re.compile(r"[^\w.@+-]+")


class People:
    """Finds the user a Jira name stands for, creating inactive stand-ins for strangers.

    A name matches a user by username, e-mail or full name (case-insensitive), only when
    exactly one user fits. Users matched or created who are not members of the project join
    it as engineers so tickets can be assigned to them; each such step is a report warning.
    Created users have no usable password: they exist to carry history and can be activated
    by an administrator.
    """

    def __init__(self, project: Project, warnings: list[str]) -> None:
        self.project = project
        self.warnings = warnings
        self.cache: dict[str, AbstractBaseUser | None] = {}
        self.members = set(Membership.objects.filter(project=project).values_list("user_id", flat=True))
        self.counts = {"created": 0, "matched": 0, "added to project": 0}

    def user(self, name: str, *, line: int) -> AbstractBaseUser | None:
        name = (name or "").strip()
        if not name or name.lower() == "unassigned":
            return None
        key = name.lower()
        if key not in self.cache:
            user = self._find(name)
            if user is None:
                user = self._create(name)
                self.warnings.append(f"line {line}: {name!r} matches no user; created inactive user {user.username}")
            else:
                self.counts["matched"] += 1
            if user.pk not in self.members:
                Membership.objects.create(project=self.project, user=user, role=Role.ENGINEER)
                self.members.add(user.pk)
                self.counts["added to project"] += 1
                self.warnings.append(f"{user.username} was added to {self.project.key} as an engineer")
            self.cache[key] = user
        return self.cache[key]

    def _find(self, name: str) -> AbstractBaseUser | None:
        full = Concat(Lower("first_name"), Value(" "), Lower("last_name"))
        for query in (Q(username__iexact=name), Q(email__iexact=name)):
            found = list(User.objects.filter(query)[:2])
            if len(found) == 1:
                return found[0]
        found = list(User.objects.alias(full=full).filter(full=name.lower())[:2])
        return found[0] if len(found) == 1 else None

    def _create(self, name: str) -> AbstractBaseUser:
        local = name.split("@", 1)[0] if "@" in name else name
        base = _NOT_USERNAME.sub(".", local.strip().lower()).strip(".")[:140] or "jira.user"
        username, n = base, 1
        while User.objects.filter(username__iexact=username).exists():
            n += 1
            username = f"{base}-{n}"
        first, _, last = ("" if "@" in name else name).partition(" ")
        user = User(
            username=username,
            email=name if "@" in name else "",
            first_name=first[:150],
            last_name=last[:150],
            is_active=False,
        )
        user.set_unusable_password()
        user.save()
        self.counts["created"] += 1
        return user
