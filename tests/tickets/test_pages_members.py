import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import MembershipFactory, UserFactory
from tickets.models import Membership, Role

pytestmark = pytest.mark.django_db

WRITERS = [("outsider", 404), ("stakeholder", 403), ("engineer", 403)]


def test_lead_sees_controls_and_others_do_not(web, cast):
    lead_page = web(cast.lead).get("/p/AUTH/members/").content.decode()
    assert 'data-testid="add-member"' in lead_page and "/remove/" in lead_page
    for who in ("engineer", "stakeholder"):
        page = web(cast.user(who)).get("/p/AUTH/members/").content.decode()
        assert 'data-testid="add-member"' not in page
        assert "/remove/" not in page and "/role/" not in page


@pytest.mark.parametrize(("who", "status"), [*WRITERS, ("lead", 302)])
def test_add_member_role_matrix(web, cast, who, status):
    response = web(cast.user(who)).post("/p/AUTH/members/", {"username": "outsider", "role": "engineer"})
    assert response.status_code == status
    assert Membership.objects.filter(project=cast.project, user=cast.outsider).exists() == (status == 302)


@pytest.mark.parametrize(("who", "status"), [*WRITERS, ("lead", 302)])
def test_change_role_matrix(web, cast, who, status):
    response = web(cast.user(who)).post("/p/AUTH/members/engineer/role/", {"role": "stakeholder"})
    assert response.status_code == status
    role = Membership.objects.get(project=cast.project, user=cast.engineer).role
    assert role == ("stakeholder" if status == 302 else "engineer")


@pytest.mark.parametrize(("who", "status"), [*WRITERS, ("lead", 302)])
def test_remove_matrix(web, cast, who, status):
    response = web(cast.user(who)).post("/p/AUTH/members/engineer/remove/")
    assert response.status_code == status
    assert Membership.objects.filter(project=cast.project, user=cast.engineer).exists() == (status != 302)


def test_last_lead_cannot_be_removed_from_the_page(web, cast):
    client = web(cast.lead)
    response = client.post("/p/AUTH/members/lead/remove/", follow=True)
    assert "The last lead cannot be removed" in response.content.decode()
    response = client.post("/p/AUTH/members/lead/role/", {"role": "engineer"}, follow=True)
    assert "A project needs at least one lead" in response.content.decode()
    assert Membership.objects.get(project=cast.project, user=cast.lead).role == Role.LEAD


def test_add_unknown_user_names_the_field(web, cast):
    response = web(cast.lead).post("/p/AUTH/members/", {"username": "ghost", "role": "engineer"})
    assert response.status_code == 400
    assert "There is no user named &#x27;ghost&#x27;." in response.content.decode()


def test_members_page_query_count_is_constant(web, cast):
    client = web(cast.lead)
    with CaptureQueriesContext(connection) as few:
        client.get("/p/AUTH/members/")
    for n in range(10):
        MembershipFactory(project=cast.project, user=UserFactory(username=f"m{n}"), role=Role.ENGINEER)
    with CaptureQueriesContext(connection) as many:
        client.get("/p/AUTH/members/")
    # session, user, access (the user's memberships with projects, which fill the switcher too),
    # member count (the list is paged), a page of members with users.
    assert len(few) == len(many) == 5


def test_members_page_is_paged_at_a_constant_cost(web, cast, django_assert_num_queries):
    from tickets.paging import LIST_PAGE_SIZE

    # The cast is lead, engineer, stakeholder; add enough to spill onto a second page.
    for n in range(LIST_PAGE_SIZE):
        MembershipFactory(project=cast.project, user=UserFactory(username=f"m{n:02d}"), role=Role.ENGINEER)
    client = web(cast.stakeholder)
    first = client.get("/p/AUTH/members/").content.decode()
    # By username: engineer, lead, m00 … m21 on page 1; m22, m23, stakeholder on page 2.
    assert first.count("data-username=") == LIST_PAGE_SIZE
    assert 'data-username="engineer"' in first and 'data-username="m21"' in first and 'data-username="m22"' not in first
    assert 'data-testid="pager"' in first and "Page 1 of 2" in first and f"{LIST_PAGE_SIZE + 3} in all" in first
    with django_assert_num_queries(5):
        second = client.get("/p/AUTH/members/?page=2").content.decode()
    assert second.count("data-username=") == 3 and 'data-username="stakeholder"' in second
    assert "Page 2 of 2" in second and 'rel="prev"' in second
    for bad, shown in (("zzz", "Page 1 of 2"), ("99", "Page 2 of 2"), ("0", "Page 2 of 2")):
        response = client.get(f"/p/AUTH/members/?page={bad}")
        assert response.status_code == 200 and shown in response.content.decode()
