"""The evaluation worker's side: claim, heartbeat, execute, and the sweeper.

The database row is the source of truth: a worker claims it with a conditional update
(``queued`` → ``running`` with a fresh claim token), writes progress (the heartbeat) and makes
its final write only while it still owns the claim, so running a job twice is harmless. The
periodic sweeper (``evaluation_sweep``) re-queues jobs whose worker died and re-sends lost
messages."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from experiments.benchmarks.models import (
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSet,
)
from experiments.benchmarks.selectors import sequence_position
from experiments.benchmarks.services import sharded
from experiments.benchmarks.services.announce import announce_evaluation_finished
from experiments.benchmarks.services.evaluations import enqueue_evaluation
from experiments.benchmarks.services.files import dataset_truth, media_path
from experiments.evaluation import (
    EvaluationInputError,
    Truth,
    check_gate,
    evaluate,
    read_predictions,
)
from tickets.versions import project_touch

logger = logging.getLogger(__name__)


class EvaluationRetry(Exception):
    """A transient failure (database or storage unavailable): the job is queued again."""


class _ClaimLost(Exception):
    """Another attempt owns this evaluation now (the sweeper re-queued it): stop quietly."""


class _Job:
    """One claimed attempt: progress writes that double as the heartbeat, all conditional on the claim."""

    def __init__(self, evaluation_id: int, claim: str, worker: str = "") -> None:
        self.evaluation_id = evaluation_id
        self.claim = claim
        self.worker = worker
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


def _gate(evaluation: Evaluation, report: dict) -> tuple[bool, list[str], dict]:
    """(allowed, reasons, sequence fields): a comparison is a test in its dataset version's LORD++ sequence."""
    run_name = evaluation.champion_run.display_name if evaluation.champion_run_id else ""
    if evaluation.champion_run_id is None:
        return True, [], {}
    if evaluation.champion_run_id == evaluation.run_id:
        return False, ["This run is the champion."], {}
    if "comparisons" not in report:
        return (
            False,
            [
                f"The champion {run_name} has no predictions on {evaluation.dataset.label}; "
                "upload them and evaluate again to compare."
            ],
            {},
        )
    test, level = sequence_position(dataset_id=evaluation.dataset_id)
    result = check_gate(
        report["comparisons"], primary=evaluation.primary_metric, margins=evaluation.guardrails, level=level, test=test
    )
    return result.allowed, list(result.reasons), {"sequence_test": test, "sequence_level": level}


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


def _touch(evaluation_id: int) -> None:
    """The evaluation's status changed through an update (no save): its project's pages must show it."""
    project_touch(benchmarks__evaluations=evaluation_id)


def _fail_exhausted(evaluation_id: int) -> None:
    now = timezone.now()
    row = Evaluation.objects.filter(pk=evaluation_id).values("error", "attempts").first() or {}
    last = row.get("error") or "the worker stopped each time (killed, out of memory, or over the time limit)"
    if Evaluation.objects.filter(
        _claimable(now), pk=evaluation_id, attempts__gte=settings.EVALUATION_MAX_ATTEMPTS
    ).update(
        status=EvaluationStatus.FAILED,
        stage="failed",
        claim="",
        finished_at=now,
        error=f"Stopped after {row.get('attempts', 0)} attempts: {last}",
    ):
        _touch(evaluation_id)


def _claimable(now: dt.datetime) -> Q:
    """Queued, or running under a claim whose heartbeat went stale (its worker died): taken over at once."""
    stale_before = now - dt.timedelta(seconds=settings.EVALUATION_STALE_SECONDS)
    return Q(status=EvaluationStatus.QUEUED) | Q(status=EvaluationStatus.RUNNING, heartbeat_at__lt=stale_before)


