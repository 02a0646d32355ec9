"""Two comparisons on one dataset version finishing at the same moment take different test numbers.

Real concurrency on PostgreSQL: two threads, each with its own database connection, run the worker's
``evaluation_execute``. Each thread, right after reading its position in the set's LORD++ sequence, waits
until the other one has read its position too, or is seen waiting for a lock. Without the dataset version's
row lock both read "test 1" (and the same wealth); with it the second reads only after the first committed.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from experiments.benchmarks import services
from experiments.benchmarks.services import worker
from experiments.evaluation.sequential import Lord
from experiments.models import Evaluation, PredictionSource
from tests.experiments.benchmark_helpers import (  # noqa: F401
    crown,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_concurrent_comparisons_on_one_set_get_distinct_test_numbers_and_fresh_wealth(
    cast, media_root, tmp_path, settings, monkeypatch
):
    settings.EVALUATION_RESAMPLES = 100
    case = write_binary_case(tmp_path / "case", n_subjects=30, rows_per_subject=10)
    benchmark = make_benchmark(cast.project, cast.lead, case, guardrails={})
    dataset = benchmark.datasets.get()
    crown(
        benchmark,
        submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion),
        cast.lead,
    )
    pending = []
    for name in ("a", "b"):
        run = make_run(cast.project, cast.engineer, name)
        predictions = services.predictions_upload(
            run=run,
            dataset=dataset,
            user=cast.engineer,
            path=case.challenger,
            original_name="p.csv",
            source=PredictionSource.API,
        )
        evaluation, _ = services.evaluation_request(
            run=run, dataset=dataset, user=cast.engineer, predictions=predictions, enqueue=False
        )
        pending.append(evaluation.pk)

    real_position = worker.sequence_position
    read = {pk: threading.Event() for pk in pending}

    def position_then_wait(*, dataset_id):
        result = real_position(dataset_id=dataset_id)
        me = next(pk for pk, event in read.items() if threading.current_thread().name == f"eval-{pk}")
        other = next(pk for pk in pending if pk != me)
        read[me].set()
        deadline = time.monotonic() + 120  # only a guard against a hang; the test asserts no timing
        while not read[other].is_set() and not _someone_waits_for_a_lock():
            assert time.monotonic() < deadline, "the other comparison neither read its position nor waited"
            read[other].wait(0.02)
        return result

    monkeypatch.setattr(worker, "sequence_position", position_then_wait)
    outcomes: dict[int, object] = {}

    def finish(pk: int) -> None:
        try:
            outcomes[pk] = worker.evaluation_execute(evaluation_id=pk, worker=f"thread-{pk}")
        except Exception as error:  # noqa: BLE001 - the main thread reports it
            outcomes[pk] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=finish, args=(pk,), name=f"eval-{pk}") for pk in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == dict.fromkeys(pending, "succeeded"), outcomes

    first, second = sorted(Evaluation.objects.filter(pk__in=pending), key=lambda e: e.sequence_test)
    assert (first.sequence_test, second.sequence_test) == (1, 2)
    assert first.sequence_level == pytest.approx(Lord().level(1))
    # The second saw the first's outcome: a pass earned wealth back for test 2.
    assert first.gate_allowed is True, first.gate_reasons
    assert second.sequence_level == pytest.approx(Lord().level(2, [1]))
    assert second.sequence_level > Lord().level(2)
