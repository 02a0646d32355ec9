"""What a GitHub or GitLab event says about code (no Django imports): pull requests and commits,
the texts to look for ticket keys in, and what happened to a pull request.

Shapes follow the providers' documented webhook payloads: GitHub ``push`` (``ref``,
``commits[].id/message/url``) and ``pull_request`` (``action``, ``pull_request.number/title/
html_url/head.ref/merged/state``); GitLab ``Push Hook`` (``ref``, ``commits[]``) and ``Merge
Request Hook`` (``object_attributes.iid/title/url/source_branch/state/action``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

OPENED = "opened"
MERGED = "merged"


class Malformed(Exception):
    """The payload is JSON but not the documented shape; the message names the field."""


@dataclass(frozen=True)
class Item:
    kind: str  # "pull_request" or "commit"
    url: str
    title: str
    state: str = ""
    ref: str = ""
    texts: tuple[str, ...] = ()
    happened: str = ""  # OPENED, MERGED or "" for a pull request; "" for commits


def _get(data: Any, path: str, kind: type | tuple[type, ...] = str, *, required: bool = True) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            raise Malformed(f"{path} is missing: the payload has no object at {part!r}.")
        value = value.get(part)
    if value is None:
        if required:
            raise Malformed(f"{path} is missing.")
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Malformed(f"{path} has the wrong type.")
    return value


def _web_url(url: str, path: str) -> str:
    if not url.startswith(("https://", "http://")):
        raise Malformed(f"{path} is not an http(s) URL.")
    return url


def _branch(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


def _commits(data: dict[str, Any]) -> list[Item]:
    branch = _branch(_get(data, "ref", required=False) or "")
    commits = _get(data, "commits", list, required=False) or []
    items = []
    for index, commit in enumerate(commits):
        where = f"commits[{index}]"
        if not isinstance(commit, dict):
            raise Malformed(f"{where} is not an object.")
        message = _get(commit, "message")
        url = _web_url(_get(commit, "url"), f"{where}.url")
        title = message.strip().splitlines()[0] if message.strip() else _get(commit, "id")[:12]
        items.append(Item("commit", url, title[:500], "", branch, (message, branch)))
    return items


def github(event: str, data: dict[str, Any]) -> list[Item] | None:
    """Items of a GitHub event; None for an event that is not about code (ignored)."""
    if event == "push":
        return _commits(data)
    if event != "pull_request":
        return None
    action = _get(data, "action")
    number = _get(data, "pull_request.number", int)
    title = _get(data, "pull_request.title")
    url = _web_url(_get(data, "pull_request.html_url"), "pull_request.html_url")
    branch = _get(data, "pull_request.head.ref", required=False) or ""
    merged = bool(_get(data, "pull_request.merged", bool, required=False))
    state = MERGED if merged else (_get(data, "pull_request.state", required=False) or "")
    happened = OPENED if action in ("opened", "reopened") else MERGED if action == "closed" and merged else ""
    return [Item("pull_request", url, f"#{number} {title}"[:500], state, branch, (title, branch), happened)]


def gitlab(event: str, data: dict[str, Any]) -> list[Item] | None:
    """Items of a GitLab event; None for an event that is not about code (ignored)."""
    if event == "Push Hook":
        return _commits(data)
    if event != "Merge Request Hook":
        return None
    iid = _get(data, "object_attributes.iid", int)
    title = _get(data, "object_attributes.title")
    url = _web_url(_get(data, "object_attributes.url"), "object_attributes.url")
    branch = _get(data, "object_attributes.source_branch", required=False) or ""
    state = _get(data, "object_attributes.state", required=False) or ""
    action = _get(data, "object_attributes.action", required=False) or ""
    happened = OPENED if action in ("open", "reopen") else MERGED if action == "merge" else ""
    state = {"opened": "open"}.get(state, state)
    return [Item("pull_request", url, f"!{iid} {title}"[:500], state, branch, (title, branch), happened)]


def ticket_numbers(project_key: str, texts: tuple[str, ...]) -> list[int]:
    """Numbers of ``KEY-12`` mentions (any case) in ``texts``, in order of first mention."""
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(project_key)}-(\d{{1,9}})(?!\d)", re.IGNORECASE)
    found: list[int] = []
    for text in texts:
        for match in pattern.finditer(text or ""):
            number = int(match.group(1))
            if number not in found:
                found.append(number)
    return found
