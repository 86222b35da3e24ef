"""Searching the register: hits, counts, facets, snippets and suggestions, all under the
searcher's access filter.

Each searcher matches an idea on one entry of the index (registry/search/interface.py):
the full one where the policy lets them read the body off the record (owners, group
members, members for alliance ideas, anyone for public ones), else the abstract where
they may read the abstract. The filter is part of the SQL of the one statement that
finds the page, the total and the facets, so none of them can count what the searcher
may not read. Snippets are made from the page shown only, from the fields the searcher
matched on, opened as the ideas list opens them; they are never stored. A "did you
mean" suggestion is offered only if it finds ideas under the same filter.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Executable,
    FromClause,
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from registry.access.policy import Action, IdeaColumns, visible
from registry.alliance.models import Group, Organisation
from registry.auth.principal import Principal
from registry.db import UTCDateTime, utcnow
from registry.ip.models import IdeaState, IdeaVersion, VersionTag
from registry.ip.services import AS_LISTED, IdeaRegister, Shown
from registry.search.indexer import Indexer
from registry.search.interface import Item, Matches, Phrase, Query, Scope, Word, shape
from registry.search.models import ROWS, SearchWord
from registry.search.query import render, without_stop_words
from registry.search.terms import STOP_WORDS, WORD, stem

FACETS = ("group", "owner", "origin", "tag")
TAG_FACETS = 50  # the most frequent tags; groups, owners and origins are few
SNIPPET_BEFORE, SNIPPET_WORDS = 8, 32  # words of context before the first hit, words shown
SNIPPET_ORDER = ("body", "summary", "title", "tags")  # the first field with a hit gives it
SUGGESTION_CANDIDATES = 50  # vocabulary words tried per misspelt word, nearest first
# The names of the bound parameters every search statement has (see Search._hits).
NOW, LIMIT, OFFSET = "now", "page_limit", "page_offset"
# Searchers x shapes of search. A kept statement holds about 110 KB (measured on
# SQLite): at most 14 MB a worker.
KEPT_STATEMENTS = 128
_KEPT: dict[Hashable, Executable] = {}
_KEEPING = threading.Lock()  # a threaded server's requests keep statements side by side
# A page's versions, loaded as the ideas list loads them.
_PAGE = (
    select(IdeaVersion)
    .join(IdeaVersion.idea)
    .options(*AS_LISTED)
    .where(IdeaVersion.id.in_(bindparam("versions", expanding=True)))
)


@dataclass(frozen=True)
class Snippet:
    """Some text of one field, and where the query's words are in it ([start, end))."""

    field: str
    text: str
    highlights: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Hit:
    shown: Shown  # the idea exactly as the ideas list shows it to this reader
    snippet: Snippet | None


@dataclass(frozen=True)
class Facet:
    id: str  # what to pass back as the filter
    name: str
    count: int


@dataclass(frozen=True)
class SearchPage:
    items: list[Hit]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[Facet]]  # empty when not asked for
    suggestion: str | None


