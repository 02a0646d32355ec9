"""Reads for benchmarks, evaluations and champion history. Each selector owns its joins, so pages
and APIs cost a fixed number of queries whatever the number of evaluations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, When

from experiments.benchmarks.models import (
    Benchmark,
    ChampionChange,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSet,
)
from experiments.evaluation.intervals import Z as CRITICAL_95
from experiments.evaluation.sequential import Lord, detectable_effect
from experiments.tracking.models import Run
from tickets.access import id_or_none
from tickets.attribution import attribution_text, sprint_of_moment
from tickets.models import Project, Sprint, Ticket

# Large JSON the lists never show.
LIST_DEFER = ("result",)


def _latest_change(field: str) -> Subquery:
    return Subquery(
        ChampionChange.objects.filter(benchmark=OuterRef("pk")).order_by("-promoted_at", "-id").values(field)[:1]
    )


def benchmarks_of_project(*, project: Project) -> list[Benchmark]:
    """A project's benchmarks with champion, its primary value at promotion, evaluation count and
    latest dataset (``benchmark.current_dataset``): two queries for any number of benchmarks."""
    return with_current_datasets(list(benchmark_rows(project=project)), project=project)


def benchmark_rows(*, project: Project) -> QuerySet[Benchmark]:
    """The annotated, ordered benchmarks of a project, unevaluated, so a page can be cut in SQL;
    finish a page with ``with_current_datasets``."""
    evaluation_count = Subquery(
        Evaluation.objects.filter(benchmark=OuterRef("pk"))
        .order_by()
        .values("benchmark")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )
    return (
        Benchmark.objects.filter(project=project)
        .select_related("champion__ticket")
        .annotate(
            champion_value=_latest_change("primary_value"),
            champion_ci_low=_latest_change("primary_ci_low"),
            champion_ci_high=_latest_change("primary_ci_high"),
            evaluation_count=evaluation_count,
        )
        .order_by("name", "id")
    )


def with_current_datasets(benchmarks: list[Benchmark], *, project: Project) -> list[Benchmark]:
    """Attach each benchmark's newest dataset and its project: one query."""
    latest = latest_datasets(benchmark_ids=[b.pk for b in benchmarks])
    for benchmark in benchmarks:
        benchmark.project = project
        benchmark.current_dataset = latest.get(benchmark.pk)
        if benchmark.champion_id:
            benchmark.champion.project = project
            if benchmark.champion.ticket_id:
                benchmark.champion.ticket.project = project
    return benchmarks


def latest_datasets(*, benchmark_ids: Iterable[int]) -> dict[int, EvaluationDataset]:
    """``{benchmark_id: newest dataset version}``: one query."""
    latest: dict[int, EvaluationDataset] = {}
    for dataset in (
        EvaluationDataset.objects.filter(benchmark_id__in=list(benchmark_ids))
        .select_related("uploaded_by")
        .order_by("benchmark_id", "-version")
    ):
        latest.setdefault(dataset.benchmark_id, dataset)
    return latest


def benchmark_with_champion(*, benchmark: Benchmark) -> Benchmark:
    """The benchmark again, with champion, its ticket and starter joined (one query)."""
    fresh = Benchmark.objects.select_related("champion__ticket", "champion__started_by").get(pk=benchmark.pk)
    fresh.project = benchmark.project
    if fresh.champion_id:
        fresh.champion.project = benchmark.project
        if fresh.champion.ticket_id:
            fresh.champion.ticket.project = benchmark.project
    return fresh


def dataset_rows(*, benchmark: Benchmark) -> QuerySet[EvaluationDataset]:
    """Every version, newest first, with who uploaded it and whether it is used: slice or page it."""
    used = Subquery(
        PredictionSet.objects.filter(dataset=OuterRef("pk"))
        .order_by()
        .values("dataset")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )
    return (
        EvaluationDataset.objects.filter(benchmark=benchmark)
        .select_related("uploaded_by")
        .annotate(prediction_count=used)
        .order_by("-version")
    )


def datasets_of_benchmark(*, benchmark: Benchmark) -> list[EvaluationDataset]:
    """Every version, newest first, with who uploaded it and whether it is used (one query)."""
    rows = list(dataset_rows(benchmark=benchmark))
    for dataset in rows:
        dataset.benchmark = benchmark
    return rows


