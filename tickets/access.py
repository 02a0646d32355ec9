"""The one place that decides who may see or change what.

Every view and API endpoint gets its project, and the objects inside it, through
:func:`object_for_user` (or :func:`project_for_user` for the project itself); each capability's
``access`` module only names its models. The rules:

- An outsider (anonymous, a member of other projects only, or nobody) gets the same 404 —
  same status, same body — whether the object does not exist or belongs to a project they
  cannot see, so no response tells them that something exists.
- A member who can see the project may get a specific message ("There is no epic 7 in AUTH.").
- A member whose role is too low gets 403 with what the action needs.
- Ids in URLs are ASCII digits (:func:`parse_id`); anything else is not found.
"""

from __future__ import annotations

import functools
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Model, QuerySet
from django.http import Http404

from agileml import rows
from tickets.models import Comment, Epic, Membership, Project, Role, Sprint, Ticket

ROLE_NEEDED_MESSAGE = {
    Role.STAKEHOLDER: "You need to be a member of this project.",
    Role.ENGINEER: "Stakeholders have read-only access; this needs an engineer or lead.",
    Role.LEAD: "Only a lead of this project can do this.",
}
# What every outsider is told, whatever they asked for: it must not depend on what exists.
NOT_FOUND = "There is nothing here, or you are not a member of this project."
# Larger ids cannot be stored (a 64-bit primary key), so they cannot exist.
_MAX_ID = 2**63 - 1

M = TypeVar("M", bound=Model)


def parse_id(text: object) -> int:
    """An id from a URL or a query: ASCII digits only, within a 64-bit key; ``Http404`` otherwise.

    ``str.isdigit`` alone accepts '³' or '٣', which ``int()`` then refuses or reads as another
    number; ids are written in ASCII.
    """
    value = str(text).strip()
    if not (value.isascii() and value.isdigit()) or int(value) > _MAX_ID:
        raise Http404(NOT_FOUND)
    return int(value)


def id_or_none(text: object) -> int | None:
    """An optional id from a query string (a menu choice, a filter): the id, or None for anything else."""
    try:
        return parse_id(text)
    except Http404:
        return None


def membership_for_user(user: AbstractBaseUser | AnonymousUser, key: str) -> Membership:
    """The caller's membership in project ``key``; the outsiders' 404 for anonymous users and outsiders."""
    if not user.is_authenticated:
        raise Http404(NOT_FOUND)
    # All of the caller's memberships in one query: a page's project switcher lists them (a user
    # belongs to a handful of projects), so the page needs no second query for it.
    memberships = _memberships_of(user.pk)
    user.switcher_memberships = memberships
    for membership in memberships:
        if membership.project.key == key:
            return membership
    raise Http404(NOT_FOUND)


@functools.cache
def _memberships_select() -> str:
    # Table and column names come from the models; the user's id is a parameter.
    membership, project = rows.columns(Membership, "m"), rows.columns(Project, "p")
    quote = connection.ops.quote_name
    return (
        f"SELECT {membership.sql}, {project.sql} FROM {rows.table(Membership)} m "  # noqa: S608
        f"JOIN {rows.table(Project)} p ON p.{quote('id')} = m.{quote('project_id')} "
        f"WHERE m.{quote('user_id')} = %s ORDER BY p.{quote('key')}"
    )


def _memberships_of(user_id: int) -> list[Membership]:
    """The user's memberships, each with its project, by project key: what
    ``Membership.objects.select_related("project").filter(user=...).order_by("project__key")`` gives,
    without the ORM building the query (every project page asks; see ``agileml.rows``)."""
    membership, project = rows.columns(Membership, "m"), rows.columns(Project, "p")
    with connection.cursor() as cursor:
        cursor.execute(_memberships_select(), [user_id])
        found = []
        for row in cursor.fetchall():
            member = membership.instance(row)
            member.project = project.instance(row, membership.width)
            found.append(member)
    return found


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


def project_by_id_for_user(
    user: AbstractBaseUser | AnonymousUser, project_id: object, *, need: Role = Role.STAKEHOLDER
) -> Project:
    """Project number ``project_id`` (an MLflow experiment id) for a member; the outsiders' 404 otherwise."""
    number = parse_id(project_id)
    if not user.is_authenticated:
        raise Http404(NOT_FOUND)
    membership = Membership.objects.select_related("project").filter(project_id=number, user=user).first()
    if membership is None:
        raise Http404(NOT_FOUND)
    if not membership.role_enum.allows(need):
        raise PermissionDenied(ROLE_NEEDED_MESSAGE[Role(need)])
    project = membership.project
    project.role = membership.role_enum
    return project


def _attach(obj: Model, path: str, project: Project) -> None:
    """Set the project (with the caller's role) at the end of ``path``, e.g. ``benchmark__project``."""
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
    setattr(obj, last, project)


def _one(matches: QuerySet[M]) -> M | None:
    """The row a unique lookup found, or None. Unordered: ``first()`` would sort by the model's
    ordering (a ticket's joins its project to sort by key), and one row needs no order."""
    found = list(matches.order_by()[:1])
    return found[0] if found else None