class Search:
    """Finds ideas for a searcher. Reads only."""

    def __init__(self, session: Session, indexer: Indexer, register: IdeaRegister):
        self.session = session
        self.indexer = indexer
        self.register = register

    def find(self, principal: Principal, request: dict[str, Any]) -> SearchPage:
        """One page of the ideas ``principal`` finds with ``request`` (``q``, a parsed
        :class:`Query`, with the filters, sort and page of the search schema)."""
        query: Query = request["q"]
        page, per_page = request["page"], request["per_page"]
        sort = request.get("sort") or ("relevance" if query.required else "newest")
        effective = self._blind(without_stop_words(query))
        if query.required and not effective.required:  # only common words: nothing to find
            empty = {f: [] for f in FACETS} if request["facets"] else {}
            return SearchPage([], 0, page, per_page, empty, None)
        matches = self._matches(effective, "q")
        filters = _filter_values(request)
        facets = request["facets"]
        statement = _kept(
            (self.indexer.backend, principal, shape(effective), tuple(filters), sort, facets),
            lambda: self._summary(
                self._hits(principal, matches, filters).cte("hits").prefix_with("MATERIALIZED"),
                sort,
                facets,
            ),
        )
        parameters = {**_bound(filters, matches), LIMIT: per_page, OFFSET: (page - 1) * per_page}
        placed, total, counts = [], 0, {f: [] for f in FACETS}
        for kind, key, name, number in self.session.execute(statement, parameters):
            if kind == "page":
                placed.append((number, int(key), Scope(int(name))))
            elif kind == "total":
                total = number
            else:
                counts[kind].append(Facet(_id(kind, key), name, number))
        placed.sort()
        items = self._page([(v, s) for _, v, s in placed], principal, effective)
        suggestion = None
        if total == 0 and query.required:
            suggestion = self._suggestion(principal, query, filters)
        for kind in counts:
            counts[kind].sort(key=lambda f: (-f.count, f.name.lower(), f.id))
        return SearchPage(items, total, page, per_page, counts if facets else {}, suggestion)

    # -- the one query --------------------------------------------------------------

    def _matches(self, query: Query, name: str) -> Matches | None:
        if not query.required:  # a browse
            return None
        return self.indexer.backend.matches(self.session, query, name)

    def _hits(
        self, principal: Principal, matches: Matches | None, filters: dict[str, object]
    ) -> Select:
        """One row per idea the searcher finds: its latest version, the scope they match
        on, the score, and what the facets and the sort need; all read from the ideas'
        search rows (IndexedIdea, or the backend's copies in its entries: Matches.row),
        never from the register's own wide tables. Every value that changes from one
        search to the next is a bound parameter (``matches``' own, the filters' by their
        names in ``filters``, and the time, :data:`NOW`): the statement depends only on
        the searcher and the shape of the search."""
        row = ROWS if matches is None or matches.row is None else matches.row
        c = row.c
        idea = IdeaColumns(c.idea_id, c.origin, c.owner_id, c.group_id)
        now = bindparam(NOW, type_=UTCDateTime)
        full = visible(principal, c.sensitivity, Action.READ_BODY, now, recorded=False, idea=idea)
        abstract = visible(principal, c.sensitivity, Action.READ_ABSTRACT, now, idea=idea)
        columns = (c.version_id, c.idea_id, c.owner_id, c.group_id, c.origin, c.registered_at)
        if matches is None:  # a browse: every idea whose abstract they may read
            scope = case((full, int(Scope.FULL)), else_=int(Scope.ABSTRACT))
            found = select(*columns, scope.label("scope"), literal(0.0).label("score")).where(
                abstract
            )
        else:
            # The engine's match, the access filter and the score in one SELECT: the
            # score is computed only for the entries the searcher may match on.
            found = select(
                *columns, matches.scope.label("scope"), matches.score.label("score")
            ).select_from(matches.source)
            if matches.row is None:
                found = found.join(ROWS, ROWS.c.version_id == matches.version_id)
            found = found.where(
                matches.condition,
                # The one entry this searcher may match each idea on, never both.
                # Not "scope = CASE ...": PostgreSQL would make that a hash key and
                # decide access for every search row the filters leave, not only
                # for those the words match.
                case(
                    (full, matches.scope == int(Scope.FULL)),
                    (abstract, matches.scope == int(Scope.ABSTRACT)),
                    else_=false(),
                ),
            )
        return found.where(*_filters(filters, row))

    def _summary(self, hits: CTE, sort: str, facets: bool):
        """The page (:data:`LIMIT` rows from :data:`OFFSET`), the total and the facets of
        ``hits``, in one statement: rows of (kind, key, name, number)."""
        shown = (
            select(hits)
            .order_by(*_order(hits, sort))
            .limit(bindparam(LIMIT, type_=Integer))
            .offset(bindparam(OFFSET, type_=Integer))
            .subquery("shown")
        )
        # The page's own order, numbered: a UNION keeps no order of its parts.
        position = func.row_number().over(order_by=_order(shown, sort))
        parts = [
            select(
                literal_column("'page'"),
                cast(shown.c.version_id, String),
                cast(shown.c.scope, String),
                position,
            ),
            select(
                literal_column("'total'"), cast(null(), String), cast(null(), String), func.count()
            ).select_from(hits),
        ]
        if facets:
            count = func.count()
            parts += [
                select(literal_column("'group'"), cast(Group.id, String), Group.name, count)
                .select_from(hits.join(Group, Group.id == hits.c.group_id))
                .group_by(Group.id, Group.name),
                select(
                    literal_column("'owner'"),
                    cast(Organisation.id, String),
                    Organisation.name,
                    count,
                )
                .select_from(hits.join(Organisation, Organisation.id == hits.c.owner_id))
                .group_by(Organisation.id, Organisation.name),
                select(
                    literal_column("'origin'"),
                    cast(hits.c.origin, String),
                    cast(hits.c.origin, String),
                    count,
                ).group_by(hits.c.origin),
            ]
            # IN, not a join: SQLite would scan every tag, by the tag index, and probe hits.
            tags = (
                select(VersionTag.tag, count.label("n"))
                .where(VersionTag.version_id.in_(select(hits.c.version_id)))
                .group_by(VersionTag.tag)
                .order_by(count.desc(), VersionTag.tag)
                .limit(TAG_FACETS)
                .subquery("tags")
            )
            parts.append(select(literal_column("'tag'"), tags.c.tag, tags.c.tag, tags.c.n))
        return union_all(*parts)

    # -- the page ----------------------------------------------------------------

    def _page(
        self, placed: list[tuple[int, Scope]], principal: Principal, query: Query
    ) -> list[Hit]:
        if not placed:
            return []
        loaded = self.session.scalars(_PAGE, {"versions": [v for v, _ in placed]})
        found = {v.id: v for v in loaded}
        versions = [found[version_id] for version_id, _ in placed]
        shown = self.register.listed(principal, versions)
        return [
            Hit(item, _snippet(item, scope, query) if query.required else None)
            for item, (_, scope) in zip(shown, placed, strict=True)
        ]

    # -- did you mean ------------------------------------------------------------

    def _suggestion(
        self, principal: Principal, query: Query, filters: dict[str, object]
    ) -> str | None:
        """``query`` with each word that finds nothing replaced by the nearest word of the
        vocabulary that finds ideas this searcher may read, if the whole corrected query
        then finds some. Which candidates find something is decided under the searcher's
        filter, so a suggestion never depends on text they may not read."""
        asked = sorted(
            {w.text for group in query.required for i in group for w in _words(i)} - STOP_WORDS
        )
        tried = {w: [w, *self._nearest(w)] for w in asked}
        finding = self._finding(principal, {c for cs in tried.values() for c in cs}, filters)
        better = {}
        for word, candidates in tried.items():
            if word not in finding:
                best = next((c for c in candidates[1:] if c in finding), None)
                if best is not None:
                    better[word] = best
        if not better:
            return None
        corrected = _replace(query, better)
        matches = self._matches(self._blind(without_stop_words(corrected)), "q")
        if matches is None:
            return None
        hits = self._hits(principal, matches, filters).subquery()
        found = select(exists(select(hits.c.version_id)))
        if not self.session.scalar(found, _bound(filters, matches)):
            return None
        return render(corrected)

    def _nearest(self, word: str) -> list[str]:
        """Vocabulary words within edit distance 1 (words up to 4 letters) or 2, sharing
        the first letter, nearest first."""
        limit = 1 if len(word) <= 4 else 2
        first = word[0]
        candidates = self.session.scalars(
            select(SearchWord.word).where(
                SearchWord.word >= first,
                SearchWord.word < chr(ord(first) + 1),
                func.length(SearchWord.word).between(len(word) - limit, len(word) + limit),
                SearchWord.word != word,
            )
        )
        near = [(d, c) for c in candidates if (d := distance(word, c, limit)) <= limit]
        return [c for _, c in sorted(near)[:SUGGESTION_CANDIDATES]]

    def _finding(
        self, principal: Principal, candidates: Iterable[str], filters: dict[str, object]
    ) -> set[str]:
        """Which of ``candidates``, searched alone with the request's filters, find ideas
        this searcher may read: in one statement."""
        checks, each = [], []
        for number, word in enumerate(sorted(candidates)):
            matches = self._matches(self._blind(Query(((Word(word),),))), f"word{number}")
            each.append(matches)
            hits = self._hits(principal, matches, filters).subquery()
            checks.append(select(literal(word, String)).where(exists(select(hits.c.version_id))))
        if not checks:
            return set()
        return set(self.session.scalars(union_all(*checks), _bound(filters, *each)))

    # -- helpers ---------------------------------------------------------------------

    def _blind(self, query: Query) -> Query:
        key = self.indexer.key

        def blind(item: Item) -> Item:
            if isinstance(item, Word):
                return replace(item, blind=key.term(item.text))
            return Phrase(tuple(replace(w, blind=key.term(w.text)) for w in item.words))

        return Query(
            tuple(tuple(blind(i) for i in group) for group in query.required),
            tuple(blind(i) for i in query.excluded),
        )


