"""Writes for runs: start, end, rename, annotate, and attach to a ticket (recorded in the ticket's history)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from experiments.tracking.models import (
    MAX_RUN_NAME_LENGTH,
    Experiment,
    Param,
    Run,
    RunStatus,
    Tag,
)
from experiments.tracking.services.validation import (
    TAG_GIT_COMMIT,
    TAG_NOTE,
    TAG_RUN_NAME,
    TAG_SOURCE_NAME,
    TAG_TICKET,
    TAG_TRUNCATED_PARAMS,
    long_param_keys,
    validate_limits,
    validate_params,
    validate_tags,
)
from tickets import services as ticket_services
from tickets.access import parse_ticket_key
from tickets.models import Project, Ticket


def ticket_in_project(*, project: Project, ticket_key: str) -> Ticket:
    """The ticket ``ticket_key`` of ``project``; a ValidationError naming the key otherwise."""
    key = str(ticket_key).strip().upper()
    try:
        project_key, number = parse_ticket_key(key)
    except Http404:
        raise ValidationError(
            {"ticket": f"{ticket_key!r} is not a ticket key; keys look like {project.key}-12."}
        ) from None
    if project_key != project.key:
        raise ValidationError(
            {
                "ticket": f"Ticket {key} is not in project {project.key}; a run can only be attached to "
                "its own project's tickets."
            }
        )
    try:
        ticket = Ticket.objects.get(project=project, number=number)
    except Ticket.DoesNotExist:
        raise ValidationError({"ticket": f"There is no ticket {key} in project {project.key}."}) from None
    ticket.project = project
    return ticket


_ADJECTIVES = [
    "amber",
    "brisk",
    "calm",
    "daring",
    "eager",
    "fuzzy",
    "gentle",
    "hasty",
    "icy",
    "jolly",
    "keen",
    "lucky",
    "mellow",
    "nimble",
    "proud",
    "quiet",
    "rapid",
    "sunny",
    "tidy",
    "vivid",
]


_NOUNS = [
    "otter",
    "falcon",
    "maple",
    "comet",
    "badger",
    "heron",
    "lynx",
    "cedar",
    "pebble",
    "orca",
    "willow",
    "fox",
    "sparrow",
    "tiger",
    "koala",
    "ember",
    "raven",
    "bison",
    "lotus",
    "gecko",
]


def default_run_name(run_uuid: str) -> str:
    """A readable name such as ``brisk-otter-417``, derived from the run id (as MLflow names runs)."""
    number = int(run_uuid, 16)
    return f"{_ADJECTIVES[number % 20]}-{_NOUNS[(number // 20) % 20]}-{(number // 400) % 1000}"


@transaction.atomic
def run_create(
    *,
    project: Project,
    user: AbstractBaseUser | None,
    name: str = "",
    experiment: Experiment | None = None,
    start_time: dt.datetime | None = None,
    tags: Sequence[tuple[str, str]] = (),
    params: Sequence[tuple[str, str]] = (),
    notes: str = "",
    ticket_key: str | None = None,
    run_uuid: str | None = None,
) -> Run:
    """Start a run in ``project``. Field tags (``agileml.ticket``, ``mlflow.runName``…) set fields."""
    tag_map = validate_tags(tags)
    param_map = validate_params(params)
    if long_keys := long_param_keys(params):
        tag_map[TAG_TRUNCATED_PARAMS] = ",".join(long_keys)
    validate_limits(0, len(param_map), len(tag_map))
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise ValidationError({"name": f"A run name may have at most {MAX_RUN_NAME_LENGTH} characters."})
    ticket = None
    ticket_key = tag_map.pop(TAG_TICKET, ticket_key)
    if ticket_key:
        ticket = ticket_in_project(project=project, ticket_key=ticket_key)
    run = Run(
        project=project,
        experiment=experiment,
        ticket=ticket,
        name=tag_map.pop(TAG_RUN_NAME, name) or name,
        notes=tag_map.pop(TAG_NOTE, notes),
        started_by=user,
        start_time=start_time or timezone.now(),
        source_commit=tag_map.get(TAG_GIT_COMMIT, "")[:64],
        entry_point=tag_map.get(TAG_SOURCE_NAME, "")[:500],
    )
    if run_uuid:
        run.uuid = run_uuid
    if not run.name:
        run.name = default_run_name(run.uuid)
    run.save()
    if ticket is not None:
        record_ticket_change(run, None, ticket, user)
    if tag_map:
        Tag.objects.bulk_create([Tag(run=run, key=k, value=v) for k, v in tag_map.items()])
    if param_map:
        Param.objects.bulk_create(
            [Param(run=run, project_id=run.project_id, key=k, value=v) for k, v in param_map.items()]
        )
    return run


def run_update(
    *,
    run: Run,
    status: RunStatus | None = None,
    end_time: dt.datetime | None = None,
    name: str | None = None,
    notes: str | None = None,
) -> Run:
    """Change status, end time, name or notes. Ending a run without an end time ends it now."""
    fields = []
    if name is not None:
        if len(name) > MAX_RUN_NAME_LENGTH:
            raise ValidationError({"name": f"A run name may have at most {MAX_RUN_NAME_LENGTH} characters."})
        run.name = name
        fields.append("name")
    if notes is not None:
        run.notes = notes
        fields.append("notes")
    if status is not None:
        run.status = RunStatus(status)
        fields.append("status")
        if run.status != RunStatus.RUNNING and end_time is None and run.end_time is None:
            end_time = timezone.now()
        if run.status == RunStatus.RUNNING and end_time is None:
            run.end_time = None
            fields.append("end_time")
    if end_time is not None:
        run.end_time = end_time
        fields.append("end_time")
    if fields:
        run.save(update_fields=sorted(set(fields)))
    return run


# Marks "leave the ticket as it is" (None detaches).
UNCHANGED = object()


@transaction.atomic
def run_change(
    *,
    run: Run,
    actor: AbstractBaseUser | None,
    ticket_key: str | object | None = UNCHANGED,
    name: str | None = None,
    notes: str | None = None,
) -> Run:
    """Attach or detach the ticket (``None`` detaches) and rename or annotate the run, in one transaction."""
    if ticket_key is not UNCHANGED:
        run_attach_ticket(run=run, ticket_key=ticket_key, actor=actor)
    if name is not None or notes is not None:
        run_update(run=run, name=name, notes=notes)
    return run


def record_ticket_change(run: Run, old: Ticket | None, new: Ticket | None, actor: AbstractBaseUser | None) -> None:
    """Write the attach/detach into the tickets' history (in the caller's transaction)."""
    if old is not None and old != new:
        ticket_services.ticket_record_run_link(ticket=old, run_name=run.display_name, attached=False, actor=actor)
    if new is not None and old != new:
        ticket_services.ticket_record_run_link(ticket=new, run_name=run.display_name, attached=True, actor=actor)


@transaction.atomic
def run_attach_ticket(*, run: Run, ticket_key: str | None, actor: AbstractBaseUser | None = None) -> Run:
    """Attach ``run`` to ticket ``ticket_key`` of its project, or detach it (``None``/empty)."""
    ticket = ticket_in_project(project=run.project, ticket_key=ticket_key) if ticket_key else None
    old = run.ticket
    run.ticket = ticket
    run.save(update_fields=["ticket"])
    record_ticket_change(run, old, ticket, actor)
    return run


def tracking_touch(run: Run) -> None:
    """Mark the project's run list changed (``Project.tracking_version``), in the caller's transaction:
    logging adds and replaces rows (points, latest values, params, tags) without saving the run.
    One statement, last in the transaction so the project row is locked only until it commits."""
    with connection.cursor() as cursor:
        cursor.execute(_tracking_touch_sql(), [run.project_id])


@functools.cache
def _tracking_touch_sql() -> str:
    q = connection.ops.quote_name
    # Quoted identifiers only; the id is a parameter. Raw: the ORM's UPDATE costs more to build than to run.
    return f"UPDATE {q(Project._meta.db_table)} SET {q('tracking_version')} = {q('tracking_version')} + 1 WHERE {q('id')} = %s"  # noqa: E501, S608


def run_delete_tag(*, run: Run, key: str, actor: AbstractBaseUser | None = None) -> None:
    """Remove a tag; removing ``agileml.ticket`` detaches the run from its ticket."""
    if key == TAG_TICKET:
        run_attach_ticket(run=run, ticket_key=None, actor=actor)
        return
    if key == TAG_NOTE:
        run_update(run=run, notes="")
        return
    deleted, _ = Tag.objects.filter(run=run, key=key).delete()
    if not deleted:
        raise Http404(f"No tag with name={key!r} in run with id={run.uuid}.")
    tracking_touch(run)
