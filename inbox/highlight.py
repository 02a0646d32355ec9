"""Search terms and highlighting (pure: no Django).

Highlighting escapes the text first and marks the matches after, segment by segment, so a
hostile title (``<script>``, ``x');alert(1);('``) comes out as inert text with ``<mark>`` around
the words that matched, and nothing else is markup.
"""

from __future__ import annotations

import html
import re

MAX_TERMS = 8
_WORD = re.compile(r"[\w][\w.-]*", re.UNICODE)
# Endings dropped before matching, so "runs" also marks "running" and "run" (PostgreSQL stems the same way).
_SUFFIXES = ("ing", "es", "ed", "s")


def terms(query: str) -> list[str]:
    """The words of ``query``, lower-cased, without repeats, at most :data:`MAX_TERMS`."""
    seen: list[str] = []
    for word in _WORD.findall(query or ""):
        word = word.lower().strip(".-")
        if word and word not in seen:
            seen.append(word)
    return seen[:MAX_TERMS]


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _pattern(words: list[str]) -> re.Pattern | None:
    stems = sorted({_stem(w) for w in words if w}, key=len, reverse=True)
    if not stems:
        return None
    return re.compile("|".join(re.escape(s) + r"[\w]*" for s in stems), re.IGNORECASE)


def mark(text: str, words: list[str]) -> str:
    """``text`` as HTML: escaped, with every word starting like one of ``words`` in ``<mark>``."""
    text = text or ""
    pattern = _pattern(words)
    if pattern is None:
        return html.escape(text)
    out, last = [], 0
    for found in pattern.finditer(text):
        out.append(html.escape(text[last : found.start()]))
        out.append(f"<mark>{html.escape(found.group(0))}</mark>")
        last = found.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def snippet(text: str, words: list[str], *, width: int = 160) -> str:
    """A window of about ``width`` characters of ``text`` around its first match, marked as :func:`mark`."""
    text = " ".join((text or "").split())
    pattern = _pattern(words)
    found = pattern.search(text) if pattern else None
    start = max(0, (found.start() if found else 0) - width // 3)
    end = min(len(text), start + width)
    piece = text[start:end]
    return ("…" if start else "") + mark(piece, words) + ("…" if end < len(text) else "")


def contains_all(text: str, words: list[str]) -> bool:
    """Whether every one of ``words`` occurs in ``text`` (case-insensitively): the fallback's match."""
    lowered = (text or "").lower()
    return all(w in lowered for w in words)