def _filter_values(request: dict[str, Any]) -> dict[str, object]:
    """The request's filters, by the names of their bound parameters: which names are
    there decides the filters' SQL (:func:`_filters`), their values are passed to it."""
    values: dict[str, object] = {}
    if not request["include_withdrawn"]:
        values["state"] = IdeaState.ACTIVE
    for name in ("owner", "origin", "group", "sensitivity", "submitted_after", "submitted_before"):
        if request.get(name) is not None:
            values[name] = request[name]
    for number, tag in enumerate(request.get("tag") or ()):
        values[f"tag{number}"] = tag
    return values


def _filters(values: dict[str, object], row: FromClause) -> list[ColumnElement]:
    """The SQL of the filters named in ``values`` (:func:`_filter_values`), on the search
    rows' columns in ``row``, each value a bound parameter of that name."""
    c = row.c
    compared = {
        "state": c.state,
        "owner": c.owner_id,
        "origin": c.origin,
        "group": c.group_id,
        "sensitivity": c.sensitivity,
    }
    conditions = []
    for name in values:
        if name in compared:
            column = compared[name]
            conditions.append(column == bindparam(name, type_=column.type))
        elif name == "submitted_after":
            conditions.append(c.registered_at >= bindparam(name, type_=UTCDateTime))
        elif name == "submitted_before":
            conditions.append(c.registered_at < bindparam(name, type_=UTCDateTime))
        else:  # tag0, tag1, ...
            conditions.append(
                exists().where(
                    VersionTag.version_id == c.version_id,
                    VersionTag.tag == bindparam(name, type_=VersionTag.tag.type),
                )
            )
    return conditions


