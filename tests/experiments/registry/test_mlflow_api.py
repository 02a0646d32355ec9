"""The registry endpoints through the Django test client: the role matrix, bad input, which project a
new model goes to, and constant query counts for the searches."""

from __future__ import annotations

import pytest

from experiments.models import ModelAlias, ModelVersion, RegisteredModel, RegisteredModelTag
from tests.experiments.registry.factories import model_with_versions, run_with_model
from tests.factories import MembershipFactory, ProjectFactory
from tickets.models import Role

pytestmark = pytest.mark.django_db

URL = "/mlflow/api/2.0/mlflow/"


def _call(api, user, method: str, endpoint: str, body: dict):
    client = api(user)
    if method == "GET":
        return client.get(URL + endpoint, body)
    return getattr(client, method.lower())(URL + endpoint, body, format="json")


@pytest.fixture
def scorer(cast):
    return model_with_versions(cast.project, cast.engineer, "scorer", 2)


WRITES = [
    ("POST", "registered-models/rename", {"name": "scorer", "new_name": "scorer-2"}),
    ("PATCH", "registered-models/update", {"name": "scorer", "description": "new"}),
    ("POST", "registered-models/set-tag", {"name": "scorer", "key": "k", "value": "v"}),
    ("POST", "registered-models/alias", {"name": "scorer", "alias": "challenger", "version": "2"}),
    ("PATCH", "model-versions/update", {"name": "scorer", "version": "1", "description": "d"}),
    ("POST", "model-versions/set-tag", {"name": "scorer", "version": "1", "key": "k", "value": "v"}),
    ("DELETE", "model-versions/delete", {"name": "scorer", "version": "1"}),
    ("DELETE", "registered-models/delete", {"name": "scorer"}),
]
READS = [
    ("GET", "registered-models/get", {"name": "scorer"}),
    ("GET", "registered-models/get-latest-versions", {"name": "scorer"}),
    ("GET", "model-versions/get", {"name": "scorer", "version": "2"}),
    ("GET", "model-versions/get-download-uri", {"name": "scorer", "version": "2"}),
    ("GET", "registered-models/search", {}),
    ("GET", "model-versions/search", {"filter": "name = 'scorer'"}),
]


@pytest.mark.parametrize(("method", "endpoint", "body"), WRITES, ids=[f"{c[0]} {c[1]}" for c in WRITES])
def test_engineers_and_leads_write_stakeholders_are_refused_outsiders_see_nothing(
    api, cast, scorer, method, endpoint, body
):
    refused = _call(api, cast.stakeholder, method, endpoint, body)
    assert refused.status_code == 403
    assert refused.json()["error_code"] == "PERMISSION_DENIED"
    hidden = _call(api, cast.outsider, method, endpoint, body)
    assert hidden.status_code == 404 and hidden.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    anonymous = _call(api, None, method, endpoint, body)
    assert anonymous.status_code == 401
    assert RegisteredModel.objects.get().description == "" and ModelVersion.objects.count() == 2
    for user in (cast.engineer, cast.lead):
        answer = _call(api, user, method, endpoint, body)
        assert answer.status_code == 200, (user, answer.content)
        if endpoint == "registered-models/rename":
            _call(api, user, "POST", endpoint, {"name": "scorer-2", "new_name": "scorer"})
        if endpoint.endswith("delete"):
            break  # gone after the first


@pytest.mark.parametrize(("method", "endpoint", "body"), READS, ids=[c[1] for c in READS])
def test_every_member_reads(api, cast, scorer, method, endpoint, body):
    for user in (cast.stakeholder, cast.engineer, cast.lead):
        answer = _call(api, user, method, endpoint, body)
        assert answer.status_code == 200, answer.content
        assert "scorer" in answer.content.decode() or "mlflow-artifacts:/" in answer.content.decode()
    outsider = _call(api, cast.outsider, method, endpoint, body)
    assert outsider.status_code in (200, 404)
    assert "scorer" not in outsider.content.decode()


def test_the_download_uri_is_the_run_model_folder_served_by_agileml(api, cast, scorer):
    version = ModelVersion.objects.select_related("run").get(version=2)
    answer = _call(api, cast.stakeholder, "GET", "model-versions/get-download-uri", {"name": "scorer", "version": "2"})
    assert answer.json() == {"artifact_uri": f"mlflow-artifacts:/{cast.project.pk}/{version.run.uuid}/artifacts/model"}


def test_bad_input_names_the_field_and_changes_nothing(api, cast, scorer):
    cases = [
        ("POST", "registered-models/create", {"name": "a/b"}, "cannot contain '/'"),
        ("POST", "registered-models/create", {}, "Missing value for required parameter 'name'"),
        ("POST", "registered-models/alias", {"name": "scorer", "alias": "bad alias", "version": "1"}, "Invalid alias"),
        ("POST", "registered-models/alias", {"name": "scorer", "alias": "latest", "version": "1"}, "reserved"),
        ("GET", "registered-models/search", {"filter": "owner = 'me'"}, "Unsupported filter \"owner = 'me'\""),
        ("GET", "registered-models/search", {"order_by": "size DESC"}, "Cannot order by 'size DESC'"),
        ("GET", "registered-models/search", {"max_results": "0"}, "max_results must be between 1 and 1000"),
        ("POST", "model-versions/create", {"name": "scorer", "source": "s3://bucket/model"}, "Cannot register"),
        ("POST", "registered-models/rename", {"name": "scorer", "new_name": ""}, "'new_name'"),
        ("GET", "model-versions/get", {"name": "scorer", "version": "two"}, "'version' must be an integer"),
    ]
    for method, endpoint, body, message in cases:
        answer = _call(api, cast.engineer, method, endpoint, body)
        assert answer.status_code == 400, (endpoint, answer.content)
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert message in answer.json()["message"], answer.json()["message"]
    assert list(RegisteredModel.objects.values_list("name", flat=True)) == ["scorer"]
    assert ModelVersion.objects.count() == 2 and not ModelAlias.objects.exists()
    wrong_method = api(cast.engineer).get(URL + "registered-models/create")
    assert wrong_method.status_code == 405 and "Use POST" in wrong_method.json()["message"]


