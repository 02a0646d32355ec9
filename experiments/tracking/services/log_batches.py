"""Logging to a run: params, tags and metric points, a batch at a time, all of it or nothing.

Metric points are idempotent, so a client that retries a request after a lost response stores
each point once; the two hot statements are one multi-row INSERT each."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from experiments.tracking.models import (
    LatestMetric,
    Metric,
    Param,
    Run,
    RunStatus,
    Tag,
)
from experiments.tracking.services.runs import (
    record_ticket_change,
    run_create,
    run_update,
    ticket_in_project,
    tracking_touch,
)
from experiments.tracking.services.validation import (
    MAX_METRICS_PER_BATCH,
    TAG_GIT_COMMIT,
    TAG_NOTE,
    TAG_RUN_NAME,
    TAG_SOURCE_NAME,
    TAG_TICKET,
    TAG_TRUNCATED_PARAMS,
    MetricPoint,
    long_param_keys,
    validate_limits,
    validate_metrics,
    validate_params,
    validate_tags,
)
from tickets.models import Project


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
    validate_limits(len(metrics), len(params), len(tags))
    metric_rows = validate_metrics(metrics)
    param_map = validate_params(params)
    tag_map = validate_tags(tags)
    if param_map:
        _log_params(run, param_map)
        if long_keys := long_param_keys(params):
            _note_truncated(run, long_keys)
    if tag_map:
        _set_tags(run, tag_map, actor)
    if metric_rows:
        _log_metrics(run, metric_rows)
    tracking_touch(run)


def _log_params(run: Run, params: dict[str, str]) -> None:
    """Insert the params that are new; only when some key was there already (a retried request, or a
    change MLflow refuses) are the stored values read, to tell the two apart."""
    flat = [x for key, value in params.items() for x in (run.pk, run.project_id, key, value)]
    with connection.cursor() as cursor:
        cursor.execute(_params_sql(len(params)), flat)
        inserted = cursor.rowcount
    if inserted == len(params):
        return
    existing = dict(Param.objects.filter(run=run, key__in=list(params)).values_list("key", "value"))
    for key, value in params.items():
        if existing.get(key, value) != value:
            raise ValidationError(
                {
                    "params": f"Changing param values is not allowed. Param with key='{key}' was already logged "
                    f"with value='{existing[key]}' for run ID='{run.uuid}'. Attempted logging new value '{value}'."
                }
            )


def _note_truncated(run: Run, keys: list[str]) -> None:
    """Say on the run which param values were cut to MLflow's limit (the tag lists every such key)."""
    old = Tag.objects.filter(run=run, key=TAG_TRUNCATED_PARAMS).values_list("value", flat=True).first() or ""
    value = ",".join(sorted({k for k in old.split(",") if k} | set(keys)))
    Tag.objects.update_or_create(run=run, key=TAG_TRUNCATED_PARAMS, defaults={"value": value[:8000]})


def _set_tags(run: Run, tags: dict[str, str], actor: AbstractBaseUser | None) -> None:
    fields = []
    if TAG_TICKET in tags:
        key = tags.pop(TAG_TICKET)
        old = run.ticket
        run.ticket = ticket_in_project(project=run.project, ticket_key=key) if key else None
        record_ticket_change(run, old, run.ticket, actor)
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


# Raw SQL for the two hot statements: one multi-row INSERT each, the same text on
# SQLite and PostgreSQL (both support ON CONFLICT and row-value comparison). The text depends only
# on the number of rows, so it is built once per size (quoting names per call cost a fifth of a
# single log-metric request).
_CHUNK = 500


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.lru_cache(maxsize=64)
def _points_sql(rows: int) -> str:
    columns = ", ".join(_q(c) for c in ("run_id", "key", "value", "is_nan", "step", "timestamp"))
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * rows)
    # Only quoted identifiers and placeholders are interpolated; values are parameters.
    return f"INSERT INTO {_q(Metric._meta.db_table)} ({columns}) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608


@functools.lru_cache(maxsize=64)
def _latest_sql(rows: int) -> str:
    latest = _q(LatestMetric._meta.db_table)
    columns = ", ".join(_q(c) for c in ("run_id", "project_id", "key", "value", "is_nan", "step", "timestamp"))
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * rows)
    s, t, v = _q("step"), _q("timestamp"), _q("value")
    return (
        f"INSERT INTO {latest} ({columns}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({_q('run_id')}, {_q('key')}) DO UPDATE SET "
        f"{v} = excluded.{v}, {_q('is_nan')} = excluded.{_q('is_nan')}, {s} = excluded.{s}, {t} = excluded.{t} "
        f"WHERE (excluded.{s}, excluded.{t}, excluded.{v}) > ({latest}.{s}, {latest}.{t}, {latest}.{v})"
    )


@functools.lru_cache(maxsize=64)
def _params_sql(rows: int) -> str:
    columns = ", ".join(_q(c) for c in ("run_id", "project_id", "key", "value"))
    values = ", ".join(["(%s, %s, %s, %s)"] * rows)
    return (
        f"INSERT INTO {_q(Param._meta.db_table)} ({columns}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({_q('run_id')}, {_q('key')}) DO NOTHING"
    )


def _log_metrics(run: Run, rows: list[tuple[str, float, bool, int, int]]) -> None:
    run_id, project_id = run.pk, run.project_id
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            cursor.execute(_points_sql(len(chunk)), [x for row in chunk for x in (run_id, *row)])
        newest: dict[str, tuple] = {}
        for key, value, is_nan, step, timestamp in rows:
            candidate = (step, timestamp, value, is_nan)
            if key not in newest or candidate[:3] > newest[key][:3]:
                newest[key] = candidate
        flat = [
            x
            for key, (step, ts, value, is_nan) in newest.items()
            for x in (run_id, project_id, key, value, is_nan, step, ts)
        ]
        cursor.execute(_latest_sql(len(newest)), flat)
