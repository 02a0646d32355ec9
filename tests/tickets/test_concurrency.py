"""Concurrent writers on PostgreSQL: real threads, each with its own database connection.

SQLite serialises writers with a database-wide lock, so these races cannot happen
there; the tests run where row locks matter (CI runs the suite on PostgreSQL).
"""

import threading

import pytest
from django.db import connection, connections

from tests.tickets.conftest import order_of
from tickets import services
from tickets.models import Project, Ticket, TicketEvent, WorkType

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are exercised on PostgreSQL only"),
]

THREADS = 8


def run_together(jobs) -> list[BaseException]:
    """Start every job at the same moment in its own thread; return the errors raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait(timeout=30)
            job()
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return errors


def test_concurrent_creation_hands_out_gap_free_unique_keys(cast):
    per_thread = 5

    def create_some():
        for i in range(per_thread):
            services.ticket_create(
                project=Project.objects.get(key="AUTH"),
                actor=cast.lead,
                title=f"{threading.get_ident()}-{i}",
                work_type=WorkType.REVIEW,
            )

    assert run_together([create_some] * THREADS) == []
    numbers = sorted(Ticket.objects.filter(project=cast.project).values_list("number", flat=True))
    assert numbers == list(range(1, THREADS * per_thread + 1))
    assert Project.objects.get(pk=cast.project.pk).ticket_counter == THREADS * per_thread
    assert TicketEvent.objects.filter(field="created").count() == THREADS * per_thread
    ranks = list(Ticket.objects.values_list("rank", flat=True))
    assert len(set(ranks)) == len(ranks)


def test_concurrent_moves_into_the_same_slot_never_tie(cast, make_ticket, make_sprint):
    sprint = make_sprint()
    anchor = make_ticket("anchor", sprint=sprint)
    tail = make_ticket("tail", sprint=sprint)
    movers = [make_ticket(f"mover {i}").key for i in range(THREADS)]

    def mover(key):
        return lambda: services.tickets_move(
            project=Project.objects.get(key="AUTH"), actor=cast.lead, keys=[key], sprint_id=sprint.pk, after=anchor.key
        )

    assert run_together([mover(k) for k in movers]) == []
    order = order_of(cast.project, sprint)
    # Everything landed between the anchor and the tail, in some order, each at its own rank.
    assert order[0] == anchor.key and order[-1] == tail.key and sorted(order[1:-1]) == sorted(movers)
    ranks = list(Ticket.objects.filter(sprint=sprint).values_list("rank", flat=True))
    assert len(set(ranks)) == len(ranks)
    assert TicketEvent.objects.filter(field="sprint", new=sprint.pk).count() == THREADS


def test_concurrent_moves_of_one_ticket_keep_its_history_a_chain(cast, make_ticket, make_sprint):
    sprints = [make_sprint(name=f"S{i}") for i in range(4)]
    ticket = make_ticket("contested")

    def move_to(sprint):
        return lambda: services.tickets_move(
            project=Project.objects.get(key="AUTH"), actor=cast.lead, keys=[ticket.key], sprint_id=sprint.pk
        )

    assert run_together([move_to(s) for s in sprints * 2]) == []
    moves = list(TicketEvent.objects.filter(ticket=ticket, field="sprint").order_by("id").values_list("old", "new"))
    # Each move starts where the previous one ended: no two writers read the same "before".
    chain = [None] + [new for _, new in moves]
    assert [old for old, _ in moves] == chain[:-1]
    assert Ticket.objects.get(pk=ticket.pk).sprint_id == chain[-1]


def test_concurrent_reranks_and_creations_keep_every_list_consistent(cast, make_ticket, make_sprint):
    sprint = make_sprint()
    backlog = [make_ticket(f"b{i}").key for i in range(THREADS)]

    def rerank(i):
        return lambda: services.tickets_move(
            project=Project.objects.get(key="AUTH"),
            actor=cast.lead,
            keys=[backlog[i]],
            sprint_id=sprint.pk if i % 2 else None,
            before=None,
        )

    def create():
        services.ticket_create(
            project=Project.objects.get(key="AUTH"), actor=cast.lead, title="new", work_type="review"
        )

    assert run_together([rerank(i) for i in range(THREADS)] + [create] * 4) == []
    assert sorted(order_of(cast.project, sprint)) == sorted(backlog[1::2])
    assert Ticket.objects.filter(project=cast.project).count() == THREADS + 4
    assert Project.objects.get(pk=cast.project.pk).ticket_counter == THREADS + 4
    ranks = list(Ticket.objects.values_list("rank", flat=True))
    assert len(set(ranks)) == len(ranks)
