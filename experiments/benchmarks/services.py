"""Writes for benchmarks: definitions, dataset versions, predictions, evaluations on workers, promotions.

Every function validates its whole input before it writes, so bad input changes nothing: a
rejected file leaves no row and no file behind. Evaluations are background jobs whose database
row is the source of truth (see ``evaluation_execute`` and ``evaluation_sweep``); the queue
message is only a nudge, sent after the transaction that created the row commits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from experiments.benchmarks.models import (
    Benchmark,
    BenchmarkTask,
    ChampionChange,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSet,
    PredictionSource,
    benchmark_name_validator,
)
from experiments.evaluation import (
    DEFAULT_PRIMARY,
    METRICS,
    EvaluationInputError,
    Truth,
    check_gate,
    evaluate,
    read_predictions,
    read_truth,
)
from experiments.tracking.models import Run, Tag
from tickets.models import Project, Sprint, SprintState

logger = logging.getLogger(__name__)

# A run tagged agileml.benchmark=<name> that logs this artifact is evaluated on that benchmark.
TAG_BENCHMARK = "agileml.benchmark"
PREDICTIONS_ARTIFACT = "predictions.csv"
EVALUATION_SEED = 0
_CHUNK = 1024 * 1024


class PromotionConflict(Exception):
    """The champion is not what the evaluation was compared with (someone promoted first)."""


class EvaluationRetry(Exception):
    """A transient failure (database or storage unavailable): the job is queued again."""


class _ClaimLost(Exception):
    """Another attempt owns this evaluation now (the sweeper re-queued it): stop quietly."""


# --- Benchmarks -------------------------------------------------------------------------
def _clean_settings(
    *, task: str, primary_metric: str | None, threshold: float, guardrails: Mapping | None
) -> tuple[str, float, dict[str, float]]:
    if task not in BenchmarkTask.values:
        raise ValidationError({"task": f"Unknown task {task!r}; use one of {', '.join(BenchmarkTask.values)}."})
    metrics = METRICS[task]
    primary = primary_metric or DEFAULT_PRIMARY[task]
    if primary not in metrics:
        raise ValidationError(
            {"primary_metric": f"{primary!r} is not a {task} metric; use one of {', '.join(metrics)}."}
        )
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ValidationError({"threshold": f"{threshold!r} is not a number."}) from None
    if not math.isfinite(threshold):
        raise ValidationError({"threshold": "The decision threshold must be a finite number."})
    clean: dict[str, float] = {}
    for metric, margin in (guardrails or {}).items():
        if metric not in metrics:
            raise ValidationError(
                {"guardrails": f"{metric!r} is not a {task} metric; use some of {', '.join(metrics)}."}
            )
        if metric == primary:
            raise ValidationError(
                {"guardrails": f"{metric} is the primary metric; a guardrail protects another metric."}
            )
        try:
            value = float(margin)
        except (TypeError, ValueError):
            raise ValidationError({"guardrails": f"The margin of {metric} must be a number, not {margin!r}."}) from None
        if not math.isfinite(value) or value < 0:
            raise ValidationError(
                {"guardrails": f"The margin of {metric} must be a number ≥ 0 (the largest tolerated regression)."}
            )
        clean[metric] = value
    return primary, threshold, clean


def _check_name(project: Project, name: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    try:
        benchmark_name_validator(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages[0]}) from None
    others = Benchmark.objects.filter(project=project, name=name)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise ValidationError({"name": f"{project.key} already has a benchmark named {name}."})
    return name


def benchmark_create(
    *,
    project: Project,
    user: AbstractBaseUser | None,
    name: str,
    task: str,
    primary_metric: str | None = None,
    threshold: float = 0.5,
    guardrails: Mapping[str, float] | None = None,
    description: str = "",
) -> Benchmark:
    """A new benchmark without datasets or champion. ``primary_metric`` defaults to the task's usual one."""
    name = _check_name(project, name)
    primary, threshold, guardrails = _clean_settings(
        task=task, primary_metric=primary_metric, threshold=threshold, guardrails=guardrails
    )
    try:
        with transaction.atomic():
            return Benchmark.objects.create(
                project=project,
                name=name,
                task=task,
                primary_metric=primary,
                threshold=threshold,
                guardrails=guardrails,
                description=description,
                created_by=user,
            )
    except IntegrityError:
        raise ValidationError({"name": f"{project.key} already has a benchmark named {name}."}) from None


