"""Reads for logged models, run inputs and named experiments (the MLflow API and the run page)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Prefetch, Q, QuerySet

from experiments.tracking.models import (
    Experiment,
    LoggedModel,
    LoggedModelFile,
    LoggedModelParam,
    LoggedModelTag,
    ModelLinkDirection,
    Run,
    RunDataset,
    RunModelLink,
)
from tickets.models import Project


def logged_models_with_details() -> QuerySet[LoggedModel]:
    """Logged models with their run, tags and params: three queries for any number of models."""
    return LoggedModel.objects.select_related("run").prefetch_related(
        Prefetch("tags", queryset=LoggedModelTag.objects.order_by("key")),
        Prefetch("params", queryset=LoggedModelParam.objects.order_by("key")),
    )


def search_logged_models(
    *,
    experiments: Sequence[tuple[Project, int | None]],
    name: str | None = None,
    source_run_uuid: str | None = None,
    include_deleted: bool = False,
) -> QuerySet[LoggedModel]:
    """Logged models of ``experiments`` ((project, named experiment id or None)), newest first."""
    scope = Q(pk__in=[])
    for project, experiment_id in experiments:
        scope |= Q(project=project, experiment_id=experiment_id)
    models = logged_models_with_details().filter(scope)
    if not include_deleted:
        models = models.filter(deleted_at__isnull=True)
    if name is not None:
        models = models.filter(name=name)
    if source_run_uuid is not None:
        models = models.filter(run__uuid=source_run_uuid)
    return models.order_by("-created_at", "-id")


def model_file_exists(*, model: LoggedModel, path: str) -> bool:
    return LoggedModelFile.objects.filter(model=model, path=path).exists()


def model_file_sizes(*, model: LoggedModel, prefix: str) -> list[tuple[str, int]]:
    """``(path, size)`` of the model's files whose path starts with ``prefix``."""
    return list(LoggedModelFile.objects.filter(model=model, path__startswith=prefix).values_list("path", "size"))


def models_of_run(*, run: Run) -> list[LoggedModel]:
    """The run's logged models (made by it, not deleted), oldest first: one query."""
    return list(LoggedModel.objects.filter(run=run, deleted_at__isnull=True).order_by("created_at", "id"))


def model_of_run(*, run: Run, model_id: str) -> LoggedModel | None:
    return LoggedModel.objects.filter(run=run, model_id=str(model_id), deleted_at__isnull=True).first()


def model_file_paths(*, model: LoggedModel) -> list[str]:
    return list(LoggedModelFile.objects.filter(model=model).order_by("path").values_list("path", flat=True))


def datasets_of_run(*, run: Run) -> list[RunDataset]:
    return list(RunDataset.objects.filter(run=run).order_by("id"))


def inputs_of_runs(*, run_ids: Sequence[int]) -> tuple[dict[int, list[RunDataset]], dict[int, list[RunModelLink]]]:
    """Datasets and model links of the runs, by run id: two queries."""
    datasets: dict[int, list[RunDataset]] = defaultdict(list)
    links: dict[int, list[RunModelLink]] = defaultdict(list)
    if not run_ids:
        return datasets, links
    for row in RunDataset.objects.filter(run_id__in=list(run_ids)).order_by("id"):
        datasets[row.run_id].append(row)
    for link in RunModelLink.objects.filter(run_id__in=list(run_ids)).select_related("model").order_by("id"):
        links[link.run_id].append(link)
    return datasets, links


def experiment_named(*, project: Project, name: str) -> Experiment | None:
    return Experiment.objects.filter(project=project, name=name).first()


def experiment_of_project(*, project: Project, experiment_id: int) -> Experiment | None:
    return Experiment.objects.filter(project=project, pk=experiment_id).first()


def experiments_of_projects(*, projects: Sequence[Project]) -> list[Experiment]:
    """Named experiments of ``projects``, by project and name: one query."""
    return list(Experiment.objects.filter(project__in=list(projects)).order_by("project_id", "name"))


def experiments_of_project(*, project: Project) -> list[Experiment]:
    return list(Experiment.objects.filter(project=project, deleted_at__isnull=True).order_by("name"))


OUTPUT = ModelLinkDirection.OUTPUT
