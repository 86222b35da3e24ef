"""Snippets: where a query's words are in a field's text, and the window shown."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.search.interface import Query
from registry.search.query import parse
from registry.search.service import (
    SNIPPET_BEFORE,
    SNIPPET_WORDS,
    _window,
    highlights,
    merged,
)
from registry.search.terms import WORD, stem


def spans_by_every_word(text: str, query: Query) -> list[tuple[int, int]]:
    """The plain way: stem every word of the text, then look for each item's stems in
    consecutive words. What :func:`highlights` must agree with."""
    tokens = [(m.start(), m.end(), stem(m.group().lower())) for m in WORD.finditer(text)]
    found = []
    for group in query.required:
        for item in group:
            wanted = [stem(w.text) for w in getattr(item, "words", (item,))]
            for i in range(len(tokens) - len(wanted) + 1):
                if [t[2] for t in tokens[i : i + len(wanted)]] == wanted:
                    found.append((tokens[i][0], tokens[i + len(wanted) - 1][1]))
    return merged(found)


def marked(text: str, query: str) -> list[str]:
    return [text[s:e] for s, e in highlights(text, parse(query))]


def test_a_word_is_found_by_its_stem_in_any_case():
    text = "Frailty teams: FRAIL people, a frailty-first approach; unfrail."
    assert marked(text, "frailty") == ["Frailty", "frailty"]
    assert marked(text, "frail") == ["FRAIL"]


def test_finds_keep_their_place_after_a_letter_whose_lower_case_is_longer():
    # "İ" is two characters in lower case: offsets in a lower-cased copy would move.
    text = "İSTANBUL İzmir: Frailty teams"
    assert marked(text, "frailty") == ["Frailty"]
    assert marked(text, "izmir") == []  # "i̇zmir" in lower case: not the word izmir


def test_a_phrase_is_one_span_of_words_next_to_each_other():
    text = "Link workers help. Link, then workers. Link the workers."
    assert marked(text, '"link workers"') == ["Link workers"]
    assert marked(text, '"then workers"') == ["then workers"]


def test_words_inside_other_words_are_not_found():
    assert marked("prescribing subprescribing prescribingx", "prescribing") == ["prescribing"]


def test_overlapping_finds_merge():
    text = "social prescribing link workers"
    # Overlapping finds become one span; finds side by side stay two.
    assert marked(text, '"social prescribing" "prescribing link" workers') == [
        "social prescribing link",
        "workers",
    ]


def test_exclusions_are_not_highlighted():
    assert marked("frailty and falls", "frailty -falls") == ["frailty"]


VOCABULARY = ["frailty", "Frail", "FRAILTIES", "link", "workers", "worker", "Café", "the", "a"]
texts = st.lists(
    st.tuples(
        st.sampled_from(VOCABULARY) | st.text(min_size=1, max_size=6),
        st.sampled_from([" ", ", ", "-", "_", ". ", "\u2019", "\n"]),
    ),
    max_size=40,
).map(lambda parts: "".join(w + sep for w, sep in parts))
queries = st.sampled_from(
    ["frailty", "frail link", '"link workers"', '"frailty link" OR café', "worker -the", "a1 b"]
)


@settings(max_examples=300, deadline=None)
@given(texts, queries)
def test_highlights_agree_with_stemming_every_word(text, query):
    parsed = parse(query)
    assert highlights(text, parsed) == spans_by_every_word(text, parsed)


def window_by_every_word(text: str, found: list[tuple[int, int]]) -> tuple[int, int]:
    """The plain way: every word of the text, then the window's words counted from the
    first find. What :func:`_window` must agree with."""
    tokens = [m.span() for m in WORD.finditer(text)]
    first = next(i for i, t in enumerate(tokens) if t[1] > found[0][0])
    lo = max(0, first - SNIPPET_BEFORE)
    hi = min(len(tokens), lo + SNIPPET_WORDS)
    start = 0 if lo == 0 else tokens[lo][0]
    end = len(text) if hi == len(tokens) else tokens[hi - 1][1]
    return start, end


long_texts = st.lists(
    st.tuples(
        # Long words too: the window looks back a few hundred characters at first.
        st.sampled_from(VOCABULARY)
        | st.text(min_size=1, max_size=60)
        | st.text(alphabet="ab", min_size=25, max_size=40),
        st.sampled_from([" ", ", ", "-", "_", ". ", "\u2019", "\n", " \u2014 "]),
    ),
    max_size=400,
).map(lambda parts: "".join(w + sep for w, sep in parts))


@settings(max_examples=300, deadline=None)
@given(long_texts, queries)
def test_the_window_agrees_with_counting_every_word(text, query):
    found = highlights(text, parse(query))
    if not found:
        return
    snippet = _window("body", text, found)
    assert (snippet.text, snippet.highlights) == _expected(text, parse(query))


def test_the_window_starts_a_few_words_before_the_first_find():
    text = (
        " ".join(f"w{i}" for i in range(100)) + " frailty " + " ".join("x" * 3 for _ in range(50))
    )
    found = highlights(text, parse("frailty"))
    snippet = _window("body", text, found)
    assert snippet.text.startswith("… w92 w93")
    assert snippet.text.endswith(" …")
    ((start, end),) = snippet.highlights
    assert snippet.text[start:end] == "frailty"
    assert len(WORD.findall(snippet.text)) == SNIPPET_WORDS
    assert (snippet.text, snippet.highlights) == _expected(text, parse("frailty"))


def test_the_window_counts_back_over_long_words():
    # 16 characters a word with its space: the first look back (16 characters a word
    # wanted) holds exactly the eight words before the find, and there are more before.
    words = [f"w{i:02d}" + "a" * 12 for i in range(20)]
    text = " ".join(words) + " frailty and the rest"
    snippet = _window("body", text, highlights(text, parse("frailty")))
    assert snippet.text.startswith(f"… {words[12]} ")
    assert (snippet.text, snippet.highlights) == _expected(text, parse("frailty"))


def _expected(text: str, query: Query) -> tuple[str, tuple[tuple[int, int], ...]]:
    found = highlights(text, query)
    start, end = window_by_every_word(text, found)
    prefix = "… " if start > 0 else ""
    shift = len(prefix) - start
    marks = tuple((s + shift, e + shift) for s, e in found if s >= start and e <= end)
    return prefix + text[start:end] + (" …" if end < len(text) else ""), marks
