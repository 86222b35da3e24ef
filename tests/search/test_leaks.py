"""Search never tells anyone what they may not read (issue 5).

Each case plants a made-up marker word in the body, or in the title and summary, of an
idea of one origin and sensitivity, then searches as every persona of the access policy's
golden table (tests/access/test_policy.py) and as a grantee. Whoever may read the fields
finds the idea by its marker, so the tests can fail; for everyone else each answer the
hidden fields could change (hits, total, facets, snippets, the suggestion for a
misspelling) is the same as before the idea existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.access.test_policy import (
    ADAM,
    ANONYMOUS,
    CAROL,
    FRAN,
    GOLDEN,
    GRANTEE,
    PAT,
    PERSONAS,
    QUINN,
    SENSITIVITIES,
)
from tests.ip.checks import error_body
from tests.search.probes import PAGE_KEYS, SEARCH, headers_for, ids, search, typo, word

FIELDS = ("title", "summary", "body")
ABSTRACT = frozenset({"title", "summary"})
# Where a case plants its marker: both fields of the abstract at once (a leak through
# either shows), or the body.
PLANTED = {"abstract": ("title", "summary"), "body": ("body",)}
# The fields a search may match, by what the reader sees of the idea (the golden table's
# words): a grantee matches a shared idea on its abstract only, since the body a grant
# opens is read one idea at a time, on the record.
MATCHED = {
    "owner": frozenset(FIELDS),
    "full": frozenset(FIELDS),
    "abstract": ABSTRACT,
    "grantee": ABSTRACT,
    "registration": frozenset(),
    "none": frozenset(),
}
OWNER = {"provider": PAT, "forum": FRAN}
PER_PAGE = 100  # every hit on one page: the comparisons see them all


@dataclass(frozen=True)
class Searcher:
    persona: str | None
    granted: bool = False  # the idea was shared with them by a grant

    def __str__(self) -> str:
        name = self.persona or "anonymous"
        return f"{name} (grantee)" if self.granted else name

    def sees(self, origin: str, sensitivity: str) -> str:
        column = SENSITIVITIES.index(sensitivity)
        if self.granted:
            return GRANTEE[column]
        return GOLDEN[origin][self.persona][column]


def _submit(make_idea, directory, origin: str, **fields) -> dict:
    if origin == "forum":
        group = directory["general-practice"]
        return make_idea(by=FRAN, origin="forum", group=group, **fields)
    return make_idea(by=PAT, **fields)


def _filler(count: int) -> list[str]:
    return [word() for _ in range(count)]


def _background(make_idea, common: str) -> list[dict]:
    """Ideas everyone who searches may find by ``common``: public ones holding it once,
    twice and three times in summaries of equal length (so adding another idea to the
    collection cannot reorder them by length), and an alliance one."""
    made = []
    for times, sensitivity in ((1, "public"), (2, "public"), (3, "public"), (2, "alliance")):
        summary = " ".join([common] * times + _filler(8 - times))
        made.append(
            make_idea(
                by=QUINN,
                title=f"Background {word()}",
                summary=summary,
                body=" ".join(_filler(6)),
                tags=["background"],
                sensitivity=sensitivity,
            )
        )
    return made


def _queries(marker: str, common: str, tag: str) -> dict[str, dict]:
    return {
        "marker": {"q": marker},
        "misspelt": {"q": typo(marker)},
        "common": {"q": common, "sort": "relevance"},
        "phrase": {"q": f'"{marker} {common}" OR {common}'},
        "browse": {"q": ""},
        "tag": {"tag": tag},
    }


def _answers(client, auth, persona: str | None, queries: dict[str, dict]) -> dict[str, dict]:
    headers = headers_for(auth, persona)
    return {
        name: search(client, headers, per_page=PER_PAGE, **params)
        for name, params in queries.items()
    }


def _same(after: dict, before: dict, what: str) -> None:
    """Assert two pages are alike member by member, naming the first that differs."""
    for key in sorted(PAGE_KEYS):
        assert after[key] == before[key], f"{what}: {key} changed"


def _check(client, auth, searcher: Searcher, case: dict, before: dict) -> None:
    origin, sensitivity, field = case["origin"], case["sensitivity"], case["field"]
    seen = searcher.sees(origin, sensitivity)
    who = f"{searcher} on a {sensitivity} {origin} idea with the marker in its {field}"
    after = _answers(client, auth, searcher.persona, case["queries"])
    idea, marker = case["idea"]["id"], case["marker"]

    if set(PLANTED[field]) <= MATCHED[seen]:
        # The reader of the field finds it: the comparisons below can fail.
        assert idea in ids(after["marker"]), who
        assert idea in ids(after["common"]), who
        return

    compared = ["marker", "misspelt", "common", "phrase"]
    if seen == "none":  # not even its existence: a browse is unchanged too
        compared.append("browse")
    if not MATCHED[seen]:  # who may not read its abstract learns nothing from its tags
        compared.append("tag")
    for name in compared:
        query = case["queries"][name]
        _same(after[name], before[searcher.persona][name], f"{who}, {query}")
        assert idea not in ids(after[name]), f"{who}, {query}"
    suggestion = after["misspelt"]["suggestion"] or ""
    assert marker not in suggestion, who


@pytest.mark.parametrize("field", sorted(PLANTED))
@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
@pytest.mark.parametrize("origin", ["provider", "forum"])
def test_a_word_only_a_hidden_field_holds_tells_nothing(
    client, auth, make_idea, directory, origin, sensitivity, field
):
    marker, common, tag = word(), word(), word()
    _background(make_idea, common)
    queries = _queries(marker, common, tag)
    before = {persona: _answers(client, auth, persona, queries) for persona in PERSONAS}

    content = {name: " ".join(_filler(5)) for name in FIELDS}
    for name in PLANTED[field]:
        content[name] = f"{content[name]} {marker} {common}"
    idea = _submit(make_idea, directory, origin, sensitivity=sensitivity, tags=[tag], **content)
    case = {
        "origin": origin,
        "sensitivity": sensitivity,
        "field": field,
        "idea": idea,
        "marker": marker,
        "queries": queries,
    }
    for persona in PERSONAS:
        _check(client, auth, Searcher(persona), case, before)

    # Shared with quinn by a grant: quinn now matches it on its abstract, never its body.
    response = client.post(
        f"/api/v1/ideas/{idea['id']}/grants", json={"person": QUINN}, headers=auth(OWNER[origin])
    )
    assert response.status_code == 201, response.json
    _check(client, auth, Searcher(QUINN, granted=True), case, before)


# -- the abstract of a commercial idea, and its snippets --------------------------------


@pytest.mark.parametrize("member", [QUINN, CAROL])
def test_members_find_a_commercial_idea_by_its_abstract_never_its_body(
    client, auth, make_idea, member
):
    shared, marker = word(), word()
    idea = make_idea(
        title=f"Frailty {shared} pathway",
        summary="A summary members may read.",
        body=f"The body also says {shared} and, once only, {marker}.",
        sensitivity="commercial",
    )
    headers = auth(member)

    found = search(client, headers, q=shared)
    assert ids(found) == [idea["id"]]
    snippet = found["items"][0]["snippet"]
    assert snippet is not None
    assert snippet["field"] in {"title", "summary", "tags"}, snippet
    assert marker not in snippet["text"]
    assert "body also says" not in snippet["text"]
    assert "body" not in found["items"][0]

    assert search(client, headers, q=marker)["total"] == 0
    assert search(client, headers, q=f"{shared} {marker}")["total"] == 0
    either = search(client, headers, q=f"{marker} OR {shared}")
    assert ids(either) == [idea["id"]]
    assert marker not in str(either)
    # The owner's side does find the body's word: the searches above could have found it.
    assert ids(search(client, auth(PAT), q=marker)) == [idea["id"]]


def test_a_grantee_finds_a_confidential_idea_by_its_abstract_never_its_body(
    client, auth, make_idea
):
    title_word, marker = word(), word()
    idea = make_idea(
        title=f"Confidential {title_word}",
        summary="Shared with Riverside only.",
        body=f"The sealed body holds {marker} and {title_word}.",
        sensitivity="confidential",
    )
    quinn = auth(QUINN)
    assert search(client, quinn, q=title_word)["total"] == 0  # not shared yet

    response = client.post(
        f"/api/v1/ideas/{idea['id']}/grants", json={"person": QUINN}, headers=auth(PAT)
    )
    assert response.status_code == 201, response.json
    found = search(client, quinn, q=title_word)
    assert ids(found) == [idea["id"]]
    snippet = found["items"][0]["snippet"]
    assert snippet is not None
    assert snippet["field"] in {"title", "summary", "tags"}, snippet
    assert marker not in str(found)
    assert search(client, quinn, q=marker)["total"] == 0
    assert ids(search(client, auth(PAT), q=marker)) == [idea["id"]]


def test_the_owners_snippet_shows_the_body_word_it_matched(client, auth, make_idea):
    """What the leak tests rule out for others, the owner's side gets: so those can fail."""
    marker = word()
    idea = make_idea(
        title="An idea with a marked body",
        summary="Nothing in here.",
        body=f"Only the body holds {marker}.",
        sensitivity="commercial",
    )
    found = search(client, auth(PAT), q=marker)
    assert ids(found) == [idea["id"]]
    snippet = found["items"][0]["snippet"]
    assert snippet["field"] == "body"
    assert [snippet["text"][s:e].lower() for s, e in snippet["highlights"]] == [marker]