def benchmark_update(
    *,
    benchmark: Benchmark,
    name: str | None = None,
    primary_metric: str | None = None,
    threshold: float | None = None,
    guardrails: Mapping[str, float] | None = None,
    description: str | None = None,
) -> Benchmark:
    """Change a benchmark's definition. Existing evaluations keep the settings they were made with;
    a promotion needs an evaluation made with the current ones."""
    fields = []
    if name is not None and name != benchmark.name:
        benchmark.name = _check_name(benchmark.project, name, exclude=benchmark.pk)
        fields.append("name")
    if primary_metric is not None or threshold is not None or guardrails is not None:
        primary, value, margins = _clean_settings(
            task=benchmark.task,
            primary_metric=primary_metric or benchmark.primary_metric,
            threshold=benchmark.threshold if threshold is None else threshold,
            guardrails=benchmark.guardrails if guardrails is None else guardrails,
        )
        if primary_metric is not None and primary in benchmark.guardrails and guardrails is None:
            raise ValidationError(
                {"primary_metric": f"{primary} is a guardrail of this benchmark; remove it from the guardrails first."}
            )
        benchmark.primary_metric, benchmark.threshold, benchmark.guardrails = primary, value, margins
        fields += ["primary_metric", "threshold", "guardrails"]
    if description is not None:
        benchmark.description = description
        fields.append("description")
    if fields:
        benchmark.save(update_fields=fields)
    return benchmark


# --- Files ------------------------------------------------------------------------------
def media_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _clean_file_name(name: str, default: str) -> str:
    name = Path(str(name or "").replace("\\", "/")).name.strip()
    return name[:255] or default


