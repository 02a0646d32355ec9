"""requirements.lock pins every package the requirements name, at the version they name.

After editing requirements*.txt run ``make lock``; this test says which pins it is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[normalized(match.group(1))] = match.group(2)
    return found


def unpinned(path: Path) -> list[str]:
    """Requirement lines that are not ``name==version`` (nor comments, blanks or ``-r`` includes)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-r ") and not PIN.match(line)]


REQUIREMENTS = sorted(ROOT.glob("requirements*.txt"))
LOCK = pins(ROOT / "requirements.lock")


def test_the_files_are_found():
    assert {p.name for p in REQUIREMENTS} >= {"requirements.txt", "requirements-dev.txt"}
    assert len(LOCK) > len(pins(ROOT / "requirements.txt")) + 30  # transitive packages too


@pytest.mark.parametrize("path", REQUIREMENTS, ids=lambda p: p.name)
def test_every_requirement_is_pinned_exactly(path):
    assert unpinned(path) == []


@pytest.mark.parametrize("path", REQUIREMENTS, ids=lambda p: p.name)
def test_the_lock_has_every_requirement_at_its_version(path):
    wrong = {
        name: (version, LOCK.get(name, "missing")) for name, version in pins(path).items() if LOCK.get(name) != version
    }
    assert wrong == {}, f"run `make lock` ({path.name} pin, lock pin): {wrong}"


def test_the_pin_reader_reads_extras_and_markers(tmp_path):
    sample = tmp_path / "r.txt"
    sample.write_text("Django_Foo[bar]==1.2 ; python_version>'3'\n# x==1\n    # via y\n-r other.txt\nkombu\n")
    assert pins(sample) == {"django-foo": "1.2"}
    assert unpinned(sample) == ["kombu"]
