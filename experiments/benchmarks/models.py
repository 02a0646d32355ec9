"""Benchmarks, their dataset versions, the predictions runs submit, evaluations and the champion history.

A benchmark is the fixed yardstick of a project; the champion changes only through the
promotion gate (``experiments.benchmarks.services.promotion``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from experiments.tracking.models import MAX_RUN_NAME_LENGTH, Run
from tickets.models import Project, Sprint, Ticket


class BenchmarkTask(models.TextChoices):
    BINARY = "binary", "Binary classification"
    MULTICLASS = "multiclass", "Multiclass classification"
    REGRESSION = "regression", "Regression"


class BenchmarkUnit(models.TextChoices):
    """The unit of independence: rows, or groups of rows that share a subject, a session or a device."""

    INDEPENDENT = "independent", "Independent rows"
    SUBJECT = "subject", "Grouped by subject"
    SESSION = "session", "Grouped by session"
    DEVICE = "device", "Grouped by device"


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
    # Grouped benchmarks need a ``group`` column in every truth file: rows of one subject are not independent.
    unit = models.CharField(max_length=16, choices=BenchmarkUnit.choices, default=BenchmarkUnit.INDEPENDENT)
    # The smallest improvement of the primary metric worth detecting (in its unit); the benchmark page says
    # when the reused evaluation set can no longer detect it at the level the sequential procedure allows.
    effect_of_interest = models.FloatField(null=True, blank=True)
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

    @property
    def is_grouped(self) -> bool:
        return self.unit != BenchmarkUnit.INDEPENDENT


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
    INSUFFICIENT_DATA = "insufficient_data", "Insufficient data"


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
    # Its place in the sequence of comparisons on this dataset version, and the level LORD++ allowed it.
    sequence_test = models.PositiveIntegerField(null=True, blank=True)
    sequence_level = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["benchmark", "dataset", "-created_at", "-id"], name="evaluation_benchmark_idx"),
            models.Index(fields=["run", "-created_at"], name="evaluation_run_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="evaluation_status_idx"),
        ]
        constraints = [
            # One live evaluation per identity (run × dataset version × inputs and settings): identical
            # requests at the same moment get the same row. A failed one may be asked for again.
            models.UniqueConstraint(
                fields=["run", "dataset", "key"],
                condition=~models.Q(status=EvaluationStatus.FAILED),
                name="evaluation_identity",
            ),
        ]

    def __str__(self) -> str:
        return f"evaluation {self.pk} of run {self.run_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED)


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
    # The version of the benchmark's registered model that became ``@champion`` (none when the run has no model).
    model_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-promoted_at", "-id"]
        indexes = [models.Index(fields=["benchmark", "-promoted_at"], name="champion_change_time_idx")]

    def __str__(self) -> str:
        return f"{self.run_name} became champion of {self.benchmark_id}"

    @property
    def is_baseline(self) -> bool:
        return self.previous_run_name == "" and self.previous_run_id is None


class ShardStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class EvaluationShard(models.Model):
    """One shard call of a sharded evaluation's pass, run by any worker as a Celery task.

    Claimed as the evaluation is (a conditional update ``queued`` → ``running`` with a fresh claim),
    heartbeated while it runs and re-queued when its heartbeat goes stale. ``attempt`` is the claim of
    the evaluation attempt that planned it: shards of an abandoned attempt are never run nor read.
    Its result is a file under the evaluation's storage folder, written atomically, so a shard run
    twice writes the same content and the combining step reads it once.
    """

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="shards")
    attempt = models.CharField(max_length=32)
    step = models.CharField(max_length=16, help_text="The pass: scan, rank, reduce or draws.")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ShardStatus.choices, default=ShardStatus.QUEUED)
    claim = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    runs = models.PositiveSmallIntegerField(default=0, help_text="Claims taken (more than one: redone).")
    queued_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    folder = models.CharField(max_length=300, help_text="Its arguments and result, under MEDIA_ROOT.")

    class Meta:
        ordering = ["evaluation", "attempt", "step", "index"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "attempt", "step", "index"], name="evaluation_shard_identity")
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="evaluation_shard_status_idx")]

    def __str__(self) -> str:
        return f"shard {self.step} {self.index} of evaluation {self.evaluation_id}"
