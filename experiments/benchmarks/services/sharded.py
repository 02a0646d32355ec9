"""Sharded evaluations: the passes of ``experiments.evaluation.sharding`` run as Celery tasks on any worker.

An evaluation too large to hold (``wants_files``: past ``EVALUATION_SHARD_ROWS`` rows or past what
``EVALUATION_MEMORY_MB`` holds) is coordinated by the worker that claimed it (``evaluation_execute``): it
reads its inputs from disk (``stored``) and runs ``sharding.evaluate_stored`` — the code path of the
in-process and process-pool runners, so the report, verdict and events are the single-process ones — with
a runner that turns each pass into one ``EvaluationShard`` row per shard call and a Celery ``group`` of
``evaluation_shard_run`` tasks, then combines their results itself, folding the reductions in shard
order as it reads them. (A Celery chord would need a result backend, which the app does not run; the
coordinator waits anyway, to sweep its shards, so it is the combining step.)

- **Files.** The shard calls' arguments and results are pickles under the attempt's folder
  (``MEDIA_ROOT/evaluations/<id>/shards/<attempt>``, shared storage), written atomically (temporary name,
  then rename). Shard results are deterministic, so a shard run twice writes the same bytes; the
  coordinator reads each shard's result once, by position, so no shard counts twice. The placement store
  (score ranges → row shards: one file per range and row shard) is in the same folder.
- **Claims.** A shard is claimed by a conditional update (``queued`` → ``running`` with a fresh claim),
  heartbeated while it runs, and marked done only under its claim. The coordinator is the shards' sweeper:
  a running shard whose heartbeat is older than ``EVALUATION_STALE_SECONDS`` is re-queued and its message
  re-sent; a shard no worker took within that time is run by the coordinator itself (so one worker with
  one process never waits on itself).
- **Attempts.** The shards belong to the evaluation attempt (its claim) that planned them; if the
  coordinator dies, the evaluation's own sweeper re-queues it and the next attempt plans afresh, the old
  attempt's rows and files being dropped; a shard task of another attempt does nothing.
- **Progress** is the shards done over the shards of the pass, across all workers.

Shard arguments are pickles written and read only by this module on the project's own storage.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pickle
import shutil
import threading
import time
import uuid
from pathlib import Path

from celery import group
from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from experiments.benchmarks.models import Evaluation, EvaluationShard, EvaluationStatus, ShardStatus
from experiments.benchmarks.services.files import aligned_predictions, media_path, prepared_truth
from experiments.evaluation import engine, sharding, stored

logger = logging.getLogger(__name__)

STEPS = {
    "scan": sharding.scan_shard,
    "rank": sharding.rank_shard,
    "reduce": sharding.reduce_shard,
    "draws": sharding.draws_shard,
}
_STEP_OF = {fn: step for step, fn in STEPS.items()}


def attempt_folder(evaluation_id: int, attempt: str) -> Path:
    return media_path(f"evaluations/{evaluation_id}/shards/{attempt}")


def _write_atomically(path: Path, value: object) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _read(path: Path) -> object:
    with open(path, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - our own files on the project's storage


def _args_path(folder: Path, step: str, index: int) -> Path:
    return folder / f"{step}-{index}.args.pkl"


def _result_path(folder: Path, step: str, index: int) -> Path:
    return folder / f"{step}-{index}.result.pkl"


# --- running one shard (any worker) ---------------------------------------------------------------
def _claimable(now: dt.datetime) -> Q:
    stale_before = now - dt.timedelta(seconds=settings.EVALUATION_STALE_SECONDS)
    return Q(status=ShardStatus.QUEUED) | Q(status=ShardStatus.RUNNING, heartbeat_at__lt=stale_before)


def _claim(shard_id: int, worker: str, extra: Q | None = None) -> str | None:
    claim = uuid.uuid4().hex
    now = timezone.now()
    rows = EvaluationShard.objects.filter(_claimable(now), pk=shard_id)
    if extra is not None:
        rows = rows.filter(extra)
    taken = rows.update(
        status=ShardStatus.RUNNING, claim=claim, worker=worker[:200], heartbeat_at=now, runs=F("runs") + 1
    )
    return claim if taken else None


class _ShardBeat(threading.Thread):
    def __init__(self, shard_id: int, claim: str) -> None:
        super().__init__(name=f"shard-{shard_id}-heartbeat", daemon=True)
        self.shard_id, self.claim = shard_id, claim
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(settings.EVALUATION_HEARTBEAT_SECONDS):
                EvaluationShard.objects.filter(pk=self.shard_id, claim=self.claim, status=ShardStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:
            logger.exception("Heartbeat of shard %s failed", self.shard_id)
        finally:
            connection.close()


_inputs_lock = threading.Lock()
_inputs: dict = {}


def _job_for(evaluation: Evaluation, attempt: str, folder: Path) -> sharding.Job:
    """The shard job of this attempt: the inputs prepared on disk (nothing read whole), kept for the next shard."""
    key = (evaluation.pk, attempt)
    with _inputs_lock:
        if _inputs.get("key") == key:
            return _inputs["job"]
    truth = prepared_truth(evaluation.dataset)
    models = {"challenger": aligned_predictions(evaluation.predictions, truth)}
    if evaluation.champion_predictions:
        models["champion"] = aligned_predictions(evaluation.champion_predictions, truth)
    ranges, store = _read(folder / "job.pkl")
    job = sharding.Job(truth, models, evaluation.threshold, ranges, store)
    with _inputs_lock:
        _inputs.update(key=key, job=job)
    return job


def _compute(shard: EvaluationShard, job: sharding.Job) -> None:
    folder = media_path(shard.folder)
    args = _read(_args_path(folder, shard.step, shard.index))
    sharding._use_job(job)
    _write_atomically(_result_path(folder, shard.step, shard.index), STEPS[shard.step](*args))


def _finish(shard_id: int, claim: str) -> bool:
    return bool(
        EvaluationShard.objects.filter(pk=shard_id, claim=claim, status=ShardStatus.RUNNING).update(
            status=ShardStatus.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
        )
    )


def shard_execute(*, shard_id: int, worker: str = "") -> str:
    """Claim one shard (only while its evaluation attempt is the running one), compute it, write its
    result and mark it done under the claim. Safe to call twice or concurrently."""
    live = Q(
        evaluation__status=EvaluationStatus.RUNNING,
        evaluation__claim=F("attempt"),
    )
    shard = EvaluationShard.objects.filter(live, pk=shard_id).select_related("evaluation").first()
    if shard is None:
        return "not-claimed"
    claim = _claim(shard_id, worker)
    if claim is None:
        return "not-claimed"
    beat = _ShardBeat(shard_id, claim)
    beat.start()
    try:
        if settings.EVALUATION_SHARD_PAUSE_SECONDS:
            time.sleep(settings.EVALUATION_SHARD_PAUSE_SECONDS)
        evaluation = Evaluation.objects.select_related(
            "benchmark", "dataset", "predictions", "champion_predictions"
        ).get(pk=shard.evaluation_id)
        _compute(shard, _job_for(evaluation, shard.attempt, media_path(shard.folder)))
    except Exception:
        # Left running: its heartbeat stops, and the coordinator re-queues it once stale.
        logger.exception("Shard %s failed", shard_id)
        raise
    finally:
        beat.done.set()
        beat.join()
    return "done" if _finish(shard_id, claim) else "claim-lost"


# --- the coordinator (the worker that claimed the evaluation) -------------------------------------
class CeleryRunner:
    """A ``sharding`` runner: each pass a group of shard tasks, waited for while sweeping their claims."""

    def __init__(self, evaluation_id: int, attempt: str, worker: str, progress, lost: threading.Event) -> None:
        self.evaluation_id = evaluation_id
        self.attempt = attempt
        self.worker = worker
        self.progress = progress
        self.lost = lost
        self.folder = attempt_folder(evaluation_id, attempt)
        self.relative = str(self.folder.relative_to(Path(settings.MEDIA_ROOT)))
        self.job: sharding.Job | None = None

    def start(self, job: sharding.Job) -> None:
        self.job = job
        sharding._use_job(job)
        _write_atomically(self.folder / "job.pkl", (job.ranges, job.store))

    def __call__(self, fn, calls: list[tuple], fold=None) -> list:
        from experiments.benchmarks.tasks import evaluation_shard_run  # the task module imports this one

        step = _STEP_OF[fn]
        if not calls:
            return []
        for index, call in enumerate(calls):
            _write_atomically(_args_path(self.folder, step, index), call)
        now = timezone.now()
        EvaluationShard.objects.bulk_create(
            EvaluationShard(
                evaluation_id=self.evaluation_id,
                attempt=self.attempt,
                step=step,
                index=index,
                queued_at=now,
                folder=self.relative,
            )
            for index in range(len(calls))
        )
        ids = list(EvaluationShard.objects.filter(**self._mine(step)).order_by("index").values_list("pk", flat=True))
        group(evaluation_shard_run.s(pk).set(**_queue()) for pk in ids).apply_async()
        self._wait(step, len(calls))
        if fold is None:
            return [_read(_result_path(self.folder, step, index)) for index in range(len(calls))]
        folded = sharding._Folded(fold)
        for index in range(len(calls)):
            folded.add(index, _read(_result_path(self.folder, step, index)))
        return folded.result()

    def _mine(self, step: str) -> dict:
        return {"evaluation_id": self.evaluation_id, "attempt": self.attempt, "step": step}

    def _wait(self, step: str, total: int) -> None:
        from experiments.benchmarks.services.worker import _ClaimLost
        from experiments.benchmarks.tasks import evaluation_shard_run

        while True:
            if self.lost.is_set():
                raise _ClaimLost
            shards = EvaluationShard.objects.filter(**self._mine(step))
            done = shards.filter(status=ShardStatus.DONE).count()
            # Shards done over the pass's shards, across all workers, within the pass's share of the bar.
            position = list(STEPS).index(step)
            self.progress(f"{step}: {done} of {total} shards", 0.05 + 0.9 * (position + done / total) / len(STEPS))
            if done == total:
                return
            now = timezone.now()
            stale_before = now - dt.timedelta(seconds=settings.EVALUATION_STALE_SECONDS)
            # The shards' sweeper: a running shard whose worker died goes back to the queue, message re-sent.
            stale = shards.filter(status=ShardStatus.RUNNING, heartbeat_at__lt=stale_before)
            for row in stale.values("pk", "claim", "runs", "index"):
                if row["runs"] >= settings.EVALUATION_MAX_ATTEMPTS:
                    # A shard that stops its worker every time: the evaluation fails, as an evaluation would.
                    raise RuntimeError(f"shard {step} {row['index']} was lost {row['runs']} times")
                if EvaluationShard.objects.filter(pk=row["pk"], status=ShardStatus.RUNNING, claim=row["claim"]).update(
                    status=ShardStatus.QUEUED, claim="", queued_at=now
                ):
                    logger.info("Shard %s of evaluation %s was lost; queued again", row["pk"], self.evaluation_id)
                    evaluation_shard_run.apply_async((row["pk"],), **_queue())
            # A shard no worker took in time is run here (one worker process never waits on itself).
            waiting = shards.filter(status=ShardStatus.QUEUED, queued_at__lt=stale_before).order_by("index").first()
            if waiting is not None:
                self._run_here(waiting)
                continue
            time.sleep(0.2)

    def _run_here(self, shard: EvaluationShard) -> None:
        claim = _claim(shard.pk, self.worker)
        if claim is None:
            return
        beat = _ShardBeat(shard.pk, claim)
        beat.start()
        try:
            _compute(shard, self.job)
        finally:
            beat.done.set()
            beat.join()
        _finish(shard.pk, claim)


def evaluate_from_files(*, evaluation: Evaluation, claim: str, worker: str, progress, lost) -> dict:
    """The bounded-memory twin of ``engine.evaluate`` for ``evaluation_execute``: the same report.

    The inputs are prepared on disk (``stored``: the truth's columns, each prediction set aligned to
    them, once per file). Shards hold at most ``EVALUATION_SHARD_ROWS`` rows and no more than
    ``EVALUATION_MEMORY_MB`` allows; a single shard runs here, several run as Celery tasks on every
    worker."""
    # Shards of an earlier attempt of this evaluation are abandoned: their rows and files go.
    EvaluationShard.objects.filter(evaluation_id=evaluation.pk).exclude(attempt=claim).delete()
    shutil.rmtree(media_path(f"evaluations/{evaluation.pk}/shards"), ignore_errors=True)
    report = engine._Progress(progress)
    report("preparing", 0.0)
    truth = prepared_truth(evaluation.dataset)
    challenger = aligned_predictions(evaluation.predictions, truth)
    report("preparing", 0.02)
    champion = None
    if evaluation.champion_predictions:
        champion = aligned_predictions(evaluation.champion_predictions, truth)
    rows_per_shard = min(settings.EVALUATION_SHARD_ROWS, stored.shard_rows(settings.EVALUATION_MEMORY_MB))
    runner = CeleryRunner(evaluation.pk, claim, worker, report, lost)
    runner.folder.mkdir(parents=True, exist_ok=True)
    over_workers = truth.n_rows > rows_per_shard
    try:
        return sharding.evaluate_stored(
            truth=truth,
            predictions=challenger,
            champion=champion,
            primary=evaluation.primary_metric,
            threshold=evaluation.threshold,
            seed=evaluation.seed,
            n_resamples=evaluation.n_resamples,
            rows_per_shard=rows_per_shard,
            directory=str(runner.folder / "placements"),
            progress=progress,
            run=runner if over_workers else None,
            start=runner.start if over_workers else None,
        )
    finally:
        shutil.rmtree(runner.folder, ignore_errors=True)


def wants_files(task: str, n_rows: int) -> bool:
    """Whether an evaluation reads its inputs from disk a row range at a time (``evaluate_from_files``)
    rather than whole: past ``EVALUATION_SHARD_ROWS`` or past what ``EVALUATION_MEMORY_MB`` holds."""
    return task in sharding.SHARDED_TASKS and (
        n_rows > settings.EVALUATION_SHARD_ROWS or not stored.fits(n_rows, settings.EVALUATION_MEMORY_MB)
    )


def _queue() -> dict:
    """Where shard tasks are sent: EVALUATION_SHARD_QUEUE when set, else the default queue."""
    return {"queue": settings.EVALUATION_SHARD_QUEUE} if settings.EVALUATION_SHARD_QUEUE else {}
