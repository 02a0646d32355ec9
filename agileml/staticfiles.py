"""Static files: hashed, precompressed copies once collected; the plain files before that.

``CollectedFilesFinder`` serves the collected files to pytest-django's live server, which answers
``/static/`` through the finders (it knows only the source files otherwise).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage, falling back to the plain names while nothing has
    been collected (a benchmark's or a developer's fresh var/), which WhiteNoise then serves from
    ``static/`` through the finders. ``make run`` and the test suite always collect first."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)


class CollectedFilesFinder(BaseFinder):
    """Finds files in STATIC_ROOT (the hashed copies) and lists none, so ``collectstatic`` never
    copies its own output. Used only by the test suite."""

    def find(self, path: str, find_all: bool = False, **kwargs):
        root = Path(settings.STATIC_ROOT).resolve()
        candidate = (root / path).resolve()
        if root not in candidate.parents or not candidate.is_file():
            return [] if find_all else None
        return [str(candidate)] if find_all else str(candidate)

    def list(self, ignore_patterns):
        return []
