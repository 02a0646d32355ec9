"""Writes for runs: create, update, log params/metrics/tags, attach to tickets, store artifacts.

Every function validates its whole input before it writes anything and runs in one
transaction, so bad input changes nothing. Metric points are idempotent: a client
that retries a request after a lost response stores each point once.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import timezone

from experiments.tracking.models import (
    MAX_KEY_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_RUN_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    Artifact,
    LatestMetric,
    Metric,
    Param,
    Run,
    RunStatus,
    Tag,
)
from tickets import services as ticket_services
from tickets.access import parse_ticket_key
from tickets.models import Project, Ticket

# MLflow's log-batch limits.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000

# Tags that are run fields rather than free-form tags.
TAG_TICKET = "agileml.ticket"
TAG_RUN_NAME = "mlflow.runName"
TAG_NOTE = "mlflow.note.content"
# Tags kept as tags and also copied into the run's source fields.
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_SOURCE_NAME = "mlflow.source.name"
FIELD_TAGS = {TAG_TICKET, TAG_RUN_NAME, TAG_NOTE}

_KEY_PATTERN = re.compile(r"^[\w\-. /:]+$")


class MetricPoint(NamedTuple):
    """One point of a metric history (a tuple: batches of a thousand are built per request)."""

    key: str
    value: float
    timestamp: int
    step: int = 0


def now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def datetime_from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


# --- Validation -------------------------------------------------------------------------
def validate_key(key: object, *, what: str) -> str:
    """A metric, param or tag name as MLflow accepts it (letters, digits, ``_-. /:``)."""
    if not isinstance(key, str) or not key:
        raise ValidationError({what: f"A {what} needs a non-empty name."})
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            {what: f"{what.capitalize()} name {key[:40]!r}… is longer than {MAX_KEY_LENGTH} characters."}
        )
    if not _KEY_PATTERN.match(key):
        raise ValidationError(
            {
                what: f"Invalid {what} name {key!r}: names may only contain letters, digits, "
                "underscores, dashes, periods, spaces, colons and slashes."
            }
        )
    if key.startswith("/") or posixpath.normpath(key) != key:
        raise ValidationError({what: f"Invalid {what} name {key!r}: it must not start with / or contain // or ..."})
    return key


def _validate_limits(n_metrics: int, n_params: int, n_tags: int) -> None:
    if n_metrics > MAX_METRICS_PER_BATCH:
        raise ValidationError(
            {"metrics": f"A batch may hold at most {MAX_METRICS_PER_BATCH} metrics; got {n_metrics}. Split it up."}
        )
    if n_params > MAX_PARAMS_PER_BATCH:
        raise ValidationError(
            {"params": f"A batch may hold at most {MAX_PARAMS_PER_BATCH} params; got {n_params}. Split it up."}
        )
    if n_tags > MAX_TAGS_PER_BATCH:
        raise ValidationError(
            {"tags": f"A batch may hold at most {MAX_TAGS_PER_BATCH} tags; got {n_tags}. Split it up."}
        )
    total = n_metrics + n_params + n_tags
    if total > MAX_ENTITIES_PER_BATCH:
        raise ValidationError(
            {
                "metrics": f"A batch may hold at most {MAX_ENTITIES_PER_BATCH} metrics, params and tags "
                f"together; got {total}. Split it up."
            }
        )


def _validate_params(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for key, value in params:
        validate_key(key, what="param")
        value = "" if value is None else str(value)
        if len(value) > MAX_PARAM_VALUE_LENGTH:
            raise ValidationError(
                {"params": f"Param {key!r} has a value of {len(value)} characters; at most {MAX_PARAM_VALUE_LENGTH}."}
            )
        if key in seen and seen[key] != value:
            raise ValidationError(
                {
                    "params": f"Param {key!r} appears twice in one request with different values "
                    f"({seen[key]!r}, {value!r})."
                }
            )
        seen[key] = value
    return seen


def _validate_tags(tags: Sequence[tuple[str, str]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in tags:
        validate_key(key, what="tag")
        value = "" if value is None else str(value)
        limit = MAX_RUN_NAME_LENGTH if key == TAG_RUN_NAME else MAX_TAG_VALUE_LENGTH
        if len(value) > limit:
            raise ValidationError({"tags": f"Tag {key!r} has a value of {len(value)} characters; at most {limit}."})
        result[key] = value  # the last value of a key wins, as in MLflow
    return result


_INT64 = range(-(2**63), 2**63)


def _validate_metrics(metrics: Sequence[MetricPoint]) -> list[tuple[str, float, bool, int, int]]:
    rows = []
    checked_keys: set[str] = set()
    for key, raw_value, timestamp, step in metrics:
        if key not in checked_keys:
            validate_key(key, what="metric")
            checked_keys.add(key)
        try:
            value = float(raw_value)
        except (TypeError, ValueError):
            raise ValidationError({"metrics": f"Metric {key!r} has value {raw_value!r}, not a number."}) from None
        for name, number in (("timestamp", timestamp), ("step", step)):
            if type(number) is not int:
                raise ValidationError({"metrics": f"Metric {key!r} has {name} {number!r}, not an integer."})
            if number not in _INT64:
                raise ValidationError({"metrics": f"Metric {key!r} has {name} {number} outside 64 bits."})
        if value != value:  # NaN: SQLite cannot store it, so it is a flag
            rows.append((key, 0.0, True, step, timestamp))
        else:
            rows.append((key, value, False, step, timestamp))
    return rows


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


# --- Runs -------------------------------------------------------------------------------
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
    start_time: dt.datetime | None = None,
    tags: Sequence[tuple[str, str]] = (),
    params: Sequence[tuple[str, str]] = (),
    notes: str = "",
    ticket_key: str | None = None,
    run_uuid: str | None = None,
) -> Run:
    """Start a run in ``project``. Field tags (``agileml.ticket``, ``mlflow.runName``…) set fields."""
    tag_map = _validate_tags(tags)
    param_map = _validate_params(params)
    _validate_limits(0, len(param_map), len(tag_map))
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise ValidationError({"name": f"A run name may have at most {MAX_RUN_NAME_LENGTH} characters."})
    ticket = None
    ticket_key = tag_map.pop(TAG_TICKET, ticket_key)
    if ticket_key:
        ticket = ticket_in_project(project=project, ticket_key=ticket_key)
    run = Run(
        project=project,
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
        _record_ticket_change(run, None, ticket, user)
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


@transaction.atomic
def run_record(
    *,
    project: Project,
    user: AbstractBaseUser | None,
    name: str = "",
    ticket_key: str | None = None,
    notes: str = "",
    tags: Sequence[tuple[str, str]] = (),
    params: Sequence[tuple[str, str]] = (),
    metrics: Sequence[MetricPoint] = (),
    status: RunStatus = RunStatus.FINISHED,
) -> Run:
    """Record a whole run at once (the REST API's POST): created, its metric points logged in
    batches of MLflow's size, and its status set; all of it or, on error, nothing."""
    run = run_create(
        project=project, user=user, name=name, ticket_key=ticket_key, notes=notes, tags=tags, params=params
    )
    for start in range(0, len(metrics), MAX_METRICS_PER_BATCH):
        run_log(run=run, metrics=metrics[start : start + MAX_METRICS_PER_BATCH])
    run_update(run=run, status=status)
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


def _record_ticket_change(run: Run, old: Ticket | None, new: Ticket | None, actor: AbstractBaseUser | None) -> None:
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
    _record_ticket_change(run, old, ticket, actor)
    return run


@transaction.atomic
def run_log(
    *,
    run: Run,
    metrics: Sequence[MetricPoint] = (),
    params: Sequence[tuple[str, str]] = (),
    tags: Sequence[tuple[str, str]] = (),
    actor: AbstractBaseUser | None = None,
) -> None:
    """Log a batch of metric points, params and tags to ``run``: all of it or, on error, none."""
    _validate_limits(len(metrics), len(params), len(tags))
    metric_rows = _validate_metrics(metrics)
    param_map = _validate_params(params)
    tag_map = _validate_tags(tags)
    if param_map:
        _log_params(run, param_map)
    if tag_map:
        _set_tags(run, tag_map, actor)
    if metric_rows:
        _log_metrics(run, metric_rows)


def _log_params(run: Run, params: dict[str, str]) -> None:
    existing = dict(Param.objects.filter(run=run, key__in=list(params)).values_list("key", "value"))
    for key, value in params.items():
        if key in existing and existing[key] != value:
            raise ValidationError(
                {
                    "params": f"Changing param values is not allowed. Param with key='{key}' was already logged "
                    f"with value='{existing[key]}' for run ID='{run.uuid}'. Attempted logging new value '{value}'."
                }
            )
    new = [Param(run=run, project_id=run.project_id, key=k, value=v) for k, v in params.items() if k not in existing]
    if new:
        try:
            with transaction.atomic():
                Param.objects.bulk_create(new)
        except IntegrityError:
            raise ValidationError(
                {"params": "A param of this batch was logged at the same time by another request."}
            ) from None


def _set_tags(run: Run, tags: dict[str, str], actor: AbstractBaseUser | None) -> None:
    fields = []
    if TAG_TICKET in tags:
        key = tags.pop(TAG_TICKET)
        old = run.ticket
        run.ticket = ticket_in_project(project=run.project, ticket_key=key) if key else None
        _record_ticket_change(run, old, run.ticket, actor)
        fields.append("ticket")
    if TAG_RUN_NAME in tags:
        run.name = tags.pop(TAG_RUN_NAME)
        fields.append("name")
    if TAG_NOTE in tags:
        run.notes = tags.pop(TAG_NOTE)
        fields.append("notes")
    if TAG_GIT_COMMIT in tags:
        run.source_commit = tags[TAG_GIT_COMMIT][:64]
        fields.append("source_commit")
    if TAG_SOURCE_NAME in tags:
        run.entry_point = tags[TAG_SOURCE_NAME][:500]
        fields.append("entry_point")
    if fields:
        run.save(update_fields=fields)
    if tags:
        Tag.objects.bulk_create(
            [Tag(run=run, key=k, value=v) for k, v in tags.items()],
            update_conflicts=True,
            unique_fields=["run", "key"],
            update_fields=["value"],
        )


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


# Raw SQL for the two hot statements: one multi-row INSERT each, the same text on
# SQLite and PostgreSQL (both support ON CONFLICT and row-value comparison).
_CHUNK = 500


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _log_metrics(run: Run, rows: list[tuple[str, float, bool, int, int]]) -> None:
    points = _q(Metric._meta.db_table)
    latest = _q(LatestMetric._meta.db_table)
    columns = ", ".join(_q(c) for c in ("run_id", "key", "value", "is_nan", "step", "timestamp"))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            flat = [x for row in chunk for x in (run.pk, *row)]
            # Only quoted identifiers and placeholders are interpolated; values are parameters.
            sql = f"INSERT INTO {points} ({columns}) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608
            cursor.execute(sql, flat)
        newest: dict[str, tuple] = {}
        for key, value, is_nan, step, timestamp in rows:
            candidate = (step, timestamp, value, is_nan)
            if key not in newest or candidate[:3] > newest[key][:3]:
                newest[key] = candidate
        latest_columns = ", ".join(
            _q(c) for c in ("run_id", "project_id", "key", "value", "is_nan", "step", "timestamp")
        )
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(newest))
        flat = [
            x
            for key, (step, ts, value, is_nan) in newest.items()
            for x in (run.pk, run.project_id, key, value, is_nan, step, ts)
        ]
        s, t, v = _q("step"), _q("timestamp"), _q("value")
        cursor.execute(
            f"INSERT INTO {latest} ({latest_columns}) VALUES {values} "  # noqa: S608
            f"ON CONFLICT ({_q('run_id')}, {_q('key')}) DO UPDATE SET "
            f"{v} = excluded.{v}, {_q('is_nan')} = excluded.{_q('is_nan')}, {s} = excluded.{s}, {t} = excluded.{t} "
            f"WHERE (excluded.{s}, excluded.{t}, excluded.{v}) > ({latest}.{s}, {latest}.{t}, {latest}.{v})",
            flat,
        )


