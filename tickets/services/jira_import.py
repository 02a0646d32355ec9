"""Import a Jira CSV export into a project: epics, sprints, tickets, comments and their history.

One transaction: a file with any bad row saves nothing, and a dry run does all the work and
rolls it back, so its report is exactly what a real run would do. Each Jira issue is
remembered (``ImportedIssue``) with a digest of its row, so importing the same export again
changes nothing and a newer export updates only the issues that changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tickets import clock
from tickets.jira_csv import JiraCsvError, JiraIssue, format_problem, read_issues
from tickets.models import (
    Comment,
    Epic,
    ImportedIssue,
    Project,
    Sprint,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)
from tickets.services.history import Field, new_event, ticket_state
from tickets.services.jira_mapping import (
    EPIC_TYPE,
    IMPORTED_HYPOTHESIS,
    People,
    epic_status_of,
    kind_of,
    status_of,
)
from tickets.services.ranking import GAP, next_rank
from tickets.services.shared import lock_project
from tickets.versions import project_touch

# Bumped when the mapping changes, so a re-import applies the new rule to unchanged rows.
MAPPING_VERSION = 1
KINDS = ("epics", "sprints", "tickets", "comments")
TRACKED = ("status", "sprint_id", "epic_id", "assignee_id", "kind", "estimate")
_EVENT_FIELD = {"status": "status", "sprint_id": "sprint", "epic_id": "epic", "assignee_id": "assignee"}


@dataclasses.dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do): counts per kind and warnings."""

    dry_run: bool
    issues: int = 0
    counts: dict[str, Counter] = dataclasses.field(default_factory=lambda: {k: Counter() for k in KINDS})
    users: dict[str, int] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)
    # (what happened, Jira key, AgileML ticket key or epic title, title) for tickets and epics created or updated.
    changes: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        out = [f"{self.issues} Jira issues read; {'dry run, nothing saved' if self.dry_run else 'saved'}."]
        for kind in KINDS:
            c = self.counts[kind]
            out.append(f"{kind}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged")
        if any(self.users.values()):
            out.append("users: " + ", ".join(f"{n} {what}" for what, n in self.users.items()))
        if self.warnings:
            out.append(f"{len(self.warnings)} warning(s) {verb} noted:")
            out += [f"  - {w}" for w in self.warnings]
        return out


_DIGESTED = [f.name for f in dataclasses.fields(JiraIssue) if f.name not in ("line", "comments")]


def _digest(issue: JiraIssue) -> str:
    """A hash of everything read from the issue's row (not where in the file it stands)."""
    comments = [(c.created.isoformat(), c.author, c.body) for c in issue.comments]
    data = [MAPPING_VERSION, [getattr(issue, name) for name in _DIGESTED], comments]
    return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


