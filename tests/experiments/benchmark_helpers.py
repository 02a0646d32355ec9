"""Test data for benchmarks: synthetic truth and prediction files, and benchmarks built through the services."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from experiments.benchmarks import services
from experiments.models import Benchmark, EvaluationDataset, PredictionSource, Run
from experiments.tracking import services as run_services


@pytest.fixture(name="media_root")
def media_root_fixture(settings, tmp_path) -> Path:
    """A fresh MEDIA_ROOT per test, so a test can see exactly which files were stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


@dataclass
class BinaryCase:
    truth: Path
    champion: Path
    challenger: Path
    worse: Path


def write_binary_case(
    folder: Path,
    *,
    n_subjects: int = 40,
    rows_per_subject: int = 12,
    seed: int = 3,
    champion_strength: float = 0.8,
    challenger_strength: float = 2.0,
    worse_strength: float = 0.3,
) -> BinaryCase:
    """Subjects (groups) with several genuine (1) and impostor (0) attempts each, and three models'
    scores: a champion, a clearly better challenger and a clearly worse one."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = n_subjects * rows_per_subject
    ids = [f"s{i // rows_per_subject:03d}-a{i % rows_per_subject:02d}" for i in range(n)]
    groups = [f"subject{i // rows_per_subject:03d}" for i in range(n)]
    y = (rng.random(n) < 0.35).astype(int)
    y[::rows_per_subject] = 1
    y[1::rows_per_subject] = 0
    subject_effect = rng.normal(0, 0.3, n_subjects)[np.arange(n) // rows_per_subject]
    paths = {}
    for name, strength in (
        ("champion", champion_strength),
        ("challenger", challenger_strength),
        ("worse", worse_strength),
    ):
        logit = strength * (2 * y - 1) + subject_effect + rng.normal(0, 1, n)
        scores = 1 / (1 + np.exp(-logit))
        paths[name] = write_csv(
            folder / f"{name}.csv", ["id", "score"], zip(ids, (f"{s:.6f}" for s in scores), strict=True)
        )
    truth = write_csv(folder / "truth.csv", ["id", "label", "group"], zip(ids, y, groups, strict=True))
    return BinaryCase(truth=truth, **paths)


def write_csv(path: Path, header: list[str], rows) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, Path(path).read_bytes(), content_type="text/csv")


def file_field(content: bytes | str, name: str = "file.csv") -> io.BytesIO:
    """A file object for the test client's multipart encoding."""
    data = content.encode() if isinstance(content, str) else content
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def make_benchmark(project, user, case: BinaryCase | None = None, *, truth: Path | None = None, **fields) -> Benchmark:
    """A benchmark (binary, primary AUC, EER guardrail by default) with ``case.truth`` or ``truth`` as v1."""
    fields.setdefault("name", "holdout")
    fields.setdefault("task", "binary")
    fields.setdefault("guardrails", {"eer": 0.02})
    benchmark = services.benchmark_create(project=project, user=user, **fields)
    benchmark.project = project
    truth = truth or (case.truth if case is not None else None)
    if truth is not None:
        services.dataset_upload(benchmark=benchmark, user=user, path=truth, original_name="truth.csv")
    return benchmark


def make_run(project, user, name: str = "", ticket_key: str | None = None) -> Run:
    run = run_services.run_create(project=project, user=user, name=name, ticket_key=ticket_key)
    run.project = project
    return run


def submit(run: Run, dataset: EvaluationDataset, user, path: Path, *, run_now: bool = True):
    """Predictions through the service, then an evaluation; run synchronously by default (the same
    service function the worker calls)."""
    prediction_set = services.predictions_upload(
        run=run, dataset=dataset, user=user, path=path, original_name=path.name, source=PredictionSource.API
    )
    evaluation, _ = services.evaluation_request(
        run=run, dataset=dataset, user=user, predictions=prediction_set, enqueue=not run_now
    )
    if run_now:
        services.evaluation_execute(evaluation_id=evaluation.pk)
        evaluation.refresh_from_db()
    return evaluation


def crown(benchmark: Benchmark, evaluation, user, **kwargs):
    evaluation = type(evaluation).objects.select_related("run", "champion_run", "dataset").get(pk=evaluation.pk)
    return services.champion_promote(benchmark=benchmark, evaluation=evaluation, user=user, **kwargs)


def clone_evaluations(template, count: int, *, ticket=None) -> list:
    """``count`` copies of a finished evaluation, each on a new run of the same project: lists and
    pages at scale without running the engine each time."""
    from django.utils import timezone

    from experiments.models import Evaluation
    from tickets.versions import project_touch

    template = Evaluation.objects.get(pk=template.pk)
    now = timezone.now()
    runs = Run.objects.bulk_create(
        [
            Run(project_id=template.benchmark.project_id, name=f"clone-{i}", start_time=now, ticket=ticket)
            for i in range(count)
        ]
    )
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Evaluation._meta.concrete_fields
        if f.attname not in ("id", "run_id", "created_at")
    }
    clones = Evaluation.objects.bulk_create([Evaluation(**{**fields, "run_id": run.pk}) for run in runs])
    # Bulk inserts save nothing one by one: bump the project's content version as the app's bulk writers do.
    project_touch(project_id=template.benchmark.project_id)
    return clones


def write_large_binary_case(folder: Path, *, n_rows: int, n_groups: int, seed: int = 11) -> BinaryCase:
    """A big case written with pyarrow (fast): for timing-sensitive worker tests and the benchmark."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = np.char.add("row", np.arange(n_rows).astype(str))
    groups = rng.integers(0, n_groups, n_rows)
    y = (rng.random(n_rows) < 0.3).astype(np.int8)
    subject = rng.normal(0, 0.4, n_groups)[groups]
    options = pcsv.WriteOptions(quoting_style="none")
    pcsv.write_csv(
        pa.table({"id": ids, "label": y, "group": np.char.add("subject", groups.astype(str))}),
        folder / "truth.csv",
        write_options=options,
    )
    paths = {}
    for name, strength in (("champion", 1.0), ("challenger", 1.3), ("worse", 0.6)):
        logit = strength * (2 * y - 1) + subject + rng.normal(0, 1, n_rows)
        order = rng.permutation(n_rows)
        paths[name] = folder / f"{name}.csv"
        pcsv.write_csv(
            pa.table({"id": ids[order], "score": (1 / (1 + np.exp(-logit)))[order]}), paths[name], write_options=options
        )
    return BinaryCase(truth=folder / "truth.csv", **paths)
