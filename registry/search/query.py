"""Our query language, parsed here: the engines never see the user's text.

- words: unicode letters and digits; any other character separates them;
- "quoted phrases": the words in this order (a quote left open closes at the end);
- exclusions: ``-word`` or ``-"a phrase"``, the minus at the start or after a space;
- ``OR`` (upper case) between two items that are not exclusions: either will do
  (anywhere else it is the word "or").

Everything else (NEAR, ``col:``, ``*``, ``^``, parentheses, SQL, control characters)
only separates words. Any text parses, or is refused with a :class:`QueryError`
saying why (too long, too many items, only exclusions).
"""

from __future__ import annotations

import re

from registry.search.interface import Item, Phrase, Query, Word
from registry.search.terms import STOP_WORDS, words

MAX_LENGTH = 500
MAX_ITEMS = 32

# An optional minus (at the start or after white space), then a phrase or a word.
_TOKEN = re.compile(r'(?P<minus>(?<!\S)-)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\W_]+))')


class QueryError(ValueError):
    """The query cannot be run as written; the message says why."""


def parse(text: str) -> Query:
    """The query in ``text``. An empty query (nothing but separators) has no items: a
    browse. Raises :class:`QueryError` for more than :data:`MAX_LENGTH` characters or
    :data:`MAX_ITEMS` items, or a query of only exclusions."""
    if len(text) > MAX_LENGTH:
        raise QueryError(f"A query has at most {MAX_LENGTH} characters.")
    tokens = [
        (t["minus"], _item(t["word"] or t["phrase"] or ""), t["word"] == "OR")
        for t in _TOKEN.finditer(text)
    ]
    tokens = [t for t in tokens if t[1] is not None]  # "" or a phrase of separators
    required: list[list[Item]] = []
    excluded: list[Item] = []
    join = False  # the last token was an OR between two items
    for i, (minus, item, upper_or) in enumerate(tokens):
        if minus:
            excluded.append(item)
        elif upper_or and 0 < i < len(tokens) - 1 and _joins(tokens[i - 1], tokens[i + 1]):
            join = True
            continue
        elif join:
            required[-1].append(item)
        else:
            required.append([item])
        join = False
    if len(excluded) + sum(len(group) for group in required) > MAX_ITEMS:
        raise QueryError(f"A query has at most {MAX_ITEMS} words, phrases and exclusions.")
    if excluded and not required:
        raise QueryError("Say what to find: a query of only exclusions finds nothing.")
    return Query(tuple(tuple(group) for group in required), tuple(excluded))


def _joins(before, after) -> bool:
    # OR is an operator between two items that are neither exclusions nor OR themselves;
    # anywhere else it is the word "or".
    return not before[0] and not before[2] and not after[0] and not after[2]


def _item(text: str) -> Item | None:
    found = words(text)
    if not found:
        return None
    if len(found) == 1:
        return Word(found[0])
    return Phrase(tuple(Word(w) for w in found))


def without_stop_words(query: Query) -> Query:
    """``query`` without the common words every backend leaves out ("the", "of"): alone,
    they would match nearly everything. Phrases keep them, unless made only of them."""

    def kept(item: Item) -> bool:
        if isinstance(item, Word):
            return item.text not in STOP_WORDS
        return any(w.text not in STOP_WORDS for w in item.words)

    groups = (tuple(i for i in group if kept(i)) for group in query.required)
    return Query(tuple(g for g in groups if g), tuple(i for i in query.excluded if kept(i)))


def render(query: Query) -> str:
    """``query`` written in the query language, as a user could type it."""

    def item(it: Item) -> str:
        if isinstance(it, Word):
            return it.text
        return '"' + " ".join(w.text for w in it.words) + '"'

    parts = [" OR ".join(item(i) for i in group) for group in query.required]
    parts += ["-" + item(i) for i in query.excluded]
    return " ".join(parts)
