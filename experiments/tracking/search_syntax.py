"""MLflow's run search syntax: ``metrics.acc > 0.9 AND params.model = 'svm'``.

Pure parsing, no Django: ``parse_filter`` turns a filter string into clauses and
``parse_order_by`` turns ``["metrics.acc DESC"]`` into sort keys. Supported: clauses
joined by ``AND``; entities ``metrics``, ``params``, ``tags`` and ``attributes`` (alias
``attribute``, ``attr``, ``run``; no prefix means an attribute); keys plain, backquoted or
double-quoted; comparisons ``= != < <= > >=``, ``LIKE``/``ILIKE`` on strings and ``IN (...)``
on attributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENTITY_ALIASES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
ATTRIBUTE_ALIASES = {
    "status": "status",
    "run_name": "run_name",
    "run_id": "run_id",
    "run_uuid": "run_id",
    "start_time": "start_time",
    "end_time": "end_time",
    "user_id": "user_id",
    "created": "start_time",
    "created_at": "start_time",
}
NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
COMPARISONS = {"=", "!=", "<", "<=", ">", ">="}
STRING_OPS = {"=", "!=", "LIKE", "ILIKE"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<backquoted>`[^`]*`)
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<paren>[(),])
      | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))(?![\w.])
      | (?P<word>[A-Za-z_][\w.:/-]*)
    )""",
    re.VERBOSE,
)


class SearchSyntaxError(ValueError):
    """The filter or order-by text is not valid; the message says where."""


@dataclass(frozen=True)
class Clause:
    entity: str  # metrics | params | tags | attributes
    key: str
    op: str  # = != < <= > >= LIKE ILIKE IN NOT IN
    value: float | str | tuple[str, ...]


@dataclass(frozen=True)
class OrderKey:
    entity: str
    key: str
    ascending: bool


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SearchSyntaxError(f"Cannot read the filter at character {pos + 1}: {text[pos : pos + 20]!r}.")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _split_identifier(kind: str, token: str, following: list[tuple[str, str]]) -> tuple[str, str, int]:
    """(entity, key, extra tokens consumed) from ``metrics.acc`` or ``metrics.`my key```."""
    if kind != "word":
        raise SearchSyntaxError(f"Expected a name like metrics.accuracy, found {token!r}.")
    prefix, dot, rest = token.partition(".")
    entity = ENTITY_ALIASES.get(prefix.lower()) if dot else None
    if entity is None:
        entity, rest = "attributes", token
    consumed = 0
    if rest == "" and following and following[0][0] in ("backquoted", "string"):
        rest = _unquote(following[0][1])
        consumed = 1
    if not rest:
        raise SearchSyntaxError(f"{token!r} needs a key after the dot, e.g. {prefix}.accuracy.")
    if entity == "attributes":
        attribute = ATTRIBUTE_ALIASES.get(rest.lower())
        if attribute is None:
            known = ", ".join(sorted(set(ATTRIBUTE_ALIASES.values())))
            raise SearchSyntaxError(f"Unknown attribute {rest!r}; searchable attributes are {known}.")
        rest = attribute
    return entity, rest, consumed