def _bound(filters: dict[str, object], *matches: Matches | None) -> dict[str, object]:
    """The values of a search statement's bound parameters: the filters', the matches'
    and the time grants are checked at, now."""
    bound = {**filters, NOW: utcnow()}
    for each in matches:
        if each is not None:
            bound.update(each.parameters)
    return bound


def _kept(key: Hashable, build: Callable[[], Executable]) -> Executable:
    """The statement kept under ``key``, built by ``build`` the first time. Building a
    search's statement takes about 5 ms of Python whatever the register's size (a third
    of the SQL's time at 100,000 ideas); what it depends on is few (the searcher, the
    shape of the query and of its filters, the sort), the rest is parameters. At most
    :data:`KEPT_STATEMENTS` are kept, the oldest dropped first."""
    statement = _KEPT.get(key)
    if statement is None:
        statement = build()
        with _KEEPING:
            while len(_KEPT) >= KEPT_STATEMENTS:
                del _KEPT[next(iter(_KEPT))]
            _KEPT[key] = statement
    return statement


def _order(hits, sort: str) -> tuple[ColumnElement, ...]:
    # The idea's id last: a stable order for ideas registered at the same time.
    return {
        "relevance": (hits.c.score.desc(), hits.c.registered_at.desc(), hits.c.idea_id),
        "newest": (hits.c.registered_at.desc(), hits.c.idea_id),
        "oldest": (hits.c.registered_at.asc(), hits.c.idea_id),
    }[sort]


def _id(kind: str, key: str) -> str:
    return str(uuid.UUID(key)) if kind in {"group", "owner"} else key


def _words(item: Item) -> tuple[Word, ...]:
    return (item,) if isinstance(item, Word) else item.words


def _replace(query: Query, better: dict[str, str]) -> Query:
    def fix(item: Item) -> Item:
        if isinstance(item, Word):
            return Word(better.get(item.text, item.text))
        return Phrase(tuple(Word(better.get(w.text, w.text)) for w in item.words))

    return Query(tuple(tuple(fix(i) for i in group) for group in query.required), query.excluded)


def _snippet(shown: Shown, scope: Scope, query: Query) -> Snippet | None:
    """Where the query's words are, in the first field (``SNIPPET_ORDER``) of the matched
    scope that has them. A body snippet only from the full scope."""
    version = shown.version
    for field in SNIPPET_ORDER:
        if field == "body" and scope is not Scope.FULL:
            continue
        text = ", ".join(version.tags) if field == "tags" else getattr(version, field)
        if not text:  # sealed and not opened for this reader, or shredded
            continue
        found = highlights(text, query)
        if found:
            return _window(field, text, found)
    return None


