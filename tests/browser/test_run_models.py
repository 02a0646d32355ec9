"""The run page's models and inputs in a real browser, at desktop width and at 390 px."""

from __future__ import annotations

import json

import pytest

from experiments.models import LoggedModel, LoggedModelStatus, RunDataset
from tests.browser.conftest import login
from tests.experiments.factories import RunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "x');alert(1);('"


@pytest.fixture
def run_with_model(cast):
    run = RunFactory(project=cast.project, name=HOSTILE, started_by=cast.engineer)
    columns = json.dumps([{"name": "dwell_ms", "type": "double"}, {"name": HOSTILE, "type": "double"}])
    model = LoggedModel.objects.create(
        project=cast.project,
        run=run,
        name=HOSTILE,
        status=LoggedModelStatus.READY,
        flavors=["python_function", "sklearn"],
        signature={"inputs": columns, "outputs": json.dumps([{"type": "long"}])},
        size=2_400_000,
    )
    RunDataset.objects.create(
        run=run,
        name=HOSTILE,
        digest="a1b2c3d4",
        source_type="http",
        source='{"url": "https://example.org/keystrokes.csv"}',
        schema=json.dumps({"mlflow_colspec": [{"name": "label", "type": "long"}]}),
        context="training",
    )
    return run, model


@pytest.mark.parametrize("width", [1400, 390])
def test_the_run_page_shows_models_and_inputs(page, cast, run_with_model, width):
    run, model = run_with_model
    page.set_viewport_size({"width": width, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, "stakeholder")
    page.goto(f"/p/AUTH/runs/{run.pk}/")
    card = page.locator("[data-testid=run-model]")
    assert card.count() == 1
    text = card.inner_text()
    assert HOSTILE in text and "sklearn" in text and "MB" in text
    assert "dwell_ms: double" in card.locator("[data-testid=model-signature]").inner_text()
    assert f"models:/{model.model_id}" in text
    link = card.get_by_role("link", name="Download (zip)")
    assert link.get_attribute("href") == f"/p/AUTH/runs/{run.pk}/models/{model.model_id}.zip"
    dataset = page.locator("[data-testid=run-dataset]").inner_text()
    assert HOSTILE in dataset and "training" in dataset and "a1b2c3d4" in dataset and "label: long" in dataset
    assert dialogs == []
    for testid in ("run-models", "run-inputs"):
        box = page.locator(f"[data-testid={testid}]").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (testid, box)
