"""Searching through the API as the leak, hostile-query and marker-scan tests do: one
request, its response checked against the documented shape, and made-up words no
stemmer changes and no idea holds by chance."""

from __future__ import annotations

import secrets
import string

from flask.testing import FlaskClient

from tests.ip.checks import error_body

SEARCH = "/api/v1/search"
PAGE_KEYS = {"items", "total", "page", "per_page", "facets", "suggestion"}
FACETS = {"group", "owner", "origin", "tag"}
SNIPPET_KEYS = {"field", "text", "highlights"}


def word() -> str:
    """A made-up lower-case word: letters only, ending in a consonant no English suffix
    rule touches, so the stemmers of FTS5 and PostgreSQL keep it whole."""
    middle = "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    return f"zq{middle}x"


def typo(marker: str) -> str:
    """``marker`` with one letter changed in the middle: a near miss, one edit away."""
    index = len(marker) // 2
    replacement = "b" if marker[index] != "b" else "c"
    return marker[:index] + replacement + marker[index + 1 :]


def headers_for(auth, persona: str | None) -> dict[str, str]:
    return auth(persona) if persona else {}


def search(
    client: FlaskClient, headers: dict[str, str] | None = None, expect: int = 200, **params
) -> dict:
    """GET the search as the holder of ``headers`` and return the body, checked to be a
    page of the documented shape (or, for another ``expect``, an error in the one shape)."""
    response = client.get(SEARCH, query_string=params, headers=headers or {})
    if expect != 200:
        return error_body(response, expect)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    check_page(body)
    return body


def check_page(body: dict) -> None:
    """Assert ``body`` is a page of search results of the documented shape."""
    assert set(body) == PAGE_KEYS, body
    assert isinstance(body["total"], int)
    assert body["total"] >= len(body["items"])
    assert body["suggestion"] is None or isinstance(body["suggestion"], str)
    for name, counts in (body["facets"] or {}).items():
        assert name in FACETS, name
        for entry in counts:
            assert {"id", "count"} <= set(entry), (name, entry)
            assert isinstance(entry["count"], int)
    for item in body["items"]:
        snippet = item["snippet"]
        if snippet is None:
            continue
        assert set(snippet) == SNIPPET_KEYS, snippet
        for start, end in snippet["highlights"]:
            assert 0 <= start < end <= len(snippet["text"]), snippet


def ids(body: dict) -> list[str]:
    """The ids of the hits on the page, in order."""
    return [item["id"] for item in body["items"]]
