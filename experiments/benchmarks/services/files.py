"""Evaluation files under MEDIA_ROOT: content addresses, atomic placement, and the truth a worker reads.

Files are stored as uploaded (CSV, compressed CSV or Parquet, with the suffix of what the content is);
an accepted truth also has a columnar copy beside it (``columns_relative``) that workers read instead.
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
)
from experiments.evaluation.columnar import read_truth_columns
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
