"""Test data factories."""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.db.models import F

from tickets.models import Epic, Membership, Project, Role, Sprint, Ticket, TicketKind, WorkType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"P{n}")
    name = factory.Faker("catch_phrase")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    role = Role.ENGINEER


class EpicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Epic

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Epic {n}")
    goal = "Make authentication continuous."


class SprintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sprint

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Sprint {n}")
    start_date = factory.LazyFunction(lambda: datetime.date(2026, 11, 2))
    end_date = factory.LazyFunction(lambda: datetime.date(2026, 11, 13))


def _next_number(ticket) -> int:
    Project.objects.filter(pk=ticket.project.pk).update(ticket_counter=F("ticket_counter") + 1)
    return Project.objects.values_list("ticket_counter", flat=True).get(pk=ticket.project.pk)


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket with the next gap-free number of its project (bypasses services: no history)."""

    class Meta:
        model = Ticket

    project = factory.SubFactory(ProjectFactory)
    number = factory.LazyAttribute(_next_number)
    kind = TicketKind.CODE
    work_type = WorkType.ALGORITHM_DEVELOPMENT
    title = factory.Sequence(lambda n: f"Ticket {n}")
    rank = factory.Sequence(lambda n: (n + 1) * 1_000_000)
