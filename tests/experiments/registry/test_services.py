"""The registry's writes: version numbers, and what a promotion does to @champion."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from experiments.models import ChampionChange, ModelAlias, ModelVersion, RegisteredModel
from experiments.registry import services
from tests.experiments.benchmark_helpers import (  # noqa: F401
    crown,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)
from tests.experiments.registry.factories import model_with_versions, run_with_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(tmp_path, settings):
    settings.EVALUATION_RESAMPLES = 200
    return write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)


@pytest.fixture
def bench(cast, case, media_root):
    return make_benchmark(cast.project, cast.lead, case)


def test_version_numbers_only_grow(cast):
    model = model_with_versions(cast.project, cast.engineer, "scorer", 2)
    services.model_version_delete(version=model.versions.get(version=2))
    run = run_with_model(cast.project, cast.engineer)
    version = services.model_version_create(
        model=model, origin=services.VersionSource(source="runs:/x/model", run=run, artifact_path="model"), user=None
    )
    assert version.version == 3


def test_promoting_a_run_without_a_model_removes_the_champion_alias(cast, bench, case):
    dataset = bench.datasets.get()
    with_model = run_with_model(cast.project, cast.engineer, "with-model")
    crown(bench, submit(with_model, dataset, cast.engineer, case.champion), cast.lead)
    model = RegisteredModel.objects.get(benchmark=bench)
    assert ModelAlias.objects.get(alias="champion").model_version.run == with_model
    assert ChampionChange.objects.get().model_version == 1

    rule = make_run(cast.project, cast.engineer, "hand-written rule")
    evaluation = submit(rule, dataset, cast.engineer, case.challenger)
    change = crown(bench, evaluation, cast.lead)
    assert change.model_version is None
    assert not ModelAlias.objects.filter(registered_model=model, alias="champion").exists()
    assert ModelVersion.objects.count() == 1


def test_promotion_reuses_the_version_the_run_already_has(cast, bench, case):
    model = services.registered_model_create(project=cast.project, name="holdout", user=cast.engineer)
    assert model.benchmark == bench
    run = run_with_model(cast.project, cast.engineer, "registered")
    services.model_version_create(
        model=model, origin=services.VersionSource(source="runs:/r/model", run=run, artifact_path="model"), user=None
    )
    crown(bench, submit(run, bench.datasets.get(), cast.engineer, case.champion), cast.lead)
    assert ModelVersion.objects.count() == 1
    assert ModelAlias.objects.get(alias="champion").model_version.version == 1


def test_a_model_outside_any_benchmark_has_no_champion(cast):
    model = model_with_versions(cast.project, cast.engineer, "free", 1)
    from experiments.registry.champion import champion_alias_set

    with pytest.raises(ValidationError, match="no benchmark named 'free'"):
        champion_alias_set(model=model, version=model.versions.get(), user=cast.lead)
    with pytest.raises(ValidationError, match="moves only through the promotion gate"):
        services.alias_set(model=model, alias="Champion", version=model.versions.get(), user=cast.lead)


def test_a_benchmark_made_after_its_model_takes_it_over_when_champion_is_set(cast, case, media_root):
    from experiments.registry.champion import champion_alias_set

    model = model_with_versions(cast.project, cast.engineer, "holdout", 1)
    assert model.benchmark is None
    bench = make_benchmark(cast.project, cast.lead, case)
    version = model.versions.select_related("run").get()
    version.run.project = cast.project
    submit(version.run, bench.datasets.get(), cast.engineer, case.champion)
    model.project = cast.project
    change = champion_alias_set(model=model, version=version, user=cast.lead)
    assert change.model_version == 1
    assert RegisteredModel.objects.get().benchmark == bench
    assert ModelAlias.objects.get(alias="champion").model_version == version
