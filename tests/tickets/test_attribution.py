"""The one rule that credits a moment to a sprint: the sprint active then, else between sprints."""

import datetime

from tickets.attribution import BETWEEN_SPRINTS, SprintPeriod, attribution_text, sprint_of_moment

T0 = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)


def at(hours: float) -> datetime.datetime:
    return T0 + datetime.timedelta(hours=hours)


S3 = SprintPeriod(3, "Sprint 3", at(0), at(100))
S4 = SprintPeriod(4, "Sprint 4", at(200), at(300))
S5 = SprintPeriod(5, "Sprint 5", at(400), None)  # running
PLANNED = SprintPeriod(6, "Sprint 6", None, None)
ALL = [S3, S4, S5, PLANNED]


def test_a_moment_inside_a_sprint_is_credited_to_it_from_its_start_to_just_before_its_close():
    assert sprint_of_moment(ALL, at(0)) == S3
    assert sprint_of_moment(ALL, at(99.99)) == S3
    assert sprint_of_moment(ALL, at(250)) == S4


def test_the_moment_a_sprint_closes_and_after_is_between_sprints():
    assert sprint_of_moment(ALL, at(100)) is None
    assert sprint_of_moment(ALL, at(350)) is None  # after Sprint 4 closed, before Sprint 5 started
    assert sprint_of_moment(ALL, at(-1)) is None
    assert attribution_text(ALL, at(350)) == BETWEEN_SPRINTS == "between sprints"


def test_a_running_sprint_owns_everything_from_its_start_and_a_planned_one_nothing():
    assert sprint_of_moment(ALL, at(10_000)) == S5
    assert attribution_text(ALL, at(10_000)) == "during Sprint 5"
    assert sprint_of_moment([PLANNED], at(0)) is None


def test_overlapping_periods_credit_the_one_started_last():
    overlapping = SprintPeriod(7, "Hotfix", at(50), at(60))
    assert sprint_of_moment([S3, overlapping], at(55)) == overlapping
    assert sprint_of_moment([S3, overlapping], at(60)) == S3
