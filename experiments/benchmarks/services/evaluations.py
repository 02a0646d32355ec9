"""Requesting an evaluation: one row per distinct request (a unique key), queued after the transaction commits."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from experiments.benchmarks.models import (
    Benchmark,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSet,
)
from experiments.benchmarks.selectors import current_predictions
from experiments.tracking.models import Run

EVALUATION_SEED = 0


def _evaluation_key(**parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def enqueue_evaluation(evaluation_id: int) -> None:
    from experiments.benchmarks.tasks import evaluation_run  # the task module imports this one

    # robust: a broker that is down must not fail the request; the sweeper re-sends queued jobs.
    transaction.on_commit(lambda: evaluation_run.delay(evaluation_id), robust=True)


def evaluation_request(
    *,
    run: Run,
    dataset: EvaluationDataset,
    user: AbstractBaseUser | None,
    predictions: PredictionSet | None = None,
    force: bool = False,
    enqueue: bool = True,
) -> tuple[Evaluation, bool]:
    """Evaluate ``run``'s current predictions on ``dataset`` against the champion of this moment.

    Returns ``(evaluation, created)``. An identical request (same predictions, champion
    predictions and settings) reuses the earlier evaluation unless it failed; the database holds
    one live row per identity (constraint ``evaluation_identity``), so identical requests at the same
    moment get the same row. ``force`` asks for a new evaluation of the same inputs: its identity
    adds the number of evaluations of this run on this dataset so far.
    With ``enqueue`` the job is queued for a worker once the transaction commits; without it the
    caller runs ``evaluation_execute`` itself (demo data is built that way, synchronously).
    """
    benchmark = Benchmark.objects.get(pk=dataset.benchmark_id)
    if run.project_id != benchmark.project_id:
        raise ValidationError({"run": f"Run {run.pk} belongs to another project than benchmark {benchmark.name}."})
    predictions = predictions or current_predictions(run_id=run.pk, dataset=dataset)
    if predictions is None:
        raise ValidationError(
            {
                "run": f"Run #{run.pk} has no predictions for {benchmark.name} {dataset.label}; "
                "upload its predictions file first."
            }
        )
    champion_id = benchmark.champion_id
    champion_predictions = None
    if champion_id is not None and champion_id != run.pk:
        champion_predictions = current_predictions(run_id=champion_id, dataset=dataset)
    key = _evaluation_key(
        run=run.pk,
        dataset=dataset.sha256,
        predictions=predictions.sha256,
        champion=champion_id,
        champion_predictions=champion_predictions.sha256 if champion_predictions else None,
        primary=benchmark.primary_metric,
        threshold=benchmark.threshold,
        guardrails=benchmark.guardrails,
        seed=EVALUATION_SEED,
        resamples=settings.EVALUATION_RESAMPLES,
    )
    if force:
        # Forced: a new identity, numbered by the evaluations so far (still unique in the database).
        generation = Evaluation.objects.filter(run=run, dataset=dataset).count()
        key = _evaluation_key(identity=key, generation=generation)
    earlier = _live_evaluation(run=run, dataset=dataset, key=key)
    if earlier is not None:
        return earlier, False
    fields = {
        "benchmark": benchmark,
        "predictions": predictions,
        "champion_run_id": champion_id,
        "champion_predictions": champion_predictions,
        "primary_metric": benchmark.primary_metric,
        "threshold": benchmark.threshold,
        "guardrails": benchmark.guardrails,
        "seed": EVALUATION_SEED,
        "n_resamples": settings.EVALUATION_RESAMPLES,
        "queued_at": timezone.now(),
        "stage": "queued",
        "requested_by": user,
    }
    try:
        # A savepoint: the unique constraint refuses a concurrent twin without spoiling an outer transaction.
        with transaction.atomic():
            evaluation = Evaluation.objects.create(run=run, dataset=dataset, key=key, **fields)
    except IntegrityError:
        twin = _live_evaluation(run=run, dataset=dataset, key=key)
        if twin is None:
            raise
        return twin, False
    if enqueue:
        enqueue_evaluation(evaluation.pk)
    return evaluation, True


def _live_evaluation(*, run: Run, dataset: EvaluationDataset, key: str) -> Evaluation | None:
    """The one evaluation that is not failed with this identity (the constraint evaluation_identity)."""
    return (
        Evaluation.objects.filter(key=key, run=run, dataset=dataset)
        .exclude(status=EvaluationStatus.FAILED)
        .order_by("-created_at", "-id")
        .first()
    )
