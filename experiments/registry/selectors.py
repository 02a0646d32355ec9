"""Reads for the model registry: name lookups among a user's projects, the MLflow searches and
the model pages. Lists cost a constant number of queries whatever the number of models or versions."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from experiments.benchmarks.models import Benchmark, Evaluation, EvaluationStatus
from experiments.registry.models import ModelAlias, ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from experiments.tracking.models import Artifact, LoggedModel, LoggedModelStatus, Run
from tickets.models import Membership, Project, Role

MLMODEL = "MLmodel"


def project_keys_with_model(*, user: AbstractBaseUser | AnonymousUser, name: str) -> list[str]:
    """Keys of the caller's projects that have a registered model called ``name``."""
    if not user.is_authenticated:
        return []
    return sorted(
        RegisteredModel.objects.filter(name=name, project__memberships__user=user).values_list(
            "project__key", flat=True
        )
    )


def projects_for_new_model(*, user: AbstractBaseUser, name: str) -> list[str]:
    """Where a new model called ``name`` goes when the client names no project: the project whose
    benchmark has that name, else the only project the caller logs to; every candidate otherwise."""
    keys = sorted(
        Membership.objects.filter(user=user, role__in=[Role.ENGINEER, Role.LEAD]).values_list("project__key", flat=True)
    )
    with_benchmark = sorted(
        Benchmark.objects.filter(name=name, project__key__in=keys).values_list("project__key", flat=True)
    )
    return with_benchmark or keys


def project_of_key(*, key: str) -> Project | None:
    return Project.objects.filter(key=key).first()


def benchmark_named(*, project: Project, name: str) -> Benchmark | None:
    return Benchmark.objects.filter(project=project, name=name).first()


def _versions(queryset: QuerySet[ModelVersion]) -> QuerySet[ModelVersion]:
    return queryset.select_related("registered_model", "run", "created_by").prefetch_related(
        "tags", Prefetch("aliases", queryset=ModelAlias.objects.order_by("alias"))
    )


def version_of_model(*, model: RegisteredModel, version: int) -> ModelVersion | None:
    found = _versions(ModelVersion.objects.filter(registered_model=model, version=version)).first()
    if found is not None:
        found.registered_model = model
    return found


def version_by_alias(*, model: RegisteredModel, alias: str) -> ModelVersion | None:
    found = _versions(ModelVersion.objects.filter(registered_model=model, aliases__alias=alias)).first()
    if found is not None:
        found.registered_model = model
    return found


def latest_version(*, model: RegisteredModel) -> ModelVersion | None:
    found = _versions(ModelVersion.objects.filter(registered_model=model).order_by("-version")).first()
    if found is not None:
        found.registered_model = model
    return found


def _with_latest(models: list[RegisteredModel]) -> list[RegisteredModel]:
    """Attach ``latest`` (the newest version, or None) to each model: one query for all of them."""
    ids = [m.latest_id for m in models if m.latest_id]
    latest = {v.pk: v for v in _versions(ModelVersion.objects.filter(pk__in=ids))} if ids else {}
    for model in models:
        model.latest = latest.get(model.latest_id)
    return models


def _models(queryset: QuerySet[RegisteredModel]) -> QuerySet[RegisteredModel]:
    newest = ModelVersion.objects.filter(registered_model=OuterRef("pk")).order_by("-version").values("pk")[:1]
    return (
        queryset.select_related("project", "created_by", "benchmark")
        .annotate(latest_id=Subquery(newest), version_count=Count("versions", distinct=True))
        .prefetch_related(
            "tags", Prefetch("aliases", queryset=ModelAlias.objects.select_related("model_version").order_by("alias"))
        )
    )


@dataclass(frozen=True)
class NameFilter:
    """``name = 'x'`` (``op`` "="), ``name LIKE 'x%'`` / ``ILIKE`` as a regular expression."""

    op: str
    value: str


def _name_q(field: str, where: NameFilter | None) -> Q:
    if where is None:
        return Q()
    if where.op == "=":
        return Q(**{field: where.value})
    if where.op == "!=":
        return ~Q(**{field: where.value})
    lookup = "iregex" if where.op == "ILIKE" else "regex"
    return Q(**{f"{field}__{lookup}": where.value})


def _tagged(queryset: QuerySet, tag_model: type, owner: str, tags: list[tuple[str, str, str]]) -> QuerySet:
    """Keep rows whose tag ``key`` equals (``=``) or does not equal (``!=``, also when absent) ``value``."""
    for key, op, value in tags:
        owners = tag_model.objects.filter(key=key, value=value).values(owner)
        queryset = queryset.filter(pk__in=owners) if op == "=" else queryset.exclude(pk__in=owners)
    return queryset


