"""Project search: tickets (key, title, description, question, answer, comments), runs (name, tags,
params), epics and benchmarks, ranked, with the matched words marked.

On PostgreSQL it is full-text search (``django.contrib.postgres.search``; the expressions below
are the ones the GIN indexes of migration ``0002`` are built on, so the planner uses them); on
SQLite, which ``make run`` uses, every word must occur somewhere (``icontains``) and the rank
counts where. :func:`backend_for` picks one by the connection's vendor. Either way a search
costs the same few queries whatever it finds (pinned in tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.urls import reverse

from experiments.benchmarks.models import Benchmark
from experiments.tracking.models import Param, Run, Tag
from inbox.highlight import contains_all, mark, snippet, terms
from tickets.models import Comment, Epic, Project, Ticket

LIMIT = 20  # hits per kind of object
CANDIDATES = 100  # matches ranked per kind of object (the newest), see _ranked
CONFIG = "english"
# Tags and params are identifiers and numbers, not English: no stemming, no stop words.
CONFIG_PLAIN = "simple"

# The stored expressions (also indexed, see migration 0002): keep them in step with it.
TICKET_VECTOR = SearchVector("title", weight="A", config=CONFIG) + SearchVector(
    "description", "question", "hypothesis", "answer", weight="B", config=CONFIG
)
COMMENT_VECTOR = SearchVector("body", config=CONFIG)
RUN_VECTOR = SearchVector("name", config=CONFIG)
TAG_VECTOR = SearchVector("key", "value", config=CONFIG_PLAIN)
PARAM_VECTOR = SearchVector("key", "value", config=CONFIG_PLAIN)
EPIC_VECTOR = SearchVector("title", weight="A", config=CONFIG) + SearchVector(
    "goal", "description", weight="B", config=CONFIG
)
BENCHMARK_VECTOR = SearchVector("name", weight="A", config=CONFIG) + SearchVector(
    "description", "primary_metric", weight="B", config=CONFIG
)

TICKET_TEXT = ("description", "question", "hypothesis", "answer")


@dataclass
class Hit:
    """One result. ``title`` and ``snippet`` are HTML: escaped, with ``<mark>`` around matches."""

    kind: str  # ticket, run, epic, benchmark
    title: str
    snippet: str
    url: str
    rank: float
    label: str = ""  # plain text: key and status, say


@dataclass
class SearchResult:
    query: str
    words: list[str]
    hits: list[Hit] = field(default_factory=list)
    backend: str = ""

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for hit in self.hits:
            found[hit.kind] = found.get(hit.kind, 0) + 1
        return found


@dataclass
class Found:
    """What a backend found: objects with their rank, before they are turned into hits."""

    tickets: list[tuple[Ticket, float]]
    comments: list[tuple[Comment, float]]
    runs: list[tuple[Run, float]]
    epics: list[tuple[Epic, float]]
    benchmarks: list[tuple[Benchmark, float]]


def _ticket_number(project: Project, query: str) -> int | None:
    """``AUTH-12`` or ``12`` (or ``#12``) in the query names ticket 12 of this project."""
    found = re.fullmatch(rf"\s*(?:{re.escape(project.key)}-|#)?(\d{{1,9}})\s*", query, re.IGNORECASE)
    return int(found.group(1)) if found else None


# --- PostgreSQL: full-text search ----------------------------------------------------------------
def _ranked(rows: QuerySet, vector, query: SearchQuery, extra: Q | None = None, *, by_vector: bool = True) -> list:
    """The best :data:`LIMIT` rows of ``rows`` matching ``query``, in one query.

    The GIN index finds the matches without reading them; ranking needs each match's text
    parsed again, so only the newest :data:`CANDIDATES` matches are ranked. A common word
    matching thousands of comments then costs the same as a rare one.
    """
    matches = Q(_v=query) if by_vector else Q()
    if extra is not None:
        matches = matches | extra if by_vector else extra
    # Sorted by "pk + 0", not "pk": the planner must then find the matches through the GIN index
    # instead of walking the primary key backwards and parsing every row's text on the way.
    newest = (
        (rows.annotate(_v=vector) if by_vector else rows)
        .filter(matches)
        .order_by((F("pk") + 0).desc())
        .values("pk")[:CANDIDATES]
    )
    ranked = rows.filter(pk__in=newest).annotate(_rank=SearchRank(vector, query))
    return [(row, float(row._rank)) for row in ranked.order_by("-_rank", "-pk")[:LIMIT]]


def _postgres(project: Project, query_text: str, words: list[str]) -> Found:
    query = SearchQuery(query_text, config=CONFIG, search_type="websearch")
    plain = SearchQuery(" ".join(words), config=CONFIG_PLAIN, search_type="plain")
    number = _ticket_number(project, query_text)
    tickets = _ranked(
        Ticket.objects.filter(project=project).select_related("assignee"),
        TICKET_VECTOR,
        query,
        Q(number=number) if number is not None else None,
    )
    # A ticket named by its key comes first.
    tickets = [(t, 10.0 if t.number == number else rank) for t, rank in tickets]
    comments = _ranked(Comment.objects.filter(ticket__project=project).select_related("ticket"), COMMENT_VECTOR, query)
    by_tag = Tag.objects.filter(run__project=project).annotate(_t=TAG_VECTOR).filter(_t=plain).values("run_id")
    by_param = Param.objects.filter(project=project).annotate(_p=PARAM_VECTOR).filter(_p=plain).values("run_id")
    # Each way of matching is its own indexed subquery, so no run's name is parsed to filter.
    by_name = Run.objects.filter(project=project).annotate(_n=RUN_VECTOR).filter(_n=query).values("pk")
    runs = _ranked(
        Run.objects.filter(project=project).select_related("ticket"),
        RUN_VECTOR,
        query,
        Q(pk__in=by_name) | Q(pk__in=by_tag) | Q(pk__in=by_param),
        by_vector=False,
    )
    epics = _ranked(Epic.objects.filter(project=project), EPIC_VECTOR, query)
    benchmarks = _ranked(Benchmark.objects.filter(project=project), BENCHMARK_VECTOR, query)
    return Found(tickets, comments, runs, epics, benchmarks)


# --- SQLite (and anything else): every word somewhere, ranked by where ------------------------------
def _all_words(fields: tuple[str, ...], words: list[str]) -> Q:
    condition = Q()
    for word in words:
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": word})
        condition &= any_field
    return condition


def _python_rank(title: str, body: str, words: list[str]) -> float:
    """Like PostgreSQL's weights: a word in the title counts 1, elsewhere 0.4."""
    title, body = (title or "").lower(), (body or "").lower()
    return sum(1.0 if w in title else 0.4 if w in body else 0.0 for w in words) / max(len(words), 1)


def _first(rows: QuerySet, rank: Callable[[object], float]) -> list:
    return sorted(((row, rank(row)) for row in rows[: LIMIT * 5]), key=lambda pair: -pair[1])[:LIMIT]


def _fallback(project: Project, query_text: str, words: list[str]) -> Found:
    number = _ticket_number(project, query_text)
    if not words:
        return Found([], [], [], [], [])
    ticket_match = _all_words(("title", *TICKET_TEXT), words)
    if number is not None:
        ticket_match |= Q(number=number)
    tickets = _first(
        Ticket.objects.filter(project=project).filter(ticket_match).select_related("assignee"),
        lambda t: (
            10.0 if t.number == number else _python_rank(t.title, " ".join(getattr(t, f) for f in TICKET_TEXT), words)
        ),
    )
    comments = _first(
        Comment.objects.filter(ticket__project=project).filter(_all_words(("body",), words)).select_related("ticket"),
        lambda c: _python_rank("", c.body, words),
    )
    by_tag = Tag.objects.filter(run__project=project).filter(_all_words(("key", "value"), words)).values("run_id")
    by_param = Param.objects.filter(project=project).filter(_all_words(("key", "value"), words)).values("run_id")
    runs = _first(
        Run.objects.filter(project=project)
        .filter(_all_words(("name",), words) | Q(pk__in=by_tag) | Q(pk__in=by_param))
        .select_related("ticket"),
        lambda r: _python_rank(r.name, "", words) or 0.1,
    )
    epics = _first(
        Epic.objects.filter(project=project).filter(_all_words(("title", "goal", "description"), words)),
        lambda e: _python_rank(e.title, f"{e.goal} {e.description}", words),
    )
    benchmarks = _first(
        Benchmark.objects.filter(project=project).filter(_all_words(("name", "description", "primary_metric"), words)),
        lambda b: _python_rank(b.name, f"{b.description} {b.primary_metric}", words),
    )
    return Found(tickets, comments, runs, epics, benchmarks)


Backend = Callable[[Project, str, list[str]], Found]


def backend_for(vendor: str) -> Backend:
    """Full-text search on PostgreSQL, the ``icontains`` fallback elsewhere."""
    return _postgres if vendor == "postgresql" else _fallback


# --- Hits ----------------------------------------------------------------------------------------
def _ticket_hits(found: Found, words: list[str]) -> list[Hit]:
    hits: dict[int, Hit] = {}
    for ticket, rank in found.tickets:
        own = next((getattr(ticket, f) for f in TICKET_TEXT if contains_all(getattr(ticket, f), words[:1])), "")
        hits[ticket.pk] = Hit(
            kind="ticket",
            title=f"{ticket.key} · {mark(ticket.title, words)}",
            snippet=snippet(own, words) if own else "",
            url=reverse("ticket-detail", args=[ticket.key]),
            rank=rank,
            label=ticket.get_status_display(),
        )
    for comment, rank in found.comments:
        ticket = comment.ticket
        hit = hits.get(ticket.pk)
        text = "Comment: " + snippet(comment.body, words)
        if hit is None:
            hits[ticket.pk] = Hit(
                kind="ticket",
                title=f"{ticket.key} · {mark(ticket.title, words)}",
                snippet=text,
                url=reverse("ticket-detail", args=[ticket.key]) + f"#comment-{comment.pk}",
                # A match in a comment counts a little less than one in the ticket itself.
                rank=rank * 0.8,
                label=ticket.get_status_display(),
            )
        elif not hit.snippet:
            hit.snippet = text
    return list(hits.values())


def _run_hits(found: Found, words: list[str], project: Project) -> list[Hit]:
    ids = [run.pk for run, _ in found.runs]
    details: dict[int, list[str]] = {}
    if ids:
        pairs = [*Tag.objects.filter(run_id__in=ids).values_list("run_id", "key", "value")]
        pairs += Param.objects.filter(run_id__in=ids).values_list("run_id", "key", "value")
        for run_id, key, value in pairs:
            if any(w in f"{key}={value}".lower() for w in words):
                details.setdefault(run_id, []).append(f"{key}={value}")
    hits = []
    for run, rank in found.runs:
        matched = details.get(run.pk, [])
        hits.append(
            Hit(
                kind="run",
                title=mark(run.display_name, words),
                snippet=" · ".join(mark(text, words) for text in matched[:4]),
                url=reverse("run-detail", args=[project.key, run.pk]),
                rank=rank if rank > 0 else 0.05 * len(matched),
                label=f"{run.get_status_display()}{' · ' + run.ticket.key if run.ticket_id else ''}",
            )
        )
    return hits


def search_project(*, project: Project, query: str, backend: Backend | None = None) -> SearchResult:
    """Everything in ``project`` that matches ``query``, best first (at most :data:`LIMIT` of each kind)."""
    query = (query or "").strip()[:200]
    words = terms(query)
    result = SearchResult(query=query, words=words, backend=connection.vendor)
    if not words:
        return result
    found = (backend or backend_for(connection.vendor))(project, query, words)
    # Keys are "<project key>-<number>": everything found is in this project, so no query is needed for it.
    for ticket, _ in found.tickets:
        ticket.project = project
    for comment, _ in found.comments:
        comment.ticket.project = project
    for run, _ in found.runs:
        if run.ticket_id:
            run.ticket.project = project
    hits = _ticket_hits(found, words) + _run_hits(found, words, project)
    for epic, rank in found.epics:
        hits.append(
            Hit(
                kind="epic",
                title=mark(epic.title, words),
                snippet=snippet(f"{epic.goal} {epic.description}", words),
                url=reverse("epic-detail", args=[project.key, epic.pk]),
                rank=rank,
                label=epic.get_status_display(),
            )
        )
    for benchmark, rank in found.benchmarks:
        hits.append(
            Hit(
                kind="benchmark",
                title=mark(benchmark.name, words),
                snippet=snippet(f"{benchmark.description} (primary metric {benchmark.primary_metric})", words),
                url=reverse("benchmark-detail", args=[project.key, benchmark.pk]),
                rank=rank,
                label=benchmark.get_task_display(),
            )
        )
    result.hits = sorted(hits, key=lambda h: -h.rank)
    return result
