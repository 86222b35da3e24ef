"""Words, stems and the blind index's key and terms."""

from __future__ import annotations

import re
import stat

import pytest

from registry import config as configuration
from registry.keyfiles import KeyFileError
from registry.search.terms import (
    ENV_KEY,
    KEY_FILE,
    SearchKey,
    SearchKeyError,
    ensure_search_key,
    stem,
    words,
)

KEY = SearchKey(bytes(range(32)))
BLIND = re.compile(r"^x[0-9a-f]{24}0$")


def test_words_are_runs_of_letters_and_digits_in_lower_case():
    assert words("Café naïve, co-op_42; ÉCOLE") == ["café", "naïve", "co", "op", "42", "école"]


def test_stems_are_snowball_english():
    assert [stem(w) for w in ("frailty", "frail", "running", "runs")] == [
        "frailti",
        "frail",
        "run",
        "run",
    ]


def test_a_blind_term_is_a_keyed_hash_of_the_stem_never_the_word():
    term = KEY.term("prescribing")
    assert BLIND.match(term)
    assert term == KEY.term("prescribe") == KEY.term("prescribed")  # one stem, one term
    assert term != KEY.term("prescription")
    assert term != SearchKey(bytes(32)).term("prescribing")  # another key, another term
    assert "prescrib" not in term


def test_blind_terms_keep_the_order_of_the_words():
    assert KEY.terms("Social prescribing, social care") == " ".join(
        KEY.term(w) for w in ("social", "prescribing", "social", "care")
    )


def test_the_key_is_never_in_its_repr():
    assert bytes(range(32)).hex() not in repr(KEY)
    assert "secret" not in repr(KEY)


def test_init_creates_the_key_file_once_with_mode_0600(tmp_path):
    assert ensure_search_key(tmp_path)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = SearchKey.load(tmp_path, {})
    assert not ensure_search_key(tmp_path)
    assert SearchKey.load(tmp_path, {}) == first
    assert len(first.secret) == 32


def test_a_key_file_others_can_read_is_refused(tmp_path):
    ensure_search_key(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(KeyFileError, match="accessible to other users"):
        SearchKey.load(tmp_path, {})


def test_a_missing_key_file_is_named(tmp_path):
    with pytest.raises(KeyFileError, match=r"search\.key is missing"):
        SearchKey.load(tmp_path, {})


def test_the_environment_may_hold_the_key_instead(tmp_path):
    key = SearchKey.load(tmp_path, {ENV_KEY: "ab" * 32})
    assert key.secret == bytes.fromhex("ab" * 32)


@pytest.mark.parametrize(
    ("value", "message"), [("zz" * 32, "not hexadecimal"), ("ab" * 16, "not a 256-bit key")]
)
def test_a_malformed_key_in_the_environment_stops_the_start(tmp_path, value, message):
    with pytest.raises(SearchKeyError, match=message):
        SearchKey.load(tmp_path, {ENV_KEY: value})


def test_the_backend_follows_the_database_unless_configured(tmp_path):
    def backend(environ):
        overrides = {"INSTANCE_PATH": str(tmp_path), "OIDC_ISSUERS": []}
        return configuration.load(overrides, environ)["SEARCH_BACKEND"]

    assert backend({}) == "sqlite"
    postgres = {"REGISTRY_DATABASE_URL": "postgresql://u@h/db"}
    assert backend(postgres) == "postgresql"
    assert backend({**postgres, "REGISTRY_SEARCH_BACKEND": "postgresql"}) == "postgresql"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"REGISTRY_SEARCH_BACKEND": "elasticsearch"}, "unknown search backend 'elasticsearch'"),
        ({"REGISTRY_SEARCH_BACKEND": "postgresql"}, "needs a postgresql database"),
        (
            {"REGISTRY_DATABASE_URL": "postgresql://u@h/db", "REGISTRY_SEARCH_BACKEND": "sqlite"},
            "needs a sqlite database",
        ),
    ],
)
def test_a_backend_that_cannot_serve_the_database_stops_the_start(tmp_path, environ, message):
    with pytest.raises(configuration.ConfigError, match=message):
        configuration.load({"INSTANCE_PATH": str(tmp_path), "OIDC_ISSUERS": []}, environ)
