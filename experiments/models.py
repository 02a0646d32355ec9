"""Experiment runs: what was tried, with which settings, and how the numbers moved.

A run belongs to a project (the MLflow "experiment") and optionally to the ticket that
asked for it. MLflow clients address runs by a 32-hex ``uuid``; the app uses the
integer primary key.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from tickets.models import Project, Sprint, Ticket

# MLflow's limits, so a script that works against MLflow works here and vice versa.
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250


def new_run_uuid() -> str:
    return uuid_lib.uuid4().hex


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    KILLED = "killed", "Killed"


class Run(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    uuid = models.CharField(max_length=32, unique=True, default=new_run_uuid, editable=False)
    name = models.CharField(max_length=MAX_RUN_NAME_LENGTH, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    source_commit = models.CharField(max_length=64, blank=True)
    entry_point = models.CharField(max_length=500, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-start_time", "-id"]
        indexes = [
            models.Index(fields=["project", "-start_time", "-id"], name="run_project_time_idx"),
            models.Index(fields=["ticket", "-start_time"], name="run_ticket_time_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.uuid

    @property
    def display_name(self) -> str:
        return self.name or f"run {self.uuid[:8]}"

    @property
    def duration_seconds(self) -> float | None:
        if self.end_time is None:
            return None
        return max((self.end_time - self.start_time).total_seconds(), 0.0)


class Param(models.Model):
    """A setting of a run. Once logged, a key's value never changes (as in MLflow)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="params", db_index=False)
    # Copied from the run so the list page can offer a project's param keys cheaply.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    value = models.TextField()

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="param_key_unique_in_run")]
        indexes = [models.Index(fields=["project", "key"], name="param_project_key_idx")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"

    def save(self, *args, **kwargs) -> None:
        if self.project_id is None:
            self.project_id = self.run.project_id
        super().save(*args, **kwargs)


class Tag(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="tag_key_unique_in_run")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Metric(models.Model):
    """One logged point of a metric history.

    Timestamps are milliseconds since the epoch, as MLflow sends them. The unique
    constraint makes a retried request harmless: the same point is stored once. NaN
    is stored as ``value=0, is_nan=True`` because SQLite turns NaN into NULL.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_points", db_index=False)
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    value = models.FloatField()
    is_nan = models.BooleanField(default=False)
    step = models.BigIntegerField(default=0)
    timestamp = models.BigIntegerField()

    class Meta:
        constraints = [
            # Leading (run, key, step) also serves history reads in step order.
            models.UniqueConstraint(
                fields=["run", "key", "step", "timestamp", "value", "is_nan"], name="metric_point_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}[{self.step}]={self.value}"


class LatestMetric(models.Model):
    """The latest point of each metric of a run (highest step, then timestamp, then value).

    Kept up to date by every write so run lists never read histories. ``project`` is
    copied from the run so the list page can offer a project's metric keys cheaply.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="latest_metrics", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    value = models.FloatField()
    is_nan = models.BooleanField(default=False)
    step = models.BigIntegerField(default=0)
    timestamp = models.BigIntegerField()

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="latest_metric_unique")]
        indexes = [
            models.Index(fields=["project", "key"], name="latest_metric_project_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"

    @property
    def number(self) -> float:
        return float("nan") if self.is_nan else self.value


class Artifact(models.Model):
    """A file logged with a run, stored under ``MEDIA_ROOT/artifacts/<run uuid>/<path>``."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="artifacts")
    path = models.CharField(max_length=1000)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["run", "path"], name="artifact_path_unique_in_run")]

    def __str__(self) -> str:
        return self.path

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


# --- Benchmarks, evaluations and the champion -------------------------------------------
class BenchmarkTask(models.TextChoices):
    BINARY = "binary", "Binary classification"
    MULTICLASS = "multiclass", "Multiclass classification"
    REGRESSION = "regression", "Regression"


benchmark_name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
    "Use up to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit (e.g. holdout-v1).",
)


class Benchmark(models.Model):
    """The fixed yardstick of a project: a task, a primary metric, guardrails and the current champion.

    ``guardrails`` maps metric names to non-inferiority margins (the largest tolerated regression,
    in the metric's unit). ``champion`` changes only through ``champion_promote``, which swaps it
    with a compare-and-swap update and writes a ``ChampionChange`` in the same transaction.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="benchmarks")
    name = models.CharField(max_length=64, validators=[benchmark_name_validator])
    task = models.CharField(max_length=16, choices=BenchmarkTask.choices)
    primary_metric = models.CharField(max_length=32)
    # Binary decision threshold for accuracy and F1: declared up front, never tuned on the evaluation data.
    threshold = models.FloatField(default=0.5)
    guardrails = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True, help_text="What 'better' means for the business.")
    champion = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    champion_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="benchmark_name_unique_in_project")]

    def __str__(self) -> str:
        return self.name


class EvaluationDataset(models.Model):
    """One version of a benchmark's ground truth. Content-addressed and never edited: a new file is a new version."""

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="datasets")
    version = models.PositiveIntegerField()
    # Relative to MEDIA_ROOT.
    file = models.CharField(max_length=500)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    n_rows = models.PositiveIntegerField()
    n_groups = models.PositiveIntegerField(null=True, blank=True)
    class_counts = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["benchmark", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "version"], name="dataset_version_unique_in_benchmark"),
            models.UniqueConstraint(fields=["benchmark", "sha256"], name="dataset_content_unique_in_benchmark"),
        ]

    def __str__(self) -> str:
        return f"{self.benchmark_id} v{self.version}"

    @property
    def label(self) -> str:
        return f"v{self.version}"


