"""The online engine is pure: importing it loads no Django and nothing of the project outside the engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_importing_the_online_engine_loads_no_django_and_no_app_code():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import json, sys, experiments.evaluation.online; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'rest_framework', 'celery', 'tickets', 'agileml', 'experiments'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert "experiments.evaluation.online.analysis" in loaded
    outside = [m for m in loaded if m not in ("experiments", "experiments.evaluation")]
    assert all(m.startswith("experiments.evaluation.") for m in outside), outside
