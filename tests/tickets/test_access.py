import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tests.factories import TicketFactory
from tickets.access import parse_ticket_key, project_for_user, ticket_for_user
from tickets.models import Role

pytestmark = pytest.mark.django_db

ORDER = ["stakeholder", "engineer", "lead"]


@pytest.mark.parametrize("need", [Role.STAKEHOLDER, Role.ENGINEER, Role.LEAD])
@pytest.mark.parametrize("who", ORDER)
def test_project_for_user_ranks_roles(cast, who, need):
    allowed = ORDER.index(who) >= ORDER.index(need.value)
    if allowed:
        project = project_for_user(cast.user(who), "AUTH", need=need)
        assert project.role == who
    else:
        with pytest.raises(PermissionDenied):
            project_for_user(cast.user(who), "AUTH", need=need)


@pytest.mark.parametrize("key", ["AUTH", "OTHER", "NOPE"])
def test_outsiders_and_unknown_projects_look_the_same(cast, key):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        project_for_user(AnonymousUser(), key)
    if key != "OTHER":
        with pytest.raises(Http404):
            project_for_user(cast.outsider, key)


def test_ticket_for_user_checks_the_ticket_project(cast, django_assert_num_queries):
    ticket = TicketFactory(project=cast.project)
    with django_assert_num_queries(2):
        found = ticket_for_user(cast.stakeholder, ticket.key)
        assert found.key == "AUTH-1"
        assert found.project.role == "stakeholder"
    with pytest.raises(Http404):
        ticket_for_user(cast.outsider, ticket.key)
    with pytest.raises(PermissionDenied):
        ticket_for_user(cast.stakeholder, ticket.key, need=Role.ENGINEER)
    with pytest.raises(Http404, match="no ticket AUTH-99"):
        ticket_for_user(cast.lead, "AUTH-99")


@pytest.mark.parametrize("bad", ["AUTH", "AUTH-", "-12", "AUTH-x", "AUTH-1.5", ""])
def test_parse_ticket_key_rejects_non_keys(bad):
    with pytest.raises(Http404, match="is not a ticket key"):
        parse_ticket_key(bad)


def test_parse_ticket_key():
    assert parse_ticket_key("AUTH-12") == ("AUTH", 12)