def highlights(text: str, query: Query) -> list[tuple[int, int]]:
    """Where the query's words and phrases (not its exclusions) are in ``text``: spans
    of words with the same stem as a query word, phrases as one span."""
    items = [[stem(w.text) for w in _words(i)] for group in query.required for i in group]
    # A word's stem differs from it at most in its last letter ("frailty", "frailti"):
    # only words that start like a wanted stem are stemmed, found by one regex pass.
    starts = frozenset(s[:-1] for wanted in items for s in wanted)
    prefixes = tuple(starts)
    # Scanned in lower case, where a letter's offset is the text's unless some letter's
    # lower case is longer ("İ"): then the text itself, ignoring case (slower).
    lowered = text.lower()
    scan, flags = (lowered, 0) if len(lowered) == len(text) else (text, re.IGNORECASE)
    candidates = []
    for match in _candidates(starts, flags).finditer(scan):
        start = match.start()
        if start and scan[start - 1].isalnum():  # inside a word, not at its start
            continue
        word = match.group().lower()
        candidates.append((start, match.end(), stem(word) if word.startswith(prefixes) else None))
    found = []
    for wanted in items:
        for i in range(len(candidates) - len(wanted) + 1):
            run = candidates[i : i + len(wanted)]
            if [c[2] for c in run] == wanted and all(
                WORD.search(text, a[1], b[0]) is None for a, b in pairwise(run)
            ):  # next to each other: no other word between
                found.append((run[0][0], run[-1][1]))
    return merged(found)


def merged(found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``found`` in order, overlapping spans joined into one."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


@lru_cache(maxsize=1024)
def _candidates(starts: frozenset[str], flags: int) -> re.Pattern:
    """Runs of letters and digits that begin with one of ``starts``, up to the end of
    their word, wherever they begin: the caller keeps those at a word's start. Every
    word when one of ``starts`` is empty. The prefixes come first so that the regex
    engine skips to where they occur: asking at each letter whether a word starts there
    took three times as long."""
    if "" in starts:
        return re.compile(r"[^\W_]+", flags)
    ahead = "|".join(re.escape(s) for s in sorted(starts, key=len, reverse=True))
    return re.compile(rf"(?:{ahead})[^\W_]*", flags)


def _window(field: str, text: str, found: list[tuple[int, int]]) -> Snippet:
    """``SNIPPET_WORDS`` words of ``text`` from ``SNIPPET_BEFORE`` words before the first
    find, with the finds inside them. Reads the text around the find only: the find may
    be deep in a long body."""
    hit = found[0][0]  # the start of a word
    before, more_before = _words_before(text, hit, SNIPPET_BEFORE)
    start = before[0][0] if more_before else 0
    after = _words_from(SNIPPET_WORDS - len(before)).match(text, hit).end()
    end = after if WORD.search(text, after) else len(text)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix) - start
    marks = tuple((s + shift, e + shift) for s, e in found if s >= start and e <= end)
    return Snippet(field, prefix + text[start:end] + suffix, marks)


@lru_cache(maxsize=SNIPPET_BEFORE + 1)
def _words_from(count: int) -> re.Pattern:
    """Up to ``count`` words, matched at a word's start: its end is the last word's."""
    return re.compile(rf"[^\W_]+(?:[\W_]+[^\W_]+){{0,{count - 1}}}")


def _words_before(text: str, end: int, count: int) -> tuple[list[tuple[int, int]], bool]:
    """The spans of the last ``count`` words before ``end`` (a word's start, or the end
    of the text), and whether other words come before them."""
    reach = 16 * count
    while True:
        begin = max(0, end - reach)
        spans = [match.span() for match in WORD.finditer(text, begin, end)]
        # From the text's start, every word is whole; else one more than wanted is
        # enough: only the first can be cut in two.
        if begin == 0 or len(spans) > count:
            return spans[max(0, len(spans) - count) :], len(spans) > count
        reach *= 4


def distance(a: str, b: str, limit: int) -> int:
    """The edit distance (insertions, deletions, substitutions, adjacent transpositions)
    between ``a`` and ``b``, or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1] if previous[-1] <= limit else limit + 1
