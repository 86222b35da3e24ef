"""Signed notes and checkpoints against the vectors of Go's golang.org/x/mod/sumdb/note."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.evidence.errors import VerificationError
from registry.evidence.note import (
    Checkpoint,
    key_id,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_note,
)

# From golang.org/x/mod/sumdb/note/note_test.go (TestSign, TestOpen).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
    "dngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
    "nWLox33WWd1RvMc+QQ=\n"
)
SIGNED = TEXT + "\n" + PETER_SIG

# The example checkpoint of https://c2sp.org/tlog-checkpoint.
SOFA = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def peter_private_key() -> Ed25519PrivateKey:
    # PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>; the base64 may itself hold '+',
    # so split off the first four fields rather than at the last '+'.
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert raw[0] == 1
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_sign_note_reproduces_go_vector():
    assert sign_note(TEXT, "PeterNeumann", peter_private_key()) == SIGNED


def test_verify_note_accepts_go_vector():
    assert verify_note(SIGNED, PETER_VKEY) == TEXT


def test_verifier_key_and_key_id_match_go():
    public_key = peter_private_key().public_key()
    assert verifier_key("PeterNeumann", public_key) == PETER_VKEY
    assert key_id("PeterNeumann", public_key) == bytes.fromhex("c74f20a3")
    name, parsed, kid = parse_verifier_key(PETER_VKEY)
    assert (name, kid) == ("PeterNeumann", bytes.fromhex("c74f20a3"))
    assert parsed == public_key


def test_key_id_is_sha256_of_name_newline_type_and_key():
    public_key = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    expected = hashlib.sha256(b"example.com/log\n\x01" + raw).digest()[:4]
    assert key_id("example.com/log", public_key) == expected


def test_each_key_verifies_its_own_line_and_ignores_the_other():
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert verify_note(note, PETER_VKEY) == TEXT
    assert verify_note(note, ENOCH_VKEY) == TEXT


def test_other_key_alone_is_not_enough():
    with pytest.raises(VerificationError, match=r"checkpoint signature: no signature by Enoch"):
        verify_note(SIGNED, ENOCH_VKEY)


def test_changed_text_byte_fails():
    tampered = SIGNED.replace("answer", "ansver", 1)
    with pytest.raises(VerificationError, match="signature by PeterNeumann does not verify"):
        verify_note(tampered, PETER_VKEY)


def test_changed_signature_byte_fails():
    # The same edit Go's TestOpen makes: four characters into the middle of the base64.
    tampered = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError, match="signature by PeterNeumann does not verify") as e:
        verify_note(tampered, PETER_VKEY)
    assert e.value.check == "checkpoint signature"


def test_same_name_other_key_id_is_ignored():
    # A line under Peter's name but another key ID is someone else's key: ignored, so
    # the note has no signature by Peter at all.
    raw = base64.b64decode(PETER_SIG.split(" ")[2])
    forged = "\u2014 PeterNeumann " + base64.b64encode(b"\0\0\0\0" + raw[4:]).decode() + "\n"
    with pytest.raises(VerificationError, match="no signature by PeterNeumann"):
        verify_note(TEXT + "\n" + forged, PETER_VKEY)


def test_bad_base64_in_signature_fails():
    with pytest.raises(VerificationError, match="not valid base64"):
        verify_note(TEXT + "\n\u2014 PeterNeumann x08go/!!!\n", PETER_VKEY)


@pytest.mark.parametrize(
    ("note", "problem"),
    [
        (TEXT, "no blank line"),
        (TEXT + "\n", "no signature lines"),
        (TEXT + "\n" + PETER_SIG[:-1], "no signature lines"),
        ("\x01" + SIGNED, "control character"),
        ("\udcff" + SIGNED, "not valid UTF-8"),
        # The name ends at the first space, so the rest is not base64.
        (TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"), "not valid base64"),
        (TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"), "malformed key name"),
        (SIGNED + "Unexpected line.\n", "malformed signature line"),
        (TEXT + "\n" + PETER_SIG * 101, "too many signature lines"),
    ],
)
def test_malformed_notes_from_go_are_rejected(note, problem):
    with pytest.raises(VerificationError, match=f"checkpoint signature: .*{problem}"):
        verify_note(note, PETER_VKEY)


def test_text_may_hold_blank_lines_the_last_one_separates():
    # The signed-note spec allows blank lines in the text; its own example has one.
    key = peter_private_key()
    text = "first\n\nsecond\n"
    note = sign_note(text, "PeterNeumann", key)
    assert verify_note(note, PETER_VKEY) == text


def test_sixteen_signatures_are_accepted():
    assert verify_note(TEXT + "\n" + ENOCH_SIG * 15 + PETER_SIG, PETER_VKEY) == TEXT


def test_every_mangled_verifier_key_is_rejected():
    # Go's TestNewVerifier: every proper substring and every one-character bump fails.
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(VerificationError, match="verifier key"):
                    parse_verifier_key(PETER_VKEY[i:j])
    for i, char in enumerate(PETER_VKEY):
        with pytest.raises(VerificationError, match="verifier key"):
            parse_verifier_key(PETER_VKEY[:i] + chr(ord(char) + 1) + PETER_VKEY[i + 1 :])


@pytest.mark.parametrize(
    ("vkey", "problem"),
    [
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "32 bytes"),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not an Ed25519"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
    ],
)
def test_malformed_verifier_keys_say_why(vkey, problem):
    with pytest.raises(VerificationError, match=f"verifier key: .*{problem}"):
        parse_verifier_key(vkey)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("no final newline", "PeterNeumann"),
        ("tab\there\n", "PeterNeumann"),
        (TEXT, "Peter Neumann"),
        (TEXT, "Peter+Neumann"),
        (TEXT, ""),
    ],
)
def test_sign_note_refuses_bad_text_or_name(text, name):
    with pytest.raises(ValueError, match=r"newline|control|key name"):
        sign_note(text, name, peter_private_key())


def test_checkpoint_parses_the_spec_example():
    checkpoint = Checkpoint.parse(SOFA)
    assert checkpoint == Checkpoint(
        origin="example.com/behind-the-sofa",
        size=20852163,
        root_hash=base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
    )
    assert checkpoint.to_text() == SOFA


def test_checkpoint_round_trips_with_extensions():
    checkpoint = Checkpoint("registry.example/log", 0, bytes(range(32)), ("ext one", "ext two"))
    text = checkpoint.to_text()
    assert text == (
        "registry.example/log\n0\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\next one\next two\n"
    )
    assert Checkpoint.parse(text) == checkpoint


def test_signed_checkpoint_round_trip():
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    vkey = verifier_key("registry.example/log", key.public_key())
    checkpoint = Checkpoint("registry.example/log", 7, hashlib.sha256(b"root").digest())
    note = sign_note(checkpoint.to_text(), "registry.example/log", key)
    assert Checkpoint.parse(verify_note(note, vkey)) == checkpoint


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (SOFA[:-1], "does not end in a newline"),
        ("example.com/log\n1\n", "fewer than three lines"),
        (SOFA.replace("20852163", "020852163"), "not a canonical decimal"),
        (SOFA.replace("20852163", "-1"), "not a canonical decimal"),
        (SOFA.replace("20852163", "+1"), "not a canonical decimal"),
        (SOFA.replace("20852163", "1_000"), "not a canonical decimal"),
        (SOFA.replace("20852163", "\u0661"), "not a canonical decimal"),  # Arabic-Indic one
        (SOFA.replace("20852163", str(2**63)), "not a canonical decimal"),
        (SOFA.replace("2I=", "2J="), "not canonical base64"),
        (SOFA.replace("CsUY", "Cs!Y"), "not canonical base64"),
        (SOFA.replace("CsUYapGG", ""), "not 32 bytes"),
        (SOFA + "\n", "empty line"),
        ("\n" + SOFA, "empty line"),
    ],
)
def test_malformed_checkpoints_say_why(text, problem):
    with pytest.raises(VerificationError, match=f"checkpoint: .*{problem}"):
        Checkpoint.parse(text)


def test_checkpoint_refuses_impossible_fields():
    with pytest.raises(ValueError, match="32 bytes"):
        Checkpoint("example.com/log", 1, b"short")
    with pytest.raises(ValueError, match="size"):
        Checkpoint("example.com/log", -1, bytes(32))
    with pytest.raises(ValueError, match="origin"):
        Checkpoint("two\nlines", 1, bytes(32))
