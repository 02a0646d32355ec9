"""Rows read by hand-written SQL (agileml.rows) become the instances the ORM would have made, and the
three reads every signed-in page makes through it (session, user, memberships) behave as Django's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.backends import UserBackend
from accounts.sessions import SessionStore
from agileml import rows
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tickets import access
from tickets.models import Membership, Project, Role

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_row_becomes_the_instance_the_orm_makes():
    user = UserFactory(username="ada", first_name="Ada")
    user.last_login = timezone.now()
    user.save()
    model = get_user_model()
    columns = rows.columns(model, "u")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns.sql} FROM {rows.table(model)} u WHERE u.id = %s", [user.pk])  # noqa: S608
        made = columns.instance(cursor.fetchone())
    orm = model.objects.get(pk=user.pk)
    assert _fields(made) == _fields(orm)
    assert timezone.is_aware(made.last_login) and timezone.is_aware(made.date_joined)
    assert made._state.adding is False and made._state.db == "default"


def test_memberships_are_those_the_orm_finds_with_their_projects_in_key_order(cast):
    MembershipFactory(project=ProjectFactory(key="ZED", name="Zed"), user=cast.engineer, role=Role.LEAD)
    MembershipFactory(project=ProjectFactory(key="ABC", name="Abc"), user=cast.engineer, role=Role.STAKEHOLDER)
    ProjectFactory(key="NOPE")  # not theirs
    made = access._memberships_of(cast.engineer.pk)
    orm = list(Membership.objects.select_related("project").filter(user=cast.engineer).order_by("project__key"))
    assert [_fields(m) for m in made] == [_fields(m) for m in orm]
    assert [_fields(m.project) for m in made] == [_fields(m.project) for m in orm]
    assert [m.project.key for m in made] == ["ABC", "AUTH", "ZED"]
    assert all(isinstance(m.project, Project) and m.project_id == m.project.pk for m in made)
    assert access._memberships_of(UserFactory().pk) == []


def test_a_session_is_read_until_it_expires_and_then_is_nobodys():
    store = SessionStore()
    store["colour"] = "teal"
    store.create()
    key = store.session_key
    assert SessionStore(key).load() == {"colour": "teal"}
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.load() == {}
    assert expired.session_key is None
    assert SessionStore("no-such-session-key-at-all-000000").load() == {}


def test_the_user_backend_finds_active_users_only_and_refuses_what_is_no_id():
    user = UserFactory(username="grace")
    backend = UserBackend()
    assert _fields(backend.get_user(user.pk)) == _fields(get_user_model().objects.get(pk=user.pk))
    assert backend.get_user(str(user.pk)).pk == user.pk  # sessions hold the id as text
    user.is_active = False
    user.save()
    assert backend.get_user(user.pk) is None
    assert backend.get_user(10**9) is None
    assert backend.get_user("not-an-id") is None


def test_signing_in_uses_both_and_signing_out_ends_the_session(cast):
    client = Client()
    assert client.post("/login/", {"username": cast.engineer.username, "password": "pw"}).status_code == 302
    assert client.get("/p/AUTH/").status_code == 200
    key = client.cookies["sessionid"].value
    assert Session.objects.filter(session_key=key).exists()
    client.post("/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    # The old cookie, sent again, is nobody's.
    stale = Client()
    stale.cookies["sessionid"] = key
    assert stale.get("/p/AUTH/").status_code == 302


def test_a_session_naming_a_deleted_user_is_signed_out(cast):
    user = UserFactory(username="gone")
    MembershipFactory(project=cast.project, user=user, role=Role.ENGINEER)
    client = Client()
    client.force_login(user)
    assert client.get("/p/AUTH/").status_code == 200
    user.delete()
    assert client.get("/p/AUTH/").status_code == 302