def champion_history(*, benchmark: Benchmark) -> list[ChampionChange]:
    """Every promotion, newest first, with people, runs, sprint and ticket joined, each credited
    to the sprint active when it was made (``credited_sprint``, ``credited_text``): two queries."""
    return credited_changes(list(champion_change_rows(benchmark=benchmark)), benchmark=benchmark)


def champion_change_rows(*, benchmark: Benchmark) -> QuerySet[ChampionChange]:
    """A benchmark's promotions, newest first, unevaluated, so a page can be cut in SQL;
    finish a page with ``credited_changes``."""
    return (
        ChampionChange.objects.filter(benchmark=benchmark)
        .select_related("run", "previous_run", "promoted_by", "sprint", "ticket", "dataset")
        .order_by("-promoted_at", "-id")
    )


def credited_changes(rows: list[ChampionChange], *, benchmark: Benchmark) -> list[ChampionChange]:
    """Credit each promotion to the sprint active when it was made (tickets.attribution): one query."""
    periods = [s.period for s in Sprint.objects.filter(project_id=benchmark.project_id, started_at__isnull=False)]
    for change in rows:
        if change.ticket_id:
            change.ticket.project = benchmark.project
        # Credited by the one rule (tickets.attribution), not by what was stored at the time.
        credited = sprint_of_moment(periods, change.promoted_at)
        change.credited_sprint = credited.name if credited else ""
        change.credited_text = attribution_text(periods, change.promoted_at)
    return rows


def evaluations_of_benchmark(
    *,
    benchmark: Benchmark,
    dataset: EvaluationDataset | None = None,
    status: str | None = None,
    verdict: str | None = None,
    run_id: int | None = None,
) -> QuerySet[Evaluation]:
    """A benchmark's evaluations, newest first, without the stored report, with run, ticket and
    champion joined."""
    rows = Evaluation.objects.filter(benchmark=benchmark)
    if dataset is not None:
        rows = rows.filter(dataset=dataset)
    if status:
        rows = rows.filter(status=status)
    if verdict:
        rows = rows.filter(verdict=verdict)
    if run_id is not None:
        rows = rows.filter(run_id=run_id)
    return (
        rows.select_related("run__ticket", "champion_run", "dataset", "requested_by")
        .defer(*LIST_DEFER)
        .order_by("-created_at", "-id")
    )


def attach_project(evaluations: Iterable[Evaluation], project: Project) -> None:
    """So ``run.ticket.key`` and ``run.project`` cost no queries in templates and serializers."""
    for evaluation in evaluations:
        evaluation.run.project = project
        if evaluation.run.ticket_id:
            evaluation.run.ticket.project = project


def forest_rows(*, benchmark: Benchmark, dataset: EvaluationDataset, limit: int = 30) -> list[dict]:
    """The latest comparison of each run against the current champion on ``dataset``, newest first
    (one query): the rows of the forest plot."""
    if benchmark.champion_id is None:
        return []
    rows = (
        Evaluation.objects.filter(
            benchmark=benchmark,
            dataset=dataset,
            champion_run_id=benchmark.champion_id,
            status=EvaluationStatus.SUCCEEDED,
        )
        .exclude(verdict="")
        .order_by("-created_at", "-id")
        .values("pk", "run_id", "run__name", "delta", "delta_ci_low", "delta_ci_high", "verdict")[:2000]
    )
    seen: set[int] = set()
    picked = []
    for row in rows:
        if row["run_id"] in seen:
            continue
        seen.add(row["run_id"])
        picked.append(row)
        if len(picked) == limit:
            break
    return picked


