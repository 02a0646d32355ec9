"""The planning API's schema: the resource layout other tools rely on, and documented errors.

Each documented error code is exercised for real by the role-matrix and bad-input tests
of its endpoint (test_api_*.py); here we check nothing is left undocumented.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

PLANNING_PATHS = {
    "/api/v1/projects/{key}/epics/": {"get", "post"},
    "/api/v1/projects/{key}/epics/{epic_id}/": {"get", "patch", "delete"},
    "/api/v1/projects/{key}/sprints/": {"get", "post"},
    "/api/v1/projects/{key}/sprints/{sprint_id}/": {"get", "patch", "delete"},
    "/api/v1/projects/{key}/sprints/{sprint_id}/start/": {"post"},
    "/api/v1/projects/{key}/sprints/{sprint_id}/close/": {"post"},
    "/api/v1/projects/{key}/tickets/": {"get", "post"},
    "/api/v1/projects/{key}/tickets/move/": {"post"},
    "/api/v1/tickets/{ticket_key}/": {"get", "patch", "delete"},
    "/api/v1/tickets/{ticket_key}/events/": {"get"},
    "/api/v1/tickets/{ticket_key}/comments/": {"get", "post"},
    "/api/v1/tickets/{ticket_key}/comments/{comment_id}/": {"get", "patch", "delete"},
    "/api/v1/tickets/{ticket_key}/answer/": {"post"},
    "/api/v1/tickets/{ticket_key}/reassess/": {"get", "post"},
}
# Deleting a comment takes no input and has no rule to break: no 400.
NO_BAD_INPUT = {("/api/v1/tickets/{ticket_key}/comments/{comment_id}/", "delete")}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_resource_layout_matches_the_design(schema):
    for path, methods in PLANNING_PATHS.items():
        assert path in schema["paths"], path
        assert set(schema["paths"][path]) - {"parameters"} == methods, path


@pytest.mark.parametrize("path", sorted(PLANNING_PATHS))
def test_every_error_is_documented(schema, path):
    for method, operation in schema["paths"][path].items():
        codes = set(operation["responses"])
        assert {"401", "404"} <= codes, (path, method, codes)
        if method != "get":
            assert "403" in codes, (path, method, codes)
            if (path, method) not in NO_BAD_INPUT:
                assert "400" in codes, (path, method, codes)
        for code in codes - {"200", "201", "204"}:
            ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error", (path, method, code)


def test_ticket_list_documents_its_filters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/projects/{key}/tickets/"]["get"]["parameters"]}
    assert {"sprint", "status", "kind", "work_type", "epic", "assignee", "q", "page", "page_size"} <= names


@pytest.mark.parametrize(
    ("path", "operation_id"),
    [
        ("/api/v1/projects/{key}/sprints/", "v1_projects_sprints_list"),
        ("/api/v1/tickets/{ticket_key}/comments/", "v1_tickets_comments_list"),
        ("/api/v1/tickets/{ticket_key}/events/", "v1_tickets_events_list"),
        ("/api/v1/projects/{key}/webhooks/{webhook_id}/deliveries/", "v1_projects_webhooks_deliveries_list"),
    ],
)
def test_paged_lists_document_their_pages_under_their_own_name(schema, path, operation_id):
    operation = schema["paths"][path]["get"]
    assert operation["operationId"] == operation_id
    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][page]["properties"]) == {"count", "next", "previous", "results"}
