"""GIN indexes for project search on PostgreSQL (inbox/search.py), none elsewhere.

Each index is built on the very expression the search filters with, so the planner uses it;
SQLite has no full-text vectors and searches with ``icontains`` instead. The indexes live on
planning's and tracking's tables but belong to search, so they are made here.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

ENGLISH = "english"
SIMPLE = "simple"


def _indexes():
    # Keep in step with the vectors in inbox/search.py.
    return [
        ("tickets", "Ticket", GinIndex(
            SearchVector("title", weight="A", config=ENGLISH)
            + SearchVector("description", "question", "hypothesis", "answer", weight="B", config=ENGLISH),
            name="search_ticket_gin",
        )),
        ("tickets", "Comment", GinIndex(SearchVector("body", config=ENGLISH), name="search_comment_gin")),
        ("experiments", "Run", GinIndex(SearchVector("name", config=ENGLISH), name="search_run_gin")),
        ("experiments", "Tag", GinIndex(SearchVector("key", "value", config=SIMPLE), name="search_tag_gin")),
        ("experiments", "Param", GinIndex(SearchVector("key", "value", config=SIMPLE), name="search_param_gin")),
    ]  # fmt: skip


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for app, model, index in _indexes():
        schema_editor.add_index(apps.get_model(app, model), index)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for app, model, index in _indexes():
        schema_editor.remove_index(apps.get_model(app, model), index)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0001_watchers_notifications_preferences"),
        ("tickets", "0003_run_history"),
        ("experiments", "0005_identity_and_unit"),
    ]

    operations = [migrations.RunPython(add, remove)]
