"""Git links: receive a signed GitHub or GitLab event, link the pull requests and commits it mentions
to tickets, and (when the project asks for it) move code tickets along with their pull requests.

The event is checked before anything is read: GitHub signs the raw body with the project's secret
(``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>``), GitLab sends the secret itself
(``X-Gitlab-Token``); both are compared in constant time. A project without a secret, or no such
project, gets the same refusal as a wrong signature. Links are unique per ticket and URL, so a
redelivered event changes nothing.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.git import parse
from integrations.git.models import GitLink, GitLinkKind, GitSettings
from integrations.webhooks.payloads import sign
from tickets import services as ticket_services
from tickets.models import Project, Ticket, TicketKind, TicketStatus

BAD_SIGNATURE = (
    "The signature does not match: sign the body with the project's Git secret "
    "(GitHub: X-Hub-Signature-256) or send it as X-Gitlab-Token (GitLab)."
)
NO_EVENT = (
    "The request is not signed: send X-GitHub-Event with X-Hub-Signature-256 (GitHub), "
    "or X-Gitlab-Event with X-Gitlab-Token (GitLab)."
)


class GitRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class GitResult:
    status: int
    message: str
    linked: list[dict] = field(default_factory=list)
    moved: list[dict] = field(default_factory=list)


def git_settings_set_secret(*, project: Project, secret: str | None = None) -> tuple[GitSettings, str]:
    """Make (or replace) the project's Git secret; returns it, to be shown once."""
    value = (secret or "").strip() or secrets.token_urlsafe(32)
    if len(value) < 16:
        raise ValidationError({"secret": "The secret must be at least 16 characters long."})
    settings_row, _ = GitSettings.objects.update_or_create(project=project, defaults={"secret": value})
    return settings_row, value


def git_settings_update(*, project: Project, review_on_open: bool, done_on_merge: bool) -> GitSettings:
    row = GitSettings.objects.filter(project=project).first()
    if row is None:
        raise ValidationError("Make a Git secret first: the rules apply to events signed with it.")
    row.review_on_open, row.done_on_merge = bool(review_on_open), bool(done_on_merge)
    row.save(update_fields=["review_on_open", "done_on_merge"])
    return row


def _verify(project_key: str, headers: Mapping[str, str], body: bytes) -> tuple[GitSettings, str, str]:
    github_event = headers.get("X-GitHub-Event")
    gitlab_event = headers.get("X-Gitlab-Event")
    if not github_event and not gitlab_event:
        raise GitRefused(403, NO_EVENT)
    row = GitSettings.objects.select_related("project").filter(project__key=project_key).first()
    secret = row.secret if row is not None else secrets.token_urlsafe(32)  # compared all the same
    if github_event:
        given = headers.get("X-Hub-Signature-256", "")
        ok = hmac.compare_digest(sign(body, secret).encode(), given.encode())
    else:
        ok = hmac.compare_digest(secret.encode(), headers.get("X-Gitlab-Token", "").encode())
    if row is None or not ok:
        raise GitRefused(403, BAD_SIGNATURE)
    return row, ("github" if github_event else "gitlab"), github_event or gitlab_event


def git_event_receive(*, project_key: str, headers: Mapping[str, str], body: bytes) -> GitResult:
    """Check, read and apply one event; :class:`GitRefused` (400/403) changes nothing."""
    row, provider, event = _verify(project_key, headers, body)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GitRefused(400, f"The body is not JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise GitRefused(400, "The body must be a JSON object.")
    try:
        items = parse.github(event, data) if provider == "github" else parse.gitlab(event, data)
    except parse.Malformed as malformed:
        raise GitRefused(400, str(malformed)) from None
    if items is None:
        return GitResult(202, f"Ignored: {event} events do not link code to tickets.")
    with transaction.atomic():
        result = GitResult(200, "")
        for item in items:
            _apply(row, item, result)
    result.message = f"Linked {len(result.linked)} ticket mention(s); moved {len(result.moved)} ticket(s)."
    return result


def _apply(row: GitSettings, item: parse.Item, result: GitResult) -> None:
    project = row.project
    numbers = parse.ticket_numbers(project.key, item.texts)
    if not numbers:
        return
    tickets = Ticket.objects.filter(project=project, number__in=numbers).order_by("number")
    for ticket in tickets:
        ticket.project = project
        created = _link(ticket, item)
        result.linked.append({"ticket": ticket.key, "url": item.url, "new": created})
        moved_to = _follow_rules(row, ticket, item)
        if moved_to:
            result.moved.append({"ticket": ticket.key, "status": moved_to})


def _link(ticket: Ticket, item: parse.Item) -> bool:
    now = timezone.now()
    link = GitLink.objects.filter(ticket=ticket, url=item.url).first()
    if link is not None:
        if (link.title, link.state) != (item.title, item.state):
            link.title, link.state, link.updated_at = item.title, item.state, now
            link.save(update_fields=["title", "state", "updated_at"])
        return False
    try:
        with transaction.atomic():
            GitLink.objects.create(
                ticket=ticket, kind=item.kind, url=item.url, title=item.title, state=item.state, ref=item.ref[:255],
                created_at=now, updated_at=now,
            )  # fmt: skip
    except IntegrityError:
        return False  # the same event, delivered twice at once
    label = GitLinkKind(item.kind).label.lower()
    ticket_services.ticket_record_link(ticket=ticket, label=f"{label} {item.title}")
    return True


def _follow_rules(row: GitSettings, ticket: Ticket, item: parse.Item) -> str | None:
    """Move a code ticket along with its pull request, if the project asks; questions never move."""
    if item.kind != GitLinkKind.PULL_REQUEST or ticket.kind != TicketKind.CODE:
        return None
    if (
        item.happened == parse.OPENED
        and row.review_on_open
        and ticket.status in (TicketStatus.TODO, TicketStatus.IN_PROGRESS)
    ):
        target = TicketStatus.REVIEW
    elif (
        item.happened == parse.MERGED
        and row.done_on_merge
        and ticket.status not in (TicketStatus.DONE, TicketStatus.SKIPPED)
    ):
        target = TicketStatus.DONE
    else:
        return None
    try:
        ticket_services.ticket_transition(
            ticket=ticket, actor=None, status=target, reason=f"{item.title} ({item.happened})"
        )
    except ValidationError:
        return None  # the transition rules say no (a frozen sprint, say): the link stays, the ticket does not move
    return target
