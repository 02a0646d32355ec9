"""Copy runs from any MLflow tracking server into a project, with the stock MLflow client.

Each run is remembered by its source (tracking URI and run id, ``ImportedRun``), so a
second import changes nothing. A run's database part (the run, params, tags, metric
histories, status and times) is one transaction; its artifacts follow through
``artifact_save``, the same service uploads use, and only then is the run marked
complete. An interrupted import therefore continues where it stopped: complete runs are
skipped, a run whose artifacts were not all copied gets the missing ones.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from experiments.tracking.models import Artifact, ImportedRun, Run, RunStatus
from experiments.tracking.services.artifacts import artifact_save
from experiments.tracking.services.log_batches import run_log
from experiments.tracking.services.runs import run_create, run_update, ticket_in_project
from experiments.tracking.services.validation import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_PER_BATCH,
    MAX_TAGS_PER_BATCH,
    TAG_TICKET,
    MetricPoint,
    datetime_from_ms,
)
from tickets.models import Project

STATUS_MAP = {
    "RUNNING": RunStatus.RUNNING,
    "SCHEDULED": RunStatus.RUNNING,
    "FINISHED": RunStatus.FINISHED,
    "FAILED": RunStatus.FAILED,
    "KILLED": RunStatus.KILLED,
}
# Runs in these source states can still change, so a later import looks at them again.
_LIVE = {"RUNNING", "SCHEDULED"}
_PAGE = 1000
# Threads reading the next runs from the server while the current one is written.
_FETCHERS = 4


@dataclasses.dataclass
class MlflowImportReport:
    """What an import did: runs created, resumed (finished after an interruption), updated
    (changed at the source since), unchanged; metric points and artifacts copied; warnings."""

    runs: Counter = dataclasses.field(default_factory=Counter)
    metric_points: int = 0
    artifacts: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        r = self.runs
        out = [
            f"runs: {r['created']} created, {r['resumed']} resumed, {r['updated']} updated, {r['unchanged']} unchanged",
            f"metric points: {self.metric_points}; artifacts: {self.artifacts}",
        ]
        out += [f"warning: {w}" for w in self.warnings]
        return out


def _client(tracking_uri: str):
    # Imported here: only the import needs the client, not every web process. One client serves
    # the fetching threads too: they only read.
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def _source_runs(client, experiment_id: str) -> Iterator:
    token = None
    while True:
        page = client.search_runs(
            experiment_ids=[experiment_id], max_results=_PAGE, order_by=["attributes.start_time ASC"], page_token=token
        )
        yield from page
        token = page.token
        if not token:
            return


def mlflow_import(
    *,
    project: Project,
    tracking_uri: str,
    experiment_name: str,
    user: AbstractBaseUser | None = None,
    limit: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_run: Callable[[str], None] | None = None,
) -> MlflowImportReport:
    """Copy the runs of ``experiment_name`` at ``tracking_uri`` into ``project``.

    ``limit`` stops after that many source runs (to try an import on a large server);
    ``on_total`` hears how many runs there are, ``on_run`` the outcome of each run.
    Raises ValidationError when the server or the experiment cannot be reached.
    """
    from mlflow.exceptions import MlflowException

    source = tracking_uri.rstrip("/")
    client = _client(source)
    try:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            raise ValidationError({"experiment": f"There is no experiment {experiment_name!r} at {source}."})
        runs = list(_source_runs(client, experiment.experiment_id))
    except (MlflowException, OSError) as error:
        raise ValidationError({"tracking_uri": f"{source} did not answer as an MLflow server: {error}"}) from None
    runs = runs[:limit] if limit is not None else runs
    if on_total:
        on_total(len(runs))
    report = MlflowImportReport()
    links = {link.source_run_id: link for link in ImportedRun.objects.filter(source=source).select_related("run")}
    done = 0
    try:
        for source_run, fetched in _prefetched(client, runs, links):
            link = links.get(source_run.info.run_id)
            outcome = _import_run(project, source, source_run, fetched, link, user, report)
            report.runs[outcome] += 1
            done += 1
            if on_run:
                on_run(outcome)
    except (MlflowException, OSError) as error:
        raise ValidationError(
            {
                "tracking_uri": f"{source} stopped answering after {done} of {len(runs)} runs ({error}). "
                "The runs copied so far are kept: run the import again to continue."
            }
        ) from None
    return report


def _unchanged(source_run, link: ImportedRun | None) -> bool:
    info = source_run.info
    return (
        link is not None
        and link.complete
        and link.source_status == info.status
        and link.source_end_time == info.end_time
        and info.status not in _LIVE
    )


def _fetch(client, source_run) -> dict:
    """What a run needs from the server besides its search result: metric histories and the
    artifact listing. Runs in a worker thread (no database), ahead of the run's import."""
    run_id = source_run.info.run_id
    histories = {key: client.get_metric_history(run_id, key) for key in sorted(source_run.data.metrics)}
    return {"histories": histories, "artifacts": list(_artifact_files(client, run_id)), "client": client}


