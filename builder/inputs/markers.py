"""Settling the ``extra`` terms of a lock's markers, so pip can evaluate the rest itself.

Lock files (Poetry's) mark packages that only an extra pulls in with ``extra == "name"``.
pip evaluates a requirements-file marker with ``extra`` empty, so those terms must be decided
here, from the extras asked for; every other term is left for pip on the target.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Union

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

from builder.errors import InputError

_TOKEN = re.compile(r"""\s*(\(|\)|'[^']*'|"[^"]*"|===|==|!=|<=|>=|~=|<|>|[A-Za-z_.][\w.]*)""")
_OPERATORS = {"===", "==", "!=", "<=", ">=", "~=", "<", ">", "in", "not in"}


@dataclass(frozen=True)
class Term:
    left: str
    op: str
    right: str


@dataclass(frozen=True)
class Group:
    kind: str  # "and" | "or"
    children: tuple[Node, ...]


Node = Union[Term, Group]


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise InputError(f"cannot read the marker {text!r} near {text[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise InputError(f"the marker {self.text!r} ends too early")
        self.at += 1
        return token

    def parse(self) -> Node:
        node = self.either()
        if self.peek() is not None:
            raise InputError(f"unexpected {self.peek()!r} in the marker {self.text!r}")
        return node

    def either(self) -> Node:
        children = [self.both()]
        while self.peek() == "or":
            self.take()
            children.append(self.both())
        return children[0] if len(children) == 1 else Group("or", tuple(children))

    def both(self) -> Node:
        children = [self.term()]
        while self.peek() == "and":
            self.take()
            children.append(self.term())
        return children[0] if len(children) == 1 else Group("and", tuple(children))

    def term(self) -> Node:
        if self.peek() == "(":
            self.take()
            node = self.either()
            if self.take() != ")":
                raise InputError(f"unbalanced parentheses in the marker {self.text!r}")
            return node
        left, op = self.take(), self.take()
        if op == "not":
            op = f"not {self.take()}"
        if op not in _OPERATORS:
            raise InputError(f"unknown operator {op!r} in the marker {self.text!r}")
        return Term(left, op, self.take())


def _unquote(token: str) -> str:
    return token[1:-1] if token[:1] in "'\"" else token


def _decide(node: Node, extras: frozenset[str]) -> Node | bool:
    """The node with every ``extra`` term replaced by its truth, then simplified."""
    if isinstance(node, Term):
        if "extra" not in (node.left, node.right):
            return node
        if node.op not in ("==", "!="):
            raise InputError(f"unsupported comparison of extra: {node.left} {node.op} {node.right}")
        value = canonicalize_name(_unquote(node.right if node.left == "extra" else node.left))
        return (value in extras) == (node.op == "==")
    settle = node.kind == "or"  # a true child settles "or", a false child settles "and"
    kept: list[Node] = []
    for child in node.children:
        decided = _decide(child, extras)
        if isinstance(decided, bool):
            if decided is settle:
                return settle
            continue
        kept.append(decided)
    if not kept:
        return not settle
    return kept[0] if len(kept) == 1 else Group(node.kind, tuple(kept))


def _render(node: Node, parent: str = "") -> str:
    if isinstance(node, Term):
        return f"{node.left} {node.op} {node.right}"
    text = f" {node.kind} ".join(_render(child, node.kind) for child in node.children)
    return f"({text})" if parent and parent != node.kind else text


def settle_extras(marker: str, extras: Collection[str]) -> str | bool:
    """``True`` (always), ``False`` (never), or what remains of ``marker`` for pip to decide."""
    if not marker.strip():
        return True
    chosen = frozenset(canonicalize_name(extra) for extra in extras)
    decided = _decide(_Parser(marker).parse(), chosen)
    if isinstance(decided, bool):
        return decided
    text = _render(decided)
    try:
        Marker(text)
    except InvalidMarker as error:
        raise InputError(f"the marker {marker!r} is not valid: {error}") from None
    return text


def any_of(markers: Collection[str]) -> str:
    """One marker true when any of ``markers`` is; an empty marker means always."""
    if not markers or any(not marker.strip() for marker in markers):
        return ""
    unique = list(dict.fromkeys(markers))
    return unique[0] if len(unique) == 1 else " or ".join(f"({m})" for m in unique)