def _place(source: Path, relative: str, *, move: bool) -> Path:
    """Put ``source`` at ``MEDIA_ROOT/relative`` atomically (a temporary name, then a rename)."""
    target = media_path(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    os.close(fd)
    try:
        if move:
            shutil.move(str(source), tmp_name)
        else:
            shutil.copyfile(source, tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


@dataclass
class _CachedTruth:
    key: tuple[int, str]
    truth: Truth


_truth_cache: _CachedTruth | None = None
_truth_lock = threading.Lock()


def dataset_truth(dataset: EvaluationDataset) -> Truth:
    """The dataset's truth as the engine reads it; the last one read is kept, since workers and the
    upload check read the same file again and again."""
    global _truth_cache
    key = (dataset.pk, dataset.sha256)
    with _truth_lock:
        if _truth_cache is not None and _truth_cache.key == key:
            return _truth_cache.truth
    path = media_path(dataset.file)
    if not path.exists():
        raise FileNotFoundError(f"the stored truth file {dataset.file} is missing under MEDIA_ROOT")
    truth = read_truth(path, task=dataset.benchmark.task, name=dataset.original_name)
    with _truth_lock:
        _truth_cache = _CachedTruth(key, truth)
    return truth


# --- Dataset versions -------------------------------------------------------------------
def dataset_upload(
    *,
    benchmark: Benchmark,
    user: AbstractBaseUser | None,
    path: Path,
    original_name: str,
    note: str = "",
    move: bool = False,
) -> EvaluationDataset:
    """Accept a ground-truth file as the benchmark's next dataset version, after the engine has read it.

    A file the engine rejects raises ``ValidationError`` with the engine's message (file, line,
    column); a file identical to an existing version is rejected too. Nothing is stored then.
    """
    name = _clean_file_name(original_name, "truth.csv")
    try:
        truth = read_truth(path, task=benchmark.task, name=name)
    except EvaluationInputError as error:
        raise ValidationError({"file": str(error)}) from None
    sha = file_sha256(path)
    size = Path(path).stat().st_size
    target: Path | None = None
    try:
        with transaction.atomic():
            # Lock the benchmark so two uploads cannot take the same version number.
            Benchmark.objects.select_for_update().filter(pk=benchmark.pk).first()
            same = EvaluationDataset.objects.filter(benchmark=benchmark, sha256=sha).first()
            if same is not None:
                raise ValidationError(
                    {"file": f"{name} is identical to version {same.version} (sha256 {sha[:12]}…); nothing to add."}
                )
            last = EvaluationDataset.objects.filter(benchmark=benchmark).aggregate(last=Max("version"))["last"]
            version = (last or 0) + 1
            relative = f"benchmarks/{benchmark.pk}/truth-v{version}-{sha[:12]}.csv"
            target = _place(Path(path), relative, move=move)
            dataset = EvaluationDataset.objects.create(
                benchmark=benchmark,
                version=version,
                file=relative,
                original_name=name,
                sha256=sha,
                size=size,
                n_rows=truth.n_rows,
                n_groups=truth.n_groups,
                class_counts=truth.class_counts,
                note=note,
                uploaded_by=user,
            )
    except BaseException:
        if target is not None:
            target.unlink(missing_ok=True)
        raise
    dataset.benchmark = benchmark
    return dataset


def dataset_is_used(dataset: EvaluationDataset) -> bool:
    return PredictionSet.objects.filter(dataset=dataset).exists() or Evaluation.objects.filter(dataset=dataset).exists()


def dataset_delete(*, dataset: EvaluationDataset) -> None:
    """Remove a version nobody has used yet (a mistaken upload); used versions are immutable."""
    if dataset_is_used(dataset):
        raise ValidationError(
            {
                "dataset": f"Version {dataset.version} already has predictions or evaluations and cannot change; "
                "upload a new version instead."
            }
        )
    path = media_path(dataset.file)
    dataset.delete()
    path.unlink(missing_ok=True)


def latest_dataset(benchmark: Benchmark) -> EvaluationDataset | None:
    return EvaluationDataset.objects.filter(benchmark=benchmark).order_by("-version").first()


# --- Predictions ------------------------------------------------------------------------
def predictions_upload(
    *,
    run: Run,
    dataset: EvaluationDataset,
    user: AbstractBaseUser | None,
    path: Path,
    original_name: str,
    source: str,
    move: bool = False,
) -> PredictionSet:
    """Accept ``run``'s predictions for ``dataset`` after the engine has read them against its truth.

    Uploading the same content again makes it the current predictions again without a second copy.
    """
    if run.project_id != dataset.benchmark.project_id:
        raise ValidationError({"run": f"Run {run.pk} belongs to another project than benchmark {dataset.benchmark}."})
    name = _clean_file_name(original_name, PREDICTIONS_ARTIFACT)
    try:
        truth = dataset_truth(dataset)
    except FileNotFoundError as error:
        raise ValidationError({"dataset": f"Dataset {dataset.label} cannot be read: {error}."}) from None
    try:
        predictions = read_predictions(path, truth=truth, name=name)
    except EvaluationInputError as error:
        raise ValidationError({"file": str(error)}) from None
    sha = file_sha256(path)
    now = timezone.now()
    existing = PredictionSet.objects.filter(run=run, dataset=dataset, sha256=sha).first()
    if existing is not None:
        existing.uploaded_at = now
        existing.save(update_fields=["uploaded_at"])
        return existing
    target: Path | None = None
    try:
        with transaction.atomic():
            relative = f"benchmarks/{dataset.benchmark_id}/predictions/run{run.pk}-v{dataset.version}-{sha[:12]}.csv"
            target = _place(Path(path), relative, move=move)
            prediction_set = PredictionSet.objects.create(
                run=run,
                dataset=dataset,
                file=relative,
                original_name=name,
                sha256=sha,
                size=Path(target).stat().st_size,
                n_rows=predictions.n_rows_in_file,
                n_covered=predictions.n_covered,
                source=source,
                uploaded_by=user,
                uploaded_at=now,
            )
    except IntegrityError:
        # The same file for the same run arrived twice at once; the other request stored it at the
        # same content-addressed path, so the file stays.
        return PredictionSet.objects.get(run=run, dataset=dataset, sha256=sha)
    except BaseException:
        if target is not None:
            target.unlink(missing_ok=True)
        raise
    return prediction_set


def current_predictions(*, run_id: int, dataset: EvaluationDataset) -> PredictionSet | None:
    return PredictionSet.objects.filter(run_id=run_id, dataset=dataset).order_by("-uploaded_at", "-id").first()


def predictions_from_artifact(*, run: Run, path: Path) -> PredictionSet | None:
    """The MLflow hook: ``predictions.csv`` logged by a run tagged ``agileml.benchmark=<name>``
    becomes its predictions on that benchmark's latest dataset and is evaluated at once.

    Runs without the tag are left alone (``None``). A tag naming no benchmark, a benchmark without
    a dataset, or a file the engine rejects raise ``ValidationError``, and the artifact is refused.
    """
    name = Tag.objects.filter(run=run, key=TAG_BENCHMARK).values_list("value", flat=True).first()
    if name is None:
        return None
    benchmark = Benchmark.objects.filter(project_id=run.project_id, name=name.strip()).first()
    if benchmark is None:
        known = ", ".join(Benchmark.objects.filter(project_id=run.project_id).values_list("name", flat=True))
        raise ValidationError(
            {
                "tags": f"Tag {TAG_BENCHMARK}={name!r} names no benchmark of this project "
                f"(benchmarks: {known or 'none'})."
            }
        )
    dataset = latest_dataset(benchmark)
    if dataset is None:
        raise ValidationError(
            {"tags": f"Benchmark {benchmark.name} has no evaluation dataset yet; a lead must upload its ground truth."}
        )
    dataset.benchmark = benchmark
    prediction_set = predictions_upload(
        run=run,
        dataset=dataset,
        user=run.started_by,
        path=path,
        original_name=PREDICTIONS_ARTIFACT,
        source=PredictionSource.MLFLOW,
    )
    evaluation_request(run=run, dataset=dataset, user=run.started_by, predictions=prediction_set)
    return prediction_set


# --- Requesting evaluations -------------------------------------------------------------
def _evaluation_key(**parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _enqueue(evaluation_id: int) -> None:
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
    predictions and settings) reuses the earlier evaluation unless it failed or ``force`` is set.
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
    if not force:
        earlier = (
            Evaluation.objects.filter(key=key, run=run, dataset=dataset)
            .exclude(status=EvaluationStatus.FAILED)
            .order_by("-created_at", "-id")
            .first()
        )
        if earlier is not None:
            return earlier, False
    evaluation = Evaluation.objects.create(
        benchmark=benchmark,
        dataset=dataset,
        run=run,
        predictions=predictions,
        champion_run_id=champion_id,
        champion_predictions=champion_predictions,
        primary_metric=benchmark.primary_metric,
        threshold=benchmark.threshold,
        guardrails=benchmark.guardrails,
        seed=EVALUATION_SEED,
        n_resamples=settings.EVALUATION_RESAMPLES,
        key=key,
        queued_at=timezone.now(),
        stage="queued",
        requested_by=user,
    )
    if enqueue:
        _enqueue(evaluation.pk)
    return evaluation, True


# --- Running evaluations (the worker side) ----------------------------------------------
class _Job:
    """One claimed attempt: progress writes that double as the heartbeat, all conditional on the claim."""

    def __init__(self, evaluation_id: int, claim: str) -> None:
        self.evaluation_id = evaluation_id
        self.claim = claim
        self.lost = threading.Event()
        self._last: tuple[str, int] = ("", -1)
        self._last_write = 0.0

    def owned(self):
        return Evaluation.objects.filter(pk=self.evaluation_id, claim=self.claim, status=EvaluationStatus.RUNNING)

    def beat(self, **fields: object) -> None:
        if not self.owned().update(heartbeat_at=timezone.now(), **fields):
            self.lost.set()

    def progress(self, stage: str, fraction: float) -> None:
        if self.lost.is_set():
            raise _ClaimLost
        # 100% is written with the result, so a full bar always means the verdict is there.
        percent = max(0, min(99, int(fraction * 100)))
        now = time.monotonic()
        if (stage, percent) == self._last or (stage == self._last[0] and now - self._last_write < 0.25):
            return
        self._last, self._last_write = (stage, percent), now
        self.beat(stage=stage, progress=percent)
        if self.lost.is_set():
            raise _ClaimLost


class _Heartbeat(threading.Thread):
    """Refreshes the heartbeat while one long step (say, parsing a huge file) reports no progress."""

    def __init__(self, job: _Job, interval: float) -> None:
        super().__init__(name=f"evaluation-{job.evaluation_id}-heartbeat", daemon=True)
        self.job = job
        self.interval = interval
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(self.interval):
                self.job.beat()
                if self.job.lost.is_set():
                    return
        except Exception:
            logger.exception("Heartbeat of evaluation %s failed", self.job.evaluation_id)
        finally:
            connection.close()


def _gate(evaluation: Evaluation, report: dict) -> tuple[bool, list[str]]:
    run_name = evaluation.champion_run.display_name if evaluation.champion_run_id else ""
    if evaluation.champion_run_id is None:
        return True, []
    if evaluation.champion_run_id == evaluation.run_id:
        return False, ["This run is the champion."]
    if "comparisons" not in report:
        return False, [
            f"The champion {run_name} has no predictions on {evaluation.dataset.label}; "
            "upload them and evaluate again to compare."
        ]
    result = check_gate(report["comparisons"], primary=evaluation.primary_metric, margins=evaluation.guardrails)
    return result.allowed, list(result.reasons)


def _summary(report: dict, primary: str) -> dict:
    value = report.get("metrics", {}).get(primary) or {}
    comparison = report.get("comparison") or {}
    return {
        "primary_value": value.get("value"),
        "primary_ci_low": value.get("ci_low"),
        "primary_ci_high": value.get("ci_high"),
        "verdict": comparison.get("verdict", ""),
        "delta": comparison.get("delta"),
        "delta_ci_low": comparison.get("ci_low"),
        "delta_ci_high": comparison.get("ci_high"),
        "p_value": comparison.get("p_value"),
    }


def _fail_exhausted(evaluation_id: int) -> None:
    now = timezone.now()
    row = Evaluation.objects.filter(pk=evaluation_id).values("error", "attempts").first() or {}
    last = row.get("error") or "the worker stopped each time (killed, out of memory, or over the time limit)"
    Evaluation.objects.filter(
        pk=evaluation_id, status=EvaluationStatus.QUEUED, attempts__gte=settings.EVALUATION_MAX_ATTEMPTS
    ).update(
        status=EvaluationStatus.FAILED,
        stage="failed",
        finished_at=now,
        error=f"Stopped after {row.get('attempts', 0)} attempts: {last}",
    )


def evaluation_execute(*, evaluation_id: int, worker: str = "") -> str:
    """Claim the evaluation, run the engine and record the outcome. Safe to call twice or concurrently.

    Returns what happened: ``succeeded``, ``failed``, ``not-claimed`` (someone else has it, or it
    is done), or ``claim-lost`` (the sweeper gave it to another attempt meanwhile). Raises
    ``EvaluationRetry`` after a transient failure, with the job queued again.
    """
    claim = uuid.uuid4().hex
    now = timezone.now()
    claimed = Evaluation.objects.filter(
        pk=evaluation_id, status=EvaluationStatus.QUEUED, attempts__lt=settings.EVALUATION_MAX_ATTEMPTS
    ).update(
        status=EvaluationStatus.RUNNING,
        claim=claim,
        worker=worker[:200],
        started_at=now,
        heartbeat_at=now,
        stage="starting",
        progress=0,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        _fail_exhausted(evaluation_id)
        return "not-claimed"
    job = _Job(evaluation_id, claim)
    # A heartbeat from another connection only works once the claim is committed; inside an
    # outer transaction (a synchronous call) the progress writes are the only heartbeat.
    heartbeat = None
    if not connection.in_atomic_block:
        heartbeat = _Heartbeat(job, interval=max(0.5, settings.EVALUATION_STALE_SECONDS / 4))
        heartbeat.start()
    try:
        return _execute(job)
    finally:
        if heartbeat is not None:
            heartbeat.done.set()
            heartbeat.join()


def _execute(job: _Job) -> str:
    evaluation = Evaluation.objects.select_related(
        "benchmark", "dataset__benchmark", "predictions", "champion_predictions", "champion_run"
    ).get(pk=job.evaluation_id)
    try:
        job.progress("reading", 0.0)
        truth = dataset_truth(evaluation.dataset)
        challenger = _read_stored(evaluation.predictions, truth)
        champion = _read_stored(evaluation.champion_predictions, truth) if evaluation.champion_predictions else None
        report = evaluate(
            task=evaluation.benchmark.task,
            truth=truth,
            predictions=challenger,
            champion=champion,
            primary=evaluation.primary_metric,
            threshold=evaluation.threshold,
            seed=evaluation.seed,
            n_resamples=evaluation.n_resamples,
            progress=job.progress,
        )
    except _ClaimLost:
        logger.info("Evaluation %s was re-queued while this attempt ran; dropping its result", job.evaluation_id)
        return "claim-lost"
    except EvaluationInputError as error:
        return _finish_failed(job, str(error))
    except SoftTimeLimitExceeded:
        return _finish_failed(
            job,
            f"The evaluation took longer than {settings.EVALUATION_SOFT_TIME_LIMIT} s and was stopped "
            "(EVALUATION_SOFT_TIME_LIMIT).",
        )
    except (DatabaseError, FileNotFoundError) as error:
        # The database or shared storage is unavailable: worth another try on this or another worker.
        logger.warning("Evaluation %s hit a transient error: %s", job.evaluation_id, error)
        message = f"{type(error).__name__}: {error}"
        # A transient failure does not use up an attempt (those guard against jobs that kill their
        # worker). If the database is still down, the sweeper re-queues the job once its heartbeat is stale.
        with contextlib.suppress(DatabaseError):
            job.owned().update(
                status=EvaluationStatus.QUEUED,
                claim="",
                stage="retrying",
                queued_at=timezone.now(),
                error=message,
                attempts=F("attempts") - 1,
            )
        raise EvaluationRetry(message) from error
    except MemoryError:
        return _finish_failed(job, "The evaluation ran out of memory on the worker; try a worker with more memory.")
    except Exception:
        logger.exception("Evaluation %s failed unexpectedly", job.evaluation_id)
        return _finish_failed(
            job, f"The evaluation failed because of an internal error (logged as evaluation {job.evaluation_id})."
        )
    allowed, reasons = _gate(evaluation, report)
    now = timezone.now()
    finished = job.owned().update(
        status=EvaluationStatus.SUCCEEDED,
        stage="done",
        progress=100,
        heartbeat_at=now,
        finished_at=now,
        error="",
        result=report,
        gate_allowed=allowed,
        gate_reasons=reasons,
        **_summary(report, evaluation.primary_metric),
    )
    return "succeeded" if finished else "claim-lost"


def _read_stored(prediction_set: PredictionSet, truth: Truth):
    path = media_path(prediction_set.file)
    if not path.exists():
        raise FileNotFoundError(f"the stored predictions file {prediction_set.file} is missing under MEDIA_ROOT")
    return read_predictions(path, truth=truth, name=prediction_set.original_name)


def _finish_failed(job: _Job, message: str) -> str:
    now = timezone.now()
    done = job.owned().update(
        status=EvaluationStatus.FAILED, stage="failed", heartbeat_at=now, finished_at=now, error=message[:5000]
    )
    return "failed" if done else "claim-lost"


@dataclass(frozen=True)
class SweepResult:
    requeued: list[int]
    resent: list[int]
    failed: list[int]


def evaluation_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Re-queue evaluations whose worker died (stale heartbeat) and re-send those whose message was lost.

    Each change is a conditional update on the state that was read, so two sweepers (or a sweeper
    and a slow worker) cannot both act on one job. Jobs out of attempts are failed instead.
    """
    now = now or timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.EVALUATION_STALE_SECONDS)
    requeued, failed = [], []
    stale = Evaluation.objects.filter(status=EvaluationStatus.RUNNING, heartbeat_at__lt=stale_before)
    for row in stale.values("pk", "claim", "attempts", "worker"):
        owned = Evaluation.objects.filter(pk=row["pk"], status=EvaluationStatus.RUNNING, claim=row["claim"])
        message = f"The worker {row['worker'] or ''} stopped responding during attempt {row['attempts']}."
        if row["attempts"] >= settings.EVALUATION_MAX_ATTEMPTS:
            if owned.update(
                status=EvaluationStatus.FAILED,
                stage="failed",
                finished_at=now,
                error=f"Stopped after {row['attempts']} attempts: the worker stopped each time "
                "(killed, out of memory, or over the time limit).",
            ):
                failed.append(row["pk"])
        elif owned.update(status=EvaluationStatus.QUEUED, claim="", stage="requeued", queued_at=now, error=message):
            requeued.append(row["pk"])
            _enqueue(row["pk"])
    resent = []
    lost_before = now - dt.timedelta(seconds=settings.EVALUATION_RESEND_SECONDS)
    waiting = Evaluation.objects.filter(status=EvaluationStatus.QUEUED, queued_at__lt=lost_before)
    # A transient failure that has lasted this long is not transient: record it once and stop.
    give_up_before = now - dt.timedelta(seconds=settings.EVALUATION_GIVE_UP_SECONDS)
    for row in waiting.filter(created_at__lt=give_up_before).exclude(error="").values("pk", "queued_at", "error"):
        if Evaluation.objects.filter(pk=row["pk"], status=EvaluationStatus.QUEUED, queued_at=row["queued_at"]).update(
            status=EvaluationStatus.FAILED,
            stage="failed",
            finished_at=now,
            error=f"Gave up after retrying for {settings.EVALUATION_GIVE_UP_SECONDS // 3600} h: {row['error']}"[:5000],
        ):
            failed.append(row["pk"])
    for row in waiting.values("pk", "queued_at"):
        if Evaluation.objects.filter(pk=row["pk"], status=EvaluationStatus.QUEUED, queued_at=row["queued_at"]).update(
            queued_at=now
        ):
            resent.append(row["pk"])
            _enqueue(row["pk"])
    if requeued or resent or failed:
        logger.info("Evaluation sweep: re-queued %s, re-sent %s, failed %s", requeued, resent, failed)
    return SweepResult(requeued=requeued, resent=resent, failed=failed)


# --- Promotions -------------------------------------------------------------------------
def sprint_at(project: Project, moment: dt.datetime) -> Sprint | None:
    """The sprint under way at ``moment``: started before it and not yet closed then."""
    sprints = Sprint.objects.filter(project=project).exclude(state=SprintState.PLANNED)
    running = (
        sprints.filter(started_at__lte=moment)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=moment))
        .order_by("-started_at")
        .first()
    )
    if running is not None:
        return running
    # Sprints without recorded start/close times: the active one now, else the one whose dates cover the day.
    if abs((timezone.now() - moment).total_seconds()) < 60:
        active = sprints.filter(state=SprintState.ACTIVE).first()
        if active is not None:
            return active
    day = timezone.localdate(moment)
    return sprints.filter(start_date__lte=day, end_date__gte=day).order_by("-start_date").first()


@dataclass(frozen=True)
class PromotionProblem:
    """Why an evaluation cannot justify a promotion now; ``conflict`` when the champion moved on."""

    message: str
    conflict: bool = False


def promotion_problem(
    *, benchmark: Benchmark, evaluation: Evaluation, latest: EvaluationDataset | None
) -> PromotionProblem | None:
    """What stands in the way of promoting ``evaluation``'s run, the gate aside (pages use it to
    disable the button; ``champion_promote`` to refuse). ``benchmark`` must be freshly read."""
    if evaluation.benchmark_id != benchmark.pk:
        return PromotionProblem(f"Evaluation {evaluation.pk} belongs to another benchmark.")
    if evaluation.status != EvaluationStatus.SUCCEEDED:
        return PromotionProblem(
            f"Evaluation {evaluation.pk} is {evaluation.get_status_display().lower()}; "
            "only a succeeded evaluation can justify a promotion."
        )
    if latest is not None and evaluation.dataset_id != latest.pk:
        return PromotionProblem(
            f"Evaluation {evaluation.pk} used dataset {evaluation.dataset.label}, but the benchmark's dataset is "
            f"now {latest.label}; evaluate the run on {latest.label} first."
        )
    if (evaluation.primary_metric, evaluation.threshold, evaluation.guardrails) != (
        benchmark.primary_metric,
        benchmark.threshold,
        benchmark.guardrails,
    ):
        return PromotionProblem(
            f"The benchmark's primary metric, threshold or guardrails changed since evaluation {evaluation.pk}; "
            "evaluate the run again with the current settings."
        )
    if benchmark.champion_id == evaluation.run_id:
        return PromotionProblem(f"{evaluation.run.display_name} is already the champion of {benchmark.name}.", True)
    if evaluation.champion_run_id != benchmark.champion_id:
        was = evaluation.champion_run.display_name if evaluation.champion_run_id else "no champion"
        return PromotionProblem(
            f"The champion changed since evaluation {evaluation.pk} (it was compared with {was}); "
            "evaluate the run again against the current champion.",
            True,
        )
    return None


def champion_promote(
    *,
    benchmark: Benchmark,
    evaluation: Evaluation,
    user: AbstractBaseUser | None,
    note: str = "",
    override_reason: str = "",
    at: dt.datetime | None = None,
) -> ChampionChange:
    """Make the evaluated run the champion: a compare-and-swap on the benchmark's champion.

    The evaluation must be finished, on the latest dataset, made with the current settings and
    compared with the current champion (``promotion_problem``). A failed gate needs
    ``override_reason`` (recorded and shown). When another promotion happened first,
    ``PromotionConflict`` is raised and nothing changes. The history row is written in the same
    transaction as the swap.
    """
    at = at or timezone.now()
    current = Benchmark.objects.select_related("project").get(pk=benchmark.pk)
    problem = promotion_problem(benchmark=current, evaluation=evaluation, latest=latest_dataset(current))
    if problem is not None:
        if problem.conflict:
            raise PromotionConflict(problem.message)
        raise ValidationError({"evaluation": problem.message})
    override_reason = (override_reason or "").strip()
    if evaluation.gate_allowed:
        override_reason = ""
    elif not override_reason:
        reasons = "; ".join(evaluation.gate_reasons) or "the gate did not pass"
        raise ValidationError(
            {
                "override_reason": f"The gate failed ({reasons}). A lead may promote anyway only with a written "
                "reason, which is recorded in the champion history."
            }
        )
    run = evaluation.run
    previous = evaluation.champion_run if evaluation.champion_run_id else None
    with transaction.atomic():
        swapped = Benchmark.objects.filter(pk=benchmark.pk, champion_id=evaluation.champion_run_id).update(
            champion=run, champion_since=at
        )
        if swapped != 1:
            raise PromotionConflict(
                f"Another promotion on {current.name} happened first; reload to see the new champion and "
                "evaluate against it."
            )
        change = ChampionChange.objects.create(
            benchmark=benchmark,
            run=run,
            run_name=run.display_name,
            previous_run=previous,
            previous_run_name=previous.display_name if previous else "",
            evaluation=evaluation,
            dataset_id=evaluation.dataset_id,
            ticket_id=run.ticket_id,
            sprint=sprint_at(current.project, at),
            promoted_by=user,
            promoted_at=at,
            note=note.strip(),
            gate_allowed=bool(evaluation.gate_allowed),
            gate_reasons=list(evaluation.gate_reasons),
            override_reason=override_reason,
            primary_metric=evaluation.primary_metric,
            primary_value=evaluation.primary_value,
            primary_ci_low=evaluation.primary_ci_low,
            primary_ci_high=evaluation.primary_ci_high,
            comparison=(evaluation.result or {}).get("comparison"),
        )
    benchmark.champion, benchmark.champion_id, benchmark.champion_since = run, run.pk, at
    return change
