"""The contract every search backend meets, through GET /api/v1/search (run once per
backend: see conftest.py)."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from registry.db import db
from registry.search import service
from registry.search.interface import Item, Phrase, Query, Word
from registry.search.query import parse
from tests.search.conftest import ADAM, AUDREY, CAROL, FRAN, PAT, QUINN, ids


def word() -> str:
    """A made-up word no idea holds by chance, which no stemmer changes."""
    return "zq" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8)) + "x"


def filler(count: int) -> str:
    return " ".join(word() for _ in range(count))


@pytest.fixture
def public(make_idea):
    """A factory: a public idea of Riverside's, with made-up words where not given."""

    def make(**fields) -> dict:
        content = {
            "title": f"Idea {word()}",
            "summary": filler(6),
            "body": filler(12),
            "tags": [word()],
            "sensitivity": "public",
            **fields,
        }
        return make_idea(by=QUINN, **content)

    return make


# -- matching and relevance ---------------------------------------------------------------


@pytest.mark.parametrize("sensitivity", ["public", "commercial"])
def test_the_title_weighs_more_than_the_summary_the_tags_and_the_body(make_idea, find, sensitivity):
    term = word()
    for _ in range(10):  # others, without the term
        make_idea(summary=filler(6), body=filler(6), tags=[word()], sensitivity=sensitivity)
    made = {}
    for field in ("body", "tags", "summary", "title"):  # registered in the reverse order
        content = {
            "title": f"Idea {word()} {word()}",
            "summary": filler(6),
            "body": filler(6),
            "tags": [word()],
        }
        content[field] = [term] if field == "tags" else f"{content[field]} {term}"
        made[field] = make_idea(sensitivity=sensitivity, **content)["id"]
    page = find(PAT, q=term, sort="relevance")
    assert ids(page) == [made[f] for f in ("title", "summary", "tags", "body")]


def test_a_word_matches_its_other_forms(public, find):
    idea = public(summary="Practices refer patients to link workers.")
    assert ids(find(q="referred")) == ids(find(q="referring")) == [idea["id"]]


def test_every_word_is_required(public, find):
    a, b = word(), word()
    both = public(summary=f"{a} and {b}")
    public(summary=f"only {a}")
    assert ids(find(q=f"{a} {b}")) == [both["id"]]


def test_a_phrase_matches_its_words_next_to_each_other_in_order(public, find):
    a, b = word(), word()
    together = public(summary=f"the {a} {b} pathway")
    public(summary=f"{a} then {b}")
    public(summary=f"{b} {a}")
    assert ids(find(q=f'"{a} {b}"')) == [together["id"]]


def test_a_phrase_matches_in_a_sealed_field_for_who_may_read_it(make_idea, find):
    a, b = word(), word()
    together = make_idea(body=f"the {a} {b} pathway", sensitivity="commercial")
    make_idea(body=f"{b} {a}", sensitivity="commercial")
    assert ids(find(PAT, q=f'"{a} {b}"')) == [together["id"]]
    assert find(QUINN, q=f'"{a} {b}"')["total"] == 0


def test_exclusions_leave_out_ideas_holding_the_word_or_phrase(public, find):
    a, b, c = word(), word(), word()
    apart = public(summary=f"{a} {c} {b}")
    without = public(summary=f"{a} {c}")
    public(summary=f"{a} {b}")
    assert ids(find(q=f"{a} -{b}")) == [without["id"]]
    assert set(ids(find(q=f'{a} -"{a} {b}"'))) == {apart["id"], without["id"]}


def test_or_finds_either(public, find):
    a, b, c = word(), word(), word()
    first, second = public(summary=a), public(summary=b)
    public(summary=c)
    assert set(ids(find(q=f"{a} OR {b}"))) == {first["id"], second["id"]}
    assert set(ids(find(q=f'"{a}" OR {b} OR "{c} {a}"'))) == {first["id"], second["id"]}


def test_only_common_words_find_nothing_rather_than_everything(public, find):
    public(summary="The care of the frail")
    page = find(q="the of")
    assert (page["total"], page["items"], page["suggestion"]) == (0, [], None)


def test_an_empty_query_browses_newest_first(public, find):
    first, second = public(), public()
    page = find(None, q="")
    assert ids(page) == [second["id"], first["id"]]
    assert all(item["snippet"] is None for item in page["items"])


# -- who finds what ------------------------------------------------------------------


def test_a_sealed_body_word_is_found_by_the_owner_side_only(make_idea, find):
    term = word()
    idea = make_idea(body=f"The commercial body says {term}.", sensitivity="commercial")
    assert ids(find(PAT, q=term)) == [idea["id"]]
    assert ids(find(FRAN, q=term)) == [idea["id"]]  # also a Northside member
    for other in (QUINN, CAROL, AUDREY, ADAM, None):
        assert find(other, q=term)["total"] == 0, other