def test_a_version_from_another_project_run_is_refused(api, cast, scorer):
    other = ProjectFactory(key="FRAUD")
    MembershipFactory(project=other, user=cast.engineer, role=Role.ENGINEER)
    run = run_with_model(other, cast.engineer)
    answer = _call(
        api, cast.engineer, "POST", "model-versions/create", {"name": "scorer", "source": f"runs:/{run.uuid}/model"}
    )
    assert answer.status_code == 400
    assert "is in another project" in answer.json()["message"]


def test_a_new_model_goes_to_the_tagged_project_or_the_only_one(api, cast):
    assert _call(api, cast.engineer, "POST", "registered-models/create", {"name": "solo"}).status_code == 200
    assert RegisteredModel.objects.get(name="solo").project == cast.project
    # Registering a name again says it exists (the client then adds a version to it).
    again = _call(api, cast.engineer, "POST", "registered-models/create", {"name": "solo"})
    assert again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

    other = ProjectFactory(key="FRAUD")
    MembershipFactory(project=other, user=cast.engineer, role=Role.ENGINEER)
    ambiguous = _call(api, cast.engineer, "POST", "registered-models/create", {"name": "two"})
    assert ambiguous.status_code == 400
    assert "several projects (AUTH, FRAUD)" in ambiguous.json()["message"]
    assert "agileml.project" in ambiguous.json()["message"]
    tagged = _call(
        api, cast.engineer, "POST", "registered-models/create",
        {"name": "two", "tags": [{"key": "agileml.project", "value": "FRAUD"}]},
    )  # fmt: skip
    assert tagged.status_code == 200
    assert RegisteredModel.objects.get(name="two").project == other
    assert RegisteredModelTag.objects.filter(registered_model__name="two", key="agileml.project").exists()
    # The same name in two projects: reads say so instead of guessing.
    model_with_versions(cast.project, cast.engineer, "two", 0)
    both = _call(api, cast.engineer, "GET", "registered-models/get", {"name": "two"})
    assert both.status_code == 400 and "several of your projects (AUTH, FRAUD)" in both.json()["message"]


def test_a_benchmark_name_links_the_new_model_to_the_benchmark(api, cast):
    from tests.experiments.benchmark_helpers import make_benchmark

    benchmark = make_benchmark(cast.project, cast.lead)
    other = ProjectFactory(key="FRAUD")
    MembershipFactory(project=other, user=cast.engineer, role=Role.ENGINEER)
    answer = _call(api, cast.engineer, "POST", "registered-models/create", {"name": benchmark.name})
    assert answer.status_code == 200
    assert RegisteredModel.objects.get().benchmark == benchmark
    renamed = _call(api, cast.engineer, "POST", "registered-models/rename", {"name": "holdout", "new_name": "x"})
    assert renamed.status_code == 400 and "keeps its name" in renamed.json()["message"]


def test_searches_cost_the_same_for_many_models(api, cast, django_assert_num_queries):
    model_with_versions(cast.project, cast.engineer, "first", 2)
    client = api(cast.stakeholder)
    # 1 token, 2 models with latest version id and count, 3 their tags, 4 their aliases, 5 the latest
    # versions with run and creator, 6 their tags, 7 their aliases
    with django_assert_num_queries(7):
        assert len(client.get(URL + "registered-models/search").json()["registered_models"]) == 1
    for i in range(5):
        model_with_versions(cast.project, cast.engineer, f"more-{i}", 3)
    with django_assert_num_queries(7):
        assert len(client.get(URL + "registered-models/search").json()["registered_models"]) == 6
    # 1 token, 2 versions with model, run and creator, 3 their tags, 4 their aliases
    with django_assert_num_queries(4):
        assert len(client.get(URL + "model-versions/search").json()["model_versions"]) == 17


def test_a_logged_model_source_is_kept_as_given(api, cast, scorer):
    run = run_with_model(cast.project, cast.engineer, folder="")
    body = {"name": "scorer", "source": "models:/m-0123abcd", "run_id": run.uuid, "model_id": "m-0123abcd"}
    answer = _call(api, cast.engineer, "POST", "model-versions/create", body)
    assert answer.status_code == 200, answer.content
    assert answer.json()["model_version"]["model_id"] == "m-0123abcd"
    version = ModelVersion.objects.get(version=3)
    assert (version.source, version.model_id, version.run) == ("models:/m-0123abcd", "m-0123abcd", run)
    uri = _call(api, cast.stakeholder, "GET", "model-versions/get-download-uri", {"name": "scorer", "version": "3"})
    assert uri.json() == {"artifact_uri": "models:/m-0123abcd"}


def test_the_mlflow_ui_prefix_reaches_the_registry_too(api, cast, scorer):
    answer = api(cast.stakeholder).get("/mlflow/ajax-api/2.0/mlflow/registered-models/get", {"name": "scorer"})
    assert answer.status_code == 200
    assert answer.json()["registered_model"]["latest_versions"][0]["version"] == "2"
