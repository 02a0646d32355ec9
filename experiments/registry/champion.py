"""``@champion`` and the promotion gate are one thing.

Promoting a run in AgileML (``benchmarks.services.champion_promote``) calls ``champion_follow``
in the same transaction: the run's model folder becomes a version of the benchmark's registered
model (reusing the run's newest version if it has one) and ``@champion`` moves to it, or is
removed when the new champion has no model. The history row records the version.

Setting ``@champion`` from the MLflow client (``champion_alias_set``) goes through the same gate
with the same rights: a lead, a succeeded evaluation of the version's run on the benchmark's
current dataset, compared with the current champion, that passes the gate. A failed gate is
refused with its reasons; overriding it needs a written reason, given on AgileML's pages.
"""

from __future__ import annotations

import contextvars

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from experiments.benchmarks.models import ChampionChange
from experiments.benchmarks.selectors import latest_dataset
from experiments.benchmarks.services import PromotionConflict, champion_promote, promotion_problem
from experiments.registry import selectors, services
from experiments.registry.models import ModelVersion, RegisteredModel

# The version a client asked to make @champion, so the promotion's hook moves the alias to it.
_requested: contextvars.ContextVar[ModelVersion | None] = contextvars.ContextVar("champion_version", default=None)


def champion_follow(*, change: ChampionChange) -> None:
    """The promotion hook: register the new champion's model and move ``@champion`` to it."""
    benchmark = change.benchmark
    model = services.registered_model_for_benchmark(benchmark=benchmark, user=change.promoted_by)
    run = change.run
    requested = _requested.get()
    version = None
    if requested is not None and requested.registered_model_id == model.pk and requested.run_id == run.pk:
        version = requested
    if version is None:
        version = selectors.newest_version_of_run(model=model, run=run)
    if version is None:
        origin = _model_of(run)
        if origin is not None:
            version = services.model_version_create(
                model=model,
                origin=origin,
                user=change.promoted_by,
                description=f"Promoted to champion of {benchmark.name}.",
            )
    services.champion_alias_move(model=model, version=version, user=change.promoted_by)
    if version is not None:
        ChampionChange.objects.filter(pk=change.pk).update(model_version=version.version)
        change.model_version = version.version


def _model_of(run) -> services.VersionSource | None:
    """The run's model: a folder of its artifacts with an ``MLmodel`` file, else the newest model it
    logged with ``log_model`` (MLflow 3 keeps those apart from the run's artifacts)."""
    folder = selectors.run_model_folder(run=run)
    if folder is not None:
        return services.VersionSource(source=f"runs:/{run.uuid}/{folder}".rstrip("/"), run=run, artifact_path=folder)
    model_id = selectors.run_logged_model_id(run=run)
    if model_id is not None:
        return services.VersionSource(source=f"models:/{model_id}", run=run, model_id=model_id)
    return None


def _evaluation_for(model: RegisteredModel, version: ModelVersion):
    """The evaluation that may justify promoting the version's run, or a ValidationError saying why none does."""
    benchmark = model.benchmark
    run = version.run
    evaluations = selectors.evaluations_for_champion(benchmark=benchmark, run=run)
    if not evaluations:
        raise ValidationError(
            {
                "alias": f"The promotion gate refuses version {version.version}: run {run.display_name} has no "
                f"succeeded evaluation on benchmark {benchmark.name}. Submit its predictions and evaluate it first."
            }
        )
    latest = latest_dataset(benchmark=benchmark)
    first_problem = None
    for evaluation in evaluations:
        problem = promotion_problem(benchmark=benchmark, evaluation=evaluation, latest=latest)
        if problem is None:
            return evaluation
        first_problem = first_problem or problem
    raise ValidationError({"alias": f"The promotion gate refuses version {version.version}: {first_problem.message}"})


def champion_alias_set(
    *, model: RegisteredModel, version: ModelVersion, user: AbstractBaseUser
) -> ChampionChange | None:
    """``@champion`` → ``version`` through the promotion gate (the caller checked the lead role).

    Returns the champion history row written, or None when the version's run already is the
    champion (then only the alias moves to this version of it).
    """
    if model.benchmark_id is None:
        # A benchmark made after the model, not yet promoted: its model is this one from now on.
        benchmark = selectors.benchmark_named(project=model.project, name=model.name)
        if benchmark is not None:
            model = services.registered_model_for_benchmark(benchmark=benchmark, user=user)
    if model.benchmark_id is None:
        raise ValidationError(
            {
                "alias": f"@champion follows a benchmark's champion, and {model.project.key} has no benchmark named "
                f"{model.name!r}. Use another alias (e.g. @challenger), or register under the benchmark's name."
            }
        )
    if version.run_id is None:
        raise ValidationError(
            {"alias": f"Version {version.version} has no run in AgileML, so no evaluation can justify promoting it."}
        )
    benchmark = type(model.benchmark).objects.select_related("project").get(pk=model.benchmark_id)
    model.benchmark = benchmark
    if benchmark.champion_id == version.run_id:
        with transaction.atomic():
            services.champion_alias_move(model=model, version=version, user=user)
            ChampionChange.objects.filter(
                pk=ChampionChange.objects.filter(benchmark=benchmark).order_by("-promoted_at", "-id").values("pk")[:1]
            ).update(model_version=version.version)
        return None
    evaluation = _evaluation_for(model, version)
    if not evaluation.gate_allowed:
        reasons = "; ".join(evaluation.gate_reasons) or "the gate did not pass"
        raise ValidationError(
            {
                "alias": f"The promotion gate refuses version {version.version} (evaluation {evaluation.pk}): "
                f"{reasons}. A lead may override a failed gate only with a written reason, on the evaluation's "
                "page in AgileML."
            }
        )
    token = _requested.set(version)
    try:
        return champion_promote(
            benchmark=benchmark,
            evaluation=evaluation,
            user=user,
            note=f"@champion set to version {version.version} from the MLflow client.",
        )
    finally:
        _requested.reset(token)


__all__ = ["PromotionConflict", "champion_alias_set", "champion_follow"]