def parse_filter(text: str | None) -> list[Clause]:
    """Clauses of ``text`` (joined by AND); an empty filter gives no clauses."""
    if not text or not text.strip():
        return []
    tokens = _tokenize(text)
    clauses: list[Clause] = []
    i = 0
    while i < len(tokens):
        kind, token = tokens[i]
        entity, key, consumed = _split_identifier(kind, token, tokens[i + 1 :])
        i += 1 + consumed
        if i >= len(tokens):
            raise SearchSyntaxError(f"The filter ends after {token!r}; expected a comparison such as = 'value'.")
        kind, op = tokens[i]
        op_upper = op.upper()
        if kind == "word" and op_upper == "NOT" and i + 1 < len(tokens) and tokens[i + 1][1].upper() == "IN":
            op_upper, i = "NOT IN", i + 1
        elif kind != "op" and op_upper not in ("LIKE", "ILIKE", "IN"):
            raise SearchSyntaxError(f"Expected a comparison after {key!r}, found {op!r}.")
        i += 1
        if op_upper in ("IN", "NOT IN"):
            values, i = _read_list(tokens, i, key)
            if entity != "attributes" or key not in ("status", "run_id", "run_name", "user_id"):
                raise SearchSyntaxError(f"IN works on attributes status, run_id, run_name and user_id, not on {key!r}.")
            clauses.append(Clause(entity, key, op_upper, values))
        else:
            if i >= len(tokens):
                raise SearchSyntaxError(f"The filter ends after {op!r}; expected a value.")
            vkind, vtoken = tokens[i]
            i += 1
            clauses.append(_clause(entity, key, op_upper, vkind, vtoken))
        if i < len(tokens):
            kind, token = tokens[i]
            if kind != "word" or token.upper() != "AND":
                raise SearchSyntaxError(f"Join conditions with AND; found {token!r}.")
            i += 1
            if i >= len(tokens):
                raise SearchSyntaxError("The filter ends with AND; add a condition after it.")
    return clauses


def _read_list(tokens: list[tuple[str, str]], i: int, key: str) -> tuple[tuple[str, ...], int]:
    if i >= len(tokens) or tokens[i][1] != "(":
        raise SearchSyntaxError(f"IN after {key!r} needs a list in parentheses, e.g. ('FINISHED', 'FAILED').")
    i += 1
    values = []
    while True:
        if i >= len(tokens):
            raise SearchSyntaxError("The list after IN is not closed with ')'.")
        kind, token = tokens[i]
        if kind != "string":
            raise SearchSyntaxError(f"Values in an IN list are quoted strings; found {token!r}.")
        values.append(_unquote(token))
        i += 1
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
            continue
        if i < len(tokens) and tokens[i][1] == ")":
            return tuple(values), i + 1
        raise SearchSyntaxError("Separate IN values with commas and close the list with ')'.")


def _clause(entity: str, key: str, op: str, vkind: str, vtoken: str) -> Clause:
    numeric = entity == "metrics" or (entity == "attributes" and key in NUMERIC_ATTRIBUTES)
    if numeric:
        if op not in COMPARISONS:
            raise SearchSyntaxError(f"{entity}.{key} is a number: compare it with = != < <= > >=, not {op}.")
        if vkind != "number":
            raise SearchSyntaxError(f"{entity}.{key} is a number; {vtoken!r} is not.")
        return Clause(entity, key, op, float(vtoken))
    if op not in STRING_OPS:
        raise SearchSyntaxError(f"{entity}.{key} is text: compare it with =, !=, LIKE or ILIKE, not {op}.")
    if vkind != "string":
        raise SearchSyntaxError(f"Quote the value compared with {entity}.{key}: '{vtoken}'.")
    return Clause(entity, key, op, _unquote(vtoken))


def parse_order_by(items: list[str] | None) -> list[OrderKey]:
    """Sort keys of ``["metrics.acc DESC", "start_time"]``."""
    keys = []
    for item in items or []:
        tokens = _tokenize(item)
        if not tokens:
            continue
        entity, key, consumed = _split_identifier(tokens[0][0], tokens[0][1], tokens[1:])
        rest = tokens[1 + consumed :]
        ascending = True
        if rest:
            direction = rest[0][1].upper()
            if len(rest) > 1 or direction not in ("ASC", "DESC"):
                raise SearchSyntaxError(f"Order by {item!r}: write a name optionally followed by ASC or DESC.")
            ascending = direction == "ASC"
        keys.append(OrderKey(entity, key, ascending))
    return keys


def like_to_regex(pattern: str) -> str:
    """SQL LIKE pattern (``%`` any run, ``_`` one character) as an anchored regular expression."""
    out = []
    for char in pattern:
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return "^" + "".join(out) + "$"
