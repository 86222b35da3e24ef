"""Receipts verified offline: a known-answer receipt, every tampering of it, live receipts."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from flask import current_app

from registry.db import db
from registry.evidence import merkle, note
from registry.evidence.errors import VerificationError
from registry.evidence.jcs import canonicalize
from registry.evidence.keys import (
    CHECKPOINT,
    STATEMENT,
    KeyRing,
    create_key,
    register_keys,
    thumbprint,
)
from registry.evidence.receipts import (
    CHECKS,
    CheckResult,
    Keyset,
    VerificationReport,
    claimed_tree_size,
    verify_receipt,
)
from registry.evidence.statements import field_value, rfc3339
from registry.evidence.tsa import load_authority
from tests.evidence.receipt_vectors import (
    VECTOR_CHECKPOINT_3,
    VECTOR_CONSISTENCY_3_6,
    VECTOR_CONTENT,
    VECTOR_KEYS,
    VECTOR_RECEIPT,
    VECTOR_TOKEN_UNSIGNED_BYTES,
)

BASIC = ("format", "signature", "timestamp", "inclusion", "checkpoint signature")
KEYSET = Keyset.from_jwks(VECTOR_KEYS)
CONTENT = {field: field_value(field, value) for field, value in VECTOR_CONTENT.items()}
PROOF_3_6 = [base64.b64decode(h) for h in VECTOR_CONSISTENCY_3_6]


def checks(report: VerificationReport) -> tuple[str, ...]:
    return tuple(result.check for result in report.results)


# --- The known-answer receipt ---------------------------------------------------------


def test_vector_verifies():
    report = verify_receipt(VECTOR_RECEIPT, KEYSET)
    assert report.ok, report
    assert checks(report) == BASIC
    assert report.failed == ()
    report.raise_for_failure()
    detail = {result.check: result.detail for result in report.results}
    assert "version 1 of idea c00e3455-daef-4815-ad71-24c12ab8b0b1" in detail["format"]
    assert "registry at 2026-11-22T19:50:51" in detail["timestamp"]
    assert detail["inclusion"] == "entry 2 of a tree of 6 leads to the checkpoint's root"
    assert detail["checkpoint signature"].startswith(
        "size 6, signed by registry.example/alliance-registry+"
    )


def test_vector_verifies_from_the_jwks_itself():
    assert verify_receipt(VECTOR_RECEIPT, VECTOR_KEYS).ok


def test_vector_content_by_field():
    report = verify_receipt(VECTOR_RECEIPT, KEYSET, content=CONTENT)
    assert report.ok, report
    assert checks(report) == (*BASIC, "content")
    assert report.result("content").detail == ("title, summary, body, tags match their commitments")


def test_vector_content_unnamed_matches_any_field():
    report = verify_receipt(
        VECTOR_RECEIPT, KEYSET, content=[CONTENT["body"], CONTENT["tags"], CONTENT["title"]]
    )
    assert report.ok, report
    assert report.result("content") == CheckResult(
        "content", True, "body, tags, title match their commitments"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"title": b"Social prescribing for frailty."}, "title does not match its commitment"),
        ({"title": CONTENT["summary"]}, "title does not match its commitment"),
        ({"tags": canonicalize(["social prescribing", "frailty"])}, "tags does not match"),
        ({"tags": b'["frailty", "social prescribing"]'}, "tags does not match"),
        ({"colour": b"red"}, "the statement commits to no field 'colour'"),
        ([b"Social prescribing"], "content 0 matches none of the committed fields"),
        ([CONTENT["body"], b"x"], "content 1 matches none of the committed fields"),
        (
            {"body": CONTENT["body"] + b"\n"},
            "body does not match its commitment (the value ends in a newline",
        ),
    ],
    ids=["title", "swapped", "tag-order", "tags-not-jcs", "unknown", "prefix", "second", "newline"],
)
def test_wrong_content_fails_content_only(content, problem):
    report = verify_receipt(VECTOR_RECEIPT, KEYSET, content=content)
    assert report.failed == ("content",)
    assert report.result("content").detail.startswith(problem)
    with pytest.raises(VerificationError, match="^content: " + re.escape(problem)):
        report.raise_for_failure()


def test_content_without_openings_fails_content():
    receipt = copy.deepcopy(VECTOR_RECEIPT)
    del receipt["openings"]
    assert verify_receipt(receipt, KEYSET).ok  # openings are not signed: nothing else needs them
    report = verify_receipt(receipt, KEYSET, content=CONTENT)
    assert report.failed == ("content",)
    assert "the receipt has no openings" in report.result("content").detail


def test_content_must_be_a_mapping_or_a_sequence_of_values():
    with pytest.raises(TypeError):
        verify_receipt(VECTOR_RECEIPT, KEYSET, content=CONTENT["title"])


def test_consistent_previous_checkpoint_passes_with_its_proof():
    report = verify_receipt(
        VECTOR_RECEIPT,
        KEYSET,
        previous_checkpoint=VECTOR_CHECKPOINT_3,
        consistency_proof=PROOF_3_6,
    )
    assert report.ok, report
    assert report.result("consistency").detail == (
        "the previous checkpoint (size 3) is a prefix of size 6"
    )


def test_previous_checkpoint_needs_a_proof():
    report = verify_receipt(VECTOR_RECEIPT, KEYSET, previous_checkpoint=VECTOR_CHECKPOINT_3)
    assert report.failed == ("consistency",)
    assert "GET /api/v1/log/proof/consistency?first=3&second=6" in (
        report.result("consistency").detail
    )


@pytest.mark.parametrize(
    ("proof", "problem"),
    [
        (PROOF_3_6[:-1], "proof has 3 hashes; sizes 3 to 6 need 4"),
        ([*PROOF_3_6[:-1], bytes(32)], "proof leads to root"),
        ([bytes(32), *PROOF_3_6[1:]], "proof leads to old root"),
        (list(reversed(PROOF_3_6)), "proof leads to old root"),
        ([*PROOF_3_6[:-1], PROOF_3_6[-1][:31]], "proof hash 3 is 31 bytes"),
    ],
    ids=["short", "new-root", "old-root", "reversed", "short-hash"],
)
def test_tampered_consistency_proof_fails(proof, problem):
    report = verify_receipt(
        VECTOR_RECEIPT, KEYSET, previous_checkpoint=VECTOR_CHECKPOINT_3, consistency_proof=proof
    )
    assert report.failed == ("consistency",)
    assert report.result("consistency").detail.startswith(problem)


def test_previous_checkpoint_equal_to_the_receipts_passes_without_proof():
    report = verify_receipt(
        VECTOR_RECEIPT, KEYSET, previous_checkpoint=VECTOR_RECEIPT["log"]["checkpoint"]
    )
    assert report.ok, report
    assert report.result("consistency").detail == (
        "the previous checkpoint is the receipt's (size 6)"
    )


def test_previous_checkpoint_signed_by_another_key_fails_consistency():
    origin = VECTOR_RECEIPT["statement"]["registry"]
    text = VECTOR_CHECKPOINT_3[: VECTOR_CHECKPOINT_3.index("\n\n") + 1]
    forged = note.sign_note(text, origin, Ed25519PrivateKey.generate())
    report = verify_receipt(
        VECTOR_RECEIPT, KEYSET, previous_checkpoint=forged, consistency_proof=PROOF_3_6
    )
    assert report.failed == ("consistency",)
    assert report.result("consistency").detail.startswith("previous checkpoint: no signature by")


@pytest.mark.parametrize(
    "previous",
    ["", "not a note", VECTOR_CHECKPOINT_3.replace("\n3\n", "\n4\n")],
    ids=["empty", "garbage", "altered-size"],
)
def test_malformed_previous_checkpoint_fails_consistency(previous):
    report = verify_receipt(
        VECTOR_RECEIPT, KEYSET, previous_checkpoint=previous, consistency_proof=PROOF_3_6
    )
    assert report.failed == ("consistency",)
    assert report.result("consistency").detail.startswith("previous checkpoint: ")


def test_claimed_tree_size_reads_without_verifying():
    assert claimed_tree_size(VECTOR_CHECKPOINT_3) == 3
    assert claimed_tree_size(VECTOR_RECEIPT["log"]["checkpoint"]) == 6
    assert claimed_tree_size("garbage") is None
    assert claimed_tree_size(None) is None


# --- One change anywhere: every tampering fails, and at the check that covers it -------


def _other(char: str) -> str:
    """A different character of the same kind, so the receipt keeps its shape."""
    for kind in ("0123456789", "abcdef", "ghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if char in kind:
            return kind[(kind.index(char) + 1) % len(kind)]
    return {"+": "/", "/": "+", "-": "_", "_": "-"}.get(char, "x" if char != "x" else "y")


def char(position: int) -> Callable[[str], str]:
    def change(value: str) -> str:
        i = position % len(value)
        return value[:i] + _other(value[i]) + value[i + 1 :]

    change.__name__ = f"char[{position}]"
    return change


def flip(position: int | Callable[[bytes], int]) -> Callable[[str], str]:
    """Flip the low bit of one decoded byte and re-encode: the base64 stays canonical."""

    def change(value: str) -> str:
        data = bytearray(base64.b64decode(value))
        i = position(bytes(data)) if callable(position) else position
        data[i] ^= 0x01
        return base64.b64encode(bytes(data)).decode()

    return change


def plus(n: int) -> Callable[[int], int]:
    return lambda value: value + n


def becomes(new: Any) -> Callable[[Any], Any]:
    return lambda _: new


def mutated(receipt: dict, path: tuple, change: Callable[[Any], Any]) -> dict:
    copied = copy.deepcopy(receipt)
    *parents, last = path
    holder = copied
    for step in parents:
        holder = holder[step]
    holder[last] = change(holder[last])
    return copied


def _vector_token() -> bytes:
    return base64.b64decode(VECTOR_RECEIPT["timestamps"][0]["token"])


def _in_token(needle: Callable[[], bytes], offset: int = 0) -> Callable[[bytes], int]:
    def find(token: bytes) -> int:
        where = token.find(needle())
        assert where >= 0
        return where + offset

    return find


def _statement_hash() -> bytes:
    return hashlib.sha256(canonicalize(VECTOR_RECEIPT["statement"])).digest()


def _tsa_certificate() -> bytes:
    tsa = next(k for k in VECTOR_KEYS["keys"] if k["registry_purpose"] == "timestamp")
    return base64.b64decode(tsa["x5c"][0])


SIGNED = {"signature", "timestamp", "inclusion"}  # what covers the statement's bytes
CP = ("log", "checkpoint")
CP_TEXT = VECTOR_RECEIPT["log"]["checkpoint"]
TAMPERINGS = [
    # The statement: signed, timestamped and logged, so all three see any change.
    (("statement", "registry"), char(0), SIGNED | {"checkpoint signature"}),
    (("statement", "idea"), char(0), SIGNED),
    (("statement", "idea"), char(-1), SIGNED),
    (("statement", "owner"), char(10), SIGNED),
    (("statement", "origin"), char(0), SIGNED),
    (("statement", "sensitivity"), char(3), SIGNED),
    (("statement", "submitter"), char(20), SIGNED),
    (("statement", "submitted_at"), char(-2), SIGNED),
    (("statement", "submitted_at"), char(3), SIGNED),
    (("statement", "version"), plus(1), SIGNED),
    (("statement", "previous"), becomes("0" * 64), SIGNED),
    (("statement", "group"), becomes("58bff270-0aef-4347-a2b0-cbe073de34dd"), SIGNED),
    (("statement", "derived_from"), becomes(["0" * 64]), SIGNED),
    (("statement", "commitments", "title"), char(0), SIGNED | {"content"}),
    (("statement", "commitments", "summary"), char(31), SIGNED | {"content"}),
    (("statement", "commitments", "body"), char(-1), SIGNED | {"content"}),
    (("statement", "commitments", "tags"), char(40), SIGNED | {"content"}),
    (("statement", "type"), char(-1), {"format"}),
    (("statement", "statement_version"), plus(1), {"format"}),
    # The signature.
    (("signature", "alg"), char(-1), {"format"}),
    (("signature", "kid"), char(0), {"signature"}),
    (("signature", "sig"), flip(0), {"signature"}),
    (("signature", "sig"), flip(32), {"signature"}),
    (("signature", "sig"), flip(63), {"signature"}),
    # The last character before "==" has bits no byte uses: canonical base64 wants them 0.
    (("signature", "sig"), char(-3), {"format"}),
    # The time-stamp token: its signature covers the TSTInfo and the signed attributes.
    (("timestamps", 0, "tsa"), char(0), {"format"}),
    (("timestamps", 0, "token"), flip(0), {"timestamp"}),
    (("timestamps", 0, "token"), flip(_in_token(_statement_hash)), {"timestamp"}),
    (("timestamps", 0, "token"), flip(_in_token(_statement_hash, 31)), {"timestamp"}),
    (("timestamps", 0, "token"), flip(_in_token(lambda: b"20261122195051", 13)), {"timestamp"}),
    (("timestamps", 0, "token"), flip(_in_token(_tsa_certificate, 200)), {"timestamp"}),
    (("timestamps", 0, "token"), flip(-1), {"timestamp"}),
    (("timestamps", 0, "token"), flip(-40), {"timestamp"}),
    # The inclusion proof and the checkpoint.
    (("log", "index"), plus(1), {"inclusion"}),
    (("log", "index"), plus(-1), {"inclusion"}),
    (("log", "tree_size"), plus(1), {"inclusion"}),
    (("log", "inclusion", 0), flip(0), {"inclusion"}),
    (("log", "inclusion", 1), flip(31), {"inclusion"}),
    (("log", "inclusion", 2), flip(16), {"inclusion"}),
    ((*CP,), char(0), {"checkpoint signature"}),  # the origin line
    ((*CP,), char(CP_TEXT.index("\n6\n") + 1), {"inclusion", "checkpoint signature"}),
    ((*CP,), char(CP_TEXT.index("\n6\n") + 5), {"inclusion", "checkpoint signature"}),
    ((*CP,), char(CP_TEXT.index("\u2014") + 2), {"checkpoint signature"}),  # key name
    ((*CP,), char(CP_TEXT.rindex(" ") + 10), {"checkpoint signature"}),  # signature
    ((*CP,), char(CP_TEXT.index("\u2014")), {"checkpoint signature"}),  # em dash
    ((*CP,), char(-1), {"checkpoint signature"}),  # final newline
    # Openings are not signed; they only open the commitments, so content catches them.
    (("openings", "title"), flip(0), {"content"}),
    (("openings", "tags"), flip(31), {"content"}),
    (("openings", "body"), char(-2), {"format"}),  # spare bits before "="
]


def _id(row) -> str:
    path, change, _ = row
    name = getattr(change, "__name__", "change")
    return ".".join(map(str, path)) + ":" + (name if name != "<lambda>" else "value")


@pytest.mark.parametrize(("path", "change", "expected"), TAMPERINGS, ids=map(_id, TAMPERINGS))
def test_tampering_fails_the_check_that_covers_it(path, change, expected):
    tampered = mutated(VECTOR_RECEIPT, path, change)
    assert tampered != VECTOR_RECEIPT
    report = verify_receipt(tampered, KEYSET, content=CONTENT)
    assert not report.ok
    assert set(report.failed) == expected, report
    with pytest.raises(VerificationError) as raised:
        report.raise_for_failure()
    assert raised.value.check == report.failed[0]


def _leaves(value: Any, path: tuple = ()):
    if isinstance(value, dict):
        for key, member in value.items():
            yield from _leaves(member, (*path, key))
    elif isinstance(value, list):
        for i, element in enumerate(value):
            yield from _leaves(element, (*path, i))
    else:
        yield path, value


def _covering_check(path: tuple) -> str:
    """The check that must fail when the value at ``path`` changes."""
    top = path[0]
    if top == "statement":
        return "signature"
    if top == "openings":
        return "content"
    if path[:2] == ("signature", "alg") or path[-1] == "tsa":
        return "format"
    if top == "signature":
        return "signature"
    if top == "timestamps":
        return "timestamp"
    if path == CP:
        return "checkpoint signature"
    return "inclusion"


def _changed_token_bytes(tampered: dict) -> set[int]:
    new = base64.b64decode(tampered["timestamps"][0]["token"])
    old = _vector_token()
    return {i for i in range(min(len(old), len(new))) if old[i] != new[i]}


def test_no_change_to_any_character_or_number_verifies():
    """Every character of every string and every number, changed one at a time."""
    original = verify_receipt(VECTOR_RECEIPT, KEYSET, content=CONTENT)
    unnoticed, misplaced, tried = [], [], 0
    for path, value in _leaves(VECTOR_RECEIPT):
        if isinstance(value, bool) or value is None:
            continue
        changes = (
            [plus(1), plus(-1)] if isinstance(value, int) else [char(i) for i in range(len(value))]
        )
        for change in changes:
            tampered = mutated(VECTOR_RECEIPT, path, change)
            tried += 1
            report = verify_receipt(tampered, KEYSET, content=CONTENT)
            if report.ok:
                # Only bytes of the token that nothing signs or reads, with the same facts.
                if not (
                    path[0] == "timestamps"
                    and _changed_token_bytes(tampered) <= VECTOR_TOKEN_UNSIGNED_BYTES
                    and report == original
                ):
                    unnoticed.append((path, change.__name__))
                continue
            expected = _covering_check(path)
            if expected not in report.failed and report.failed != ("format",):
                misplaced.append((path, change.__name__, report.failed))
    assert tried > 2500
    assert unnoticed == []
    assert misplaced == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: [r], "the receipt is not a JSON object"),
        (lambda r: {k: v for k, v in r.items() if k != "log"}, "receipt lacks log"),
        (lambda r: {**r, "extra": 1}, "receipt has unknown members extra"),
        (lambda r: {**r, "signature": "sig"}, "signature is not an object"),
        (lambda r: _set(r, ("signature", "sig"), "not base64!"), "signature.sig is not valid"),
        (lambda r: _set(r, ("signature", "sig"), "AAAA"), "signature.sig is not 64 bytes"),
        (lambda r: _set(r, ("signature", "kid"), ""), "signature.kid is not text"),
        (lambda r: _set(r, ("timestamps",), []), "timestamps is not a non-empty list"),
        (
            lambda r: _set(r, ("timestamps",), r["timestamps"] * 17),
            "more than 16 timestamps",
        ),
        (lambda r: _set(r, ("timestamps", 0, "token"), 5), "timestamps[0].token is not base64"),
        (lambda r: _set(r, ("timestamps", 0, "tsa"), "ftp://x"), "timestamps[0].tsa is neither"),
        (lambda r: _set(r, ("log", "index"), -1), "log.index is not a non-negative integer"),
        (lambda r: _set(r, ("log", "index"), True), "log.index is not a non-negative integer"),
        (lambda r: _set(r, ("log", "index"), 2.0), "log.index is not a non-negative integer"),
        (lambda r: _set(r, ("log", "tree_size"), 0), "log.tree_size is not a positive integer"),
        (lambda r: _set(r, ("log", "inclusion"), "x"), "log.inclusion is not a list"),
        (
            lambda r: _set(r, ("log", "inclusion", 0), base64.b64encode(bytes(31)).decode()),
            "log.inclusion[0] is not 32 bytes",
        ),
        (lambda r: _set(r, ("log", "checkpoint"), ""), "log.checkpoint is not text"),
        (lambda r: _set(r, ("openings",), []), "openings is not an object"),
        (lambda r: _set(r, ("openings", "colour"), "AA=="), "openings.colour opens no commitment"),
        (lambda r: _set(r, ("openings", "title"), "AAAA"), "openings.title is not 32 bytes"),
        (lambda r: _set(r, ("statement",), None), "statement is not an object"),
        (
            lambda r: _set(r, ("statement", "type"), "idea-merger"),
            "statement.type 'idea-merger' is not a known statement type",
        ),
        (
            lambda r: _set(r, ("statement", "statement_version"), "1"),
            "statement.statement_version '1' is not 1",
        ),
        (
            lambda r: _set(r, ("statement", "statement_version"), True),
            "statement.statement_version True is not 1",
        ),
        (
            lambda r: _drop(r, ("statement", "owner")),
            "statement lacks owner",
        ),
        (
            lambda r: _set(r, ("statement", "note"), "hello"),
            "statement has unknown members note",
        ),
        (lambda r: _set(r, ("statement", "version"), 1.0), "statement.version is not as"),
        (lambda r: _set(r, ("statement", "version"), 0), "statement.version is not as"),
        (
            lambda r: _set(r, ("statement", "submitted_at"), "2026-11-22 19:50:51Z"),
            "statement.submitted_at is not as",
        ),
        (
            lambda r: _set(r, ("statement", "submitted_at"), "2026-13-22T19:50:51Z"),
            "statement.submitted_at is not a valid time",
        ),
        (
            lambda r: _set(r, ("statement", "commitments", "title"), "AB" * 32),
            "statement.commitments is not as",
        ),
        (
            lambda r: _drop(r, ("statement", "commitments", "tags")),
            "statement.commitments is not as",
        ),
        (
            lambda r: _set(r, ("statement", "derived_from"), ["x"]),
            "statement.derived_from is not as",
        ),
        (
            lambda r: _set(r, ("statement", "owner"), "\ud800"),
            "statement: not canonicalisable JSON",
        ),
    ],
)
def test_malformed_receipt_fails_format_alone(change, problem):
    report = verify_receipt(change(copy.deepcopy(VECTOR_RECEIPT)), KEYSET, content=CONTENT)
    assert report.results == (report.results[0],)
    assert report.failed == ("format",)
    assert report.results[0].detail.startswith(problem), report.results[0].detail


def _set(receipt: dict, path: tuple, value: Any) -> dict:
    _parent(receipt, path)[path[-1]] = value
    return receipt


def _parent(receipt: dict, path: tuple) -> Any:
    holder = receipt
    for step in path[:-1]:
        holder = holder[step]
    return holder


def _drop(receipt: dict, path: tuple) -> dict:
    del _parent(receipt, path)[path[-1]]
    return receipt


# --- The key set ----------------------------------------------------------------------


def _jwks_with(change: Callable[[list[dict]], None]) -> dict:
    jwks = copy.deepcopy(VECTOR_KEYS)
    change(jwks["keys"])
    return jwks


def _key(keys: list[dict], purpose: str) -> dict:
    return next(k for k in keys if k.get("registry_purpose") == purpose)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda keys: keys.clear(), "no statement key"),
        (lambda keys: keys.remove(_key(keys, "checkpoint")), "no checkpoint key"),
        (lambda keys: keys.remove(_key(keys, "timestamp")), "no time-stamp authority"),
        (
            lambda keys: _key(keys, "statement").update(kid="someone-else"),
            "is not the RFC 7638 thumbprint",
        ),
        (lambda keys: _key(keys, "statement").update(x="AAAA"), "x is not 32 bytes"),
        (lambda keys: _key(keys, "statement").update(crv="P-256"), "must be an Ed25519"),
        (lambda keys: _key(keys, "statement").update(valid_from=None), "valid_from is not"),
        (lambda keys: _key(keys, "checkpoint").pop("vkey"), "needs its C2SP verifier key"),
        (
            lambda keys: _key(keys, "checkpoint").update(vkey="a+00000000+AQ=="),
            "Ed25519 key is not 32 bytes",
        ),
        (
            lambda keys: _key(keys, "checkpoint").update(x=_key(keys, "statement")["x"]),
            "vkey and x are different keys",
        ),
        (lambda keys: _key(keys, "timestamp").update(x5c=[]), "needs its certificate chain"),
        (lambda keys: _key(keys, "timestamp").update(x5c=["AAAA"]), "certificate is malformed"),
        (lambda keys: keys.append("key"), "is not an object"),
    ],
)
def test_unusable_keyset_is_refused(change, problem):
    with pytest.raises(VerificationError, match=f"^keyset: .*{problem}"):
        Keyset.from_jwks(_jwks_with(change))


@pytest.mark.parametrize("document", [None, [], {"keys": {}}, {"kid": "x"}])
def test_a_keyset_must_be_a_jwks(document):
    with pytest.raises(VerificationError, match=r"^keyset: expected a JWKS"):
        Keyset.from_jwks(document)


def test_keys_of_other_purposes_are_ignored():
    jwks = _jwks_with(lambda keys: keys.append({"kty": "RSA", "kid": "oauth", "n": "x"}))
    assert Keyset.from_jwks(jwks) == KEYSET


def test_the_tsa_certificate_comes_from_the_token_not_the_keyset():
    # Tokens are requested with certReq, so each carries its TSA's certificate; a copy
    # in the key set must not stand in for a damaged one in the token.
    assert KEYSET.tsa_intermediates == ()
    assert len(KEYSET.tsa_roots) == 1


def test_unknown_statement_key_fails_signature():
    jwks = copy.deepcopy(VECTOR_KEYS)
    statement_key = _key(jwks["keys"], "statement")
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    statement_key["x"] = base64.urlsafe_b64encode(other).rstrip(b"=").decode()
    statement_key["kid"] = thumbprint(other)
    report = verify_receipt(VECTOR_RECEIPT, Keyset.from_jwks(jwks))
    assert report.failed == ("signature",)
    assert report.result("signature").detail.startswith("no statement key _BmdixOM")


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        ({"valid_from": "2026-11-22T19:52:00Z"}, "is before key"),
        ({"valid_until": "2026-11-22T19:50:00Z"}, "is after key"),
    ],
)
def test_statement_outside_its_keys_window_fails_signature(window, problem):
    jwks = _jwks_with(lambda keys: _key(keys, "statement").update(window))
    report = verify_receipt(VECTOR_RECEIPT, Keyset.from_jwks(jwks))
    assert report.failed == ("signature",)
    assert problem in report.result("signature").detail


def test_key_registered_just_after_signing_is_within_the_clock_skew():
    jwks = _jwks_with(
        lambda keys: _key(keys, "statement").update(valid_from="2026-11-22T19:51:30Z")
    )
    assert verify_receipt(VECTOR_RECEIPT, Keyset.from_jwks(jwks)).ok


def test_token_dated_before_the_statement_fails_timestamp(instance_path):
    # A statement claiming a time ten minutes ahead, properly signed and time-stamped now:
    # the token proves it existed before the moment it claims to record.
    receipt = copy.deepcopy(VECTOR_RECEIPT)
    claimed = datetime.now(UTC) + timedelta(minutes=10)
    receipt["statement"]["submitted_at"] = rfc3339(claimed)
    canonical = canonicalize(receipt["statement"])
    signing_key = Ed25519PrivateKey.generate()
    raw = signing_key.public_key().public_bytes_raw()
    receipt["signature"] = {
        "alg": "Ed25519",
        "kid": thumbprint(raw),
        "sig": base64.b64encode(signing_key.sign(canonical)).decode(),
    }
    authority = load_authority(instance_path)
    token = authority.timestamp(hashlib.sha256(canonical).digest())
    receipt["timestamps"] = [{"tsa": "registry", "token": base64.b64encode(token).decode()}]
    jwks = copy.deepcopy(VECTOR_KEYS)
    jwks["keys"] += [
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
            "kid": thumbprint(raw),
            "registry_purpose": "statement",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": None,
        },
        {
            "registry_purpose": "timestamp",
            "x5c": [base64.b64encode(authority.root_certificate).decode()],
        },
    ]
    report = verify_receipt(receipt, Keyset.from_jwks(jwks))
    assert report.failed == ("timestamp", "inclusion")  # and it was never logged
    assert "is dated" in report.result("timestamp").detail
    assert "before the statement's submitted_at" in report.result("timestamp").detail


def test_checkpoint_of_another_log_fails_checkpoint_signature():
    jwks = copy.deepcopy(VECTOR_KEYS)
    checkpoint_key = _key(jwks["keys"], "checkpoint")
    _, public_key, _ = note.parse_verifier_key(checkpoint_key["vkey"])
    checkpoint_key["vkey"] = note.verifier_key("another.example/registry", public_key)
    report = verify_receipt(VECTOR_RECEIPT, Keyset.from_jwks(jwks))
    assert report.failed == ("checkpoint signature",)
    assert "no checkpoint key for log 'registry.example/alliance-registry'" in (
        report.result("checkpoint signature").detail
    )


def test_report_raises_the_first_failure():
    report = VerificationReport(
        (
            CheckResult("format", True, "fine"),
            CheckResult("signature", False, "bad"),
            CheckResult("timestamp", False, "worse"),
        )
    )
    assert not report.ok
    assert report.failed == ("signature", "timestamp")
    with pytest.raises(VerificationError, match=r"^signature: bad$"):
        report.raise_for_failure()
    assert report.to_dict() == {
        "ok": False,
        "checks": [
            {"check": "format", "ok": True, "detail": "fine"},
            {"check": "signature", "ok": False, "detail": "bad"},
            {"check": "timestamp", "ok": False, "detail": "worse"},
        ],
    }


def test_an_empty_report_is_not_ok():
    report = VerificationReport(())
    assert not report.ok
    with pytest.raises(VerificationError):
        report.raise_for_failure()


def test_checks_are_listed_in_report_order():
    assert (*BASIC, "content", "consistency") == CHECKS


# --- Live receipts, from the registry under test ----------------------------------------


@pytest.fixture
def keyset(client) -> Keyset:
    return Keyset.from_jwks(client.get("/api/v1/keys").json)


def _receipt(client, auth, idea_id: str, by: str = "pat@northside.example") -> dict:
    response = client.get(f"/api/v1/ideas/{idea_id}/versions/1/receipt", headers=auth(by))
    assert response.status_code == 200, response.json
    return response.json


def _content(idea: dict) -> dict[str, bytes]:
    return {
        field: field_value(field, idea[field]) for field in ("title", "summary", "body", "tags")
    }


def test_submission_receipt_verifies(make_idea, keyset):
    idea = make_idea(tags=["Frailty", "falls"])
    receipt = idea["receipt"]
    report = verify_receipt(receipt, keyset)
    assert report.ok, report
    assert checks(report) == BASIC
    report = verify_receipt(receipt, keyset, content=_content(idea))
    assert report.ok, report
    assert verify_receipt(receipt, keyset, content=[idea["body"].encode()]).ok


def test_receipt_fetched_later_verifies_against_the_latest_checkpoint(
    make_idea, client, auth, keyset
):
    first = make_idea(title="First")
    for n in range(4):
        make_idea(title=f"Later {n}")
    receipt = _receipt(client, auth, first["id"])
    assert receipt["log"]["tree_size"] == receipt["log"]["index"] + 5
    assert len(receipt["log"]["inclusion"]) >= 2
    report = verify_receipt(receipt, keyset, content=_content(first))
    assert report.ok, report


def test_wrong_content_fails_content(make_idea, keyset):
    idea = make_idea()
    report = verify_receipt(idea["receipt"], keyset, content={"body": b"Something else"})
    assert report.failed == ("content",)


def test_a_reader_without_openings_can_verify_all_but_content(make_idea, client, auth, keyset):
    idea = make_idea()
    receipt = _receipt(client, auth, idea["id"], by="quinn@riverside.example")
    assert "openings" not in receipt
    assert verify_receipt(receipt, keyset).ok
    report = verify_receipt(receipt, keyset, content=_content(idea))
    assert report.failed == ("content",)
    assert "no openings" in report.result("content").detail


def test_receipt_token_verifies_with_openssl(make_idea, check_token_with_openssl):
    check_token_with_openssl(make_idea()["receipt"])


def test_tsa_certificates_endpoint_serves_the_keysets_chain(client):
    timestamp = next(k for k in client.get("/api/v1/keys").json["keys"] if "x5c" in k)
    pem = client.get("/api/v1/tsa/certs").get_data()
    served = x509.load_pem_x509_certificates(pem)
    assert [c.public_bytes(Encoding.DER) for c in served] == [
        base64.b64decode(der) for der in timestamp["x5c"]
    ]


def _checkpoint(client) -> str:
    response = client.get("/api/v1/log/checkpoint")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _consistency(client, auth, first: int, second: int) -> list[bytes]:
    response = client.get(
        f"/api/v1/log/proof/consistency?first={first}&second={second}",
        headers=auth("audrey@audit.example"),
    )
    assert response.status_code == 200, response.json
    return [base64.b64decode(h) for h in response.json["consistency"]]


def test_previous_checkpoint_consistent_with_the_served_proof(make_idea, client, auth, keyset):
    make_idea(title="One")
    make_idea(title="Two")
    seen = _checkpoint(client)
    old_size = claimed_tree_size(seen)
    for n in range(3):
        make_idea(title=f"More {n}")
    receipt = make_idea(title="Last")["receipt"]
    new_size = receipt["log"]["tree_size"]
    proof = _consistency(client, auth, old_size, new_size)
    report = verify_receipt(receipt, keyset, previous_checkpoint=seen, consistency_proof=proof)
    assert report.ok, report
    assert report.result("consistency").detail == (
        f"the previous checkpoint (size {old_size}) is a prefix of size {new_size}"
    )


def test_receipt_older_than_the_previous_checkpoint(make_idea, client, auth, keyset):
    receipt = make_idea(title="Early")["receipt"]
    for n in range(3):
        make_idea(title=f"Later {n}")
    latest = _checkpoint(client)
    old_size, new_size = receipt["log"]["tree_size"], claimed_tree_size(latest)
    report = verify_receipt(receipt, keyset, previous_checkpoint=latest)
    assert report.failed == ("consistency",)
    assert f"the receipt's checkpoint (size {old_size}) is older" in (
        report.result("consistency").detail
    )
    proof = _consistency(client, auth, old_size, new_size)
    report = verify_receipt(receipt, keyset, previous_checkpoint=latest, consistency_proof=proof)
    assert report.ok, report
    assert report.result("consistency").detail.startswith("the receipt is older")


def _sign_with_the_logs_key(instance_path: Path, text: str) -> str:
    """A checkpoint signed with the registry's real checkpoint key: a forked log's head."""
    evidence = current_app.extensions["registry.evidence"]
    _, key = KeyRing.load(instance_path).current(db.session, CHECKPOINT)
    return note.sign_note(text, evidence.origin, key)


def test_a_forked_log_fails_consistency(make_idea, client, auth, keyset, instance_path, app):
    make_idea(title="One")
    make_idea(title="Two")
    honest = note.Checkpoint.parse(_checkpoint(client).split("\n\n")[0] + "\n")
    receipt = make_idea(title="Three")["receipt"]
    proof = _consistency(client, auth, honest.size, receipt["log"]["tree_size"])
    with app.app_context():
        # Same size, another root, a good signature: two heads the log cannot both have.
        forked = _sign_with_the_logs_key(
            instance_path,
            note.Checkpoint(honest.origin, honest.size, bytes(32)).to_text(),
        )
        same_size = _sign_with_the_logs_key(
            instance_path,
            note.Checkpoint(
                honest.origin, receipt["log"]["tree_size"], hashlib.sha256(b"x").digest()
            ).to_text(),
        )
    report = verify_receipt(receipt, keyset, previous_checkpoint=forked, consistency_proof=proof)
    assert report.failed == ("consistency",)
    assert report.result("consistency").detail.startswith("proof leads to")
    report = verify_receipt(receipt, keyset, previous_checkpoint=same_size)
    assert report.failed == ("consistency",)
    assert "the log has forked" in report.result("consistency").detail


def test_withdrawal_receipt_verifies(make_idea, client, auth, app, keyset):
    idea = make_idea()
    response = client.post(
        f"/api/v1/ideas/{idea['id']}/withdraw",
        json={"reason": "Superseded."},
        headers=auth("pat@northside.example"),
    )
    assert response.status_code == 200, response.json
    with app.app_context():
        evidence = current_app.extensions["registry.evidence"]
        statement = evidence.latest_statement(db.session, uuid.UUID(idea["id"]))
        receipt = evidence.receipt(db.session, statement, None)
    assert receipt["statement"]["type"] == "idea-withdrawal"
    report = verify_receipt(receipt, keyset)
    assert report.ok, report
    assert report.result("format").detail.startswith("idea-withdrawal statement: withdrawal")
    report = verify_receipt(receipt, keyset, content={"title": b"x"})
    assert report.failed == ("content",)
    assert "commits to no content" in report.result("content").detail


def test_receipts_signed_before_a_rotation_still_verify(
    make_idea, make_app, client, auth, instance_path, tmp_path
):
    before = make_idea(title="Before the rotation")
    # A copy of the instance folder gets the new key, so the shared one is untouched.
    copied = tmp_path / "instance"
    shutil.copytree(instance_path, copied)
    new_kid = create_key(copied, STATEMENT)
    rotated = make_app(INSTANCE_PATH=str(copied))
    with rotated.app_context():
        register_keys(db.session, copied)
        db.session.commit()
    rotated_client = rotated.test_client()
    response = rotated_client.post(
        "/api/v1/ideas",
        json={
            "title": "After the rotation",
            "summary": "s",
            "body": "b",
            "sensitivity": "commercial",
            "origin": "provider",
        },
        headers=auth("pat@northside.example"),
    )
    assert response.status_code == 201, response.json
    after = response.json
    jwks = rotated_client.get("/api/v1/keys").json
    statement_keys = [k for k in jwks["keys"] if k["registry_purpose"] == "statement"]
    assert [k["kid"] for k in statement_keys][-1] == new_kid
    assert statement_keys[0]["valid_until"] is not None
    keyset = Keyset.from_jwks(jwks)

    old = _receipt(rotated_client, auth, before["id"])
    assert old["signature"]["kid"] == statement_keys[0]["kid"]
    assert after["receipt"]["signature"]["kid"] == new_kid
    for receipt, idea in ((old, before), (after["receipt"], after)):
        report = verify_receipt(receipt, keyset, content={"title": idea["title"].encode()})
        assert report.ok, report

    # The retired key signing after its retirement: a stolen key, say. The statement,
    # its token and its log entry are genuine; only the key is wrong for its time.
    with rotated.app_context():
        retired = KeyRing.load(copied).private[statement_keys[0]["kid"]]
    misused = copy.deepcopy(after["receipt"])
    misused["signature"] = {
        "alg": "Ed25519",
        "kid": statement_keys[0]["kid"],
        "sig": base64.b64encode(retired.sign(canonicalize(misused["statement"]))).decode(),
    }
    report = verify_receipt(misused, keyset)
    assert report.failed == ("signature",)
    assert "after key" in report.result("signature").detail
    assert "was retired" in report.result("signature").detail


def test_many_receipts_share_one_checkpoint_verification(make_idea, client, auth, keyset):
    ideas = [make_idea(title=f"Idea {n}") for n in range(3)]
    receipts = [_receipt(client, auth, idea["id"]) for idea in ideas]
    assert len({r["log"]["checkpoint"] for r in receipts}) == 1
    reports = [verify_receipt(receipt, keyset) for receipt in receipts]
    assert all(report.ok for report in reports)
    # A keyset that has seen the checkpoint still refuses a tampered copy of it.
    tampered = mutated(receipts[0], CP, char(-5))
    assert verify_receipt(tampered, keyset).failed == ("checkpoint signature",)


def test_merkle_root_of_the_vector_is_the_one_its_checkpoint_signs():
    # The log's own arithmetic, independently of the verifier: leaf 2 and its path.
    leaf = merkle.leaf_hash(canonicalize(VECTOR_RECEIPT["statement"]))
    proof = [base64.b64decode(h) for h in VECTOR_RECEIPT["log"]["inclusion"]]
    root = note.Checkpoint.parse(CP_TEXT.split("\n\n")[0] + "\n").root_hash
    merkle.verify_inclusion(proof, 6, root, 2, leaf)
