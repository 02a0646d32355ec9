"""What MLflow accepts: metric, param and tag names and values, the batch limits, and the tags that are run fields."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Sequence
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils import timezone

from experiments.tracking.models import (
    MAX_KEY_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_RUN_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)

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


# Set on a run whose param values were cut to MLflow's 6,000 characters: the keys, comma-separated.
TAG_TRUNCATED_PARAMS = "agileml.truncated_params"


def long_param_keys(params: Sequence[tuple[str, str]]) -> list[str]:
    """Keys whose value is longer than MLflow keeps (they are stored cut to its first characters)."""
    return sorted({k for k, v in params if v is not None and len(str(v)) > MAX_PARAM_VALUE_LENGTH})


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


def validate_limits(n_metrics: int, n_params: int, n_tags: int) -> None:
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


def validate_params(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for key, value in params:
        validate_key(key, what="param")
        value = "" if value is None else str(value)
        # MLflow's server keeps the first 6,000 characters of a longer value (MLFLOW_TRUNCATE_LONG_VALUES).
        value = value[:MAX_PARAM_VALUE_LENGTH]
        if key in seen and seen[key] != value:
            raise ValidationError(
                {
                    "params": f"Param {key!r} appears twice in one request with different values "
                    f"({seen[key]!r}, {value!r})."
                }
            )
        seen[key] = value
    return seen


def validate_tags(tags: Sequence[tuple[str, str]]) -> dict[str, str]:
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


def validate_metrics(metrics: Sequence[MetricPoint]) -> list[tuple[str, float, bool, int, int]]:
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