# -- did you mean ---------------------------------------------------------------------


def test_did_you_mean_corrects_a_misspelt_word_the_reader_may_find(client, make_idea):
    marker = word()
    make_idea(by=QUINN, body=f"A public body that holds {marker}.", sensitivity="public")
    answer = search(client, None, q=typo(marker))
    assert answer["total"] == 0
    assert answer["suggestion"] == marker  # the suggestion works: the leak checks can fail


def test_did_you_mean_is_offered_only_if_the_correction_finds_ideas_under_the_filter(
    client, make_idea
):
    marker = word()
    make_idea(by=QUINN, body=f"A public provider idea holding {marker}.", sensitivity="public")
    answer = search(client, None, q=typo(marker), origin="forum")
    assert answer["suggestion"] is None


@pytest.mark.parametrize("sensitivity", ["commercial", "confidential"])
def test_did_you_mean_is_built_from_clear_text_only(client, auth, make_idea, sensitivity):
    """Even the owner is never offered a sealed word: a vocabulary to correct from would
    hold the sealed words in clear."""
    marker = word()
    idea = make_idea(body=f"The sealed body holds {marker}.", sensitivity=sensitivity)
    assert ids(search(client, auth(PAT), q=marker)) == [idea["id"]]
    answer = search(client, auth(PAT), q=typo(marker))
    assert marker not in (answer["suggestion"] or "")


