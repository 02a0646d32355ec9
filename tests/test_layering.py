"""The layering rules of CONTRIBUTING.md, checked on every run of the suite.

Import rules are import-linter contracts (``[tool.importlinter]`` in pyproject.toml): planning
never imports experiments; the evaluation engine imports nothing of the project and no Django;
dashboards may read benchmarks and tracking, benchmarks may read tracking, tracking reads
neither. Views and APIs read and write through selectors and services, never the ORM.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
APPS = ("agileml", "accounts", "tickets", "experiments", "integrations", "inbox")


def test_import_contracts_are_kept(capsys):
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0, capsys.readouterr().out


def _edge_modules() -> list[Path]:
    """Every view and API module: ``views.py``, ``*_views.py``, ``api.py``, ``*_api.py``."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if path.stem in ("views", "api") or path.stem.endswith(("_views", "_api")):
                found.append(path)
    return found


def _orm_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.name}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "objects"
    ]


def test_the_edge_modules_are_found():
    names = {str(p.relative_to(ROOT)) for p in _edge_modules()}
    assert {"tickets/api.py", "experiments/tracking/mlflow_api.py", "experiments/dashboards/share_views.py"} <= names


@pytest.mark.parametrize("path", _edge_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_views_and_apis_do_not_touch_the_orm(path):
    assert _orm_reads(path) == [], "Views and APIs call selectors and services; move the query there."


def test_the_orm_check_sees_a_query(tmp_path):
    sample = tmp_path / "views.py"
    sample.write_text("def page(request):\n    return Run.objects.filter(pk=1).first()\n")
    assert _orm_reads(sample) == ["views.py:2: Run.objects"]
