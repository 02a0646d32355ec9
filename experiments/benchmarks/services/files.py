"""Evaluation files under MEDIA_ROOT: content addresses, atomic placement, and the truth a worker reads.

Files are stored as uploaded (CSV, compressed CSV or Parquet, with the suffix of what the content is);
an accepted truth also has a columnar copy beside it (``columns_relative``) that workers read instead.
An evaluation too large for one process's memory reads its inputs prepared on disk (``stored``): the
truth's row-ordered columns (``prepared_relative``) and each prediction set aligned to them
(``aligned_relative``), made on first use, kept beside the files and shared by every worker.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from experiments.benchmarks.models import (
    EvaluationDataset,
)
from experiments.evaluation import (
    Truth,
    read_truth,
    stored,
)
from experiments.evaluation.columnar import read_truth_columns, write_truth_columns
from experiments.evaluation.reading import SUFFIXES, file_format

_CHUNK = 1024 * 1024


def media_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stored_suffix(path: Path) -> str:
    """The suffix a stored copy of ``path`` gets: what its content is, whatever it was called."""
    return SUFFIXES[file_format(path)]


def columns_relative(relative: str) -> str:
    """Where the columnar copy of the stored truth ``relative`` lives (``truth-v3-<sha>.columns.parquet``)."""
    folder, _, name = relative.rpartition("/")
    return f"{folder}/{name.split('.', 1)[0]}.columns.parquet"


def prepared_relative(relative: str) -> str:
    """Where the stored truth ``relative``'s prepared columns live (a folder)."""
    return columns_relative(relative).removesuffix(".columns.parquet") + ".prepared"


def aligned_relative(relative: str) -> str:
    """Where the stored predictions ``relative``, aligned to their truth's rows, live (a folder)."""
    folder, _, name = relative.rpartition("/")
    return f"{folder}/{name.split('.', 1)[0]}.aligned"


def prepared_truth(dataset: EvaluationDataset) -> stored.StoredTruth:
    """The dataset's truth prepared for reading a row range at a time (prepared on first use)."""
    columns = media_path(columns_relative(dataset.file))
    if not columns.exists():
        # Versions stored before columnar copies existed: read once, whole, to write one.
        path = media_path(dataset.file)
        if not path.exists():
            raise FileNotFoundError(f"the stored truth file {dataset.file} is missing under MEDIA_ROOT")
        write_truth_columns(read_truth(path, task=dataset.benchmark.task, name=dataset.original_name), columns)
    return stored.prepare_truth(
        columns,
        task=dataset.benchmark.task,
        name=dataset.original_name,
        folder=media_path(prepared_relative(dataset.file)),
    )


def aligned_predictions(prediction_set, truth: stored.StoredTruth) -> stored.StoredPredictions:
    """A prediction set aligned to its dataset's prepared truth (aligned on first use)."""
    path = media_path(prediction_set.file)
    if not path.exists():
        raise FileNotFoundError(f"the stored predictions file {prediction_set.file} is missing under MEDIA_ROOT")
    return stored.align_predictions(
        path, truth=truth, folder=media_path(aligned_relative(prediction_set.file)), name=prediction_set.original_name
    )


def clean_file_name(name: str, default: str) -> str:
    name = Path(str(name or "").replace("\\", "/")).name.strip()
    return name[:255] or default


def place_file(source: Path, relative: str, *, move: bool) -> Path:
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
    # The columnar copy is checked and typed already; versions stored before it existed have none.
    columns = media_path(columns_relative(dataset.file))
    if columns.exists():
        truth = read_truth_columns(columns, task=dataset.benchmark.task, name=dataset.original_name)
    else:
        truth = read_truth(path, task=dataset.benchmark.task, name=dataset.original_name)
    with _truth_lock:
        _truth_cache = _CachedTruth(key, truth)
    return truth
