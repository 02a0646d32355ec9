"""Markdown for ticket descriptions, answers and comments, rendered to safe HTML.

Markdown passes raw HTML through, so its output is cleaned by nh3 (an allow-list
sanitiser): no ``<script>``, no event-handler attributes, no ``javascript:`` or
``data:`` URLs survive; links get ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]
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


def render_markdown(text: str, *, images: bool = True) -> SafeString:
    """Markdown ``text`` as sanitised HTML, safe to embed in a page.

    ``images=False`` drops ``<img>``, for pages shown outside the team that must not load
    anything from other sites.
    """
    if not text:
        return mark_safe("")
    html = md.markdown(text, extensions=EXTENSIONS, output_format="html")
    clean = nh3.clean(
        html,
        tags=TAGS if images else TAGS - {"img"},
        attributes=ATTRIBUTES if images else {tag: a for tag, a in ATTRIBUTES.items() if tag != "img"},
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
