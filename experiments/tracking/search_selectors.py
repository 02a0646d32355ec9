"""Reads for MLflow's run search: the filter language's clauses and order keys as queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Exists, F, FloatField, OuterRef, Q, QuerySet, Subquery, TextField

from experiments.tracking.models import LatestMetric, Param, Run, RunStatus, Tag
from experiments.tracking.search_syntax import Clause, OrderKey, like_to_regex
from experiments.tracking.services import TAG_NOTE, TAG_RUN_NAME, TAG_TICKET
from tickets.access import id_or_none
from tickets.models import Project

STATUS_TO_MLFLOW = {
    RunStatus.RUNNING: "RUNNING",
    RunStatus.FINISHED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.KILLED: "KILLED",
}
MLFLOW_TO_STATUS = {v: k for k, v in STATUS_TO_MLFLOW.items()} | {"SCHEDULED": RunStatus.RUNNING}


def metric_value_subquery(key: str) -> Subquery:
    return Subquery(
        LatestMetric.objects.filter(run=OuterRef("pk"), key=key, is_nan=False).values("value")[:1],
        output_field=FloatField(),
    )


def param_value_subquery(key: str) -> Subquery:
    return Subquery(Param.objects.filter(run=OuterRef("pk"), key=key).values("value")[:1], output_field=TextField())


def search_runs(
    *,
    experiments: Sequence[tuple[Project, int | None]],
    clauses: Sequence[Clause],
    order: Sequence[OrderKey],
    view: str = "ACTIVE_ONLY",
) -> QuerySet[Run]:
    """The runs of ``experiments`` ((project, named experiment id or None)) matching MLflow search
    ``clauses``, in ``order``; ``view`` is MLflow's run_view_type (ACTIVE_ONLY, DELETED_ONLY, ALL)."""
    scope = Q(pk__in=[])
    for project, experiment_id in experiments:
        scope |= Q(project=project, experiment_id=experiment_id)
    runs = Run.objects.filter(scope).select_related("ticket", "started_by", "project")
    if view == "ACTIVE_ONLY":
        runs = runs.filter(deleted_at__isnull=True)
    elif view == "DELETED_ONLY":
        runs = runs.filter(deleted_at__isnull=False)
    return order_search(apply_search(runs, clauses), order)


_NUM_LOOKUP = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def _number_q(field: str, op: str, value: float) -> Q:
    if op == "!=":
        return ~Q(**{field: value})
    return Q(**{f"{field}__{_NUM_LOOKUP[op]}": value})


def _text_q(field: str, op: str, value: str) -> Q:
    if op == "=":
        return Q(**{field: value})
    if op == "!=":
        return ~Q(**{field: value})
    lookup = "iregex" if op == "ILIKE" else "regex"
    return Q(**{f"{field}__{lookup}": like_to_regex(value)})


def _ms_to_datetime(ms: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _attribute_q(clause: Clause) -> Q:
    key, op, value = clause.key, clause.op, clause.value
    if key == "status":
        values = value if op in ("IN", "NOT IN") else (value,)
        statuses = [MLFLOW_TO_STATUS.get(str(v).upper(), str(v).lower()) for v in values]
        if op in ("IN", "=") or op == "LIKE":
            return Q(status__in=statuses)
        return ~Q(status__in=statuses)
    if key in ("run_id", "run_name", "user_id"):
        field = {"run_id": "uuid", "run_name": "name", "user_id": "started_by__username"}[key]
        if op == "IN":
            return Q(**{f"{field}__in": list(value)})
        if op == "NOT IN":
            return ~Q(**{f"{field}__in": list(value)})
        return _text_q(field, op, str(value))
    # start_time / end_time in milliseconds
    moment = _ms_to_datetime(float(value))
    return _number_q(key, op, moment)


def apply_search(runs: QuerySet[Run], clauses: Sequence[Clause]) -> QuerySet[Run]:
    """Filter ``runs`` by parsed MLflow search clauses."""
    for clause in clauses:
        if clause.entity == "metrics":
            inner = LatestMetric.objects.filter(run=OuterRef("pk"), key=clause.key, is_nan=False)
            if clause.op == "!=":
                inner = inner.exclude(value=clause.value)
            else:
                inner = inner.filter(_number_q("value", clause.op, clause.value))
            runs = runs.filter(Exists(inner))
        elif clause.entity == "params":
            inner = Param.objects.filter(run=OuterRef("pk"), key=clause.key).filter(
                _text_q("value", clause.op, str(clause.value))
            )
            runs = runs.filter(Exists(inner))
        elif clause.entity == "tags":
            runs = _filter_tag(runs, clause)
        else:
            runs = runs.filter(_attribute_q(clause))
    return runs


def _filter_tag(runs: QuerySet[Run], clause: Clause) -> QuerySet[Run]:
    value = str(clause.value)
    if clause.key == TAG_RUN_NAME:
        return runs.filter(_text_q("name", clause.op, value))
    if clause.key == TAG_NOTE:
        return runs.filter(_text_q("notes", clause.op, value))
    if clause.key == TAG_TICKET:
        if clause.op in ("=", "!="):
            prefix, _, number = value.upper().rpartition("-")
            ticket_number = id_or_none(number)
            match = Q(project__key=prefix, ticket__number=ticket_number) if ticket_number else Q(pk__in=[])
            return runs.filter(match if clause.op == "=" else ~match)
        return runs.filter(ticket__isnull=False)
    inner = Tag.objects.filter(run=OuterRef("pk"), key=clause.key).filter(_text_q("value", clause.op, value))
    return runs.filter(Exists(inner))


def order_search(runs: QuerySet[Run], order: Sequence[OrderKey]) -> QuerySet[Run]:
    expressions = []
    for index, item in enumerate(order):
        if item.entity == "metrics":
            name = f"order_{index}"
            runs = runs.annotate(**{name: metric_value_subquery(item.key)})
            field = F(name)
        elif item.entity == "params":
            name = f"order_{index}"
            runs = runs.annotate(**{name: param_value_subquery(item.key)})
            field = F(name)
        elif item.entity == "tags":
            name = f"order_{index}"
            runs = runs.annotate(
                **{name: Subquery(Tag.objects.filter(run=OuterRef("pk"), key=item.key).values("value")[:1])}
            )
            field = F(name)
        else:
            field = F({"run_name": "name", "run_id": "uuid", "user_id": "started_by__username"}.get(item.key, item.key))
        expressions.append(field.asc(nulls_last=True) if item.ascending else field.desc(nulls_last=True))
    expressions += [F("start_time").desc(), F("id").desc()]
    return runs.order_by(*expressions)


# --- The run list's columns and the comparison page ------------------------------------