def object_for_user(
    user: AbstractBaseUser | AnonymousUser,
    source: type[M] | QuerySet[M],
    pk: object,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
    project_path: str = "project",
    lookup: str = "pk",
    missing: str | None = None,
) -> M:
    """Object ``pk`` of ``source`` (a model or a queryset with its joins) if ``user`` holds at least
    ``need`` in its project; the project, with the caller's role, is attached along ``project_path``.

    With ``project_key`` (pages nest objects under ``/p/<key>/``) the object must belong to that
    project, and a member of it who asks for something that is not there is told so (``missing``,
    by default "There is no <model> <pk> in <KEY>."). Without it, the object's own project decides,
    and a missing object gets the outsiders' 404 since there is no project to be a member of.
    ``lookup`` names the field ``pk`` is matched on; ids (the default) go through :func:`parse_id`.
    """
    queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
    value = parse_id(pk) if lookup == "pk" else pk
    hops = project_path.rpartition("__")[0]
    if project_key is not None:
        project = project_for_user(user, project_key, need=need)
        candidates = queryset.select_related(hops) if hops else queryset
        obj = _one(candidates.filter(**{project_path: project, lookup: value}))
        if obj is None:
            what = queryset.model._meta.verbose_name
            raise Http404(missing or f"There is no {what} {pk} in {project.key}.")
    else:
        if not user.is_authenticated:
            raise Http404(NOT_FOUND)
        obj = _one(queryset.select_related(project_path).filter(**{lookup: value}))
        if obj is None:
            raise Http404(NOT_FOUND)
        owner = obj
        for hop in project_path.split("__"):
            owner = getattr(owner, hop)
        project = project_for_user(user, owner.key, need=need)
    _attach(obj, project_path, project)
    return obj


def owned_object_for_user(
    user: AbstractBaseUser | AnonymousUser, source: type[M] | QuerySet[M], pk: object, *, owner_field: str = "user"
) -> M:
    """Object ``pk`` of ``source`` if it belongs to ``user`` (an API token, say); the outsiders' 404
    otherwise, the same whether it does not exist or is someone else's."""
    if not user.is_authenticated:
        raise Http404(NOT_FOUND)
    queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
    obj = queryset.filter(**{"pk": parse_id(pk), owner_field: user}).first()
    if obj is None:
        raise Http404(NOT_FOUND)
    return obj


# Projects are created by staff and by users an administrator allowed to (the demo lead is one).
PROJECT_CREATORS_ONLY = (
    "Creating projects is for staff and for users an administrator has allowed to "
    "(the permission 'tickets.add_project'); ask an administrator, or a lead to add you to a project."
)


def can_create_projects(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` may create projects: a site permission, not a role in some project."""
    return bool(user.is_authenticated and (user.is_staff or user.has_perm("tickets.add_project")))


def require_project_creator(user: AbstractBaseUser | AnonymousUser) -> None:
    """403 with :data:`PROJECT_CREATORS_ONLY` unless :func:`can_create_projects`."""
    if not can_create_projects(user):
        raise PermissionDenied(PROJECT_CREATORS_ONLY)


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
    if not sep or not project_key or not (number.isascii() and number.isdigit()):
        raise Http404(f"{ticket_key!r} is not a ticket key; keys look like AUTH-12.")
    return project_key, parse_id(number)


def ticket_for_user(
    user: AbstractBaseUser | AnonymousUser,
    ticket_key: str,
    *,
    need: Role = Role.STAKEHOLDER,
    bare: bool = False,
) -> Ticket:
    """Ticket ``AUTH-12`` if ``user`` holds at least ``need`` in its project (404 / 403 otherwise).

    The project (with the caller's role as ``project.role``) is attached, so
    ``ticket.key`` and ``ticket.project.role`` cost no further queries. ``bare``: only the ticket's
    id and number, for a page kept whole (the joins are built and run only when it is rendered).
    """
    project_key, number = parse_ticket_key(ticket_key)
    source = (
        Ticket.objects.only("id", "project", "number")
        if bare
        else Ticket.objects.select_related("epic", "sprint", "assignee")
    )
    return object_for_user(
        user,
        source,
        number,
        need=need,
        project_key=project_key,
        lookup="number",
        missing=f"There is no ticket {project_key}-{number}.",
    )


def epic_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    epic_id: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
) -> Epic:
    """Epic ``epic_id`` of project ``key`` if ``user`` holds at least ``need`` there (404 / 403 otherwise)."""
    return object_for_user(user, Epic, epic_id, need=need, project_key=key)


def sprint_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    sprint_id: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
) -> Sprint:
    """Sprint ``sprint_id`` of project ``key`` if ``user`` holds at least ``need`` there (404 / 403 otherwise)."""
    return object_for_user(user, Sprint, sprint_id, need=need, project_key=key)


def comment_for_user(
    user: AbstractBaseUser | AnonymousUser,
    ticket_key: str,
    comment_id: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
    own: bool = False,
    lead_may: bool = False,
) -> Comment:
    """Comment ``comment_id`` on ticket ``AUTH-12`` if ``user`` holds at least ``need`` in its project.

    ``own``: only its author may go on (and a lead too, with ``lead_may``); others get 403.
    """
    ticket = ticket_for_user(user, ticket_key, need=need)
    comment = Comment.objects.select_related("author").filter(ticket=ticket, pk=parse_id(comment_id)).first()
    if comment is None:
        raise Http404(f"There is no comment {comment_id} on {ticket.key}.")
    comment.ticket = ticket
    if own and comment.author_id != user.pk and not (lead_may and ticket.project.role == Role.LEAD):
        raise PermissionDenied(
            "Only the author can change this comment." if not lead_may else "Only the author or a lead can do this."
        )
    return comment
