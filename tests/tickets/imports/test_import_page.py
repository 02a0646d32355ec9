"""The Jira import page: leads only, uploads a CSV, shows the report or the rows at fault."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.tickets.imports.jira_samples import HOSTILE, ROWS, export
from tickets.models import ImportedIssue, Ticket

pytestmark = pytest.mark.django_db
URL = "/p/AUTH/import/jira/"


def _upload(text: str = "", name: str = "jira.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (text or export()).encode(), content_type="text/csv")


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", 200)])
def test_only_leads_may_open_the_page(web, cast, who, status):
    assert web(cast.user(who)).get(URL).status_code == status


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", 200)])
def test_only_leads_may_import(web, cast, who, status):
    response = web(cast.user(who)).post(URL, {"file": _upload()})
    assert response.status_code == status
    assert Ticket.objects.filter(project=cast.project).count() == (5 if status == 200 else 0)


def test_anonymous_users_are_sent_to_log_in(web, cast):
    response = web(None).get(URL)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_lead_sees_the_link_and_others_do_not(web, cast):
    assert 'data-testid="import-jira-link"' in web(cast.lead).get("/p/AUTH/").content.decode()
    assert 'data-testid="import-jira-link"' not in web(cast.engineer).get("/p/AUTH/").content.decode()


def test_a_dry_run_shows_the_report_and_saves_nothing(web, cast):
    response = web(cast.lead).post(URL, {"file": _upload(), "dry_run": "on"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Dry run: nothing was saved" in page and "tickets: 5 created, 0 updated, 0 unchanged" in page
    assert "x&#x27;);alert(1);(&#x27;" in page and HOSTILE not in page
    assert not Ticket.objects.exists() and not ImportedIssue.objects.exists()


def test_an_import_then_a_second_one_changes_nothing(web, cast):
    web(cast.lead).post(URL, {"file": _upload()})
    page = web(cast.lead).post(URL, {"file": _upload()}).content.decode()
    assert "tickets: 0 created, 0 updated, 5 unchanged" in page
    assert Ticket.objects.filter(project=cast.project).count() == 5


def test_a_bad_row_is_named_and_nothing_is_saved(web, cast):
    rows = [list(r) for r in ROWS]
    rows[3][9] = "31/Foo/26"
    response = web(cast.lead).post(URL, {"file": _upload(export(rows))})
    assert response.status_code == 400
    assert "line 10, column Created: &#x27;31/Foo/26&#x27; is not a date" in response.content.decode()
    assert not Ticket.objects.exists()


@override_settings(JIRA_IMPORT_MAX_BYTES=1024)
def test_a_file_over_the_limit_is_refused_with_a_clear_message(web, cast):
    response = web(cast.lead).post(URL, {"file": _upload(export() * 3, name="big.csv")})
    assert response.status_code == 400
    assert "big.csv is 0.0 MB; the limit is 0.0 MB (JIRA_IMPORT_MAX_BYTES)" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_missing_file_and_a_binary_file_get_messages(web, cast):
    response = web(cast.lead).post(URL, {})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    binary = SimpleUploadedFile("x.csv", b"Summary,Issue key\n\xff\xfe\x00", content_type="text/csv")
    response = web(cast.lead).post(URL, {"file": binary})
    assert response.status_code == 400 and "line 2: the file is not UTF-8 text" in response.content.decode()
