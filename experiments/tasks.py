"""Celery finds each app's tasks in ``<app>.tasks``; the evaluation tasks live with benchmarks.

Their registered names (``experiments.tasks.evaluation_run``, ``experiments.tasks.evaluation_sweep``)
are fixed in the decorators, since queued messages and the beat schedule use them.
"""

from experiments.abtests.tasks import abtest_aggregate, abtest_sweep
from experiments.benchmarks.tasks import evaluation_run, evaluation_sweep

__all__ = ["abtest_aggregate", "abtest_sweep", "evaluation_run", "evaluation_sweep"]
