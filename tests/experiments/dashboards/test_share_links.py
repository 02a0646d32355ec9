"""Share links: leads manage them; a link opens its demo page (and its pictures) and nothing else."""

import datetime
import hashlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from experiments.dashboards import services
from experiments.dashboards.models import DemoMaterial, ShareLink, ShareLinkUse
from tests.experiments.dashboard_story import add_picture, build_story, png_bytes
from tests.factories import MembershipFactory, ProjectFactory
from tickets import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(cast):
    return build_story(cast)


def make_link(story, *, sprint=None, days: int = 7, label: str = "Board") -> tuple[ShareLink, str]:
    return services.share_link_create(
        project=story.cast.project,
        actor=story.cast.lead,
        sprint=sprint,
        label=label,
        expires_at=clock.now() + datetime.timedelta(days=days),
    )


# --- The API: leads only ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", 200)]
)
def test_listing_share_links_role_matrix(story, api, who, status):
    make_link(story)
    response = api(story.cast.user(who) if who else None).get("/api/v1/projects/AUTH/share-links/")
    assert response.status_code == status
    if status == 200:
        [link] = response.json()
        assert (link["page"], link["label"], link["state"], link["use_count"]) == ("project", "Board", "active", 0)
        assert "token" not in link and "token_hash" not in link


@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", 201)]
)
def test_creating_share_links_role_matrix(story, api, who, status):
    client = api(story.cast.user(who) if who else None)
    response = client.post("/api/v1/projects/AUTH/share-links/", {"label": "Board", "expires_in_days": 3})
    assert response.status_code == status
    assert ShareLink.objects.exists() == (status == 201)


def test_a_created_link_shows_its_token_once_and_stores_only_a_hash(story, api):
    client = api(story.cast.lead)
    response = client.post(
        "/api/v1/projects/AUTH/share-links/", {"sprint": story.s1.pk, "expires_in_days": 3}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    assert len(token) >= 43 and body["url"] == f"http://testserver/s/{token}/"
    assert body["page"] == "sprint" and body["sprint"] == {"id": story.s1.pk, "name": "Sprint 1"}
    link = ShareLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {link.token_hash, link.token_hint} and link.token_hint == token[:6]
    other = client.post("/api/v1/projects/AUTH/share-links/", {}, format="json").json()
    assert other["token"] != token
    # Listed afterwards without the token.
    assert "token" not in client.get(f"/api/v1/projects/AUTH/share-links/{link.pk}/").json()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"expires_in_days": 0}, "expires_in_days: Ensure this value is greater than or equal to 1."),
        ({"expires_in_days": 400}, "expires_in_days: Ensure this value is less than or equal to 365."),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at: The expiry must be in the future."),
        (
            {"expires_at": "2099-01-01T00:00:00Z", "expires_in_days": 2},
            "expires_at: Give either expires_at or expires_in_days, not both.",
        ),
        ({"sprint": 99999}, "sprint: There is no sprint 99999 in AUTH."),
        ({"label": "x" * 121}, "label: Ensure this field has no more than 120 characters."),
    ],
)
def test_bad_input_is_named_and_creates_nothing(story, api, payload, message):
    response = api(story.cast.lead).post("/api/v1/projects/AUTH/share-links/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert not ShareLink.objects.exists()


def test_a_sprint_of_another_project_cannot_be_shared(story, api):
    from tests.factories import SprintFactory

    other = SprintFactory(project=ProjectFactory(key="ELSE"))
    response = api(story.cast.lead).post("/api/v1/projects/AUTH/share-links/", {"sprint": other.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == f"sprint: There is no sprint {other.pk} in AUTH."


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 403), ("engineer", 403)])
def test_only_leads_revoke(story, api, who, status):
    link, _ = make_link(story)
    response = api(story.cast.user(who)).post(f"/api/v1/projects/AUTH/share-links/{link.pk}/revoke/")
    assert response.status_code == status
    link.refresh_from_db()
    assert link.revoked_at is None


def test_revoking_twice_is_refused_with_a_message(story, api):
    link, _ = make_link(story)
    client = api(story.cast.lead)
    first = client.post(f"/api/v1/projects/AUTH/share-links/{link.pk}/revoke/")
    assert first.status_code == 200 and first.json()["state"] == "revoked" and first.json()["revoked_by"] == "lead"
    revoked_at = ShareLink.objects.get().revoked_at
    second = client.post(f"/api/v1/projects/AUTH/share-links/{link.pk}/revoke/")
    assert second.status_code == 400
    assert second.json()["message"].startswith(f"link: Share link {link.pk} was already revoked on ")
    assert ShareLink.objects.get().revoked_at == revoked_at