def search_models(
    *,
    user: AbstractBaseUser,
    where: NameFilter | None,
    tags: list[tuple[str, str, str]],
    order: list[tuple[str, bool]],
    offset: int,
    limit: int,
) -> list[RegisteredModel]:
    """Registered models of the caller's projects matching ``where``; ``order`` is (field, descending)."""
    fields = [f"-{f}" if desc else f for f, desc in order] + ["name", "project__key"]
    rows = RegisteredModel.objects.filter(project__memberships__user=user).filter(_name_q("name", where))
    rows = _models(_tagged(rows, RegisteredModelTag, "registered_model_id", tags))
    return _with_latest(list(rows.order_by(*fields)[offset : offset + limit]))


def search_versions(
    *,
    user: AbstractBaseUser,
    where: NameFilter | None,
    tags: list[tuple[str, str, str]],
    run_ids: list[str] | None,
    order: list[tuple[str, bool]],
    offset: int,
    limit: int,
) -> list[ModelVersion]:
    """Versions of the caller's projects' models, by model name and/or run id."""
    rows = ModelVersion.objects.filter(registered_model__project__memberships__user=user).filter(
        _name_q("registered_model__name", where)
    )
    if run_ids is not None:
        rows = rows.filter(run__uuid__in=[r.lower() for r in run_ids])
    rows = _tagged(rows, ModelVersionTag, "model_version_id", tags)
    fields = [f"-{f}" if desc else f for f, desc in order] + ["registered_model__name", "-version"]
    return list(_versions(rows.order_by(*fields))[offset : offset + limit])


def model_for_json(*, model: RegisteredModel) -> RegisteredModel:
    """One model with what its MLflow JSON needs (tags, aliases, latest version)."""
    return _with_latest(list(_models(RegisteredModel.objects.filter(pk=model.pk))))[0]


def models_of_project(*, project: Project) -> list[RegisteredModel]:
    """The project's models for its models page, with version count, aliases and latest version."""
    rows = list(_models(RegisteredModel.objects.filter(project=project)).order_by("name"))
    for row in rows:
        row.project = project
    return _with_latest(rows)


def run_model_folder(*, run: Run) -> str | None:
    """The folder of ``run``'s artifacts that holds an MLflow model: ``model`` if it has an MLmodel
    file, else the shallowest folder that has one ("" for the root); None when the run has no model."""
    paths = list(
        Artifact.objects.filter(run=run)
        .filter(Q(path=MLMODEL) | Q(path__endswith=f"/{MLMODEL}"))
        .values_list("path", flat=True)
    )
    if not paths:
        return None
    if f"model/{MLMODEL}" in paths:
        return "model"
    best = min(paths, key=lambda p: (p.count("/"), p))
    return best.rpartition("/")[0]


def run_has_model(*, run: Run, folder: str) -> bool:
    path = f"{folder}/{MLMODEL}" if folder else MLMODEL
    return Artifact.objects.filter(run=run, path=path).exists()


def run_logged_model_id(*, run: Run) -> str | None:
    """The id (``m-...``) of the newest model ``run`` logged with ``log_model`` (MLflow 3), if any."""
    return (
        LoggedModel.objects.filter(run=run, deleted_at__isnull=True)
        .exclude(status=LoggedModelStatus.FAILED)
        .order_by("-created_at", "-id")
        .values_list("model_id", flat=True)
        .first()
    )


def newest_version_of_run(*, model: RegisteredModel, run: Run) -> ModelVersion | None:
    return ModelVersion.objects.filter(registered_model=model, run=run).order_by("-version").first()


def evaluations_for_champion(*, benchmark: Benchmark, run: Run) -> list[Evaluation]:
    """The run's succeeded evaluations on the benchmark, newest first, with what the gate's checks read."""
    return list(
        Evaluation.objects.filter(benchmark=benchmark, run=run, status=EvaluationStatus.SUCCEEDED)
        .select_related("run", "champion_run", "dataset")
        .order_by("-created_at", "-id")
    )


def model_page(*, model: RegisteredModel) -> list[ModelVersion]:
    """Every version of ``model``, newest first, with its run, the run's ticket, tags, aliases and
    the evaluation it came from (the run's newest succeeded one on the model's benchmark): three
    queries whatever the number of versions."""
    versions = list(
        ModelVersion.objects.filter(registered_model=model)
        .select_related("run__ticket", "created_by")
        .prefetch_related("tags", Prefetch("aliases", queryset=ModelAlias.objects.order_by("alias")))
        .order_by("-version")
    )
    evaluations: dict[int, Evaluation] = {}
    run_ids = {v.run_id for v in versions if v.run_id}
    if model.benchmark_id and run_ids:
        for evaluation in (
            Evaluation.objects.filter(benchmark_id=model.benchmark_id, run_id__in=run_ids)
            .filter(status=EvaluationStatus.SUCCEEDED)
            .only("id", "run_id", "verdict", "gate_allowed", "primary_value", "primary_metric", "created_at")
            .order_by("run_id", "-created_at", "-id")
        ):
            evaluations.setdefault(evaluation.run_id, evaluation)
    for version in versions:
        version.registered_model = model
        version.evaluation = evaluations.get(version.run_id)
        if version.run_id:
            version.run.project = model.project
            if version.run.ticket_id:
                version.run.ticket.project = model.project
    return versions