# -- counts and ranking do not show a hidden idea ----------------------------------------


# (sensitivity of the hidden idea, who searches): the idea is unknown to the first, its
# body hidden from the second, wholly sealed and unknown to the third.
HIDDEN = [("alliance", ANONYMOUS), ("commercial", QUINN), ("confidential", QUINN)]


def _version(client, auth, idea: dict, body: str) -> None:
    content = {key: idea[key] for key in ("title", "summary", "tags", "sensitivity")}
    response = client.post(
        f"/api/v1/ideas/{idea['id']}/versions", json={**content, "body": body}, headers=auth(PAT)
    )
    assert response.status_code == 201, response.json


@pytest.mark.parametrize(("sensitivity", "searcher"), HIDDEN)
def test_visible_hits_rank_and_count_alike_whether_a_hidden_idea_holds_the_terms(
    client, auth, make_idea, sensitivity, searcher
):
    """Two worlds alike but for one thing: the latest version of a hidden idea holds the
    query's words or, at the same length, other words. The searcher sees the same page in
    both: same hits, same order by relevance, same total and facets.

    A score with statistics over the whole index would fail here: under FTS5's bm25, whose
    document frequencies count every row, the hidden idea's words swap the first and the
    second (checked against a bare FTS5 table with these numbers when this was written)."""
    a, b = word(), word()
    for _ in range(2):  # the collection's other ideas, holding neither word
        make_idea(by=QUINN, summary=" ".join(_filler(8)), sensitivity="public")
    # Summaries of equal length; the first holds a three times and b once, the second a
    # once and b twice, so each ranks first under some weighting of a against b.
    first = make_idea(by=QUINN, summary=" ".join([a, a, a, b, *_filler(4)]), sensitivity="public")
    second = make_idea(by=QUINN, summary=" ".join([a, b, b, *_filler(5)]), sensitivity="public")
    hidden = make_idea(body=" ".join(_filler(8)), sensitivity=sensitivity)
    headers = headers_for(auth, searcher)
    queries = [{"q": a}, {"q": b}, {"q": f"{a} {b}"}, {"q": f"{a} OR {b}"}]

    def pages() -> list[dict]:
        return [search(client, headers, sort="relevance", **query) for query in queries]

    without = pages()
    assert {frozenset(ids(page)) for page in without} == {frozenset({first["id"], second["id"]})}
    _version(client, auth, hidden, " ".join([a] * 6 + _filler(2)))
    assert hidden["id"] in ids(search(client, auth(PAT), q=a))  # the index holds it now
    for query, before, after in zip(queries, without, pages(), strict=True):
        _same(after, before, f"{searcher or 'anonymous'}, {query}")


def test_breaking_glass_opens_no_search(client, auth, make_idea):
    """An administrator may break glass to read one idea, never to search many."""
    marker = word()
    make_idea(body=f"The sealed body holds {marker}.", sensitivity="confidential")
    admin = auth(ADAM)
    for q in (marker, ""):
        plain = search(client, admin, q=q)
        response = client.get(
            SEARCH,
            query_string={"q": q},
            headers={**admin, "Break-Glass-Reason": "Investigating a complaint from a provider"},
        )
        if response.status_code == 200:
            assert response.json == plain, q
        else:
            assert 400 <= response.status_code < 500, q
            error_body(response, response.status_code)
        assert marker not in response.get_data(as_text=True)