def test_a_confidential_title_is_sealed_too_and_found_by_its_owners(make_idea, find):
    term = word()
    idea = make_idea(title=f"Confidential {term}", sensitivity="confidential")
    assert ids(find(PAT, q=term)) == [idea["id"]]
    assert find(QUINN, q=term)["total"] == 0
    assert find(CAROL, q=term)["total"] == 0


def test_members_find_a_commercial_idea_by_its_abstract(make_idea, find):
    term = word()
    idea = make_idea(title=f"Frailty {term}", sensitivity="commercial")
    for member in (QUINN, CAROL):
        page = find(member, q=term)
        assert ids(page) == [idea["id"]]
        assert "body" not in page["items"][0]
    assert find(None, q=term)["total"] == 0


def test_forum_ideas_are_found_by_the_group_and_the_ccg(make_idea, find, directory):
    term = word()
    idea = make_idea(
        by=FRAN,
        origin="forum",
        group=directory["general-practice"],
        body=f"Evolved in the forum: {term}.",
        sensitivity="confidential",
    )
    assert ids(find(FRAN, q=term)) == [idea["id"]]
    assert ids(find(CAROL, q=term)) == [idea["id"]]  # the CCG owns forum ideas
    assert find(PAT, q=term)["total"] == 0  # Northside, not in the forum


def test_auditors_and_administrators_find_only_public_ideas(make_idea, public, find):
    term = word()
    shown = public(summary=term)
    make_idea(summary=term, sensitivity="alliance")
    for who in (AUDREY, ADAM):
        assert ids(find(who, q=term)) == [shown["id"]]
        assert ids(find(who, q="")) == [shown["id"]]


def test_a_grantee_finds_a_shared_idea_by_its_abstract_only(client, auth, make_idea, find):
    title, body = word(), word()
    idea = make_idea(title=f"Shared {title}", body=f"Body {body}", sensitivity="confidential")
    assert find(QUINN, q=title)["total"] == 0
    granted = client.post(
        f"/api/v1/ideas/{idea['id']}/grants", json={"person": QUINN}, headers=auth(PAT)
    )
    assert granted.status_code == 201, granted.json
    page = find(QUINN, q=title)
    assert ids(page) == [idea["id"]]
    assert "body" not in page["items"][0]
    assert page["items"][0]["snippet"]["field"] == "title"
    assert find(QUINN, q=body)["total"] == 0


def test_a_kept_statement_checks_grants_at_the_time_of_each_search(
    client, auth, make_idea, find, monkeypatch
):
    # The service keeps a statement per searcher and shape of search and runs it again:
    # the time grants are checked at must be each search's, not the first one's.
    title = word()
    idea = make_idea(title=f"Shared {title}", sensitivity="confidential")
    expires = datetime.now(UTC) + timedelta(hours=1)
    granted = client.post(
        f"/api/v1/ideas/{idea['id']}/grants",
        json={"person": QUINN, "expires_at": expires.isoformat()},
        headers=auth(PAT),
    )
    assert granted.status_code == 201, granted.json
    assert ids(find(QUINN, q=title)) == [idea["id"]]
    kept = len(service._KEPT)
    monkeypatch.setattr(service, "utcnow", lambda: expires + timedelta(seconds=1))
    assert find(QUINN, q=title)["total"] == 0
    assert len(service._KEPT) == kept  # the same statement ran


def test_a_kept_statement_finds_each_search_s_own_words(public, find):
    first, second = public(summary=word()), public(summary=word())
    for idea in (first, second, first):  # one shape: one statement, three runs
        assert ids(find(q=idea["summary"], origin="provider")) == [idea["id"]]


def test_a_backend_s_sql_depends_on_the_shape_of_a_query_not_its_words(app):
    indexer = app.extensions["registry.search"]

    def blind(item: Item) -> Item:
        if isinstance(item, Word):
            return Word(item.text, indexer.key.term(item.text))
        return Phrase(tuple(blind(w) for w in item.words))

    def compiled(text: str) -> tuple[str, dict]:
        parsed = parse(text)
        query = Query(
            tuple(tuple(blind(i) for i in group) for group in parsed.required),
            tuple(blind(i) for i in parsed.excluded),
        )
        found = indexer.backend.matches(db.session, query, "q")
        statement = select(found.version_id, found.scope, found.score).select_from(found.source)
        sql = statement.where(found.condition).compile(dialect=db.session.get_bind().dialect)
        return str(sql), dict(found.parameters)

    with app.app_context():
        one, one_values = compiled('frailty "care home" OR falls -hospital')
        other, other_values = compiled('diabetes "social prescribing" OR stroke -ward')
    assert one == other
    assert one_values.keys() == other_values.keys()
    assert all(name.startswith("q") for name in one_values)
    assert not any(w in one for w in ("frailty", "care", "falls", "hospital"))


