"""The inbox page, the bell's count, Watch/Unwatch on a ticket and the e-mail preference page."""

from __future__ import annotations

import pytest

from inbox.models import EmailChoice, Notification, NotificationPreference, Watcher
from tests.factories import TicketFactory
from tickets import services


@pytest.fixture
def mentioned(cast):
    ticket = TicketFactory(project=cast.project, title="x');alert(1);(' <b>bold</b>")
    services.comment_create(ticket=ticket, author=cast.engineer, body="@lead look")
    return ticket


@pytest.mark.django_db
def test_the_inbox_lists_the_callers_notifications_as_text(cast, web, mentioned):
    html = web(cast.lead).get("/inbox/").content.decode()
    assert html.count('data-testid="notification"') == 1
    assert "x&#x27;);alert(1);(&#x27; &lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    assert 'data-testid="inbox-empty"' in web(cast.stakeholder).get("/inbox/").content.decode()


@pytest.mark.django_db
def test_the_inbox_page_costs_the_same_queries_for_more_rows(cast, web, mentioned, django_assert_num_queries):
    client = web(cast.lead)
    client.get("/inbox/")
    # session, user, count, the page (project, actor, ticket joined), the project switcher
    with django_assert_num_queries(5):
        client.get("/inbox/")
    for n in range(10):
        services.comment_create(ticket=TicketFactory(project=cast.project), author=cast.engineer, body=f"@lead {n}")
    with django_assert_num_queries(5):
        client.get("/inbox/")


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(web):
    assert web(None).get("/inbox/").status_code == 302
    assert web(None).get("/inbox/count/").content.strip() == b""


@pytest.mark.django_db
def test_the_bell_counts_unread(cast, web, mentioned):
    client = web(cast.lead)
    assert b">1<" in client.get("/inbox/count/").content
    client.post("/inbox/read-all/")
    assert client.get("/inbox/count/").content.strip() == b""


@pytest.mark.django_db
def test_opening_a_notification_marks_it_read_and_goes_to_its_page(cast, web, mentioned):
    note = Notification.objects.get(recipient=cast.lead)
    response = web(cast.lead).post(f"/inbox/{note.pk}/open/")
    assert response.status_code == 302 and response["Location"] == f"/t/{mentioned.key}/"
    note.refresh_from_db()
    assert note.read_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["engineer", "stakeholder", "outsider"])
def test_someone_elses_notification_cannot_be_opened(cast, web, mentioned, who):
    note = Notification.objects.get(recipient=cast.lead)
    assert web(cast.user(who)).post(f"/inbox/{note.pk}/open/").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["lead", "engineer", "stakeholder"])
def test_members_watch_and_unwatch(cast, web, who):
    ticket = TicketFactory(project=cast.project)
    client = web(cast.user(who))
    assert 'data-testid="watch"' in client.get(f"/t/{ticket.key}/").content.decode()
    client.post(f"/t/{ticket.key}/watch/", {"watch": "1"})
    assert Watcher.objects.filter(ticket=ticket, user=cast.user(who)).exists()
    assert 'data-testid="unwatch"' in client.get(f"/t/{ticket.key}/").content.decode()
    client.post(f"/t/{ticket.key}/watch/", {"watch": "0"})
    assert not Watcher.objects.filter(ticket=ticket, user=cast.user(who)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["AUTH-1", "AUTH-999", "OTHER-1"])
def test_outsiders_cannot_watch(cast, web, key):
    TicketFactory(project=cast.project)
    response = web(cast.outsider).post(f"/t/{key}/watch/", {"watch": "1"})
    assert response.status_code == 404 and Watcher.objects.count() == 0


@pytest.mark.django_db
def test_the_email_preference_is_saved_and_bad_input_changes_nothing(cast, web):
    client = web(cast.engineer)
    html = client.get("/account/notifications/").content.decode()
    assert 'value="immediately"' in html and "checked" in html
    client.post("/account/notifications/", {"email": "daily"})
    assert NotificationPreference.objects.get(user=cast.engineer).email == EmailChoice.DAILY
    response = client.post("/account/notifications/", {"email": "hourly"})
    assert response.status_code == 400 and "hourly is not one of the available choices" in response.content.decode()
    assert NotificationPreference.objects.get(user=cast.engineer).email == EmailChoice.DAILY


@pytest.mark.django_db
def test_the_ticket_page_links_members_mentions_only(cast, web):
    ticket = TicketFactory(project=cast.project, description="Ask @engineer, not @outsider.")
    services.comment_create(ticket=ticket, author=cast.lead, body="@stakeholder FYI")
    html = web(cast.stakeholder).get(f"/t/{ticket.key}/").content.decode()
    assert 'href="/p/AUTH/backlog/?assignee=engineer"' in html
    assert 'href="/p/AUTH/backlog/?assignee=stakeholder"' in html
    assert "@outsider" in html and "assignee=outsider" not in html
