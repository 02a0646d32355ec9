"""Markdown for ticket descriptions, answers and comments, rendered to safe HTML.

Markdown passes raw HTML through, so its output is cleaned by nh3 (an allow-list
sanitiser): no ``<script>``, no event-handler attributes, no ``javascript:`` or
``data:`` URLs survive; links get ``rel="noopener noreferrer nofollow"``.

``@username`` becomes a link to that member's tickets when the caller passes the project's
members (``mentions``); a name that is no member stays plain text, and so does anything inside
code. The link is built as an element by Markdown (never as HTML text) and sanitised with the rest.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as etree
from collections.abc import Mapping

import markdown as md
import nh3
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe
from markdown.inlinepatterns import InlineProcessor

EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]
# Part of the cache key of rendered Markdown: change it when the rendering or the allow-list changes.
MARKDOWN_CACHE_VERSION = 1
MARKDOWN_CACHE_SECONDS = 24 * 3600
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}


# "@name" not preceded by a word character (so e-mail addresses are left alone); Django's usernames.
MENTION_PATTERN = r"(?<![\w@.+-])@([\w.@+-]*[\w+-])"


class _Mentions(InlineProcessor):
    """Links ``@name`` to ``links[name]`` for known names and records them in ``found``."""

    ANCESTOR_EXCLUDES = ("a",)  # never a link inside a link

    def __init__(self, links: Mapping[str, str], found: set[str]) -> None:
        super().__init__(MENTION_PATTERN)
        self.links = links
        self.found = found

    def handleMatch(self, m: re.Match, data: str):
        name = m.group(1)
        if name not in self.links:
            return None, None, None
        self.found.add(name)
        link = etree.Element("a", {"href": self.links[name], "title": f"Tickets of {name}"})
        link.text = f"@{name}"
        return link, m.start(0), m.end(0)


def _to_html(text: str, mentions: Mapping[str, str] | None, found: set[str]) -> str:
    converter = md.Markdown(extensions=EXTENSIONS, output_format="html")
    if mentions:
        converter.inlinePatterns.register(_Mentions(mentions, found), "mention", 95)
    return converter.convert(text)


def mentioned_names(text: str, members: Mapping[str, str]) -> set[str]:
    """The members (keys of ``members``) that ``text`` mentions as ``@name`` outside code."""
    found: set[str] = set()
    if text and members:
        _to_html(text, dict.fromkeys(members, "#"), found)
    return found


def render_markdown(text: str, *, images: bool = True, mentions: Mapping[str, str] | None = None) -> SafeString:
    """Markdown ``text`` as sanitised HTML, safe to embed in a page.

    ``images=False`` drops ``<img>``, for pages shown outside the team that must not load
    anything from other sites. ``mentions`` maps member usernames to the page an ``@name`` links to.
    """
    if not text:
        return mark_safe("")
    # The same text (with the same members' links) renders the same: remembered by its content hash,
    # so a page shown again does not parse and sanitise it again (changed text is a new key).
    linked = sorted((name, url) for name, url in (mentions or {}).items() if f"@{name}" in text)
    key = "markdown:" + hashlib.sha256(repr((MARKDOWN_CACHE_VERSION, text, images, linked)).encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return mark_safe(cached)  # noqa: S308 - stored after nh3 cleaned it below
    clean = _clean(text, images=images, mentions=mentions)
    cache.set(key, clean, MARKDOWN_CACHE_SECONDS)
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3


def _clean(text: str, *, images: bool, mentions: Mapping[str, str] | None) -> str:
    html = _to_html(text, mentions, set())
    clean = nh3.clean(
        html,
        tags=TAGS if images else TAGS - {"img"},
        attributes=ATTRIBUTES if images else {tag: a for tag, a in ATTRIBUTES.items() if tag != "img"},
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return clean