# --- Artifacts --------------------------------------------------------------------------
class ArtifactHook(Protocol):
    def __call__(self, *, run: Run, path: str, file: Path) -> None: ...


# Called for every stored artifact inside the transaction that records it (benchmarks
# evaluate a run's predictions.csv this way); tracking itself knows nothing of them.
ARTIFACT_HOOKS: list[ArtifactHook] = []


def register_artifact_hook(hook: ArtifactHook) -> ArtifactHook:
    """Decorator: call ``hook(run=, path=, file=)`` whenever an artifact is stored; it may refuse it."""
    ARTIFACT_HOOKS.append(hook)
    return hook


def validate_artifact_path(path: str) -> str:
    """A relative POSIX path inside the run's artifact folder."""
    path = str(path or "").strip()
    if not path or len(path) > 1000:
        raise ValidationError({"path": "An artifact needs a relative path of at most 1000 characters."})
    if "\x00" in path or "\\" in path or path.startswith("/"):
        raise ValidationError({"path": f"Artifact path {path!r} must be relative and use forward slashes."})
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValidationError({"path": f"Artifact path {path!r} must not contain empty, '.' or '..' parts."})
    return path


def artifact_root(run: Run) -> Path:
    return Path(settings.MEDIA_ROOT) / "artifacts" / run.uuid


def artifact_file(run: Run, path: str) -> Path:
    return artifact_root(run).joinpath(*validate_artifact_path(path).split("/"))


def artifact_save(*, run: Run, path: str, stream: BinaryIO, chunk_size: int = 1024 * 1024) -> Artifact:
    """Store ``stream`` as artifact ``path`` of ``run`` (replacing an older file of that path).

    The file is written to a temporary name and moved into place only when complete and
    within ``settings.ARTIFACT_MAX_BYTES``, so a failed or oversized upload leaves nothing.
    """
    limit = settings.ARTIFACT_MAX_BYTES
    target = artifact_file(run, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir():
        raise ValidationError({"path": f"Artifact path {path!r} is a folder of this run."})
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(chunk_size)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        {"size": f"Artifact {path!r} is larger than the limit of {limit:,} bytes (ARTIFACT_MAX_BYTES)."}
                    )
                out.write(chunk)
        with transaction.atomic():
            artifact, _ = Artifact.objects.update_or_create(run=run, path=path, defaults={"size": size})
            # Other capabilities may look at the file first, and refuse it with a ValidationError.
            for hook in ARTIFACT_HOOKS:
                hook(run=run, path=path, file=Path(tmp_name))
            os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return artifact
