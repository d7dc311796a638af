"""QBO's query language: a tokenizer and a recursive-descent parser.

    SELECT * | COUNT(*) FROM <Entity>
      [WHERE <prop> <op> <value> [AND ...]]
      [ORDERBY <prop> [ASC|DESC] [, ...]]
      [STARTPOSITION n] [MAXRESULTS m]

Operators: = < > <= >= IN (...) LIKE (only the % wildcard). There is no OR, no projection and
one entity per query (reference/qbo.md §2.3). Keywords are case-insensitive; string literals
use single quotes with \\' and \\\\ escapes. Anything else is error 4000, as Intuit answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.sandbox.qbo import errors
from connectors.sandbox.qbo.entities import query_property, spec_for

MAX_RESULTS_LIMIT = 1000
DEFAULT_MAX_RESULTS = 100
KEYWORDS = frozenset(
    {"select", "count", "from", "where", "and", "or", "in", "like", "orderby", "order", "by"}
    | {"asc", "desc", "startposition", "maxresults", "true", "false"}
)
COMPARISONS = frozenset({"=", "<", ">", "<=", ">="})
_TOKEN_NAMES = {
    "word": "<IDENTIFIER>",
    "string": "<STRING_LITERAL>",
    "number": "<INTEGER_LITERAL>",
    "end": "<EOF>",
}


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | number | op | punct | end
    text: str
    value: Any
    column: int


@dataclass(frozen=True)
class Condition:
    prop: str
    op: str  # = < > <= >= in like
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Order:
    prop: str
    descending: bool


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool
    where: tuple[Condition, ...]
    order: tuple[Order, ...]
    start_position: int
    max_results: int

    def constrains(self, prop: str) -> bool:
        return any(condition.prop == prop for condition in self.where)


def query_parse(text: str) -> Query:
    """Parse one query; raises QboFault 4000 (syntax) or 4001 (unknown property)."""
    return _Parser(tokenize(text)).query()


# --- tokenizer --------------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
        elif char == "'":
            token, position = _string(text, position)
            tokens.append(token)
        elif char in "(),*":
            tokens.append(Token("punct", char, char, position + 1))
            position += 1
        elif char in "<>=!":
            token, position = _operator(text, position)
            tokens.append(token)
        elif char.isdigit() or (char in "-." and text[position + 1 : position + 2].isdigit()):
            token, position = _number(text, position)
            tokens.append(token)
        elif char.isalpha() or char == "_":
            token, position = _word(text, position)
            tokens.append(token)
        else:
            raise _lexical(char, position)
    tokens.append(Token("end", "<EOF>", None, len(text) + 1))
    return tokens


def _string(text: str, start: int) -> tuple[Token, int]:
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            chars.append(text[position + 1])
            position += 2
        elif char == "'":
            return Token("string", text[start : position + 1], "".join(chars), start + 1), (
                position + 1
            )
        else:
            chars.append(char)
            position += 1
    raise errors.query_parse_error(
        f"Lexical error at line 1, column {len(text) + 1}.  Encountered: <EOF> after : "
        f'"{text[start:]}"'
    )


def _operator(text: str, start: int) -> tuple[Token, int]:
    pair = text[start : start + 2]
    if pair in ("<=", ">=", "!=", "<>"):
        return Token("op", pair, pair, start + 1), start + 2
    return Token("op", text[start], text[start], start + 1), start + 1


def _number(text: str, start: int) -> tuple[Token, int]:
    position = start + 1
    while position < len(text) and (text[position].isdigit() or text[position] == "."):
        position += 1
    raw = text[start:position]
    try:
        value: int | float = int(raw) if raw.lstrip("-").isdigit() else float(raw)
    except ValueError:
        raise _lexical(raw, start) from None
    return Token("number", raw, value, start + 1), position


def _word(text: str, start: int) -> tuple[Token, int]:
    position = start
    while position < len(text) and (text[position].isalnum() or text[position] in "_."):
        position += 1
    raw = text[start:position]
    return Token("word", raw, raw, start + 1), position


def _lexical(char: str, position: int) -> errors.QboFault:
    return errors.query_parse_error(
        f'Lexical error at line 1, column {position + 1}.  Encountered: "{char}"'
    )


# --- parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.current
        self.position += 1
        return token

    def at(self, keyword: str) -> bool:
        token = self.current
        return token.kind == "word" and token.text.lower() == keyword

    def accept(self, keyword: str) -> bool:
        if self.at(keyword):
            self.advance()
            return True
        return False

    def expect(self, keyword: str) -> None:
        if not self.accept(keyword):
            raise self.unexpected(f'"{keyword}"')

    def expect_punct(self, char: str) -> None:
        if self.current.kind != "punct" or self.current.text != char:
            raise self.unexpected(f'"{char}"')
        self.advance()

    def unexpected(self, expected: str) -> errors.QboFault:
        """JavaCC's wording, which is what Intuit's query parser answers with."""
        token = self.current
        kind = _TOKEN_NAMES.get(token.kind, token.text)
        return errors.query_parse_error(
            f'Encountered " {kind} "{token.text} "" at line 1, column {token.column}.\n'
            f"Was expecting:\n    {expected} ..."
        )

    def query(self) -> Query:
        self.expect("select")
        count = self.projection()
        self.expect("from")
        entity = self.entity()
        where = self.where(entity)
        order = self.order_by(entity)
        start, max_results = self.paging()
        if self.current.kind != "end":
            raise self.unexpected("<EOF>")
        return Query(entity, count, where, order, start, max_results)

    def projection(self) -> bool:
        """`*` or `COUNT(*)`: QBO has no column lists, it always returns whole entities."""
        if self.current.kind == "punct" and self.current.text == "*":
            self.advance()
            return False
        self.expect("count")
        self.expect_punct("(")
        self.expect_punct("*")
        self.expect_punct(")")
        return True

    def entity(self) -> str:
        token = self.current
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise self.unexpected("<ENTITY>")
        self.advance()
        spec_for_query(token.text)
        return token.text

    def where(self, entity: str) -> tuple[Condition, ...]:
        if not self.accept("where"):
            return ()
        conditions = [self.condition(entity)]
        while self.accept("and"):
            conditions.append(self.condition(entity))
        if self.at("or"):
            raise self.unexpected('"AND"')  # QBO has no OR
        return tuple(conditions)

    def condition(self, entity: str) -> Condition:
        prop = self.prop(entity)
        token = self.current
        if token.kind == "op" and token.text in COMPARISONS:
            self.advance()
            return Condition(prop, token.text, (self.literal(),))
        if self.accept("in"):
            return Condition(prop, "in", self.literal_list())
        if self.accept("like"):
            value = self.literal()
            if not isinstance(value, str):
                raise self.unexpected("<STRING>")
            return Condition(prop, "like", (value,))
        raise self.unexpected('"=", "<", ">", "<=", ">=", "IN", "LIKE"')

    def prop(self, entity: str) -> str:
        token = self.current
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise self.unexpected("<PROPERTY>")
        self.advance()
        return query_property(spec_for(entity), token.text)

    def literal(self) -> Any:
        token = self.current
        if token.kind in ("string", "number"):
            self.advance()
            return token.value
        if self.at("true") or self.at("false"):
            self.advance()
            return token.text.lower() == "true"
        raise self.unexpected("<STRING>")

    def literal_list(self) -> tuple[Any, ...]:
        self.expect_punct("(")
        values = [self.literal()]
        while self.current.kind == "punct" and self.current.text == ",":
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def order_by(self, entity: str) -> tuple[Order, ...]:
        # Intuit documents ORDERBY; peers (Airbyte, Singer) send ORDER BY and it works too.
        if not (self.accept("orderby") or (self.accept("order") and self._then("by"))):
            return ()
        orders = [self.order_item(entity)]
        while self.current.kind == "punct" and self.current.text == ",":
            self.advance()
            orders.append(self.order_item(entity))
        return tuple(orders)

    def _then(self, keyword: str) -> bool:
        self.expect(keyword)
        return True

    def order_item(self, entity: str) -> Order:
        prop = self.prop(entity)
        if self.accept("desc"):
            return Order(prop, descending=True)
        self.accept("asc")
        return Order(prop, descending=False)

    def paging(self) -> tuple[int, int]:
        """STARTPOSITION is 1-based; MAXRESULTS above 1000 is held to 1000."""
        start, max_results = 1, DEFAULT_MAX_RESULTS
        for _ in range(2):
            if self.accept("startposition"):
                start = max(self.integer(), 1)
            elif self.accept("maxresults"):
                max_results = min(max(self.integer(), 0), MAX_RESULTS_LIMIT)
        return start, max_results

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or not isinstance(token.value, int):
            raise self.unexpected("<INTEGER>")
        self.advance()
        return token.value


def spec_for_query(entity: str) -> None:
    """Entity names are case-sensitive in queries (reference/qbo.md §2.3)."""
    try:
        spec_for(entity)
    except errors.QboFault:
        raise errors.query_invalid(f"invalid entity name '{entity}'") from None