def test_only_the_latest_version_is_found(client, auth, make_idea, find):
    old, new = word(), word()
    idea = make_idea(summary=f"first {old}", sensitivity="alliance")
    content = {"title": "Revised", "summary": f"second {new}", "body": "b", "tags": []}
    response = client.post(
        f"/api/v1/ideas/{idea['id']}/versions",
        json={**content, "sensitivity": "alliance"},
        headers=auth(PAT),
    )
    assert response.status_code == 201, response.json
    assert find(q=old)["total"] == 0
    page = find(q=new)
    assert ids(page) == [idea["id"]]
    assert page["items"][0]["version"] == 2


def test_withdrawn_ideas_are_found_only_when_asked_for(client, auth, public, find):
    term = word()
    idea = public(summary=term)
    response = client.post(
        f"/api/v1/ideas/{idea['id']}/withdraw", json={"reason": "Done."}, headers=auth(QUINN)
    )
    assert response.status_code == 200, response.json
    assert find(q=term)["total"] == 0
    assert ids(find(q=term, include_withdrawn="true")) == [idea["id"]]


def test_shredding_removes_the_sealed_words_for_everyone(client, auth, make_idea, find):
    title, body = word(), word()
    idea = make_idea(title=f"Shred {title}", body=f"Body {body}", sensitivity="commercial")
    assert ids(find(PAT, q=body)) == [idea["id"]]
    for step, payload in (("withdraw", {"reason": "Ended."}), ("shred", {})):
        response = client.post(
            f"/api/v1/ideas/{idea['id']}/{step}", json=payload, headers=auth(PAT)
        )
        assert response.status_code == 200, response.json
    assert find(PAT, q=body, include_withdrawn="true")["total"] == 0
    # The clear fields stay: the title is still found, as it is still read.
    page = find(PAT, q=title, include_withdrawn="true")
    assert ids(page) == [idea["id"]]
    assert page["items"][0]["shredded"] is True


# -- filters, facets, pages, sort -------------------------------------------------------


def test_filters(make_idea, public, find, directory):
    term, tag = word(), word()
    provider = public(summary=term, tags=[tag, "falls"])
    alliance = make_idea(summary=term, tags=[tag], sensitivity="alliance")
    forum = make_idea(
        by=FRAN, origin="forum", group=directory["general-practice"], summary=term,
        sensitivity="alliance",
    )  # fmt: skip
    riverside = directory["Riverside Community Care"]

    def found(**params) -> set[str]:
        return set(ids(find(PAT, q=term, **params)))

    assert found() == {provider["id"], alliance["id"], forum["id"]}
    assert found(owner=riverside) == {provider["id"]}
    assert found(origin="forum") == {forum["id"]}
    assert found(group=directory["general-practice"]) == {forum["id"]}
    assert found(sensitivity="alliance") == {alliance["id"], forum["id"]}
    assert found(tag=tag) == {provider["id"], alliance["id"]}
    assert found(tag=[tag, "falls"]) == {provider["id"]}  # every tag named
    registered = datetime.fromisoformat(alliance["registered_at"])
    assert found(submitted_after=registered.isoformat()) == {alliance["id"], forum["id"]}
    assert found(submitted_before=registered.isoformat()) == {provider["id"]}
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert found(submitted_after=later) == set()


def test_facets_count_every_idea_found_not_only_the_page(make_idea, public, find, directory):
    term, tag = word(), word()
    for _ in range(3):
        public(summary=term, tags=[tag])
    make_idea(summary=term, tags=[tag, "falls"], sensitivity="alliance")
    make_idea(
        by=FRAN, origin="forum", group=directory["general-practice"], summary=term, tags=[],
        sensitivity="alliance",
    )  # fmt: skip
    page = find(PAT, q=term, per_page=1)
    assert page["total"] == 5
    assert len(page["items"]) == 1
    facets = page["facets"]
    assert facets["origin"] == [
        {"id": "provider", "name": "provider", "count": 4},
        {"id": "forum", "name": "forum", "count": 1},
    ]
    owners = {f["name"]: (f["id"], f["count"]) for f in facets["owner"]}
    riverside, northside = "Riverside Community Care", "Northside GP Federation"
    assert owners[riverside] == (directory[riverside], 3)
    assert owners[northside] == (directory[northside], 1)
    assert len(owners) == 3  # and the CCG, owner of the forum idea
    assert facets["group"] == [
        {"id": directory["general-practice"], "name": "General Practice", "count": 1}
    ]
    assert facets["tag"] == [
        {"id": tag, "name": tag, "count": 4},
        {"id": "falls", "name": "falls", "count": 1},
    ]
    assert find(PAT, q=term, facets="false")["facets"] == {}


