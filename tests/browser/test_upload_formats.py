"""In a real browser: upload predictions as Parquet and see the evaluation finish; a bad Parquet file
is refused on the form with the row and column at fault."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from django.conf import settings

from experiments.models import PredictionSet
from tests.browser.conftest import login
from tests.experiments.benchmark_helpers import make_benchmark, write_binary_case

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bench(cast, tmp_path):
    case = write_binary_case(tmp_path / "case")
    benchmark = make_benchmark(cast.project, cast.lead, case)
    yield benchmark, case
    # The worker reads the default test MEDIA_ROOT, so the files live there; remove them.
    shutil.rmtree(settings.MEDIA_ROOT / "benchmarks" / str(benchmark.pk), ignore_errors=True)


def test_parquet_predictions_are_uploaded_and_evaluated(page, cast, bench, tmp_path, celery_worker):
    benchmark, case = bench
    predictions = tmp_path / "gbm.parquet"
    pq.write_table(pcsv.read_csv(case.challenger), predictions)
    login(page, "engineer")
    page.goto(f"/p/AUTH/benchmarks/{benchmark.pk}/")
    form = page.locator("[data-testid=submit-card] [data-testid=submit-form]")
    assert ".parquet" in form.locator("input[type=file]").get_attribute("accept").split(",")
    form.locator("input[type=file]").set_input_files(str(predictions))
    form.locator("input[name=run_name]").fill("gbm-parquet")
    form.get_by_role("button", name="Upload and evaluate").click()
    page.wait_for_url("**/p/AUTH/evaluations/*/")
    page.wait_for_selector("[data-testid=verdict-card]", timeout=120_000)
    assert PredictionSet.objects.get(run__name="gbm-parquet").original_name == "gbm.parquet"


def test_a_bad_parquet_file_is_refused_on_the_form_with_its_row(page, cast, bench, tmp_path):
    benchmark, _ = bench
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": ["s000-a00", "s000-a01"], "score": ["0.3", "high"]}), bad)
    login(page, "engineer")
    page.goto(f"/p/AUTH/benchmarks/{benchmark.pk}/")
    form = page.locator("[data-testid=submit-card] [data-testid=submit-form]")
    form.locator("input[type=file]").set_input_files(str(bad))
    form.get_by_role("button", name="Upload and evaluate").click()
    error = page.locator("[data-testid=file-error]")
    error.wait_for()
    assert error.inner_text() == 'bad.parquet, row 2, column 2 (score): "high" is not a number'
    assert not PredictionSet.objects.exists()
