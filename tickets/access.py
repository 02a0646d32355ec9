"""The one place that decides who may see or change what.

Every view and API endpoint gets its project (and, later, the objects inside it)
through these helpers. Outsiders get 404 — they must not learn that a project
exists — and members whose role is too low get 403.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tickets.models import Comment, Epic, Membership, Project, Role, Sprint, Ticket

ROLE_NEEDED_MESSAGE = {
    Role.STAKEHOLDER: "You need to be a member of this project.",
    Role.ENGINEER: "Stakeholders have read-only access; this needs an engineer or lead.",
    Role.LEAD: "Only a lead of this project can do this.",
}


def membership_for_user(user: AbstractBaseUser | AnonymousUser, key: str) -> Membership:
    """The caller's membership in project ``key``; 404 for anonymous users and outsiders."""
    if not user.is_authenticated:
        raise Http404("No such project.")
    try:
        return Membership.objects.select_related("project").get(project__key=key, user=user)
    except Membership.DoesNotExist:
        raise Http404("No such project.") from None


def project_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    *,
    need: Role = Role.STAKEHOLDER,
) -> Project:
    """Project ``key`` if ``user`` holds at least role ``need`` in it.

    Raises ``Http404`` for outsiders and ``PermissionDenied`` for members whose role
    is below ``need``. The caller's role is attached as ``project.role``.
    """
    membership = membership_for_user(user, key)
    role = membership.role_enum
    if not role.allows(need):
        raise PermissionDenied(ROLE_NEEDED_MESSAGE[Role(need)])
    project = membership.project
    project.role = role
    return project


def require_role(project: Project, need: Role, message: str | None = None) -> None:
    """For a project already fetched with :func:`project_for_user`: 403 unless the caller's role allows ``need``.

    Used where one request needs more than its endpoint's base role, e.g. an engineer
    creating a ticket may not put it into a sprint (planning is for leads).
    """
    if not Role(project.role).allows(need):
        raise PermissionDenied(message or ROLE_NEEDED_MESSAGE[Role(need)])


def parse_ticket_key(ticket_key: str) -> tuple[str, int]:
    """``"AUTH-12"`` → ``("AUTH", 12)``; ``Http404`` for anything that is not a key."""
    project_key, sep, number = str(ticket_key).rpartition("-")
    if not sep or not project_key or not number.isdigit():
        raise Http404(f"{ticket_key!r} is not a ticket key; keys look like AUTH-12.")
    return project_key, int(number)


def ticket_for_user(
    user: AbstractBaseUser | AnonymousUser,
    ticket_key: str,
    *,
    need: Role = Role.STAKEHOLDER,
) -> Ticket:
    """Ticket ``AUTH-12`` if ``user`` holds at least ``need`` in its project (404 / 403 otherwise).

    The project (with the caller's role as ``project.role``) is attached, so
    ``ticket.key`` and ``ticket.project.role`` cost no further queries.
    """
    project_key, number = parse_ticket_key(ticket_key)
    project = project_for_user(user, project_key, need=need)
    try:
        ticket = Ticket.objects.select_related("epic", "sprint", "assignee").get(project=project, number=number)
    except Ticket.DoesNotExist:
        raise Http404(f"There is no ticket {project_key}-{number}.") from None
    ticket.project = project
    return ticket


def epic_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    epic_id: int,
    *,
    need: Role = Role.STAKEHOLDER,
) -> Epic:
    """Epic ``epic_id`` of project ``key`` if ``user`` holds at least ``need`` there (404 / 403 otherwise)."""
    project = project_for_user(user, key, need=need)
    try:
        epic = Epic.objects.get(project=project, pk=epic_id)
    except Epic.DoesNotExist:
        raise Http404(f"There is no epic {epic_id} in {project.key}.") from None
    epic.project = project
    return epic


def sprint_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    sprint_id: int,
    *,
    need: Role = Role.STAKEHOLDER,
) -> Sprint:
    """Sprint ``sprint_id`` of project ``key`` if ``user`` holds at least ``need`` there (404 / 403 otherwise)."""
    project = project_for_user(user, key, need=need)
    try:
        sprint = Sprint.objects.get(project=project, pk=sprint_id)
    except Sprint.DoesNotExist:
        raise Http404(f"There is no sprint {sprint_id} in {project.key}.") from None
    sprint.project = project
    return sprint


def comment_for_user(
    user: AbstractBaseUser | AnonymousUser,
    ticket_key: str,
    comment_id: int,
    *,
    need: Role = Role.STAKEHOLDER,
    own: bool = False,
    lead_may: bool = False,
) -> Comment:
    """Comment ``comment_id`` on ticket ``AUTH-12`` if ``user`` holds at least ``need`` in its project.

    ``own``: only its author may go on (and a lead too, with ``lead_may``); others get 403.
    """
    ticket = ticket_for_user(user, ticket_key, need=need)
    try:
        comment = Comment.objects.select_related("author").get(ticket=ticket, pk=comment_id)
    except Comment.DoesNotExist:
        raise Http404(f"There is no comment {comment_id} on {ticket.key}.") from None
    comment.ticket = ticket
    if own and comment.author_id != user.pk and not (lead_may and ticket.project.role == Role.LEAD):
        raise PermissionDenied(
            "Only the author can change this comment." if not lead_may else "Only the author or a lead can do this."
        )
    return comment