def test_facets_count_only_what_the_searcher_finds(make_idea, public, find):
    term = word()
    public(summary=term, tags=["shared"])
    make_idea(summary="x", body=f"sealed {term}", tags=["secret"], sensitivity="commercial")
    assert find(PAT, q=term)["total"] == 2
    page = find(QUINN, q=term)
    assert page["total"] == 1
    assert [f["id"] for f in page["facets"]["tag"]] == ["shared"]


def test_pages(public, find):
    term = word()
    made = [public(summary=term)["id"] for _ in range(5)]
    newest_first = list(reversed(made))
    pages = [find(q=term, sort="newest", per_page=2, page=n) for n in (1, 2, 3, 4)]
    assert [ids(p) for p in pages] == [newest_first[:2], newest_first[2:4], newest_first[4:], []]
    assert {(p["total"], p["page"], p["per_page"]) for p in pages[:1]} == {(5, 1, 2)}
    assert ids(find(q=term, sort="oldest", per_page=5)) == made


def test_relevance_needs_words_to_find(find):
    body = find(q="", sort="relevance", expect=422)
    assert "sort" in body["errors"]["query"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x", "unknown": "1"}, "unknown"),
        ({"q": "x", "per_page": "101"}, "per_page"),
        ({"q": "x", "page": "0"}, "page"),
        ({"q": "x", "sort": "random"}, "sort"),
        ({"q": "x", "tag": "no/slash"}, "tag"),
        ({"q": "x", "submitted_after": "2026-01-01T00:00:00"}, "submitted_after"),  # no offset
        ({"q": "x", "sensitivity": "secret"}, "sensitivity"),
        ({"q": "x" * 501}, "q"),
        ({"q": "-x"}, "q"),
    ],
)
def test_bad_parameters_are_422_naming_them(find, params, field):
    body = find(None, expect=422, **params)
    assert list(body["errors"]["query"]) == [field]


# -- snippets and suggestions ------------------------------------------------------


def test_snippets_highlight_the_words_found_in_the_field_shown(public, find):
    a, b = word(), word()
    before = " ".join(f"w{i}" for i in range(20))
    public(summary=f"A summary with {a}.", body=f"{before} Here {a.upper()} and {b} {a} end")
    (item,) = find(q=f"{a} OR {b}")["items"]
    snippet = item["snippet"]
    assert snippet["field"] == "body"  # the body first, where it is matched
    assert snippet["text"].startswith("… ")
    marked = [snippet["text"][s:e] for s, e in snippet["highlights"]]
    assert marked == [a.upper(), b, a]


def test_a_phrase_is_highlighted_whole(public, find):
    a, b = word(), word()
    public(summary=f"one {a} {b} two {b}")
    (item,) = find(q=f'"{a} {b}"')["items"]
    text = item["snippet"]["text"]
    assert [text[s:e] for s, e in item["snippet"]["highlights"]] == [f"{a} {b}"]


def test_a_sealed_body_gives_its_snippet_to_the_owner_side_only(make_idea, find):
    a = word()
    make_idea(title=f"Title {a}", body=f"The sealed body holds {a}.", sensitivity="commercial")
    owner = find(PAT, q=a)["items"][0]["snippet"]
    assert (owner["field"], owner["text"]) == ("body", f"The sealed body holds {a}.")
    member = find(QUINN, q=a)["items"][0]["snippet"]
    assert member["field"] == "title"


def test_did_you_mean_when_nothing_is_found(public, find):
    public(title="Frailty link workers", summary="Care homes.")
    page = find(None, q='fralty "care homs" -falls')
    assert page["total"] == 0
    assert page["suggestion"] == 'frailty "care homes" -falls'
    assert find(None, q=page["suggestion"])["total"] == 1
    assert find(None, q="frailty")["suggestion"] is None  # found: nothing to suggest


def test_did_you_mean_only_from_text_the_searcher_may_read(make_idea, find):
    term = word()
    make_idea(title=f"Commercial {term}", sensitivity="commercial")
    misspelt = term[:4] + ("e" if term[4] != "e" else "a") + term[5:]  # one letter other
    assert find(QUINN, q=misspelt)["suggestion"] == term  # a member reads the title
    assert find(None, q=misspelt)["suggestion"] is None  # the public does not