def decode_export(data: bytes) -> str:
    """The export's text: Jira writes UTF-8 (with or without a byte-order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValidationError(
            {"file": f"line {line}: the file is not UTF-8 text; export from Jira as CSV (UTF-8)."}
        ) from None


def jira_import(*, project: Project, actor: AbstractBaseUser | None, text: str, dry_run: bool = False) -> ImportReport:
    """Import the Jira CSV ``text`` into ``project``.

    Raises ValidationError (``{"file": [messages naming line and column]}``) when any row is
    bad; nothing is saved then.
    """
    try:
        issues = read_issues(text, timezone.get_current_timezone())
    except JiraCsvError as error:
        raise ValidationError({"file": [format_problem(p) for p in error.problems[:50]]}) from None
    report = ImportReport(dry_run=dry_run, issues=len(issues))
    with transaction.atomic():
        _Importer(project, actor, report).run(issues)
        if dry_run:
            transaction.set_rollback(True)
    return report


class _Importer:
    def __init__(self, project: Project, actor: AbstractBaseUser | None, report: ImportReport) -> None:
        self.project = lock_project(project)
        self.actor = actor
        self.report = report
        self.now = clock.now()
        self.people = People(self.project, report.warnings)
        links = ImportedIssue.objects.filter(project=self.project).select_related("epic", "ticket__project")
        self.links = {link.jira_key: link for link in links}
        self.epics: dict[str, Epic] = {}
        self.sprints: dict[str, Sprint] = {}

    def run(self, issues: list[JiraIssue]) -> None:
        for issue in issues:
            issue.sprints = list(dict.fromkeys(name[:120] for name in issue.sprints))  # Sprint.name's length
        epics = [i for i in issues if i.issue_type.strip().lower() == EPIC_TYPE and not self._moved(i, "ticket")]
        others = [i for i in issues if i.issue_type.strip().lower() != EPIC_TYPE and not self._moved(i, "epic")]
        for issue in epics:
            self._epic(issue)
        self._sprints(others)
        parents = {i.key: i.parent for i in others} | {i.issue_id: i.parent for i in others if i.issue_id}
        new = [self._ticket(issue, parents) for issue in others]
        self._create_tickets([row for row in new if row is not None])
        self.report.users = dict(self.people.counts)

    def _moved(self, issue: JiraIssue, was: str) -> bool:
        """An issue imported as a ticket that is an epic now, or the other way round, is left as it was."""
        link = self.links.get(issue.key)
        if link is None or getattr(link, f"{was}_id") is None:
            return False
        self.report.warnings.append(
            f"line {issue.line}: {issue.key} was imported as {'a ticket' if was == 'ticket' else 'an epic'} and "
            f"is {'an epic' if was == 'ticket' else 'a ' + issue.issue_type} now; it is left as it was"
        )
        return True

    # Epics ------------------------------------------------------------------------------
    def _epic(self, issue: JiraIssue) -> None:
        digest, link = _digest(issue), self.links.get(issue.key)
        fields = {
            "title": issue.summary[:200],
            "goal": (issue.description.splitlines() or [issue.summary])[0][:2000] or issue.summary,
            "description": issue.description,
            "status": epic_status_of(issue),
        }
        counts = self.report.counts["epics"]
        if link is not None and link.epic_id is not None:
            epic = link.epic
            if link.digest == digest:
                counts["unchanged"] += 1
            else:
                for name, value in fields.items():
                    setattr(epic, name, value)
                epic.save(update_fields=list(fields))
                link.digest = digest
                link.save(update_fields=["digest"])
                counts["updated"] += 1
                self.report.changes.append(("updated epic", issue.key, "", epic.title))
        else:
            epic = Epic.objects.create(project=self.project, order=self._next_epic_order(), **fields)
            self._link(issue, digest, epic=epic)
            counts["created"] += 1
            self.report.changes.append(("created epic", issue.key, "", epic.title))
        self.epics[issue.key] = epic
        if issue.issue_id:
            self.epics[issue.issue_id] = epic

    def _next_epic_order(self) -> int:
        last = Epic.objects.filter(project=self.project).order_by("-order").values_list("order", flat=True).first()
        return (last or 0) + 1

    def _link(self, issue: JiraIssue, digest: str, **target: object) -> ImportedIssue:
        link = ImportedIssue.objects.create(
            project=self.project, jira_key=issue.key, jira_id=issue.issue_id, digest=digest, **target
        )
        self.links[issue.key] = link
        return link

    # Sprints ----------------------------------------------------------------------------
    def _sprints(self, issues: list[JiraIssue]) -> None:
        """Sprints by name: an existing one of the project is reused; a new one spans its
        tickets' dates (Jira's CSV does not carry sprint dates)."""
        spans: dict[str, list[dt.date]] = {}
        for issue in issues:
            dates = [d.date() for d in (issue.created, issue.resolved or issue.updated) if d is not None]
            for name in issue.sprints:
                spans.setdefault(name, []).extend(dates)
        existing = {s.name: s for s in Sprint.objects.filter(project=self.project, name__in=list(spans))}
        counts = self.report.counts["sprints"]
        for name, dates in spans.items():
            if name in existing:
                self.sprints[name] = existing[name]
                counts["unchanged"] += 1
                continue
            today = self.now.date()
            start, end = (min(dates), max(dates)) if dates else (today, today + dt.timedelta(days=13))
            self.sprints[name] = Sprint.objects.create(
                project=self.project, name=name[:120], start_date=start, end_date=max(end, start)
            )
            counts["created"] += 1

    # Tickets ----------------------------------------------------------------------------
    def _epic_for(self, issue: JiraIssue, parents: dict[str, str]) -> Epic | None:
        parent, seen = issue.parent, set()
        while parent and parent not in self.epics and parent not in seen:
            seen.add(parent)
            parent = parents.get(parent, "")
        if issue.parent and not parent:
            self.report.warnings.append(
                f"line {issue.line}: parent {issue.parent} of {issue.key} is not an epic of this export; no epic set"
            )
        return self.epics.get(parent) if parent else None

    def _wanted(self, issue: JiraIssue, parents: dict[str, str]) -> dict[str, object]:
        kind, work_type = kind_of(issue)
        status, skip_reason, known = status_of(issue)
        if not known:
            self.report.warnings.append(
                f"line {issue.line}: status {issue.status!r} of {issue.key} is not in the mapping; "
                f"imported as {TicketStatus(status).label}"
            )
        sprint = self.sprints.get(issue.sprints[-1]) if issue.sprints else None
        wanted: dict[str, object] = {
            "title": issue.summary[:200],
            "description": issue.description,
            "kind": kind,
            "work_type": work_type,
            "status": status,
            "skip_reason": skip_reason,
            "sprint_id": sprint.pk if sprint else None,
            "epic_id": getattr(self._epic_for(issue, parents), "pk", None),
            "assignee_id": getattr(self.people.user(issue.assignee, line=issue.line), "pk", None),
            "estimate": issue.estimate,
        }
        if kind == TicketKind.QUESTION:
            wanted["question"] = issue.summary
            if status == TicketStatus.DONE:
                # A done question needs an answer; Jira keeps it in the description and comments.
                wanted.update(
                    hypothesis=IMPORTED_HYPOTHESIS,
                    answer=f"Resolved in Jira ({issue.resolution or 'Done'}); see the description and comments.",
                    outcome="inconclusive",
                    answered_at=issue.resolved or issue.updated or self.now,
                )
        return wanted

    def _ticket(self, issue: JiraIssue, parents: dict[str, str]) -> tuple[JiraIssue, dict, str] | None:
        digest, link = _digest(issue), self.links.get(issue.key)
        wanted = self._wanted(issue, parents)
        if link is None or link.ticket_id is None:
            return issue, wanted, digest
        counts = self.report.counts["tickets"]
        if link.digest == digest:
            counts["unchanged"] += 1
            self.report.counts["comments"]["unchanged"] += len(issue.comments)
            return None
        self._update_ticket(link.ticket, wanted)
        self._add_comments(link.ticket, issue)
        link.digest = digest
        link.save(update_fields=["digest"])
        counts["updated"] += 1
        self.report.changes.append(("updated", issue.key, link.ticket.key, link.ticket.title))
        return None

    def _update_ticket(self, ticket: Ticket, wanted: dict[str, object]) -> None:
        changed = [name for name, value in wanted.items() if getattr(ticket, name) != value]
        events = [
            new_event(
                ticket,
                _EVENT_FIELD.get(name, name),
                getattr(ticket, name),
                wanted[name],
                actor=self.actor,
                at=self.now,
                note="Jira import",
            )
            for name in changed
            if name in TRACKED
        ]
        for name in changed:
            setattr(ticket, name, wanted[name])
        if changed:
            ticket.save(update_fields=[*changed, "updated_at"])
            TicketEvent.objects.bulk_create(events)

    def _add_comments(self, ticket: Ticket, issue: JiraIssue) -> None:
        have = set(Comment.objects.filter(ticket=ticket).values_list("created_at", "body"))
        new = [c for c in issue.comments if (c.created, c.body) not in have]
        self.report.counts["comments"]["unchanged"] += len(issue.comments) - len(new)
        self.report.counts["comments"]["created"] += len(new)
        Comment.objects.bulk_create(
            [
                Comment(
                    ticket=ticket, author=self.people.user(c.author, line=issue.line), body=c.body, created_at=c.created
                )
                for c in new
            ]
        )

    def _create_tickets(self, new: list[tuple[JiraIssue, dict, str]]) -> None:
        if not new:
            return
        rank, number = next_rank(self.project), self.project.ticket_counter
        tickets = []
        for i, (issue, wanted, _) in enumerate(new):
            tickets.append(
                Ticket(
                    project=self.project,
                    number=number + i + 1,
                    rank=rank + i * GAP,
                    created_by=self.people.user(issue.reporter, line=issue.line),
                    created_at=issue.created or self.now,
                    **wanted,
                )
            )
        Project.objects.filter(pk=self.project.pk).update(ticket_counter=number + len(new))
        project_touch(project_id=self.project.pk)  # bulk writes: no saves to notice
        Ticket.objects.bulk_create(tickets)
        events, comments, links = [], [], []
        for ticket, (issue, _, digest) in zip(tickets, new, strict=True):
            events += self._history(ticket, issue)
            comments += [
                Comment(
                    ticket=ticket, author=self.people.user(c.author, line=issue.line), body=c.body, created_at=c.created
                )
                for c in issue.comments
            ]
            links.append(
                ImportedIssue(
                    project=self.project,
                    jira_key=issue.key,
                    jira_id=issue.issue_id,
                    digest=digest,
                    ticket=ticket,
                )
            )
        TicketEvent.objects.bulk_create(events, batch_size=1000)
        Comment.objects.bulk_create(comments, batch_size=1000)
        ImportedIssue.objects.bulk_create(links, batch_size=1000)
        self.report.counts["tickets"]["created"] += len(tickets)
        self.report.changes += [("created", i.key, t.key, t.title) for t, (i, _, _) in zip(tickets, new, strict=True)]
        self.report.counts["comments"]["created"] += len(comments)

    def _history(self, ticket: Ticket, issue: JiraIssue) -> list[TicketEvent]:
        """A ``created`` event at Jira's Created; a finished issue moves there at Resolved."""
        state = ticket_state(ticket)
        finished = ticket.status in (TicketStatus.DONE, TicketStatus.SKIPPED) and issue.resolved is not None
        if finished:
            state["status"] = TicketStatus.TODO
        actor = ticket.created_by
        events = [new_event(ticket, Field.CREATED, None, state, actor=actor, at=ticket.created_at, note="Jira import")]
        if finished:
            resolved = new_event(
                ticket,
                Field.STATUS,
                TicketStatus.TODO,
                ticket.status,
                actor=None,
                at=max(issue.resolved, ticket.created_at),
                note=ticket.skip_reason or "Resolved in Jira",
            )
            resolved.actor_id = ticket.assignee_id
            events.append(resolved)
        return events
