"""Registry test data through the services: a run with a model folder, registered models and versions."""

from __future__ import annotations

from django.utils import timezone

from experiments.models import Artifact, Run
from experiments.registry import services


def run_with_model(project, user, name: str = "run", folder: str = "model", ticket=None) -> Run:
    run = Run.objects.create(project=project, name=name, start_time=timezone.now(), started_by=user, ticket=ticket)
    Artifact.objects.create(run=run, path=f"{folder}/MLmodel" if folder else "MLmodel", size=10)
    run.project = project
    return run


def model_with_versions(project, user, name: str, count: int = 1, *, ticket=None):
    model = services.registered_model_create(project=project, name=name, user=user)
    for i in range(count):
        run = run_with_model(project, user, f"{name}-run-{i}", ticket=ticket)
        services.model_version_create(
            model=model,
            origin=services.VersionSource(source=f"runs:/{run.uuid}/model", run=run, artifact_path="model"),
            user=user,
        )
    return model
