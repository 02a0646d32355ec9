"""A run's predictions for a dataset version, from the browser, the API or an MLflow artifact."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from experiments.benchmarks.models import (
    Benchmark,
    Evaluation,
    EvaluationDataset,
    PredictionSet,
    PredictionSource,
)
from experiments.benchmarks.selectors import latest_dataset
from experiments.benchmarks.services.evaluations import evaluation_request
from experiments.benchmarks.services.files import (
    clean_file_name,
    columns_relative,
    dataset_truth,
    file_sha256,
    media_path,
    place_file,
    stored_suffix,
)
from experiments.evaluation import (
    EvaluationInputError,
    Predictions,
    read_predictions,
)
from experiments.evaluation.checking import PredictionsCheck, check_predictions
from experiments.tracking.models import Run, Tag
from experiments.tracking.services import run_create

# A run tagged agileml.benchmark=<name> that logs this artifact is evaluated on that benchmark.
TAG_BENCHMARK = "agileml.benchmark"


PREDICTIONS_ARTIFACT = "predictions.csv"
# The artifact names the MLflow hook evaluates: the same predictions in any accepted format.
PREDICTIONS_ARTIFACTS = (PREDICTIONS_ARTIFACT, "predictions.csv.gz", "predictions.csv.zst", "predictions.parquet")


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
    name = clean_file_name(original_name, PREDICTIONS_ARTIFACT)
    predictions = _checked(dataset, path, name)
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
            relative = (
                f"benchmarks/{dataset.benchmark_id}/predictions/"
                f"run{run.pk}-v{dataset.version}-{sha[:12]}{stored_suffix(Path(path))}"
            )
            target = place_file(Path(path), relative, move=move)
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


def _checked(dataset: EvaluationDataset, path: Path, name: str) -> PredictionsCheck | Predictions:
    """The file checked against the dataset's truth: block by block against its columnar copy, in bounded
    memory (the truth is not loaded); versions stored before columnar copies existed are read whole."""
    columns = media_path(columns_relative(dataset.file))
    try:
        if columns.exists():
            return check_predictions(
                path,
                task=dataset.benchmark.task,
                columns=columns,
                classes=tuple(sorted(dataset.class_counts)),
                truth_name=dataset.original_name,
                name=name,
            )
        try:
            truth = dataset_truth(dataset)
        except FileNotFoundError as error:
            raise ValidationError({"dataset": f"Dataset {dataset.label} cannot be read: {error}."}) from None
        return read_predictions(path, truth=truth, name=name)
    except EvaluationInputError as error:
        raise ValidationError({"file": str(error)}) from None


def predictions_from_artifact(*, run: Run, path: Path, artifact: str = PREDICTIONS_ARTIFACT) -> PredictionSet | None:
    """The MLflow hook: ``predictions.csv`` (or ``.csv.gz``, ``.csv.zst``, ``.parquet``: ``artifact``) logged by a
    run tagged ``agileml.benchmark=<name>`` becomes its predictions on that benchmark's latest dataset and
    is evaluated at once.

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
    dataset = latest_dataset(benchmark=benchmark)
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
        original_name=artifact,
        source=PredictionSource.MLFLOW,
    )
    evaluation_request(run=run, dataset=dataset, user=run.started_by, predictions=prediction_set)
    return prediction_set


@dataclass(frozen=True)
class Submission:
    """Predictions accepted, and the evaluation asked for them (``created``: a new one was queued)."""

    predictions: PredictionSet
    evaluation: Evaluation | None
    created: bool


@transaction.atomic
def predictions_submit(
    *,
    dataset: EvaluationDataset,
    user: AbstractBaseUser | None,
    path: Path,
    original_name: str,
    source: str,
    run: Run | None = None,
    run_name: str = "",
    ticket_key: str | None = None,
    evaluate: bool = True,
    force: bool = False,
) -> Submission:
    """Accept a run's predictions for ``dataset`` and ask for their evaluation, in one transaction.

    Without ``run`` a new run is created (named ``run_name``, attached to ``ticket_key``, tagged with
    the benchmark). A file the engine rejects leaves nothing behind, not even that run. The upload
    is moved into place, not copied.
    """
    benchmark = dataset.benchmark
    if run is None:
        run = run_create(
            project=benchmark.project,
            user=user,
            name=run_name.strip(),
            ticket_key=ticket_key or None,
            tags=[(TAG_BENCHMARK, benchmark.name)],
        )
    prediction_set = predictions_upload(
        run=run, dataset=dataset, user=user, path=path, original_name=original_name, source=source, move=True
    )
    prediction_set.dataset = dataset
    if not evaluate:
        return Submission(prediction_set, None, False)
    evaluation, created = evaluation_request(
        run=run, dataset=dataset, user=user, predictions=prediction_set, force=force
    )
    return Submission(prediction_set, evaluation, created)
