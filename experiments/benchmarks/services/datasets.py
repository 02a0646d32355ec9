"""Dataset versions: a benchmark's ground truth, accepted only after the engine has read it; immutable once used."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from experiments.benchmarks.models import (
    Benchmark,
    Evaluation,
    EvaluationDataset,
    PredictionSet,
)
from experiments.benchmarks.services.files import (
    clean_file_name,
    columns_relative,
    file_sha256,
    media_path,
    place_file,
    prepared_relative,
    stored_suffix,
)
from experiments.evaluation import EvaluationInputError
from experiments.evaluation.checking import TruthCheck, check_truth


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

    The file may be CSV, gzip/zstd-compressed CSV or Parquet; it is stored as uploaded, with a
    columnar copy (Parquet in row groups) beside it that workers read. A file the engine rejects
    raises ``ValidationError`` with the engine's message (file, line or row, column); a file
    identical to an existing version is rejected too. Nothing is stored then.
    """
    name = clean_file_name(original_name, "truth.csv")
    # Checked block by block, in bounded memory; the columnar copy is written as the check goes, under a
    # temporary name until the version exists.
    incoming = media_path(f"benchmarks/{benchmark.pk}/.incoming-columns-{uuid.uuid4().hex}.parquet")
    try:
        truth = check_truth(path, task=benchmark.task, columns=incoming, name=name)
    except EvaluationInputError as error:
        raise ValidationError({"file": str(error)}) from None
    try:
        return _store(
            benchmark=benchmark, user=user, path=path, name=name, truth=truth, incoming=incoming, note=note, move=move
        )
    finally:
        incoming.unlink(missing_ok=True)


def _store(
    *,
    benchmark: Benchmark,
    user: AbstractBaseUser | None,
    path: Path,
    name: str,
    truth: TruthCheck,
    incoming: Path,
    note: str,
    move: bool,
) -> EvaluationDataset:
    if benchmark.is_grouped and truth.n_groups is None:
        raise ValidationError(
            {
                "file": f"{name}, line 1: {benchmark.name} is {benchmark.get_unit_display().lower()}, so the truth "
                "file needs a 'group' column (id,label,group) naming each row's "
                f"{benchmark.unit}; this file has none."
            }
        )
    sha = file_sha256(path)
    size = Path(path).stat().st_size
    suffix = stored_suffix(Path(path))
    target: Path | None = None
    columns: Path | None = None
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
            relative = f"benchmarks/{benchmark.pk}/truth-v{version}-{sha[:12]}{suffix}"
            columns = media_path(columns_relative(relative))
            os.replace(incoming, columns)
            target = place_file(Path(path), relative, move=move)
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
        for placed in (target, columns):
            if placed is not None:
                placed.unlink(missing_ok=True)
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
    media_path(columns_relative(dataset.file)).unlink(missing_ok=True)
    shutil.rmtree(media_path(prepared_relative(dataset.file)), ignore_errors=True)


def latest_dataset(benchmark: Benchmark) -> EvaluationDataset | None:
    return EvaluationDataset.objects.filter(benchmark=benchmark).order_by("-version").first()