def curves_of(*, benchmark: Benchmark, evaluation_id: int | None) -> dict | None:
    """``{"evaluation", "run_name", "champion_name", "curves"}`` of a succeeded evaluation of ``benchmark``;
    without ``evaluation_id`` the newest comparison with the current champion, else the newest
    comparison, else the newest evaluation (one query)."""
    rows = Evaluation.objects.filter(benchmark=benchmark, status=EvaluationStatus.SUCCEEDED)
    if evaluation_id is not None:
        rows = rows.filter(pk=evaluation_id).order_by("pk")
    else:
        # Prefer a comparison with the current champion, then any comparison, then a lone model.
        preference = Case(
            When(Q(champion_run_id=benchmark.champion_id) & ~Q(verdict=""), then=0),
            When(~Q(verdict=""), then=1),
            default=2,
            output_field=IntegerField(),
        )
        rows = rows.order_by(preference, "-created_at", "-id")
    row = rows.values("pk", "run__name", "champion_run__name", "result").first()
    if row is None or not (row["result"] or {}).get("curves"):
        return None
    return {
        "evaluation": row["pk"],
        "run_name": row["run__name"],
        "champion_name": row["champion_run__name"],
        "curves": row["result"]["curves"],
    }


def compared_choices(*, benchmark: Benchmark, dataset: EvaluationDataset, limit: int = 100) -> list[dict]:
    """Succeeded evaluations with curves to pick for the ROC/DET chart, newest first (one query)."""
    return list(
        Evaluation.objects.filter(benchmark=benchmark, dataset=dataset, status=EvaluationStatus.SUCCEEDED)
        .order_by("-created_at", "-id")
        .values("pk", "run_id", "run__name", "verdict")[:limit]
    )


def evaluations_of_run(*, run: Run) -> list[Evaluation]:
    rows = list(
        Evaluation.objects.filter(run=run)
        .select_related("benchmark", "dataset", "champion_run")
        .defer(*LIST_DEFER)
        .order_by("-created_at", "-id")
    )
    for evaluation in rows:
        evaluation.run = run
        evaluation.benchmark.project = run.project
    return rows


def evaluations_of_ticket(*, ticket: Ticket) -> list[Evaluation]:
    rows = list(
        Evaluation.objects.filter(run__ticket=ticket)
        .select_related("benchmark", "dataset", "run", "champion_run")
        .defer(*LIST_DEFER)
        .order_by("-created_at", "-id")
    )
    for evaluation in rows:
        evaluation.benchmark.project = ticket.project
        evaluation.run.project = ticket.project
        evaluation.run.ticket = ticket
    return rows


def current_predictions(*, run_id: int, dataset: EvaluationDataset) -> PredictionSet | None:
    return PredictionSet.objects.filter(run_id=run_id, dataset=dataset).order_by("-uploaded_at", "-id").first()


def dataset_version(*, benchmark: Benchmark, version: int) -> EvaluationDataset | None:
    """Version ``version`` of the benchmark's dataset, with the benchmark attached; or None."""
    dataset = EvaluationDataset.objects.filter(benchmark=benchmark, version=version).first()
    if dataset is not None:
        dataset.benchmark = benchmark
    return dataset


def latest_dataset(*, benchmark: Benchmark) -> EvaluationDataset | None:
    """The benchmark's newest dataset version, with the benchmark attached; or None."""
    dataset = EvaluationDataset.objects.filter(benchmark=benchmark).order_by("-version").first()
    if dataset is not None:
        dataset.benchmark = benchmark
    return dataset


def benchmark_fresh(*, benchmark: Benchmark) -> Benchmark:
    """The benchmark read again (its champion may have moved), with its project kept."""
    fresh = Benchmark.objects.get(pk=benchmark.pk)
    fresh.project = benchmark.project
    return fresh


def benchmark_by_ref(*, project: Project, ref: str) -> Benchmark | None:
    """The project's benchmark with id or name ``ref``, with the project attached; or None."""
    ref = str(ref).strip()
    rows = Benchmark.objects.filter(project=project)
    number = id_or_none(ref)
    benchmark = rows.filter(pk=number).first() if number is not None else None
    benchmark = benchmark or rows.filter(name=ref).first()
    if benchmark is not None:
        benchmark.project = project
    return benchmark


def evaluation_with_joins(*, evaluation_id: int, project: Project) -> Evaluation:
    """An evaluation with what the API shows of it joined, for a caller whose access was already checked."""
    evaluation = (
        Evaluation.objects.select_related("benchmark", "dataset", "run__ticket", "champion_run", "requested_by")
        .defer(*LIST_DEFER)
        .get(pk=evaluation_id)
    )
    attach_project([evaluation], project)
    return evaluation


