"""The evaluation set handed to engineers: the row ids (and groups) without labels, a
predictions template in the task's layout, and, for leads, the ground-truth file itself.

Every answer is streamed: the rows are written as they are read, in slices, so a large
dataset never sits in memory as one CSV string.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, StreamingHttpResponse

from agileml.csv_export import csv_download
from experiments.benchmarks.models import EvaluationDataset
from experiments.benchmarks.services import dataset_truth, media_path

SLICE = 10_000
PREDICTION_COLUMNS = {"binary": ["score"], "multiclass": ["label"], "regression": ["prediction"]}


def _columns(dataset: EvaluationDataset, names: list[str]) -> Iterator[list]:
    """The truth file's ``names`` columns, row by row, read a slice at a time."""
    table = dataset_truth(dataset).source.table.select(names)
    for start in range(0, table.num_rows, SLICE):
        part = table.slice(start, SLICE)
        yield from zip(*(part.column(name).to_pylist() for name in names), strict=True)


def has_groups(dataset: EvaluationDataset) -> bool:
    return dataset_truth(dataset).groups is not None


def ids_rows(dataset: EvaluationDataset) -> Iterator[list[str]]:
    """``id[,group]`` for every row of the dataset, in file order: never a label."""
    names = ["id", "group"] if has_groups(dataset) else ["id"]
    yield names
    for row in _columns(dataset, names):
        yield [("" if value is None else str(value).strip()) for value in row]


def template_header(dataset: EvaluationDataset) -> list[str]:
    """The predictions file's columns for the benchmark's task (multiclass: a ``p_<class>`` per class)."""
    task = dataset.benchmark.task
    header = ["id", *PREDICTION_COLUMNS[task]]
    if task == "multiclass":
        header += [f"p_{name}" for name in dataset_truth(dataset).classes]
    return header


def template_rows(dataset: EvaluationDataset) -> Iterator[list[str]]:
    """A predictions file to fill in: the header, then every id with empty values."""
    header = template_header(dataset)
    yield header
    blanks = [""] * (len(header) - 1)
    for (row_id,) in _columns(dataset, ["id"]):
        yield [str(row_id).strip(), *blanks]


class StoredFileMissing(Exception):
    """The dataset's stored file is gone from MEDIA_ROOT (a restore without media, a manual deletion)."""


def _require_stored(dataset: EvaluationDataset):
    path = media_path(dataset.file)
    if not path.exists():
        raise StoredFileMissing(
            f"The stored file of {dataset.benchmark.name} {dataset.label} is missing on the server; "
            "a lead should upload the dataset again."
        )
    return path


def ids_download(dataset: EvaluationDataset) -> StreamingHttpResponse:
    # Checked before the response starts: a file missing mid-stream could only cut the download short.
    _require_stored(dataset)
    return csv_download(ids_rows(dataset), f"{dataset.benchmark.name}-{dataset.label}-ids.csv")


def template_download(dataset: EvaluationDataset) -> StreamingHttpResponse:
    _require_stored(dataset)
    return csv_download(template_rows(dataset), f"{dataset.benchmark.name}-{dataset.label}-predictions-template.csv")


def truth_download(dataset: EvaluationDataset) -> FileResponse:
    """The stored ground-truth file as uploaded (CSV, compressed CSV or Parquet), streamed from disk."""
    path = _require_stored(dataset)
    name = f"{dataset.benchmark.name}-{dataset.label}-truth{''.join(Path(dataset.original_name).suffixes) or '.csv'}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)
