"""Importing a Jira CSV export: mapping, history, idempotence, dry runs and bad rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from tests.factories import UserFactory
from tests.tickets.imports.jira_samples import HOSTILE, ROWS, _row, export
from tickets.models import (
    Comment,
    Epic,
    ImportedIssue,
    Membership,
    Sprint,
    Ticket,
    TicketEvent,
)
from tickets.services.jira_import import jira_import

pytestmark = pytest.mark.django_db
User = get_user_model()
PINNED = 12


def _snapshot(project):
    return (
        sorted(Ticket.objects.filter(project=project).values_list("number", "title", "status", "updated_at")),
        Comment.objects.filter(ticket__project=project).count(),
        TicketEvent.objects.filter(ticket__project=project).count(),
        sorted(Epic.objects.filter(project=project).values_list("title", "status")),
        sorted(Sprint.objects.filter(project=project).values_list("name", "start_date", "end_date")),
        User.objects.count(),
        Membership.objects.filter(project=project).count(),
    )


def _ticket(project, jira_key):
    return ImportedIssue.objects.get(project=project, jira_key=jira_key).ticket


def test_it_maps_a_realistic_export(cast):
    UserFactory(username="grace", email="grace@example.com")
    report = jira_import(project=cast.project, actor=cast.lead, text=export())
    assert report.counts["epics"]["created"] == 1
    assert report.counts["tickets"]["created"] == 5
    assert report.counts["sprints"]["created"] == 2
    assert report.counts["comments"]["created"] == 3

    epic = Epic.objects.get(project=cast.project)
    assert epic.title == "Continuous authentication from typing"
    assert epic.goal == "Tell the owner from an impostor within 30 seconds."

    spike = _ticket(cast.project, "CA-2")
    assert (spike.kind, spike.status, spike.epic) == ("question", "done", epic)
    assert spike.description == 'Look at "dwell" and "flight" times;\nplot per person.\n\nSee the wiki.'
    assert spike.assignee == cast.engineer and spike.question == spike.title and spike.outcome
    comments = list(spike.comments.order_by("created_at"))
    assert [c.body for c in comments] == [
        "Started; first plots look promising.",
        "Separation holds on 40 people\nacross sessions.",
    ]
    assert comments[0].author == cast.engineer
    stranger = comments[1].author
    assert stranger.username == "5b10ac8d82e05b22cc7d4ef5" and not stranger.is_active
    assert not stranger.has_usable_password()
    # History: created at Jira's Created, done at Resolved.
    events = list(spike.events.values_list("field", "new", "created_at"))
    assert events[0][0] == "created" and events[0][1]["status"] == "todo"
    assert events[0][2] == dt.datetime(2026, 11, 2, 9, 15, tzinfo=dt.UTC)
    assert events[1][:2] == ("status", "done")
    assert events[1][2] == dt.datetime(2026, 11, 10, 17, 30, tzinfo=dt.UTC)

    story = _ticket(cast.project, "CA-3")
    assert (story.kind, story.status, story.sprint.name, story.estimate) == ("code", "review", "Sprint 2", 3)
    ada = story.assignee
    assert (ada.first_name, ada.last_name, ada.is_active) == ("Ada", "Lovelace", False)
    assert Membership.objects.get(project=cast.project, user=ada).role == "engineer"
    assert story.created_by == ada

    bug = _ticket(cast.project, "CA-4")
    assert bug.title == HOSTILE and bug.status == "todo" and bug.epic == epic  # parent given by issue id
    assert bug.assignee.username == "grace"  # matched by e-mail, added as engineer
    assert any("'Blocked by legal'" in w and "line 10" in w for w in report.warnings)

    subtask = _ticket(cast.project, "CA-5")
    assert subtask.epic == epic  # through its parent story
    dropped = _ticket(cast.project, "CA-6")
    assert dropped.status == "skipped" and "Won't Do" in dropped.skip_reason

    # Sprints span their tickets' dates.
    sprint1 = Sprint.objects.get(project=cast.project, name="Sprint 1")
    assert sprint1.start_date == dt.date(2026, 11, 2)
    # Keys continue the project's sequence.
    assert sorted(Ticket.objects.filter(project=cast.project).values_list("number", flat=True)) == [1, 2, 3, 4, 5]


def test_importing_twice_changes_nothing(cast):
    jira_import(project=cast.project, actor=cast.lead, text=export())
    before = _snapshot(cast.project)
    report = jira_import(project=cast.project, actor=cast.lead, text=export())
    assert _snapshot(cast.project) == before
    assert report.counts["tickets"] == {"unchanged": 5}
    assert report.counts["epics"] == {"unchanged": 1}
    assert report.counts["sprints"] == {"unchanged": 2}


def test_a_newer_export_updates_what_changed(cast):
    jira_import(project=cast.project, actor=cast.lead, text=export())
    rows = [list(r) for r in ROWS]
    rows[2][4] = "Done"  # CA-3 reviewed and done
    rows[2][21] = "14/Nov/26 3:00 PM;engineer;Merged."
    report = jira_import(project=cast.project, actor=cast.lead, text=export(rows))
    assert report.counts["tickets"] == {"updated": 1, "unchanged": 4}
    assert report.counts["comments"]["created"] == 1
    story = _ticket(cast.project, "CA-3")
    assert story.status == "done"
    assert story.events.filter(field="status", old="review", new="done", actor=cast.lead).exists()
    assert story.comments.count() == 2


def test_a_dry_run_reports_and_saves_nothing(cast):
    before = _snapshot(cast.project)
    report = jira_import(project=cast.project, actor=cast.lead, text=export(), dry_run=True)
    assert report.counts["tickets"]["created"] == 5
    assert "dry run, nothing saved" in report.lines()[0]
    assert _snapshot(cast.project) == before
    assert not ImportedIssue.objects.exists()


def test_a_bad_date_names_line_and_column_and_saves_nothing(cast):
    rows = [list(r) for r in ROWS]
    rows[3][9] = "31/Foo/26"
    before = _snapshot(cast.project)
    with pytest.raises(ValidationError) as caught:
        jira_import(project=cast.project, actor=cast.lead, text=export(rows))
    messages = caught.value.message_dict["file"]
    assert messages[0].startswith("line 10, column Created: '31/Foo/26' is not a date")
    assert _snapshot(cast.project) == before


def test_a_bad_comment_and_missing_column_are_named(cast):
    rows = [list(r) for r in ROWS]
    rows[1][20] = "no date here"
    with pytest.raises(ValidationError) as caught:
        jira_import(project=cast.project, actor=cast.lead, text=export(rows))
    assert "column Comment" in caught.value.message_dict["file"][0]
    header = list(export().splitlines()[0].split(","))
    header[1] = "Key"
    text = ",".join(header) + "\n"
    with pytest.raises(ValidationError) as caught:
        jira_import(project=cast.project, actor=cast.lead, text=text)
    assert caught.value.message_dict["file"] == ["line 1, column Issue key: this column is missing from the header"]


def test_a_bad_last_row_saves_nothing_of_the_good_ones(cast):
    rows = [*ROWS, _row("Huge", "CA-7", "10007", "Story", "To Do", points="5000")]
    before = _snapshot(cast.project)
    with pytest.raises(ValidationError) as caught:
        jira_import(project=cast.project, actor=cast.lead, text=export(rows))
    assert caught.value.message_dict["file"][0].startswith("line 13, column Custom field (Story Points)")
    assert _snapshot(cast.project) == before


def test_the_command_imports_dry_runs_and_reports_errors(cast, tmp_path, capsys):
    path = tmp_path / "jira.csv"
    path.write_text(export(), encoding="utf-8-sig")
    call_command("import_jira", str(path), "--project", "AUTH", "--dry-run")
    out = capsys.readouterr().out
    assert "tickets: 5 created, 0 updated, 0 unchanged" in out and "dry run" in out
    assert not Ticket.objects.exists()
    call_command("import_jira", str(path), "--project", "AUTH")
    call_command("import_jira", str(path), "--project", "AUTH")
    assert "tickets: 0 created, 0 updated, 5 unchanged" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Summary,Issue key,Issue Type,Status\nok,CA-1,Task,Open\n\xff\xfe,CA-2,Task,Open\n")
    with pytest.raises(CommandError, match="line 3: the file is not UTF-8"):
        call_command("import_jira", str(bad), "--project", "AUTH")
    with pytest.raises(CommandError, match="no project 'NOPE'"):
        call_command("import_jira", str(path), "--project", "NOPE")


def test_an_unchanged_export_costs_the_same_queries_whatever_its_size(cast, django_assert_num_queries):
    more = [
        *ROWS,
        *(_row(f"Story {n}", f"CA-{n}", str(10000 + n), "Story", "To Do", epic_link="CA-1") for n in range(7, 40)),
    ]
    for rows in (ROWS, more):
        jira_import(project=cast.project, actor=cast.lead, text=export(rows))
        # The savepoint pair, the project lock, its members, the remembered issues (with their
        # epics and tickets), the sprints by name, and one look-up per distinct assignee (6):
        # people, not issues, so the count does not grow with the file.
        with django_assert_num_queries(PINNED):
            jira_import(project=cast.project, actor=cast.lead, text=export(rows))


def test_an_issue_that_changed_between_epic_and_ticket_is_left_with_a_warning(cast):
    jira_import(project=cast.project, actor=cast.lead, text=export())
    rows = [list(r) for r in ROWS]
    rows[0][3] = "Story"  # CA-1 was the epic
    rows[2][3] = "Epic"  # CA-3 was a story
    before = _snapshot(cast.project)
    report = jira_import(project=cast.project, actor=cast.lead, text=export(rows))
    assert any("CA-1 was imported as an epic and is a Story now" in w for w in report.warnings)
    assert any("CA-3 was imported as a ticket and is an epic now" in w for w in report.warnings)
    assert _snapshot(cast.project) == before


def test_long_sprint_names_are_reused_on_a_second_import(cast):
    rows = [list(r) for r in ROWS]
    rows[2][12] = "S" * 200
    jira_import(project=cast.project, actor=cast.lead, text=export(rows))
    report = jira_import(project=cast.project, actor=cast.lead, text=export(rows))
    assert report.counts["sprints"]["created"] == 0
    assert Sprint.objects.filter(project=cast.project, name="S" * 120).count() == 1