def _prefetched(client, runs: list, links: dict) -> Iterator[tuple]:
    """``(run, fetched)`` in order, the next runs' server reads already under way in threads
    while the database writes of the current one happen here (the server's latency, not our
    writes, sets the pace otherwise). Unchanged runs fetch nothing."""
    with ThreadPoolExecutor(max_workers=_FETCHERS) as pool:
        window: deque = deque()
        pending = iter(runs)
        while True:
            while len(window) < 2 * _FETCHERS:
                source_run = next(pending, None)
                if source_run is None:
                    break
                needed = not _unchanged(source_run, links.get(source_run.info.run_id))
                window.append((source_run, pool.submit(_fetch, client, source_run) if needed else None))
            if not window:
                return
            source_run, future = window.popleft()
            yield source_run, (future.result() if future is not None else None)


def _import_run(project, source, source_run, fetched, link, user, report) -> str:
    info = source_run.info
    if link is not None and link.run.project_id != project.pk:
        report.warnings.append(f"run {info.run_id} was imported into another project before; left there")
        return "unchanged"
    if fetched is None:
        return "unchanged"
    outcome = "created" if link is None else ("resumed" if not link.complete else "updated")
    link = _copy_data(project, source, source_run, fetched["histories"], link, user, report)
    _copy_artifacts(fetched["client"], link.run, info.run_id, fetched["artifacts"], report)
    link.complete = True
    link.save(update_fields=["complete", "imported_at"])
    return outcome


def _ticket_key(project: Project, tags: dict[str, str], run_id: str, report: MlflowImportReport) -> str | None:
    key = tags.pop(TAG_TICKET, None)
    if not key:
        return None
    try:
        ticket_in_project(project=project, ticket_key=key)
    except ValidationError as error:
        report.warnings.append(f"run {run_id}: {' '.join(error.messages)} The run is imported unattached.")
        return None
    return key


@transaction.atomic
def _copy_data(project, source, source_run, histories, link, user, report) -> ImportedRun:
    info, data = source_run.info, source_run.data
    tags = dict(data.tags)
    ticket_key = _ticket_key(project, tags, info.run_id, report)
    if link is None:
        run = run_create(
            project=project,
            user=user,
            name=info.run_name or "",
            start_time=datetime_from_ms(info.start_time) if info.start_time else None,
            ticket_key=ticket_key,
        )
        link = ImportedRun.objects.create(run=run, source=source, source_run_id=info.run_id)
    run = link.run
    params = sorted(data.params.items())
    for start in range(0, len(params), MAX_PARAMS_PER_BATCH):
        run_log(run=run, params=params[start : start + MAX_PARAMS_PER_BATCH], actor=user)
    tag_items = sorted(tags.items())
    if ticket_key and run.ticket is None:
        tag_items.append((TAG_TICKET, ticket_key))
    for start in range(0, len(tag_items), MAX_TAGS_PER_BATCH):
        run_log(run=run, tags=tag_items[start : start + MAX_TAGS_PER_BATCH], actor=user)
    for points in histories.values():
        history = [MetricPoint(m.key, m.value, m.timestamp, m.step) for m in points]
        for start in range(0, len(history), MAX_METRICS_PER_BATCH):
            run_log(run=run, metrics=history[start : start + MAX_METRICS_PER_BATCH])
        report.metric_points += len(history)
    status = STATUS_MAP.get(info.status, RunStatus.FINISHED)
    end_time = datetime_from_ms(info.end_time) if info.end_time else None
    run_update(run=run, status=status, end_time=end_time)
    link.source_status, link.source_end_time = info.status, info.end_time
    link.save(update_fields=["source_status", "source_end_time", "imported_at"])
    return link


def _artifact_files(client, run_id: str, path: str | None = None) -> Iterator:
    for entry in client.list_artifacts(run_id, path):
        if entry.is_dir:
            yield from _artifact_files(client, run_id, entry.path)
        else:
            yield entry


def _copy_artifacts(client, run: Run, run_id: str, files: list, report: MlflowImportReport) -> None:
    have = dict(Artifact.objects.filter(run=run).values_list("path", "size"))
    missing = [f for f in files if have.get(f.path) != f.file_size]
    if not missing:
        return
    with tempfile.TemporaryDirectory(prefix="mlflow-import-") as folder:
        for entry in missing:
            local = Path(client.download_artifacts(run_id, entry.path, folder))
            try:
                with local.open("rb") as stream:
                    artifact_save(run=run, path=entry.path, stream=stream)
            except ValidationError as error:
                report.warnings.append(f"run {run_id}: artifact {entry.path} not copied: {' '.join(error.messages)}")
            else:
                report.artifacts += 1
            local.unlink(missing_ok=True)
