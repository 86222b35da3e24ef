"""Words, stems and blind terms: how text becomes what the index holds.

A field the version's sensitivity seals is indexed not as words but as blind terms:
each word is lower-cased, stemmed (Snowball English) and keyed-hashed with the search
key (HMAC-SHA256, truncated), so the index holds no word of it. Phrases still work
because the blind terms keep the words' order. The key never enters the database.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import Stemmer

from registry.keyfiles import KeyFileError, read_secret, write_secret

# Unicode letters and digits; every other character separates words.
WORD = re.compile(r"[^\W_]+")
KEY_FILE = "search.key"
ENV_KEY = "REGISTRY_SEARCH_KEY"
KEY_BYTES = 32
BLIND_BYTES = 12
# A blind term is "x", 24 hex digits and "0": one token for every engine's tokenizer,
# not a word anyone writes, so it is never mistaken for one, and ending in a digit, so
# no stemmer's suffix rule changes it (FTS5's porter drops a final "e": "x...e").
BLIND_PREFIX = "x"
BLIND_SUFFIX = "0"
_DOMAIN = b"registry-search-term/v1|"

# PostgreSQL's English stop words (tsearch_data/english.stop, from Snowball). A query
# word in this list is left out on every backend, as PostgreSQL's 'english'
# configuration would, so that "the" neither fails nor matches everything.
_ENGLISH_STOP = """i me my myself we our ours ourselves you your yours yourself yourselves he
    him his himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now"""
STOP_WORDS = frozenset(_ENGLISH_STOP.split())


def words(text: str) -> list[str]:
    """The words of ``text``, lower-case, in order."""
    return [match.group().lower() for match in WORD.finditer(text)]


_local = threading.local()


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Snowball English stem of a lower-case word (PyStemmer: Snowball's C library;
    the pure-Python port took 36 µs a word to its 1.8)."""
    # A Snowball stemmer keeps state while it works: one per thread.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        # No cache of its own (10,000 words by default): the lru_cache above is the one.
        stemmer = _local.stemmer = Stemmer.Stemmer("english", maxCacheSize=0)
    return stemmer.stemWord(word)


class SearchKeyError(RuntimeError):
    """The search key is missing or malformed: the service must not start."""


@dataclass(frozen=True, repr=False)
class SearchKey:
    """The key of the blind index. ``repr`` leaves it out, so it is never logged."""

    secret: bytes

    def __post_init__(self) -> None:
        keyed = hmac.new(self.secret, _DOMAIN, hashlib.sha256)

        @lru_cache(maxsize=65_536)  # the same words come back in every text
        def term(word: str) -> str:
            digest = keyed.copy()
            digest.update(stem(word).encode())
            return BLIND_PREFIX + digest.hexdigest()[: 2 * BLIND_BYTES] + BLIND_SUFFIX

        object.__setattr__(self, "_term", term)

    def term(self, word: str) -> str:
        """The blind term of a lower-case word: a keyed hash of its stem."""
        return self._term(word)

    def terms(self, text: str) -> str:
        """``text`` as blind terms, in the order of its words, separated by spaces."""
        return " ".join(self.term(word) for word in words(text))

    @classmethod
    def load(cls, instance: Path, environ: Mapping[str, str] | None = None) -> SearchKey:
        """The key from ``REGISTRY_SEARCH_KEY`` (64 hex digits) if set, else from the file
        ``search.key`` in the instance folder.

        Raises :class:`SearchKeyError` for a malformed key and ``KeyFileError`` for a
        missing key file or one that others can read.
        """
        environ = os.environ if environ is None else environ
        if environ.get(ENV_KEY):
            return cls(_decode(environ[ENV_KEY], ENV_KEY))
        return cls(_decode(read_secret(instance / KEY_FILE).decode(), str(instance / KEY_FILE)))


def _decode(text: str, where: str) -> bytes:
    try:
        secret = binascii.unhexlify(text.strip())
    except (binascii.Error, ValueError):
        raise SearchKeyError(f"{where} is not hexadecimal") from None
    if len(secret) != KEY_BYTES:
        raise SearchKeyError(f"{where} is not a 256-bit key (64 hex digits)")
    return secret


def ensure_search_key(instance: Path) -> bool:
    """Create the search key file (0600) unless it exists. Returns True if created."""
    try:
        write_secret(instance / KEY_FILE, os.urandom(KEY_BYTES).hex().encode() + b"\n")
    except KeyFileError:
        return False
    return True
