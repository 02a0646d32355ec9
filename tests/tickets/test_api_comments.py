import pytest

from tests.tickets.conftest import READ, engineers
from tickets import services
from tickets.models import Comment

pytestmark = pytest.mark.django_db


@pytest.fixture
def comment(cast, scene):
    return services.comment_create(ticket=scene.tickets[0], author=cast.engineer, body="Looks **promising**")


@pytest.mark.parametrize(("who", "status"), READ)
def test_comment_list_role_matrix(api, cast, comment, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/tickets/AUTH-1/comments/")
    assert response.status_code == status
    if status == 200:
        assert response.json()["count"] == 1
        (body,) = response.json()["results"]
        assert body["author"] == "engineer" and body["body_html"] == "<p>Looks <strong>promising</strong></p>"


def test_comments_page_oldest_first(api, cast, scene):
    made = [
        services.comment_create(ticket=scene.tickets[0], author=cast.engineer, body=f"Note {n}").pk for n in range(5)
    ]
    client = api(cast.stakeholder)
    first = client.get("/api/v1/tickets/AUTH-1/comments/?page_size=3").json()
    assert first["count"] == 5 and first["previous"] is None
    second = client.get(first["next"]).json()
    assert second["next"] is None and second["previous"] is not None
    assert [c["id"] for c in first["results"] + second["results"]] == made
    assert [c["body"] for c in second["results"]] == ["Note 3", "Note 4"]


def test_comment_list_query_count_is_constant(api, cast, scene, django_assert_num_queries):
    def comment(n: int) -> None:
        services.comment_create(ticket=scene.tickets[0], author=cast.engineer, body=f"Note {n}")

    comment(0)
    client = api(cast.stakeholder)
    # token + user, membership with project, ticket, count, one page with authors.
    with django_assert_num_queries(5):
        assert client.get("/api/v1/tickets/AUTH-1/comments/").json()["count"] == 1
    for n in range(1, 30):
        comment(n)
    with django_assert_num_queries(5):
        assert len(client.get("/api/v1/tickets/AUTH-1/comments/").json()["results"]) == 30


@pytest.mark.parametrize(("who", "status"), READ)
def test_comment_detail_role_matrix(api, cast, comment, who, status):
    response = api(cast.user(who) if who else None).get(f"/api/v1/tickets/AUTH-1/comments/{comment.pk}/")
    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), engineers(201))
def test_comment_create_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).post(
        "/api/v1/tickets/AUTH-2/comments/", {"body": "On it"}, format="json"
    )
    assert response.status_code == status
    assert Comment.objects.filter(body="On it").exists() == (status == 201)


# Only the author edits; the author or a lead deletes.
@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", 200), ("lead", 403)],
)
def test_comment_edit_role_matrix(api, cast, comment, who, status):
    response = api(cast.user(who) if who else None).patch(
        f"/api/v1/tickets/AUTH-1/comments/{comment.pk}/", {"body": "Edited"}, format="json"
    )
    assert response.status_code == status
    assert (Comment.objects.get(pk=comment.pk).body == "Edited") == (status == 200)


@pytest.mark.parametrize(("who", "status"), engineers(204))
def test_comment_delete_role_matrix(api, cast, comment, who, status):
    response = api(cast.user(who) if who else None).delete(f"/api/v1/tickets/AUTH-1/comments/{comment.pk}/")
    assert response.status_code == status
    assert Comment.objects.filter(pk=comment.pk).exists() == (status != 204)


def test_engineers_cannot_delete_each_others_comments(api, cast, scene):
    from tests.factories import MembershipFactory, UserFactory

    other = MembershipFactory(project=cast.project, user=UserFactory(username="eve")).user
    comment = services.comment_create(ticket=scene.tickets[0], author=other, body="mine")
    response = api(cast.engineer).delete(f"/api/v1/tickets/AUTH-1/comments/{comment.pk}/")
    assert response.status_code == 403
    assert response.json()["message"] == "Only the author or a lead can do this."


@pytest.mark.parametrize("body", ["", "   "])
def test_empty_comments_are_refused(api, cast, scene, body):
    response = api(cast.engineer).post("/api/v1/tickets/AUTH-1/comments/", {"body": body}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("body:")
    assert not Comment.objects.exists()


def test_comment_on_another_ticket_is_404(api, cast, comment):
    response = api(cast.lead).get(f"/api/v1/tickets/AUTH-2/comments/{comment.pk}/")
    assert response.status_code == 404
    assert response.json()["message"] == f"There is no comment {comment.pk} on AUTH-2."


def test_a_comment_cannot_be_emptied(api, cast, comment):
    response = api(cast.engineer).patch(f"/api/v1/tickets/AUTH-1/comments/{comment.pk}/", {"body": "  "}, format="json")
    assert (response.status_code, response.json()["message"]) == (400, "body: This field may not be blank.")
    assert Comment.objects.get(pk=comment.pk).body == "Looks **promising**"