class PredictionSource(models.TextChoices):
    BROWSER = "browser", "Browser upload"
    API = "api", "REST API"
    MLFLOW = "mlflow", "MLflow artifact"
    DEMO = "demo", "Demo data"


class PredictionSet(models.Model):
    """A run's predictions for one dataset version, validated against its truth when accepted.

    Identical content for the same run and dataset is stored once; a changed file is a new row
    and the newest row is the run's current predictions.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="prediction_sets")
    dataset = models.ForeignKey(EvaluationDataset, on_delete=models.CASCADE, related_name="prediction_sets")
    file = models.CharField(max_length=500)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    n_rows = models.PositiveIntegerField(help_text="Rows in the file.")
    n_covered = models.PositiveIntegerField(help_text="Truth rows that have a prediction.")
    source = models.CharField(max_length=16, choices=PredictionSource.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Bumped when the same content is uploaded again, so it becomes the current predictions again.
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "dataset", "sha256"], name="predictions_content_unique"),
        ]
        indexes = [models.Index(fields=["dataset", "run", "-uploaded_at"], name="predictions_current_idx")]

    def __str__(self) -> str:
        return f"{self.original_name} (run {self.run_id})"


class EvaluationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Verdict(models.TextChoices):
    BETTER = "better", "Better"
    WORSE = "worse", "Worse"
    NO_DIFFERENCE = "no_significant_difference", "No significant difference"


class Evaluation(models.Model):
    """A run's predictions scored on one dataset version and compared with the champion of that moment.

    The row is the source of truth for the background job: a worker claims it with a
    conditional update (``queued`` → ``running`` with a fresh ``claim`` token), writes progress
    (the heartbeat) and makes its final write only while it still owns the claim. The report of
    the engine is kept whole in ``result``; the fields after it copy what lists and charts need.
    """

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="evaluations")
    dataset = models.ForeignKey(EvaluationDataset, on_delete=models.CASCADE, related_name="evaluations")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="evaluations")
    predictions = models.ForeignKey(PredictionSet, on_delete=models.CASCADE, related_name="evaluations")
    champion_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    champion_predictions = models.ForeignKey(
        PredictionSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The settings it was computed with, copied from the benchmark at request time.
    primary_metric = models.CharField(max_length=32)
    threshold = models.FloatField()
    guardrails = models.JSONField(default=dict, blank=True)
    seed = models.IntegerField(default=0)
    n_resamples = models.PositiveIntegerField()
    # sha256 of every input and setting: an identical request reuses this row.
    key = models.CharField(max_length=64, db_index=True)

    status = models.CharField(max_length=16, choices=EvaluationStatus.choices, default=EvaluationStatus.QUEUED)
    stage = models.CharField(max_length=32, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    # Claims that ended other than in a transient retry: past EVALUATION_MAX_ATTEMPTS the job is failed.
    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    queued_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    primary_value = models.FloatField(null=True, blank=True)
    primary_ci_low = models.FloatField(null=True, blank=True)
    primary_ci_high = models.FloatField(null=True, blank=True)
    verdict = models.CharField(max_length=32, choices=Verdict.choices, blank=True)
    delta = models.FloatField(null=True, blank=True)
    delta_ci_low = models.FloatField(null=True, blank=True)
    delta_ci_high = models.FloatField(null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    gate_allowed = models.BooleanField(null=True, blank=True)
    gate_reasons = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["benchmark", "dataset", "-created_at", "-id"], name="evaluation_benchmark_idx"),
            models.Index(fields=["run", "-created_at"], name="evaluation_run_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="evaluation_status_idx"),
        ]

    def __str__(self) -> str:
        return f"evaluation {self.pk} of run {self.run_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED)

    @property
    def has_comparison(self) -> bool:
        return bool(self.verdict)


class ChampionChange(models.Model):
    """One promotion: who made which run the champion, when, during which sprint, and on what evidence.

    Names and numbers are copied at promotion time so the history reads the same after runs change.
    """

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="champion_changes")
    run = models.ForeignKey(Run, null=True, on_delete=models.SET_NULL, related_name="+")
    run_name = models.CharField(max_length=MAX_RUN_NAME_LENGTH)
    previous_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    previous_run_name = models.CharField(max_length=MAX_RUN_NAME_LENGTH, blank=True)
    evaluation = models.ForeignKey(Evaluation, null=True, on_delete=models.SET_NULL, related_name="+")
    dataset = models.ForeignKey(EvaluationDataset, null=True, on_delete=models.SET_NULL, related_name="+")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sprint = models.ForeignKey(Sprint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    promoted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    promoted_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)
    gate_allowed = models.BooleanField()
    gate_reasons = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(blank=True)
    # The new champion's primary metric with its interval, and the comparison that justified it.
    primary_metric = models.CharField(max_length=32)
    primary_value = models.FloatField(null=True, blank=True)
    primary_ci_low = models.FloatField(null=True, blank=True)
    primary_ci_high = models.FloatField(null=True, blank=True)
    comparison = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-promoted_at", "-id"]
        indexes = [models.Index(fields=["benchmark", "-promoted_at"], name="champion_change_time_idx")]

    def __str__(self) -> str:
        return f"{self.run_name} became champion of {self.benchmark_id}"

    @property
    def is_baseline(self) -> bool:
        return self.previous_run_name == "" and self.previous_run_id is None

    @property
    def overridden(self) -> bool:
        return not self.gate_allowed


# Dashboards, share links and demo material live in their own module; importing them here
# registers them with the app.
from experiments.dashboards_models import (  # noqa: E402, F401
    DemoMaterial,
    ShareLink,
    ShareLinkUse,
    SprintReview,
)
