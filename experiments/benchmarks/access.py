"""Access to benchmarks, datasets and evaluations, through the one generic helper
``tickets.access.object_for_user``.

Roles: stakeholders read; engineers upload predictions and request evaluations; leads define
benchmarks (create, settings, dataset versions) and promote champions. Outsiders get the same
404 whether or not the object exists; members whose role is too low get 403.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from experiments.benchmarks.models import Benchmark, Evaluation, EvaluationDataset
from tickets.access import object_for_user, parse_id
from tickets.models import Role


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
    return object_for_user(user, Benchmark, benchmark_id, need=need, project_key=project_key)


def evaluation_for_user(
    user: AbstractBaseUser | AnonymousUser,
    evaluation_id: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
    defer: tuple[str, ...] = (),
    bare: bool = False,
) -> Evaluation:
    """Evaluation ``evaluation_id`` if ``user`` holds at least ``need`` in its project (404 / 403 otherwise).

    Benchmark, dataset, run (with its ticket), predictions and champion are joined; the project
    with the caller's role is attached to the evaluation's benchmark and run. ``defer``: fields not
    loaded until used (a page that keeps what it draws from the report in the cache defers it).
    ``bare``: only the evaluation's id, status and benchmark (with the project), for a page kept
    whole: PostgreSQL spends ~10 ms planning the eleven-table join, far more than running it.
    """
    if bare:
        source = Evaluation.objects.only("id", "status", "benchmark")
    else:
        source = Evaluation.objects.select_related(
            "dataset", "run__ticket", "predictions", "champion_run", "champion_predictions", "requested_by"
        ).defer(*defer)
    evaluation = object_for_user(
        user,
        source,
        evaluation_id,
        need=need,
        project_key=project_key,
        project_path="benchmark__project",
    )
    project = evaluation.benchmark.project
    if bare:
        return evaluation
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
    """Version ``version`` (``3`` or ``v3``) of a benchmark's dataset, checked like the benchmark itself."""
    benchmark = benchmark_for_user(user, benchmark_id, need=need)
    number = parse_id(str(version).strip().lstrip("vV"))
    dataset = EvaluationDataset.objects.filter(benchmark=benchmark, version=number).first()
    if dataset is None:
        raise Http404(f"Benchmark {benchmark.name} has no dataset version {number}.")
    dataset.benchmark = benchmark
    return dataset
