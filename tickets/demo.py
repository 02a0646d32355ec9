"""Demo data for planning. Idempotent: running it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from tickets.models import Membership, Project, Role

User = get_user_model()

DEMO_PASSWORD = "demo"  # noqa: S105 - documented demo login, created only by seed_demo
DEMO_USERS = [
    ("lead", "Lena", "Lead", Role.LEAD),
    ("engineer", "Eric", "Engineer", Role.ENGINEER),
    ("stakeholder", "Sam", "Stakeholder", Role.STAKEHOLDER),
]


@dataclass
class DemoPeople:
    project: Project
    lead: User
    engineer: User
    stakeholder: User


@transaction.atomic
def seed_people() -> DemoPeople:
    project, _ = Project.objects.get_or_create(
        key="AUTH",
        defaults={
            "name": "Continuous authentication",
            "description": (
                "Recognise the phone's owner from how they type and move, so the phone stays "
                "unlocked for them and locks for anyone else. Primary metric: AUC on held-out "
                "subjects; guardrail: equal error rate."
            ),
        },
    )
    users = {}
    for username, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, project=project, defaults={"role": role})
        users[username] = user
    return DemoPeople(project=project, **users)
