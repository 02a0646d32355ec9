"""Git events link pull requests and commits to tickets and, by the project's rules, move code tickets."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from integrations.git import services
from integrations.git.models import GitLink, GitSettings
from tests.factories import ProjectFactory, TicketFactory
from tickets import services as ticket_services
from tickets.models import TicketEvent, TicketKind, TicketStatus

pytestmark = pytest.mark.django_db
URL = "/api/v1/projects/AUTH/git/"


@pytest.fixture
def secret(cast):
    _, value = services.git_settings_set_secret(project=cast.project)
    return value


def _github(client, event, payload, secret, *, signature=None):
    body = json.dumps(payload).encode()
    sig = (
        signature if signature is not None else "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    )
    return client.post(
        URL, body, content_type="application/json", HTTP_X_GITHUB_EVENT=event, HTTP_X_HUB_SIGNATURE_256=sig
    )


def _gitlab(client, event, payload, token):
    return client.post(
        URL, json.dumps(payload), content_type="application/json", HTTP_X_GITLAB_EVENT=event, HTTP_X_GITLAB_TOKEN=token
    )


def _pr(action, number, title, branch, *, merged=False, state="open"):
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number, "title": title, "html_url": f"https://github.com/acme/auth/pull/{number}",
            "head": {"ref": branch}, "merged": merged, "state": state,
        },
        "repository": {"full_name": "acme/auth"},
    }  # fmt: skip


def _push(commits, ref="refs/heads/main"):
    return {
        "ref": ref,
        "repository": {"full_name": "acme/auth"},
        "commits": [
            {"id": f"{i:040x}", "message": message, "url": f"https://github.com/acme/auth/commit/{i:040x}"}
            for i, message in enumerate(commits, start=1)
        ],
    }


def _code_ticket(cast, **kwargs):
    return ticket_services.ticket_create(
        project=cast.project, actor=cast.lead, title=kwargs.pop("title", "Fix login"),
        work_type="algorithm_development", **kwargs,
    )  # fmt: skip


def test_a_github_push_links_commits_to_the_tickets_they_mention(cast, client, secret):
    one, two = _code_ticket(cast), _code_ticket(cast)
    other = TicketFactory(project=ProjectFactory(key="OTHER"))
    messages = [
        f"Fix the threshold ({one.key.lower()})",
        f"Refactor\n\nPart of {two.key} and {one.key}",
        f"OTHER-{other.number}",
    ]
    response = _github(client, "push", _push(messages), secret)
    assert response.status_code == 200, response.json()
    assert sorted((link.ticket.key, link.kind) for link in GitLink.objects.all()) == sorted(
        [(one.key, "commit"), (one.key, "commit"), (two.key, "commit")]
    )
    assert not GitLink.objects.filter(ticket=other).exists()
    first = GitLink.objects.filter(ticket=one).order_by("url").first()
    assert first.title == f"Fix the threshold ({one.key.lower()})" and first.ref == "main"
    history = TicketEvent.objects.filter(ticket=one, field=TicketEvent.Field.LINK)
    assert history.count() == 2 and history.first().new.startswith("commit ")

    # Redelivered: nothing new.
    again = _github(client, "push", _push(messages), secret)
    assert again.status_code == 200 and {x["new"] for x in again.json()["linked"]} == {False}
    assert GitLink.objects.count() == 3
    assert TicketEvent.objects.filter(field=TicketEvent.Field.LINK).count() == 3


def test_a_pull_request_moves_a_code_ticket_to_review_then_done_when_the_rules_say_so(cast, client, secret):
    ticket = _code_ticket(cast)
    question = _code_ticket(cast, kind=TicketKind.QUESTION, question="Q?", hypothesis="H.")
    services.git_settings_update(project=cast.project, review_on_open=True, done_on_merge=True)
    branch = f"feature/{ticket.key.lower()}-login"

    opened = _github(client, "pull_request", _pr("opened", 7, f"Login fix, see {question.key}", branch), secret)
    assert opened.status_code == 200
    assert opened.json()["moved"] == [{"ticket": ticket.key, "status": "review"}]
    ticket.refresh_from_db()
    question.refresh_from_db()
    assert ticket.status == TicketStatus.REVIEW and question.status == TicketStatus.TODO
    link = GitLink.objects.get(ticket=ticket)
    assert (link.kind, link.state, link.title, link.url) == (
        "pull_request",
        "open",
        "#7 Login fix, see " + question.key,
        "https://github.com/acme/auth/pull/7",
    )

    merged = _github(client, "pull_request", _pr("closed", 7, f"Login fix, see {question.key}", branch, merged=True,
                                                   state="closed"), secret)  # fmt: skip
    assert merged.json()["moved"] == [{"ticket": ticket.key, "status": "done"}]
    ticket.refresh_from_db()
    question.refresh_from_db()
    assert ticket.status == TicketStatus.DONE
    # A question is never closed by a merge.
    assert question.status == TicketStatus.TODO
    assert GitLink.objects.get(ticket=ticket).state == "merged"
    status_events = TicketEvent.objects.filter(ticket=ticket, field=TicketEvent.Field.STATUS)
    assert [(e.new, e.actor_id) for e in status_events] == [("review", None), ("done", None)]


def test_without_rules_a_pull_request_only_links(cast, client, secret):
    ticket = _code_ticket(cast)
    _github(client, "pull_request", _pr("opened", 3, f"{ticket.key}: login", "main"), secret)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.TODO and GitLink.objects.filter(ticket=ticket).exists()


def test_a_gitlab_merge_request_links_and_moves(cast, client, secret):
    ticket = _code_ticket(cast)
    services.git_settings_update(project=cast.project, review_on_open=True, done_on_merge=True)
    payload = {
        "object_kind": "merge_request",
        "object_attributes": {
            "iid": 12, "title": "Login fix", "url": "https://gitlab.com/acme/auth/-/merge_requests/12",
            "source_branch": f"{ticket.key}-login", "state": "opened", "action": "open",
        },
    }  # fmt: skip
    assert _gitlab(client, "Merge Request Hook", payload, secret).status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REVIEW
    payload["object_attributes"].update(state="merged", action="merge")
    assert _gitlab(client, "Merge Request Hook", payload, secret).json()["moved"][0]["status"] == "done"
    link = GitLink.objects.get(ticket=ticket)
    assert (link.title, link.state) == ("!12 Login fix", "merged")
    push = {
        "ref": "refs/heads/x",
        "commits": [{"id": "ab" * 20, "message": f"{ticket.key} tidy", "url": "https://gitlab.com/c/1"}],
    }
    assert _gitlab(client, "Push Hook", push, secret).status_code == 200
    assert GitLink.objects.filter(ticket=ticket).count() == 2


def test_bad_signatures_and_tokens_are_refused_and_change_nothing(cast, client, secret):
    ticket = _code_ticket(cast)
    payload = _pr("opened", 1, ticket.key, "main")
    wrong = _github(client, "pull_request", payload, "another-secret-entirely")
    assert wrong.status_code == 403 and "signature does not match" in wrong.json()["message"]
    missing = _github(client, "pull_request", payload, secret, signature="")
    assert missing.status_code == 403
    token = _gitlab(client, "Merge Request Hook", {"object_attributes": {}}, "wrong-token-wrong-token")
    assert token.status_code == 403
    assert not GitLink.objects.exists()
    # A project without a secret, or no such project, is told the same.
    GitSettings.objects.all().delete()
    assert _github(client, "pull_request", payload, secret).json() == wrong.json()
    body = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    nowhere = client.post("/api/v1/projects/NOPE/git/", body, content_type="application/json",
                          HTTP_X_GITHUB_EVENT="pull_request", HTTP_X_HUB_SIGNATURE_256=sig)  # fmt: skip
    assert (nowhere.status_code, nowhere.json()) == (403, wrong.json())


def test_unknown_events_are_ignored_and_malformed_bodies_refused(cast, client, secret):
    assert _github(client, "ping", {"zen": "Keep it simple."}, secret).status_code == 202
    assert _gitlab(client, "Pipeline Hook", {}, secret).status_code == 202
    body = b"{not json"
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    broken = client.post(
        URL, body, content_type="application/json", HTTP_X_GITHUB_EVENT="push", HTTP_X_HUB_SIGNATURE_256=sig
    )
    assert broken.status_code == 400 and "not JSON" in broken.json()["message"]
    shape = _github(client, "pull_request", {"action": "opened", "pull_request": {"number": "7"}}, secret)
    assert shape.status_code == 400 and shape.json()["message"] == "pull_request.number has the wrong type."
    unsafe = _github(
        client,
        "push",
        _push(["AUTH-1"]) | {"commits": [{"id": "1", "message": "AUTH-1", "url": "javascript:alert(1)"}]},
        secret,
    )
    assert unsafe.status_code == 400 and "commits[0].url" in unsafe.json()["message"]
    no_header = client.post(URL, b"{}", content_type="application/json")
    assert no_header.status_code == 403 and "X-GitHub-Event" in no_header.json()["message"]
    assert not GitLink.objects.exists()


def test_the_ticket_page_shows_its_links(cast, client, secret, web):
    ticket = _code_ticket(cast)
    _github(client, "pull_request", _pr("opened", 9, f"x');alert(1);(' {ticket.key}", "main"), secret)
    page = web(cast.stakeholder).get(f"/t/{ticket.key}/")
    assert b'data-testid="ticket-git-panel"' in page.content
    assert b"linked <strong>pull request #9 x&#x27;);alert(1);(&#x27;" in page.content
    panel = web(cast.stakeholder).get(f"/t/{ticket.key}/git-links/")
    assert b"https://github.com/acme/auth/pull/9" in panel.content and b"alert(1);('" not in panel.content
    assert web(cast.outsider).get(f"/t/{ticket.key}/git-links/").status_code == 404


def test_a_lead_makes_a_secret_and_sets_the_rules_on_the_page(cast, web):
    client = web(cast.lead)
    made = client.post("/p/AUTH/git/secret/")
    row = GitSettings.objects.get()
    assert made.status_code == 201 and row.secret.encode() in made.content
    assert row.secret.encode() not in client.get("/p/AUTH/webhooks/").content
    client.post("/p/AUTH/git/rules/", {"done_on_merge": "on"})
    row.refresh_from_db()
    assert (row.review_on_open, row.done_on_merge) == (False, True)
