"""Reading Jira's CSV export into plain records: no Django, no database.

Jira's export ("Export Excel CSV (all fields)") has one header row in which a field with
several values repeats its column: ``Comment`` once per comment, ``Sprint`` once per
sprint the issue was in, ``Labels`` once per label. Dates are in the instance's export
format, by default ``dd/MMM/yy h:mm a`` (``30/Nov/26 4:05 PM``); ISO dates are accepted
too. A comment cell reads ``date;author;body`` where the author is an account id or a
name and the body may itself contain semicolons and line breaks.

Every problem is reported with the physical line of the file where the record starts and
the column's name, so a user can find it in a spreadsheet; the parser collects all of
them rather than stopping at the first.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterable

REQUIRED_COLUMNS = ("Summary", "Issue key", "Issue Type", "Status")

_JIRA_FORMATS = (
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%d/%b/%y",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$")
# Parent columns across Jira versions: the Cloud "Parent" (an issue id), "Parent id", and
# the company-managed "Custom field (Epic Link)" (an issue key).
PARENT_COLUMNS = ("Parent", "Parent id", "Custom field (Epic Link)", "Epic Link")


class JiraCsvError(ValueError):
    """The file cannot be imported; ``problems`` lists ``(line, column, message)``."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(format_problem(p) for p in problems[:20]))


def format_problem(problem: tuple[int, str, str]) -> str:
    line, column, message = problem
    where = f"line {line}, column {column}" if column else f"line {line}"
    return f"{where}: {message}"


@dataclasses.dataclass
class JiraComment:
    created: dt.datetime
    author: str
    body: str


@dataclasses.dataclass
class JiraIssue:
    line: int
    key: str
    issue_id: str
    summary: str
    issue_type: str
    status: str
    priority: str = ""
    resolution: str = ""
    assignee: str = ""
    reporter: str = ""
    created: dt.datetime | None = None
    updated: dt.datetime | None = None
    resolved: dt.datetime | None = None
    description: str = ""
    sprints: list[str] = dataclasses.field(default_factory=list)
    labels: list[str] = dataclasses.field(default_factory=list)
    parent: str = ""
    estimate: int | None = None
    comments: list[JiraComment] = dataclasses.field(default_factory=list)


def parse_date(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """A Jira export date (``30/Nov/26 4:05 PM``) or an ISO one; naive values are in ``tz``.

    Returns None for an empty cell; raises ValueError for anything else that is not a date.
    """
    text = (text or "").strip()
    if not text:
        return None
    value = None
    for fmt in _JIRA_FORMATS:
        try:
            value = dt.datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if value is None:
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (expected e.g. 30/Nov/26 4:05 PM or 2026-11-30 16:05)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def parse_comment(text: str, tz: dt.tzinfo) -> JiraComment | None:
    """``date;author;body``; the body keeps any further semicolons. None for an empty cell."""
    if not (text or "").strip():
        return None
    parts = text.split(";", 2)
    if len(parts) < 3:
        raise ValueError("a comment reads 'date;author;body'")
    created = parse_date(parts[0], tz)
    if created is None:
        raise ValueError("a comment needs a date before its first ';'")
    return JiraComment(created=created, author=parts[1].strip(), body=parts[2].strip())


def _estimate(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    number = float(text)
    if number < 0 or number > 1000:
        raise ValueError(f"{text!r} is not a story-point estimate between 0 and 1000")
    return round(number)


class _Row:
    """One record's cells by column name; repeated columns give all their non-empty values."""

    def __init__(self, header: list[str], cells: list[str], line: int, problems: list) -> None:
        self.header, self.cells, self.line, self.problems = header, cells, line, problems

    def all(self, name: str) -> list[str]:
        return [c.strip() for h, c in zip(self.header, self.cells, strict=False) if h == name and c.strip()]

    def one(self, name: str) -> str:
        values = self.all(name)
        return values[0] if values else ""

    def converted(self, name: str, convert, *args):
        text = self.one(name)
        try:
            return convert(text, *args)
        except ValueError as error:
            self.problems.append((self.line, name, str(error)))
            return None


def _issue(row: _Row, tz: dt.tzinfo) -> JiraIssue:
    problems, line = row.problems, row.line
    key = row.one("Issue key")
    if not _ISSUE_KEY.match(key):
        problems.append((line, "Issue key", f"{key!r} is not a Jira issue key (e.g. PROJ-12)"))
    summary = row.one("Summary")
    if not summary:
        problems.append((line, "Summary", "every issue needs a summary"))
    for name in ("Issue Type", "Status"):
        if not row.one(name):
            problems.append((line, name, "must not be empty"))
    issue = JiraIssue(
        line=line,
        key=key,
        issue_id=row.one("Issue id"),
        summary=summary,
        issue_type=row.one("Issue Type"),
        status=row.one("Status"),
        priority=row.one("Priority"),
        resolution=row.one("Resolution"),
        assignee=row.one("Assignee"),
        reporter=row.one("Reporter"),
        description=next((c for h, c in zip(row.header, row.cells, strict=False) if h == "Description"), "").strip(),
        sprints=list(dict.fromkeys(row.all("Sprint"))),
        labels=row.all("Labels"),
        parent=next((v for name in PARENT_COLUMNS for v in row.all(name)), ""),
    )
    issue.created = row.converted("Created", parse_date, tz)
    issue.updated = row.converted("Updated", parse_date, tz)
    issue.resolved = row.converted("Resolved", parse_date, tz)
    issue.estimate = row.converted("Custom field (Story Points)", _estimate)
    for cell in row.all("Comment"):
        try:
            comment = parse_comment(cell, tz)
        except ValueError as error:
            problems.append((line, "Comment", f"{cell[:40]!r}: {error}"))
        else:
            if comment is not None:
                issue.comments.append(comment)
    return issue


def read_issues(text: str | Iterable[str], tz: dt.tzinfo) -> list[JiraIssue]:
    """Every issue of the export, in file order; ``JiraCsvError`` listing all problems otherwise."""
    stream = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(stream)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise JiraCsvError([(1, "", "the file is empty; export issues from Jira as CSV (all fields)")]) from None
    except csv.Error as error:
        raise JiraCsvError([(1, "", f"not a CSV file ({error})")]) from None
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise JiraCsvError([(1, name, "this column is missing from the header") for name in missing])
    issues: list[JiraIssue] = []
    problems: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append((line, "", f"not valid CSV ({error})"))
            break
        if any(c.strip() for c in cells):
            issue = _issue(_Row(header, cells, line, problems), tz)
            if issue.key in seen:
                problems.append((line, "Issue key", f"{issue.key} appears twice (first on line {seen[issue.key]})"))
            seen.setdefault(issue.key, line)
            issues.append(issue)
        line = reader.line_num + 1
    if problems:
        raise JiraCsvError(problems)
    return issues
