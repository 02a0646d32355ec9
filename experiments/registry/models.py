"""The model registry: registered models of a project, their versions (a run's model folder),
tags and aliases. A benchmark's registered model has the benchmark's name; its ``champion``
alias is the benchmark's champion and moves only through the promotion gate
(``experiments.registry.services.champion``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from experiments.benchmarks.models import Benchmark
from experiments.tracking.models import Run
from tickets.models import Project

MAX_MODEL_NAME_LENGTH = 256
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 5000
MAX_ALIAS_LENGTH = 255
CHAMPION_ALIAS = "champion"


class RegisteredModel(models.Model):
    """A named model of one project; names are unique within a project, not across projects."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="registered_models")
    name = models.CharField(max_length=MAX_MODEL_NAME_LENGTH)
    description = models.TextField(blank=True)
    # The benchmark of the same name, whose champion the ``champion`` alias follows.
    benchmark = models.OneToOneField(
        Benchmark, null=True, blank=True, on_delete=models.SET_NULL, related_name="registered_model"
    )
    # Version numbers only grow: a deleted version's number is not given again.
    last_version = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="registered_model_name_unique_in_project")
        ]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    """One version: a folder of a run's artifacts (``source``), or a logged model the client named."""

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    # What the client sent (``runs:/<id>/model``, ``mlflow-artifacts:/...`` or ``models:/m-...``).
    source = models.CharField(max_length=1000)
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions")
    # The folder inside the run's artifacts ("" for the artifact root).
    artifact_path = models.CharField(max_length=1000, blank=True)
    # An MLflow logged model id (``m-...``), kept as given.
    model_id = models.CharField(max_length=64, blank=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["registered_model", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "version"], name="model_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.registered_model_id} v{self.version}"


class RegisteredModelTag(models.Model):
    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=MAX_TAG_KEY_LENGTH)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "key"], name="registered_model_tag_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class ModelVersionTag(models.Model):
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=MAX_TAG_KEY_LENGTH)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["model_version", "key"], name="model_version_tag_unique")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class ModelAlias(models.Model):
    """``@alias`` → a version of the same registered model. ``champion`` follows the benchmark's champion."""

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=MAX_ALIAS_LENGTH)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="aliases")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["alias"]
        constraints = [models.UniqueConstraint(fields=["registered_model", "alias"], name="model_alias_unique")]

    def __str__(self) -> str:
        return f"@{self.alias}"
