"""Access to benchmarks, datasets and evaluations, built on ``tickets.access.project_for_user``.

Roles: stakeholders read; engineers upload predictions and request evaluations; leads define
benchmarks (create, settings, dataset versions) and promote champions. Outsiders get 404 and
members whose role is too low get 403, exactly as for projects.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from experiments.benchmarks.models import Benchmark, Evaluation, EvaluationDataset
from tickets.access import project_for_user
from tickets.models import Role


def _number(ref: object, what: str) -> int:
    text = str(ref).strip()
    if not text.isdigit():
        raise Http404(f"{ref!r} is not a {what} id.")
    return int(text)


def benchmark_for_user(
    user: AbstractBaseUser | AnonymousUser,
    benchmark_id: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
) -> Benchmark:
    """Benchmark ``benchmark_id`` if ``user`` holds at least ``need`` in its project (404 / 403 otherwise).

    With ``project_key`` the benchmark must also belong to that project (pages nest benchmarks
    under ``/p/<key>/``). The project, with the caller's role as ``project.role``, is attached.
    """
    if not user.is_authenticated:
        raise Http404("No such benchmark.")
    number = _number(benchmark_id, "benchmark")
    try:
        benchmark = Benchmark.objects.select_related("project").get(pk=number)
    except Benchmark.DoesNotExist:
        raise Http404(f"There is no benchmark {benchmark_id}.") from None
    if project_key is not None and benchmark.project.key != project_key:
        project_for_user(user, project_key)
        raise Http404(f"There is no benchmark {benchmark_id} in {project_key}.")
    benchmark.project = project_for_user(user, benchmark.project.key, need=need)
    return benchmark


def evaluation_for_user(
    user: AbstractBaseUser | AnonymousUser,
    evaluation_id: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
) -> Evaluation:
    """Evaluation ``evaluation_id`` if ``user`` holds at least ``need`` in its project (404 / 403 otherwise).

    Benchmark, dataset, run (with its ticket), predictions and champion are joined; the project
    with the caller's role is attached to the evaluation's benchmark and run.
    """
    if not user.is_authenticated:
        raise Http404("No such evaluation.")
    number = _number(evaluation_id, "evaluation")
    try:
        evaluation = Evaluation.objects.select_related(
            "benchmark__project",
            "dataset",
            "run__ticket",
            "predictions",
            "champion_run",
            "champion_predictions",
            "requested_by",
        ).get(pk=number)
    except Evaluation.DoesNotExist:
        raise Http404(f"There is no evaluation {evaluation_id}.") from None
    key = evaluation.benchmark.project.key
    if project_key is not None and key != project_key:
        project_for_user(user, project_key)
        raise Http404(f"There is no evaluation {evaluation_id} in {project_key}.")
    project = project_for_user(user, key, need=need)
    evaluation.benchmark.project = project
    evaluation.run.project = project
    if evaluation.run.ticket_id:
        evaluation.run.ticket.project = project
    return evaluation


def dataset_for_user(
    user: AbstractBaseUser | AnonymousUser,
    benchmark_id: int | str,
    version: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
) -> EvaluationDataset:
    """Version ``version`` of a benchmark's dataset, checked like the benchmark itself."""
    benchmark = benchmark_for_user(user, benchmark_id, need=need)
    number = _number(str(version).lstrip("vV"), "dataset version")
    try:
        dataset = EvaluationDataset.objects.get(benchmark=benchmark, version=number)
    except EvaluationDataset.DoesNotExist:
        raise Http404(f"Benchmark {benchmark.name} has no dataset version {number}.") from None
    dataset.benchmark = benchmark
    return dataset
