"""Chat messages in the shape Slack-compatible incoming webhooks accept, with user text escaped."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from agileml import events
from integrations.webhooks import payloads, services
from integrations.webhooks.models import Delivery


def check_block_kit_message(message: dict) -> None:
    """Slack's documented message shape: ``text`` (the fallback) and ``blocks``; a section block's
    ``text`` is a text object (``mrkdwn``) of at most 3000 characters; a context block has 1–10
    ``elements``, each an image or a text object."""
    assert set(message) == {"text", "blocks"} and isinstance(message["text"], str) and message["text"]
    assert isinstance(message["blocks"], list) and 1 <= len(message["blocks"]) <= 50
    for block in message["blocks"]:
        if block["type"] == "section":
            assert set(block) == {"type", "text"}
            assert block["text"]["type"] == "mrkdwn" and 0 < len(block["text"]["text"]) <= 3000
        elif block["type"] == "context":
            assert set(block) == {"type", "elements"} and 1 <= len(block["elements"]) <= 10
            for element in block["elements"]:
                assert element["type"] in ("mrkdwn", "plain_text") and element["text"]
        else:
            raise AssertionError(f"unexpected block {block['type']}")


def _envelope(event_type, data, actor="lead"):
    return {"id": "e1", "type": event_type, "project": "AUTH", "actor": actor, "occurred_at": "x", "data": data}


def test_user_text_is_escaped_as_slack_asks():
    assert payloads.escape("a & b <c> d") == "a &amp; b &lt;c&gt; d"
    body = payloads.slack_body(
        _envelope("ticket.created", {"ticket": "AUTH-3", "title": "<!channel> & <https://evil|click>", "kind": "code"}),
        "https://agileml.example.com/t/AUTH-3/",
    )
    check_block_kit_message(body)
    text = body["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "<https://evil" not in text
    assert text == (
        "*lead* created <https://agileml.example.com/t/AUTH-3/|AUTH-3 &lt;!channel&gt; &amp; "
        "&lt;https://evil¦click&gt;> (code)"
    )
    assert body["text"] == text


@pytest.mark.parametrize(
    ("event_type", "data", "says"),
    [
        ("ticket.status_changed", {"ticket": "AUTH-1", "title": "T", "old": "todo", "new": "in_progress", "note": ""},
         "from todo to *in progress*"),
        ("ticket.assigned", {"ticket": "AUTH-1", "title": "T", "old": None, "new": "engineer"}, "to *engineer*"),
        ("ticket.answered", {"ticket": "AUTH-1", "title": "T", "answer": "Yes.\nEER 4%", "outcome": "supported"},
         "*supported*\n> Yes.\n> EER 4%"),
        ("comment.created", {"ticket": "AUTH-1", "title": "T", "comment": 1, "body": "@lead look", "author": "lead"},
         "commented on"),
        ("sprint.started", {"sprint": 2, "name": "S2", "start_date": "2026-11-02", "end_date": "2026-11-13",
                            "committed": []}, "started sprint"),
        ("sprint.closed", {"sprint": 2, "name": "S2", "done": 3, "carried_over": 1}, "3 done, 1 carried over"),
        ("run.attached", {"ticket": "AUTH-1", "title": "T", "run": "rf-1"}, "attached run *rf-1* to"),
        ("champion.promoted", {"benchmark": 1, "benchmark_name": "holdout", "evaluation": 4, "run": "rf-2",
                               "previous_run": "rule", "ticket": None, "gate_allowed": False, "gate_reasons": ["x"],
                               "override_reason": "Ship it"}, "Gate overridden: > Ship it"),
    ],
)  # fmt: skip
def test_every_event_reads_as_a_sentence(event_type, data, says):
    body = payloads.slack_body(_envelope(event_type, data), "https://a.example/x")
    check_block_kit_message(body)
    assert says in body["text"]
    assert body["blocks"][1]["elements"][0]["text"] == f"AUTH · {event_type}"


def test_a_long_text_is_cut_to_the_section_limit():
    body = payloads.slack_body(
        _envelope("comment.created", {"ticket": "AUTH-1", "title": "T" * 4000, "body": "b"}), "https://a.example/x"
    )
    check_block_kit_message(body)
    assert len(body["text"]) == 3000


@pytest.mark.django_db
def test_an_evaluation_reaches_chat_with_its_verdict_sentence_and_link(cast, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.SITE_URL = "https://agileml.example.com"
    r = receiver()
    services.webhook_create(
        project=cast.project, actor=cast.lead, url=r.url, events=[events.EVALUATION_FINISHED], kind="slack"
    )
    events.publish(
        events.EVALUATION_FINISHED,
        project=cast.project,
        actor=cast.engineer,
        payload={
            "benchmark": 1, "benchmark_name": "held-out <subjects>", "evaluation": 42, "status": "done",
            "run": "rf-3", "ticket": "AUTH-2", "verdict": "better",
            "sentence": "AUC +0.012 [+0.004, +0.020], better, p = 0.003; guardrail EER held", "gate_allowed": True,
        },
    )  # fmt: skip
    now = timezone.now()
    services.webhook_sweep(now=now, send=lambda pk: services.delivery_attempt(delivery_id=pk, now=now))
    (got,) = r.requests
    assert got.headers["X-AgileML-Event"] == "evaluation.finished"
    message = json.loads(got.body)
    check_block_kit_message(message)
    text = message["blocks"][0]["text"]["text"]
    assert "Evaluation of *rf-3* on held-out &lt;subjects&gt; finished: *better*" in text
    assert "AUC +0.012 [+0.004, +0.020], better, p = 0.003; guardrail EER held" in text
    assert "<https://agileml.example.com/p/AUTH/evaluations/42/|Open>" in text
    assert Delivery.objects.get().status == "delivered"
