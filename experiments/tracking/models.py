"""Experiment runs: what was tried, with which settings, and how the numbers moved.

A run belongs to a project (the MLflow "experiment") and optionally to the ticket that
asked for it. MLflow clients address runs by a 32-hex ``uuid``; the app uses the
integer primary key.
"""

from __future__ import annotations

import json
import uuid as uuid_lib

from django.conf import settings
from django.db import models

from tickets.models import Project, Ticket

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


class Experiment(models.Model):
    """A named MLflow experiment inside a project (``set_experiment("churn-v2")`` under the
    project-scoped tracking URI). Runs without one belong to the project's own experiment."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="mlflow_experiments")
    name = models.CharField(max_length=MAX_RUN_NAME_LENGTH)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="experiment_name_unique_in_project")]

    def __str__(self) -> str:
        return self.name

    @property
    def mlflow_id(self) -> str:
        return experiment_mlflow_id(self.project_id, self.pk)


def experiment_mlflow_id(project_id: int, experiment_id: int | None) -> str:
    """The MLflow experiment id: the project's id, or ``<project id>-<experiment id>`` for a named experiment."""
    return str(project_id) if experiment_id is None else f"{project_id}-{experiment_id}"


class Run(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
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
    # MLflow's soft delete: a deleted run is hidden from lists and searches until restored.
    deleted_at = models.DateTimeField(null=True, blank=True)

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
    def experiment_mlflow_id(self) -> str:
        return experiment_mlflow_id(self.project_id, self.experiment_id)

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


class ImportedRun(models.Model):
    """A run copied from another MLflow server by ``manage.py import_mlflow``.

    ``complete`` turns true only once params, metric histories, tags and artifacts are all
    in, so an interrupted import picks up the run again; the source's status and end time
    tell a later import whether the run changed since.
    """

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="imported_from")
    source = models.CharField(max_length=500, help_text="The MLflow tracking URI the run came from.")
    source_run_id = models.CharField(max_length=64)
    source_status = models.CharField(max_length=16, blank=True)
    source_end_time = models.BigIntegerField(null=True, blank=True)
    complete = models.BooleanField(default=False)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "source_run_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_run_id"], name="imported_run_unique_per_source"),
        ]

    def __str__(self) -> str:
        return f"{self.source_run_id} from {self.source}"


def _spec_text(spec: object, limit: int = 8) -> str:
    """Column names and types of an MLflow schema (a JSON list of ``{name, type}``), shortened."""
    try:
        columns = json.loads(spec) if isinstance(spec, str) else spec
    except ValueError:
        return ""
    if isinstance(columns, dict):
        columns = columns.get("mlflow_colspec") or columns.get("mlflow_tensorspec") or []
    if not isinstance(columns, list):
        return ""
    names = []
    for column in columns:
        if isinstance(column, dict):
            kind = column.get("type", "")
            if kind == "tensor":
                kind = f"tensor {column.get('tensor-spec', {}).get('dtype', '')}".strip()
            names.append(f"{column['name']}: {kind}" if column.get("name") else str(kind))
    more = f", … {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def new_model_id() -> str:
    return f"m-{uuid_lib.uuid4().hex}"


class LoggedModelStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Upload failed"


class LoggedModel(models.Model):
    """An MLflow 3 logged model: files in MLflow Model format, usually made by a run.

    Its files live under ``MEDIA_ROOT/models/<model_id>/``; ``models:/<model_id>`` and
    ``runs:/<run id>/<name>`` both load it. ``flavors`` and ``signature`` are read from the
    ``MLmodel`` file when it is uploaded, so pages need not open files.
    """

    model_id = models.CharField(max_length=40, unique=True, default=new_model_id, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="logged_models")
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="logged_models")
    name = models.CharField(max_length=MAX_RUN_NAME_LENGTH)
    model_type = models.CharField(max_length=250, blank=True)
    status = models.CharField(max_length=16, choices=LoggedModelStatus.choices, default=LoggedModelStatus.PENDING)
    status_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    flavors = models.JSONField(default=list, blank=True)
    signature = models.JSONField(default=dict, blank=True)
    size = models.BigIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "name"], name="logged_model_project_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.model_id})"

    @property
    def experiment_mlflow_id(self) -> str:
        return experiment_mlflow_id(self.project_id, self.experiment_id)

    @property
    def artifact_uri(self) -> str:
        return f"mlflow-artifacts:/{self.experiment_mlflow_id}/models/{self.model_id}/artifacts"

    @property
    def signature_text(self) -> str:
        """``a: double, b: double → long`` from the MLmodel signature; empty without one."""
        parts = [_spec_text(self.signature.get(side)) for side in ("inputs", "outputs")]
        return " → ".join(p for p in parts if p)

    @property
    def flavor(self) -> str:
        """The flavor a person would name (``sklearn``), not the generic ``python_function``."""
        named = [f for f in self.flavors if f != "python_function"]
        return (named or self.flavors or [""])[0]


class LoggedModelTag(models.Model):
    model = models.ForeignKey(LoggedModel, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["model", "key"], name="logged_model_tag_unique")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class LoggedModelParam(models.Model):
    model = models.ForeignKey(LoggedModel, on_delete=models.CASCADE, related_name="params")
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    value = models.TextField()

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["model", "key"], name="logged_model_param_unique")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class LoggedModelFile(models.Model):
    """A file of a logged model, stored under ``MEDIA_ROOT/models/<model_id>/<path>``."""

    model = models.ForeignKey(LoggedModel, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1000)
    size = models.BigIntegerField()

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["model", "path"], name="logged_model_file_unique")]

    def __str__(self) -> str:
        return self.path


class RunDataset(models.Model):
    """A dataset a run used (``mlflow.log_input``): MLflow's dataset entity with the input's tags."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=500)
    digest = models.CharField(max_length=36)
    source_type = models.CharField(max_length=36, blank=True)
    source = models.TextField(blank=True)
    schema = models.TextField(blank=True)
    profile = models.TextField(blank=True)
    context = models.CharField(max_length=250, blank=True)
    tags = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "name", "digest"], name="run_dataset_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.digest})"

    @property
    def schema_text(self) -> str:
        return _spec_text(self.schema)


class ModelLinkDirection(models.TextChoices):
    INPUT = "input", "Input"
    OUTPUT = "output", "Output"


class RunModelLink(models.Model):
    """A logged model a run read (input) or made (output), as ``runs/log-inputs`` and ``runs/outputs`` send."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="model_links")
    model = models.ForeignKey(LoggedModel, on_delete=models.CASCADE, related_name="run_links")
    direction = models.CharField(max_length=8, choices=ModelLinkDirection.choices)
    step = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "model", "direction"], name="run_model_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.model_id}"
