"""Jira CSV exports as Jira writes them: repeated Comment, Sprint and Labels columns, quoted
multi-line descriptions, ``dd/MMM/yy h:mm a`` dates."""

from __future__ import annotations

import csv
import io

HEADER = [
    "Summary",
    "Issue key",
    "Issue id",
    "Issue Type",
    "Status",
    "Priority",
    "Resolution",
    "Assignee",
    "Reporter",
    "Created",
    "Updated",
    "Resolved",
    "Sprint",
    "Sprint",
    "Labels",
    "Labels",
    "Description",
    "Custom field (Epic Link)",
    "Parent",
    "Custom field (Story Points)",
    "Comment",
    "Comment",
    "Comment",
]

HOSTILE = "x');alert(1);('"


def _row(
    summary,
    key,
    issue_id,
    issue_type,
    status,
    *,
    resolution="",
    assignee="",
    reporter="Ada Lovelace",
    created="02/Nov/26 9:15 AM",
    updated="20/Nov/26 4:05 PM",
    resolved="",
    sprints=("", ""),
    labels=("", ""),
    description="",
    epic_link="",
    parent="",
    points="",
    comments=("", "", ""),
):
    return [
        summary,
        key,
        issue_id,
        issue_type,
        status,
        "Medium",
        resolution,
        assignee,
        reporter,
        created,
        updated,
        resolved,
        *sprints,
        *labels,
        description,
        epic_link,
        parent,
        points,
        *comments,
    ]


ROWS = [
    _row(
        "Continuous authentication from typing",
        "CA-1",
        "10001",
        "Epic",
        "In Progress",
        description="Tell the owner from an impostor within 30 seconds.\nMeasured on held-out people.",
    ),
    _row(
        "Does typing rhythm separate people?",
        "CA-2",
        "10002",
        "Spike",
        "Done",
        resolution="Done",
        assignee="engineer",
        resolved="10/Nov/26 5:30 PM",
        sprints=("Sprint 1", ""),
        epic_link="CA-1",
        description='Look at "dwell" and "flight" times;\nplot per person.\n\nSee the wiki.',
        comments=(
            "03/Nov/26 10:00 AM;engineer;Started; first plots look promising.",
            "09/Nov/26 2:45 PM;5b10ac8d82e05b22cc7d4ef5;Separation holds on 40 people\nacross sessions.",
            "",
        ),
    ),
    _row(
        "Baseline rule: reject below mean dwell",
        "CA-3",
        "10003",
        "Story",
        "Code Review",
        assignee="Ada Lovelace",
        sprints=("Sprint 1", "Sprint 2"),
        labels=("baseline", "skeleton"),
        epic_link="CA-1",
        points="3",
        comments=("12/Nov/26 11:00 AM;Ada Lovelace;Carried over; review pending.", "", ""),
    ),
    _row(
        HOSTILE,
        "CA-4",
        "10004",
        "Bug",
        "Blocked by legal",
        assignee="grace@example.com",
        sprints=("Sprint 2", ""),
        parent="10001",
    ),
    _row("Sub-task of the baseline", "CA-5", "10005", "Sub-task", "To Do", parent="10003"),
    _row(
        "Drop the keyboard-layout idea",
        "CA-6",
        "10006",
        "Task",
        "Closed",
        resolution="Won't Do",
        resolved="15/Nov/26 9:00 AM",
        created="2026-11-03T08:00:00+00:00",
    ),
]


def export(rows=ROWS, header=HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
