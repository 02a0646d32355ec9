"""Batches of outcome events from production: validated line by line, stored whole or not at all, and
idempotent by event id (a unique constraint and an insert that skips conflicts), then aggregated by a worker.

A batch is CSV with a header or JSON lines, with the columns ``event_id, unit, variant, outcome`` and
``timestamp`` (ISO 8601, or seconds since the epoch), optionally ``covariate`` (the unit's pre-period
value of the primary outcome, for CUPED) and one column per guardrail outcome (blank when not measured).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from experiments.abtests.models import AbTestState, OnlineEvent, OnlineTest

MAX_EVENTS = 10_000
MAX_ERRORS = 20
MAX_TEXT = 128
# Sums of squares of a million such values stay far inside a double (and the database's float).
MAX_MAGNITUDE = 1e12
TIME_FORMATS = "use ISO 8601 (2026-01-31T12:00:00Z) or seconds since the epoch"
REQUIRED = ("event_id", "unit", "variant", "outcome", "timestamp")


class EventBatchError(ValueError):
    """A batch refused whole; ``errors`` lists ``{"line", "column", "message"}`` (line 1 is a CSV header)."""

    def __init__(self, errors: list[dict], *, status: int = 400) -> None:
        self.errors = errors
        self.status = status
        first = errors[0]
        where = ", ".join(
            part for part in (f"line {first['line']}" if first.get("line") else "", first.get("column") or "") if part
        )
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}: {first['message']}{more}" if where else first["message"] + more)


@dataclass(frozen=True)
class IngestResult:
    received: int
    stored: int
    duplicates: int


class _Line:
    """Checks the fields of one event, recording what is wrong with each."""

    def __init__(self, test: OnlineTest, number: int, errors: list[dict]) -> None:
        self.test, self.line_no, self.errors = test, number, errors

    def fail(self, column: str | None, message: str) -> None:
        self.errors.append({"line": self.line_no, "column": column, "message": message})

    def text(self, value, column: str) -> str | None:
        text = "" if value is None else str(value).strip()
        if not text:
            self.fail(column, "is empty")
            return None
        if "\x00" in text:
            self.fail(column, "contains a NUL character")
            return None
        if len(text) > MAX_TEXT:
            self.fail(column, f"is longer than {MAX_TEXT} characters")
            return None
        return text

    def number(self, value, column: str, *, binary: bool, optional: bool) -> float | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if not optional:
                self.fail(column, "is empty; a number is needed")
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            self.fail(column, f"{value!r} is not a number")
            return None
        if not math.isfinite(number):
            self.fail(column, f"{value!r} is not a finite number")
            return None
        if abs(number) > MAX_MAGNITUDE:
            self.fail(column, f"{value!r} is beyond ±{MAX_MAGNITUDE:.0e}; send the outcome in a smaller unit")
            return None
        if binary and number not in (0.0, 1.0):
            self.fail(column, f"{value!r} must be 0 or 1 (a binary outcome)")
            return None
        return number

    def moment(self, value, column: str) -> dt.datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            self.fail(column, f"is empty; {TIME_FORMATS}")
            return None
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
            text = str(value).strip()
            try:
                return dt.datetime.fromtimestamp(float(text), tz=dt.UTC)
            except ValueError:
                moment = dt.datetime.fromisoformat(text)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
            return moment.astimezone(dt.UTC)
        except (ValueError, OverflowError, OSError):
            self.fail(
                column, f"{value!r} is not a time; use ISO 8601 (2026-01-31T12:00:00Z) or seconds since the epoch"
            )
            return None


def _event(test: OnlineTest, row: dict, line: _Line, now: dt.datetime) -> OnlineEvent | None:
    errors_before = len(line.errors)
    guardrails = {g["name"]: g for g in test.guardrails}
    unknown = [c for c in row if c not in REQUIRED and c != "covariate" and c not in guardrails]
    for column in unknown:
        line.fail(str(column), f"is not a column of this test (columns: {', '.join(_columns(test))})")
    event_id = line.text(row.get("event_id"), "event_id")
    unit = line.text(row.get("unit"), "unit")
    variant = line.text(row.get("variant"), "variant")
    if variant is not None and variant not in test.variants:
        line.fail("variant", f"{variant!r} is not an arm of this test (arms: {', '.join(test.variants)})")
    primary = test.primary
    outcome = line.number(row.get("outcome"), "outcome", binary=primary.get("kind") == "binary", optional=False)
    cuped = bool(primary.get("cuped"))
    covariate = line.number(row.get("covariate"), "covariate", binary=False, optional=not cuped)
    values = {}
    for name, metric in guardrails.items():
        value = line.number(row.get(name), name, binary=metric.get("kind") == "binary", optional=True)
        if value is not None:
            values[name] = value
    moment = line.moment(row.get("timestamp"), "timestamp")
    if len(line.errors) > errors_before:
        return None
    return OnlineEvent(
        test_id=test.pk,
        event_id=event_id,
        unit=unit,
        variant=variant,
        outcome=outcome,
        covariate=covariate,
        guardrails=values,
        timestamp=moment,
        received_at=now,
    )


def _columns(test: OnlineTest) -> list[str]:
    return [*REQUIRED, "covariate", *(g["name"] for g in test.guardrails)]


def _rows(text: str, fmt: str):
    """``(line number, dict or an error message)`` for each non-blank event line."""
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text))
        header = None
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lstrip("\ufeff") for cell in row]
                continue
            if len(row) != len(header):
                yield reader.line_num, f"has {len(row)} fields but the header has {len(header)}"
                continue
            yield reader.line_num, dict(zip(header, row, strict=True))
        return
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as error:
            yield number, f"is not valid JSON ({error.msg} at character {error.pos + 1})"
            continue
        yield number, value if isinstance(value, dict) else "must be a JSON object"


def detect_format(content_type: str, body: str) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return "csv"
    if kind in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json"):
        return "jsonl"
    return "jsonl" if body.lstrip().startswith("{") else "csv"


def parse_batch(*, test: OnlineTest, body: bytes | str, content_type: str = "") -> list[OnlineEvent]:
    """The events of a batch, or ``EventBatchError`` with every problem (up to 20) by line and column."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise EventBatchError(
                [
                    {
                        "line": None,
                        "column": None,
                        "message": f"the batch is not UTF-8 ({error.reason} at byte {error.start})",
                    }
                ]
            ) from None
    fmt = detect_format(content_type, body)
    errors: list[dict] = []
    events: list[OnlineEvent] = []
    now = timezone.now()
    for number, row in _rows(body, fmt):
        if len(events) + len(errors) >= MAX_EVENTS:
            raise EventBatchError(
                [{"line": number, "column": None, "message": f"a batch holds at most {MAX_EVENTS:,} events; split it"}],
                status=413,
            )
        line = _Line(test, number, errors)
        if isinstance(row, str):
            line.fail(None, row)
        else:
            event = _event(test, row, line, now)
            if event is not None:
                events.append(event)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise EventBatchError(errors)
    if not events:
        raise EventBatchError([{"line": None, "column": None, "message": "the batch holds no events"}])
    return events