def test_a_link_of_another_project_is_not_found(story, api):
    project = ProjectFactory(key="ELSE")
    MembershipFactory(project=project, user=story.cast.lead, role="lead")
    link, _ = make_link(story)
    assert api(story.cast.lead).get(f"/api/v1/projects/ELSE/share-links/{link.pk}/").status_code == 404


def test_the_lead_sees_every_use(story, api):
    link, token = make_link(story)
    Client(HTTP_USER_AGENT="Board browser", REMOTE_ADDR="10.1.2.3").get(f"/s/{token}/")
    Client().get(f"/s/{token}/")
    body = api(story.cast.lead).get(f"/api/v1/projects/AUTH/share-links/{link.pk}/").json()
    assert body["use_count"] == 2 and body["last_used_at"] is not None
    assert [(u["ip_address"], u["user_agent"]) for u in body["uses"]][-1] == ("10.1.2.3", "Board browser")


# --- What a share link opens ------------------------------------------------------------
def test_a_link_opens_the_project_demo_without_an_account_and_records_the_use(story):
    picture = add_picture(story)
    _, token = make_link(story)
    anonymous = Client()
    response = anonymous.get(f"/s/{token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Continuous authentication" in page and "Is typing rhythm stable across days" in page
    assert f'src="/s/{token}/material/{picture.pk}/"' in page
    assert ShareLinkUse.objects.count() == 1 and ShareLink.objects.get().use_count == 1
    # No session and no CSRF cookie: nothing the browser could carry to another page.
    assert not response.cookies and not anonymous.cookies
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    # Nothing on it leads into the app: no app links, no forms, no CSRF token.
    for inside in ('href="/p/', 'href="/t/', 'href="/api/', "<form", "csrfmiddlewaretoken", "X-CSRFToken"):
        assert inside not in page, inside


def test_a_sprint_link_opens_that_sprint_review_only(story):
    _, token = make_link(story, sprint=story.s1)
    page = Client().get(f"/s/{token}/").content.decode()
    assert "Sprint review" in page and "Stand up the evaluation skeleton" in page
    assert "Does a GBM beat the rule" not in page  # Sprint 2's question is not on Sprint 1's review


def test_expired_revoked_and_wrong_tokens_open_nothing(story):
    expired, expired_token = make_link(story)
    ShareLink.objects.filter(pk=expired.pk).update(expires_at=clock.now() - datetime.timedelta(seconds=1))
    revoked, revoked_token = make_link(story)
    services.share_link_revoke(link=revoked, actor=story.cast.lead)
    client = Client()
    response = client.get(f"/s/{expired_token}/")
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    response = client.get(f"/s/{revoked_token}/")
    assert response.status_code == 410 and "This link was revoked" in response.content.decode()
    assert "Continuous authentication" not in response.content.decode()
    _, good = make_link(story)
    for wrong in (good[:-1] + ("A" if good[-1] != "A" else "B"), "x" * 43, "short", good + "x" * 30):
        assert client.get(f"/s/{wrong}/").status_code == 404, wrong
    assert ShareLinkUse.objects.count() == 0


def test_the_token_reaches_no_other_page_api_or_upload(story):
    picture = add_picture(story)
    _, token = make_link(story)
    client = Client()
    assert client.get(f"/s/{token}/").status_code == 200
    # Other pages, with the token in the URL or the cookies the share page left (none).
    for url in ("/p/AUTH/dashboard/", "/p/AUTH/demo/", f"/p/AUTH/demo/material/{picture.pk}/", "/t/AUTH-1/demo/"):
        response = client.get(f"{url}?token={token}")
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    for url in (f"/s/{token}/dashboard/", f"/s/{token}/p/AUTH/", f"/s/{token}/api/v1/projects/"):
        assert client.get(url).status_code == 404, url
    # The API, with the token as credentials in every form it might be tried.
    for header in (f"Token {token}", f"Bearer {token}"):
        response = client.get("/api/v1/projects/AUTH/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
    assert client.get(f"/api/v1/projects/AUTH/?token={token}").status_code == 401
    # Uploads: not through the share path, not through the app.
    upload = {"kind": "image", "file": _png_upload()}
    assert client.post(f"/s/{token}/", upload).status_code == 405
    assert client.post(f"/s/{token}/material/{picture.pk}/", upload).status_code == 405
    response = client.post(f"/t/AUTH-1/demo/?token={token}", {"kind": "image", "file": _png_upload()})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert DemoMaterial.objects.count() == 1


def _png_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("x.png", png_bytes(), content_type="image/png")


def test_the_share_path_serves_only_the_pictures_on_its_page(story):
    shown = add_picture(story, "AUTH-1")
    other_sprint = add_picture(story, "AUTH-7")  # Sprint 2's question
    _, token = make_link(story, sprint=story.s1)
    client = Client()
    response = client.get(f"/s/{token}/material/{shown.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert client.get(f"/s/{token}/material/{other_sprint.pk}/").status_code == 404
    # A picture of another project, by id.
    elsewhere = ProjectFactory(key="ELSE")
    from tests.factories import TicketFactory

    foreign_ticket = TicketFactory(project=elsewhere, kind="question", outcome="supported")
    foreign = DemoMaterial.objects.create(
        ticket=foreign_ticket, kind="image", content=png_bytes(), content_type="image/png", created_at=clock.now()
    )
    assert client.get(f"/s/{token}/material/{foreign.pk}/").status_code == 404
    # Once revoked, its pictures go too.
    services.share_link_revoke(link=ShareLink.objects.get(), actor=story.cast.lead)
    assert client.get(f"/s/{token}/material/{shown.pk}/").status_code == 410


def test_the_project_link_serves_pictures_of_the_questions_it_shows(story):
    picture = add_picture(story, "AUTH-7")
    _, token = make_link(story)
    assert Client().get(f"/s/{token}/material/{picture.pk}/").status_code == 200


# --- The lead's page --------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", 200)])
def test_share_links_page_role_matrix(story, web, who, status):
    link, _ = make_link(story)
    client = web(story.cast.user(who))
    assert client.get("/p/AUTH/share-links/").status_code == status
    assert client.get(f"/p/AUTH/share-links/{link.pk}/").status_code == status


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 403), ("engineer", 403)])
def test_only_leads_create_and_revoke_from_the_page(story, web, who, status):
    link, _ = make_link(story)
    client = web(story.cast.user(who))
    assert client.post("/p/AUTH/share-links/", {"expires_in_days": 7}).status_code == status
    assert client.post(f"/p/AUTH/share-links/{link.pk}/revoke/").status_code == status
    assert ShareLink.objects.count() == 1 and ShareLink.objects.get().revoked_at is None