def evaluation_of_benchmark(*, benchmark: Benchmark, evaluation_id: int) -> Evaluation | None:
    """Evaluation ``evaluation_id`` if it belongs to ``benchmark``, with run, champion and dataset joined."""
    return (
        Evaluation.objects.select_related("run__ticket", "champion_run", "dataset")
        .filter(pk=evaluation_id, benchmark=benchmark)
        .first()
    )


def champion_change(*, change_id: int, project: Project) -> ChampionChange:
    """One promotion with ticket, sprint, promoter and dataset joined."""
    change = ChampionChange.objects.select_related("ticket", "sprint", "promoted_by", "dataset").get(pk=change_id)
    if change.ticket_id:
        change.ticket.project = project
    return change


def prediction_sets_of_run(*, run: Run) -> list[PredictionSet]:
    return list(
        PredictionSet.objects.filter(run=run).select_related("dataset__benchmark").order_by("-uploaded_at", "-id")
    )


def benchmark_names(*, project: Project) -> list[Benchmark]:
    """For menus: the project's benchmarks, by name (one query)."""
    return list(Benchmark.objects.filter(project=project).only("id", "name", "task").order_by("name"))


# --- the sequence of comparisons on one dataset version (LORD++) -------------------------------------------
@dataclass(frozen=True)
class DatasetSequence:
    """How much a dataset version has been used for promotion decisions, and what the next test may spend."""

    dataset: EvaluationDataset
    tests: int  # comparisons with a champion already decided on this version
    passed: int  # of which the gate passed (LORD++ rejections)
    promotions: int
    overrides: int  # promotions made over a failed gate, with a written reason
    next_test: int
    next_level: float
    detectable: float | None  # the smallest improvement the next test would detect with 80% power
    effect_of_interest: float | None

    @property
    def too_small(self) -> bool:
        """Whether the level left can no longer detect the benchmark's effect of interest."""
        return (
            self.detectable is not None
            and self.effect_of_interest is not None
            and (self.detectable > self.effect_of_interest)
        )


def _comparisons_on(dataset_id: int) -> QuerySet:
    return Evaluation.objects.filter(
        dataset_id=dataset_id, status=EvaluationStatus.SUCCEEDED, champion_run__isnull=False
    ).exclude(champion_run=F("run"))


def sequence_position(*, dataset_id: int) -> tuple[int, float]:
    """(test number, LORD++ level) for the next comparison decided on this dataset version: one query.

    The sequence is the order in which comparisons were decided; each gate that passed is a rejection and
    earns the procedure wealth back. A new dataset version starts a new sequence.
    """
    rows = list(_comparisons_on(dataset_id).values_list("sequence_test", "gate_allowed"))
    test = len(rows) + 1
    rejections = [t for t, allowed in rows if allowed and t]
    return test, Lord().level(test, rejections)


def dataset_sequence(*, benchmark: Benchmark, dataset: EvaluationDataset) -> DatasetSequence:
    """The set's use so far and the level of its next test: three queries."""
    rows = list(
        _comparisons_on(dataset.pk)
        .order_by("-finished_at", "-id")
        .values_list("sequence_test", "gate_allowed", "delta_ci_low", "delta_ci_high")
    )
    test = len(rows) + 1
    rejections = [t for t, allowed, _, _ in rows if allowed and t]
    level = Lord().level(test, rejections)
    changes = ChampionChange.objects.filter(benchmark=benchmark, dataset=dataset, previous_run__isnull=False)
    counts = changes.aggregate(promotions=Count("id"), overrides=Count("id", filter=Q(gate_allowed=False)))
    detectable = None
    for _, _, low, high in rows:
        if low is not None and high is not None and high > low:
            # The latest comparison's standard error, recovered from its 95% interval.
            detectable = detectable_effect(level, (high - low) / (2 * CRITICAL_95))
            break
    return DatasetSequence(
        dataset=dataset,
        tests=len(rows),
        passed=len(rejections),
        promotions=counts["promotions"] or 0,
        overrides=counts["overrides"] or 0,
        next_test=test,
        next_level=level,
        detectable=detectable,
        effect_of_interest=benchmark.effect_of_interest,
    )