def events_ingest(*, test: OnlineTest, body: bytes | str, content_type: str = "") -> IngestResult:
    """Validate a batch and store its new events; events already stored (same ``event_id``) are skipped,
    so sending a batch twice changes nothing. Nothing is stored when any line is bad."""
    if test.state != AbTestState.RUNNING:
        raise EventBatchError(
            [
                {
                    "line": None,
                    "column": None,
                    "message": f"This test is {test.state}; events are accepted while it runs.",
                }
            ],
            status=409,
        )
    events = parse_batch(test=test, body=body, content_type=content_type)
    unique = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    with transaction.atomic():
        known = set(OnlineEvent.objects.filter(test=test, event_id__in=list(unique)).values_list("event_id", flat=True))
        fresh = [event for key, event in unique.items() if key not in known]
        OnlineEvent.objects.bulk_create(fresh, batch_size=2_000, ignore_conflicts=True)
        if fresh:
            OnlineTest.objects.filter(pk=test.pk).update(events_version=F("events_version") + 1)
            if getattr(settings, "ABTESTS_AGGREGATE_ON_INGEST", True):
                from experiments.abtests.tasks import abtest_aggregate

                transaction.on_commit(lambda: abtest_aggregate.delay(test.pk))
    return IngestResult(received=len(events), stored=len(fresh), duplicates=len(events) - len(fresh))