def test_the_lead_creates_a_link_sees_it_once_and_revokes_it(story, web):
    client = web(story.cast.lead)
    response = client.post("/p/AUTH/share-links/", {"target": story.s1.pk, "label": "Steering", "expires_in_days": 14})
    assert response.status_code == 201
    page = response.content.decode()
    link = ShareLink.objects.get()
    start = page.index('id="new-share-url" value="') + len('id="new-share-url" value="')
    url = page[start : page.index('"', start)]
    token = url.rsplit("/", 2)[-2]
    assert hashlib.sha256(token.encode()).hexdigest() == link.token_hash
    assert "Sprint 1 demo" in page and "Steering" in page
    # The list page never shows it again; no cookie carries it either.
    assert token not in client.get("/p/AUTH/share-links/").content.decode()
    assert Client().get(f"/s/{token}/").status_code == 200
    listing = client.get("/p/AUTH/share-links/").content.decode()
    assert '<span data-col="uses">1</span> time' in listing
    assert client.post(f"/p/AUTH/share-links/{link.pk}/revoke/").status_code == 302
    assert Client().get(f"/s/{token}/").status_code == 410
    detail = client.get(f"/p/AUTH/share-links/{link.pk}/").content.decode()
    assert "Revoked" in detail and "Opened 1 time" in detail


def test_a_bad_expiry_on_the_page_is_named(story, web):
    response = web(story.cast.lead).post("/p/AUTH/share-links/", {"expires_in_days": 0})
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    assert not ShareLink.objects.exists()


def test_share_pages_query_counts_are_pinned(story, web):
    add_picture(story)
    _, token = make_link(story)
    _, sprint_token = make_link(story, sprint=story.s1)

    def count(client, url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    # The link by its hash (with project and sprint), the use and its counter, then the demo:
    # benchmarks, sprints with reviews, grouped counts, answered questions, their material, shipped
    # tickets, the sprints to come, their tickets.
    assert count(Client(), f"/s/{token}/") == 11
    # The link, the use and its counter; benchmarks, the sprint's review, history, tickets, answered questions,
    # material, the sprint to come, its tickets.
    assert count(Client(), f"/s/{sprint_token}/") == 11
    # session, user, memberships with projects (access; they fill the switcher too), the links (with
    # sprints and users)
    for _ in range(3):
        make_link(story)
    assert count(web(story.cast.lead), "/p/AUTH/share-links/") == 5
