"""Online tests of a benchmark's champion against challengers on live traffic, their raw outcome events
and one snapshot of the statistics per aggregation (so the history of the estimate can be drawn).

The design (arms, outcomes, error level) is fixed while a test runs; the statistics come from the pure
engine in ``experiments.evaluation.online``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from experiments.benchmarks.models import Benchmark, ChampionChange


class AbTestState(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class AbTestUnit(models.TextChoices):
    """The unit of randomisation: what the assignment hash is keyed on."""

    USER = "user", "User"
    SESSION = "session", "Session"
    DEVICE = "device", "Device"


class AbTestDecision(models.TextChoices):
    SHIP = "ship", "Ship the challenger"
    KEEP_CHAMPION = "keep_champion", "Keep the champion"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


def new_salt() -> str:
    return secrets.token_hex(8)


class OnlineTest(models.Model):
    """An online test of a benchmark: the champion and challengers (runs), the split, the outcomes.

    ``arms`` is ``[{"variant", "run", "weight"}]`` in the assignment order (the first arm is the
    champion); ``primary`` is ``{"name", "kind", "higher_is_better", "min_effect", "cuped"}`` and each
    guardrail ``{"name", "kind", "higher_is_better", "margin"}``. ``events_version`` counts accepted
    batches and ``aggregated_version`` the last one the statistics include (the worker's claim).
    """

    __test__ = False  # not a pytest class, despite the name

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="online_tests")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    salt = models.CharField(max_length=32, default=new_salt, help_text="The assignment key; fixed for the test's life.")
    unit = models.CharField(max_length=16, choices=AbTestUnit.choices, default=AbTestUnit.USER)
    arms = models.JSONField()
    primary = models.JSONField()
    guardrails = models.JSONField(default=list, blank=True)
    alpha = models.FloatField(default=0.05)
    state = models.CharField(max_length=16, choices=AbTestState.choices, default=AbTestState.DRAFT)
    decision = models.CharField(max_length=16, choices=AbTestDecision.choices, blank=True)
    decision_variant = models.CharField(max_length=64, blank=True)
    decision_note = models.TextField(blank=True)
    champion_change = models.ForeignKey(
        ChampionChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="online_tests"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    events_version = models.PositiveIntegerField(default=0)
    aggregated_version = models.PositiveIntegerField(default=0)
    aggregated_at = models.DateTimeField(null=True, blank=True)
    n_events = models.PositiveBigIntegerField(default=0)
    analysis = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "online test"

    def __str__(self) -> str:
        return self.name

    @property
    def champion_variant(self) -> str:
        return self.arms[0]["variant"]

    @property
    def variants(self) -> list[str]:
        return [arm["variant"] for arm in self.arms]

    @property
    def outcome_names(self) -> list[str]:
        return [self.primary["name"], *(g["name"] for g in self.guardrails)]


class OnlineEvent(models.Model):
    """One outcome event as production sent it, kept for audit; unique per test by ``event_id``."""

    test = models.ForeignKey(OnlineTest, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=128)
    unit = models.CharField(max_length=128)
    variant = models.CharField(max_length=64)
    outcome = models.FloatField()
    covariate = models.FloatField(null=True, blank=True)
    guardrails = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["test", "event_id"], name="online_event_unique_id")]
        indexes = [models.Index(fields=["test", "variant", "unit"], name="online_event_unit")]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.variant})"


class OnlineSnapshot(models.Model):
    """The statistics after one aggregation: the engine's analysis, so the history can be drawn."""

    test = models.ForeignKey(OnlineTest, on_delete=models.CASCADE, related_name="snapshots")
    at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField()
    n_events = models.PositiveBigIntegerField()
    analysis = models.JSONField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"look {self.version} of test {self.test_id}"
