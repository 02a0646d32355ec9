"""A run's files, stored under ``MEDIA_ROOT/artifacts/<run uuid>/<path>``; other capabilities may look at them first."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from experiments.tracking.models import (
    Artifact,
    Run,
)


class ArtifactHook(Protocol):
    def __call__(self, *, run: Run, path: str, file: Path) -> None: ...


# Called for every stored artifact inside the transaction that records it (benchmarks
# evaluate a run's predictions.csv this way); tracking itself knows nothing of them.
ARTIFACT_HOOKS: list[ArtifactHook] = []


def register_artifact_hook(hook: ArtifactHook) -> ArtifactHook:
    """Decorator: call ``hook(run=, path=, file=)`` whenever an artifact is stored; it may refuse it."""
    ARTIFACT_HOOKS.append(hook)
    return hook


def validate_artifact_path(path: str) -> str:
    """A relative POSIX path inside the run's artifact folder."""
    path = str(path or "").strip()
    if not path or len(path) > 1000:
        raise ValidationError({"path": "An artifact needs a relative path of at most 1000 characters."})
    if "\x00" in path or "\\" in path or path.startswith("/"):
        raise ValidationError({"path": f"Artifact path {path!r} must be relative and use forward slashes."})
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValidationError({"path": f"Artifact path {path!r} must not contain empty, '.' or '..' parts."})
    return path


def artifact_root(run: Run) -> Path:
    return Path(settings.MEDIA_ROOT) / "artifacts" / run.uuid


def artifact_file(run: Run, path: str) -> Path:
    return artifact_root(run).joinpath(*validate_artifact_path(path).split("/"))


def artifact_save(*, run: Run, path: str, stream: BinaryIO, chunk_size: int = 1024 * 1024) -> Artifact:
    """Store ``stream`` as artifact ``path`` of ``run`` (replacing an older file of that path).

    The file is written to a temporary name and moved into place only when complete and
    within ``settings.ARTIFACT_MAX_BYTES``, so a failed or oversized upload leaves nothing.
    """
    limit = settings.ARTIFACT_MAX_BYTES
    target = artifact_file(run, path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        # A file of this run stands where the path needs a folder (``conf``, then ``conf/child``).
        parts = path.split("/")
        clash = next(
            "/".join(parts[:i]) for i in range(1, len(parts)) if artifact_file(run, "/".join(parts[:i])).is_file()
        )
        raise ValidationError(
            {"path": f"Artifact path {path!r} needs a folder {clash!r}, but {clash!r} is a file of this run."}
        ) from None
    if target.is_dir():
        raise ValidationError({"path": f"Artifact path {path!r} is a folder of this run."})
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(chunk_size)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        {"size": f"Artifact {path!r} is larger than the limit of {limit:,} bytes (ARTIFACT_MAX_BYTES)."}
                    )
                out.write(chunk)
        with transaction.atomic():
            artifact, _ = Artifact.objects.update_or_create(run=run, path=path, defaults={"size": size})
            # Other capabilities may look at the file first, and refuse it with a ValidationError.
            for hook in ARTIFACT_HOOKS:
                hook(run=run, path=path, file=Path(tmp_name))
            os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return artifact
