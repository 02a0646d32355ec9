"""The filter and order of MLflow's registry searches: ``name = 'x'``, ``name LIKE 'fraud%'``,
``run_id = '...'`` or ``run_id IN ('a', 'b')``, joined by AND (pure, no Django)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from experiments.tracking.search_syntax import like_to_regex

_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_TAG_CLAUSE = re.compile(
    rf"^\s*tags?\.(?:`(?P<quoted>[^`]+)`|\"(?P<dquoted>[^\"]+)\"|(?P<plain>[\w.]+))\s*(?P<op>!=|=)\s*(?P<value>{_STRING})\s*$",
    re.I,
)
_CLAUSE = re.compile(
    rf"^\s*(?:attributes?\.)?(?P<field>[A-Za-z_]+)\s*(?P<op>!=|=|LIKE\b|ILIKE\b|IN\b)\s*"
    rf"(?P<value>{_STRING}|\((?P<list>[^)]*)\))\s*$",
    re.I,
)
_AND = re.compile(r"\s+AND\s+", re.I)
_ORDER = {
    "name": "name",
    "creation_timestamp": "created_at",
    "timestamp": "created_at",
    "last_updated_timestamp": "updated_at",
    "version_number": "version",
}


class SearchError(ValueError):
    """The filter or order is not one this registry understands; the message says which part."""


@dataclass
class Search:
    name_op: str | None = None
    name_value: str = ""
    run_ids: list[str] | None = None
    # (key, "=" or "!=", value)
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)


def _unquote(text: str) -> str:
    """A quoted string's content: quotes off, backslash escapes read."""
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse_search(text: str | None, order_by: list[str] | None, *, versions: bool) -> Search:
    fields = ("name", "run_id") if versions else ("name",)
    search = Search()
    for part in _AND.split(text.strip()) if text and text.strip() else []:
        tag = _TAG_CLAUSE.match(part)
        if tag:
            key = tag.group("quoted") or tag.group("dquoted") or tag.group("plain")
            value = _unquote(tag.group("value"))
            search.tags.append((key, tag.group("op"), value))
            continue
        match = _CLAUSE.match(part)
        name = match.group("field").lower() if match else ""
        if not match or name not in fields:
            allowed = " or ".join(f"{f} = '...'" for f in fields)
            raise SearchError(
                f"Unsupported filter {part.strip()!r}: use {allowed} (LIKE/ILIKE on name), joined by AND."
            )
        op = match.group("op").upper()
        if name == "run_id":
            if op == "IN" and match.group("list") is not None:
                search.run_ids = [_unquote(item) for item in re.findall(_STRING, match.group("list"))]
            elif op == "=" and match.group("list") is None:
                search.run_ids = [_unquote(match.group("value"))]
            else:
                raise SearchError(f"Filter run_id with = '...' or IN ('...', ...), not {op}.")
            continue
        if op == "IN" or match.group("list") is not None:
            raise SearchError("Filter name with =, !=, LIKE or ILIKE and a quoted value.")
        value = _unquote(match.group("value"))
        search.name_op = op
        search.name_value = like_to_regex(value) if op in ("LIKE", "ILIKE") else value
    for item in order_by or []:
        words = str(item).split()
        key = words[0].lower() if words else ""
        if key == "version_number" and not versions:
            key = ""
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if key not in _ORDER or len(words) > 2 or direction not in ("ASC", "DESC"):
            raise SearchError(
                f"Cannot order by {item!r}: use name, creation_timestamp or last_updated_timestamp"
                + (", version_number" if versions else "")
                + ", optionally followed by ASC or DESC."
            )
        column = _ORDER[key]
        if versions and column == "name":
            column = "registered_model__name"
        search.order.append((column, direction == "DESC"))
    return search