def _claim(evaluation_id: int, worker: str) -> str | None:
    claim = uuid.uuid4().hex
    now = timezone.now()
    claimed = Evaluation.objects.filter(
        _claimable(now), pk=evaluation_id, attempts__lt=settings.EVALUATION_MAX_ATTEMPTS
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
    if claimed:
        _touch(evaluation_id)
    return claim if claimed else None


def _wait_for_owner(evaluation_id: int) -> bool:
    """Wait while another attempt holds the claim: True once its heartbeat went stale, False once it
    is seen alive (its heartbeat moved) or the job is no longer running.

    A message redelivered because its worker died arrives while the dead attempt's heartbeat is
    still fresh; waiting here (at most EVALUATION_STALE_SECONDS) lets it take over within seconds.
    A duplicate message for a job a live worker is running costs one heartbeat interval.
    """
    first = None
    deadline = time.monotonic() + settings.EVALUATION_STALE_SECONDS + 2 * settings.EVALUATION_HEARTBEAT_SECONDS
    while time.monotonic() < deadline:
        row = Evaluation.objects.filter(pk=evaluation_id).values("status", "claim", "heartbeat_at").first()
        if row is None or row["status"] != EvaluationStatus.RUNNING:
            return row is not None and row["status"] == EvaluationStatus.QUEUED
        seen = (row["claim"], row["heartbeat_at"])
        if first is None:
            first = seen
        elif seen != first:
            return False
        stale_before = timezone.now() - dt.timedelta(seconds=settings.EVALUATION_STALE_SECONDS)
        if row["heartbeat_at"] is None or row["heartbeat_at"] < stale_before:
            return True
        time.sleep(min(0.5, settings.EVALUATION_HEARTBEAT_SECONDS / 2))
    return False


def evaluation_execute(*, evaluation_id: int, worker: str = "", wait: bool = False) -> str:
    """Claim the evaluation, run the engine and record the outcome. Safe to call twice or concurrently.

    A claim whose heartbeat is stale (older than EVALUATION_STALE_SECONDS) is taken over at once;
    with ``wait`` (the Celery task) a claim still fresh is watched until it goes stale or its owner
    is seen alive (``_wait_for_owner``). Returns what happened: ``succeeded``, ``failed``,
    ``not-claimed`` (someone else has it, or it is done), or ``claim-lost`` (another attempt took it
    over, or the worker handed it back while shutting down). Raises ``EvaluationRetry`` after a
    transient failure, with the job queued again.
    """
    claim = _claim(evaluation_id, worker)
    if claim is None and wait and not connection.in_atomic_block and _wait_for_owner(evaluation_id):
        claim = _claim(evaluation_id, worker)
    if claim is None:
        _fail_exhausted(evaluation_id)
        return "not-claimed"
    job = _Job(evaluation_id, claim, worker)
    # A heartbeat from another connection only works once the claim is committed; inside an
    # outer transaction (a synchronous call) the progress writes are the only heartbeat.
    heartbeat = None
    if not connection.in_atomic_block:
        heartbeat = _Heartbeat(job, interval=settings.EVALUATION_HEARTBEAT_SECONDS)
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
        if sharded.wants_files(evaluation.benchmark.task, evaluation.dataset.n_rows):
            report = sharded.evaluate_from_files(
                evaluation=evaluation,
                claim=job.claim,
                worker=job.worker,
                progress=job.progress,
                lost=job.lost,
            )
        else:
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
            if job.owned().update(
                status=EvaluationStatus.QUEUED,
                claim="",
                stage="retrying",
                queued_at=timezone.now(),
                error=message,
                attempts=F("attempts") - 1,
            ):
                _touch(job.evaluation_id)
        raise EvaluationRetry(message) from error
    except MemoryError:
        return _finish_failed(job, "The evaluation ran out of memory on the worker; try a worker with more memory.")
    except Exception:
        logger.exception("Evaluation %s failed unexpectedly", job.evaluation_id)
        return _finish_failed(
            job, f"The evaluation failed because of an internal error (logged as evaluation {job.evaluation_id})."
        )
    with transaction.atomic():
        # A comparison's test number and level come from the comparisons already decided on its dataset
        # version; the version's row lock makes concurrent finishes take numbers one at a time, each
        # seeing the ones before it (SQLite's immediate transactions serialise this block already).
        EvaluationDataset.objects.select_for_update().filter(pk=evaluation.dataset_id).values_list("pk").first()
        allowed, reasons, sequence = _gate(evaluation, report)
        now = timezone.now()
        finished = _record_success(job, now, report, evaluation, allowed, reasons, sequence)
        if finished:
            _touch(job.evaluation_id)
            announce_evaluation_finished(evaluation_id=job.evaluation_id)
    return "succeeded" if finished else "claim-lost"


def _record_success(job: _Job, now, report: dict, evaluation: Evaluation, allowed, reasons, sequence) -> int:
    return job.owned().update(
        status=EvaluationStatus.SUCCEEDED,
        stage="done",
        progress=100,
        heartbeat_at=now,
        finished_at=now,
        error="",
        result=report,
        gate_allowed=allowed,
        gate_reasons=reasons,
        **sequence,
        **_summary(report, evaluation.primary_metric),
    )


def _read_stored(prediction_set: PredictionSet, truth: Truth):
    path = media_path(prediction_set.file)
    if not path.exists():
        raise FileNotFoundError(f"the stored predictions file {prediction_set.file} is missing under MEDIA_ROOT")
    return read_predictions(path, truth=truth, name=prediction_set.original_name)


def _finish_failed(job: _Job, message: str) -> str:
    now = timezone.now()
    with transaction.atomic():
        done = job.owned().update(
            status=EvaluationStatus.FAILED, stage="failed", heartbeat_at=now, finished_at=now, error=message[:5000]
        )
        if done:
            _touch(job.evaluation_id)
            announce_evaluation_finished(evaluation_id=job.evaluation_id)
    return "failed" if done else "claim-lost"


@dataclass(frozen=True)
class SweepResult:
    requeued: list[int]
    resent: list[int]
    failed: list[int]


def evaluation_sweep(*, now: dt.datetime | None = None, resend_handed_back: bool = False) -> SweepResult:
    """Re-queue evaluations whose worker died (stale heartbeat) and re-send those whose message was lost.

    Each change is a conditional update on the state that was read, so two sweepers (or a sweeper
    and a slow worker) cannot both act on one job. Jobs out of attempts are failed instead. With
    ``resend_handed_back`` (a worker starting) jobs handed back by a worker that shut down are
    re-sent at once, in case their message was lost with the broker connection.
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
                _touch(row["pk"])
        elif owned.update(status=EvaluationStatus.QUEUED, claim="", stage="requeued", queued_at=now, error=message):
            requeued.append(row["pk"])
            _touch(row["pk"])
            enqueue_evaluation(row["pk"])
    resent = []
    lost_before = now - dt.timedelta(seconds=settings.EVALUATION_RESEND_SECONDS)
    waiting = Evaluation.objects.filter(status=EvaluationStatus.QUEUED, queued_at__lt=lost_before)
    if resend_handed_back:
        waiting = Evaluation.objects.filter(
            Q(queued_at__lt=lost_before) | Q(stage=HANDED_BACK), status=EvaluationStatus.QUEUED
        )
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
            _touch(row["pk"])
    for row in waiting.values("pk", "queued_at"):
        if Evaluation.objects.filter(pk=row["pk"], status=EvaluationStatus.QUEUED, queued_at=row["queued_at"]).update(
            queued_at=now
        ):
            resent.append(row["pk"])
            enqueue_evaluation(row["pk"])
    if requeued or resent or failed:
        logger.info("Evaluation sweep: re-queued %s, re-sent %s, failed %s", requeued, resent, failed)
    return SweepResult(requeued=requeued, resent=resent, failed=failed)


HANDED_BACK = "handed back"


def evaluation_hand_back(*, worker: str) -> list[int]:
    """A worker shutting down gives its running evaluations back: claim released, queued again, re-sent.

    The attempt still running sees its claim gone at its next heartbeat and stops without writing;
    the job resumes on the next worker that takes the message (or, if the message is lost, the
    next worker that starts). A hand-back does not use up one of the attempts.
    """
    now = timezone.now()
    handed = []
    for row in Evaluation.objects.filter(status=EvaluationStatus.RUNNING, worker=worker[:200]).values("pk", "claim"):
        if Evaluation.objects.filter(pk=row["pk"], status=EvaluationStatus.RUNNING, claim=row["claim"]).update(
            status=EvaluationStatus.QUEUED,
            claim="",
            stage=HANDED_BACK,
            progress=0,
            queued_at=now,
            attempts=F("attempts") - 1,
        ):
            handed.append(row["pk"])
            _touch(row["pk"])
            enqueue_evaluation(row["pk"])
    if handed:
        logger.info("Worker %s is shutting down: handed back evaluations %s", worker, handed)
    return handed


def evaluation_recover_on_start(
    *, stop: threading.Event | None = None, guard: Callable[[], AbstractContextManager] = nullcontext
) -> SweepResult:
    """What a starting worker does, so recovery does not wait for the scheduler: one sweep now and,
    if evaluations are still running under a claim whose heartbeat is fresh (perhaps of a worker
    killed a moment ago), one more once those claims would have gone stale.

    ``guard()`` wraps each stretch of database work (the worker passes ``agileml.forksafe.database_work``,
    so no connection is open while it waits or while its pool forks)."""
    stop = stop or threading.Event()
    with guard():
        first = evaluation_sweep(resend_handed_back=True)
        running = Evaluation.objects.filter(status=EvaluationStatus.RUNNING).exists()
    if not running:
        return first
    if stop.wait(settings.EVALUATION_STALE_SECONDS + settings.EVALUATION_HEARTBEAT_SECONDS):
        return first
    with guard():
        second = evaluation_sweep()
    return SweepResult(
        requeued=first.requeued + second.requeued,
        resent=first.resent + second.resent,
        failed=first.failed + second.failed,
    )
