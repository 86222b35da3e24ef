"""Verifying a receipt offline, with the registry's published keys alone.

A receipt (docs/receipts.md) carries a statement and four kinds of proof about it: the
registry's Ed25519 signature, RFC 3161 time-stamp tokens, an RFC 9162 inclusion proof
and the C2SP checkpoint it leads to. :func:`verify_receipt` runs every check and says
which passed and which failed, so an auditor sees the whole picture rather than the
first problem; :meth:`VerificationReport.raise_for_failure` turns that into the house
``VerificationError`` for callers that only need yes or no.

Nothing here reads the database or the network: the verifier trusts the key set it is
given (``GET /api/v1/keys``, kept by the auditor) and nothing else. The cryptography is
the evidence layer's own (``merkle``, ``note``, ``tsa``, ``statements``); this module
decides what to check against what.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from registry.evidence import merkle, note, tsa
from registry.evidence import statements as st
from registry.evidence.errors import VerificationError
from registry.evidence.jcs import canonicalize
from registry.evidence.keys import CHECKPOINT, STATEMENT, raw_public, thumbprint
from registry.evidence.publication import PURPOSE

__all__ = [
    "CHECKS",
    "CLOCK_SKEW",
    "CheckResult",
    "Keyset",
    "StatementKey",
    "VerificationReport",
    "claimed_tree_size",
    "verify_receipt",
]

FORMAT = "format"
SIGNATURE = "signature"
TIMESTAMP = "timestamp"
INCLUSION = "inclusion"
CHECKPOINT_SIGNATURE = "checkpoint signature"
CONTENT = "content"
CONSISTENCY = "consistency"
# Every check, in the order a report lists them; the last two run only when asked.
CHECKS = (FORMAT, SIGNATURE, TIMESTAMP, INCLUSION, CHECKPOINT_SIGNATURE, CONTENT, CONSISTENCY)

# How far the clocks of the registry's hosts and of a time-stamp authority may disagree.
# A token dated earlier than this before the statement's own time cannot be about it;
# likewise a key may have been registered by another host this much after it signed.
CLOCK_SKEW = timedelta(seconds=60)

TIMESTAMP_PURPOSE = "timestamp"
_HEX64 = re.compile(r"[0-9a-f]{64}")
# RFC 3339 in UTC as statements.rfc3339 writes it; the fraction is optional for others.
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_EMPTY_ROOT = hashlib.sha256(b"").digest()
# Who issued a token: the registry's own authority, or the URL of an external one.
OWN_TSA = "registry"
_EXTERNAL_TSA = re.compile(r"https?://\S+")
# The registry's own token and one per external authority: more is not a receipt, and
# each costs a signature check.
MAX_TIMESTAMPS = 16
# Verified checkpoints kept per key set; beyond this the memo starts again.
_NOTE_MEMO_SIZE = 4096


# --- Results ------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One check of a receipt: its name (one of ``CHECKS``), whether it passed, and why."""

    check: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class VerificationReport:
    """Every check run on a receipt, in the order of ``CHECKS``.

    A receipt whose shape is wrong gets only the ``format`` result: nothing else can be
    read from it.
    """

    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """True if at least one check ran and none failed."""
        return bool(self.results) and all(result.ok for result in self.results)

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the checks that failed, in report order."""
        return tuple(result.check for result in self.results if not result.ok)

    def result(self, check: str) -> CheckResult | None:
        """The result of ``check``, or None if it did not run."""
        return next((result for result in self.results if result.check == check), None)

    def raise_for_failure(self) -> None:
        """Return None if every check passed; raise ``VerificationError`` for the first
        that failed, with that check's name and detail."""
        for result in self.results:
            if not result.ok:
                raise VerificationError(result.check, result.detail)
        if not self.results:
            raise VerificationError(FORMAT, "no check ran")

    def to_dict(self) -> dict[str, Any]:
        """``{"ok", "checks": [{"check", "ok", "detail"}]}``, as the API returns it."""
        return {
            "ok": self.ok,
            "checks": [
                {"check": result.check, "ok": result.ok, "detail": result.detail}
                for result in self.results
            ],
        }


# --- The key set --------------------------------------------------------------------


@dataclass(frozen=True)
class StatementKey:
    """A statement signing key and the window it signed in (``valid_until`` None: current)."""

    kid: str
    public_key: Ed25519PublicKey = field(repr=False, compare=False)
    raw: bytes
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class Keyset:
    """The registry's public keys, parsed once, for verifying any number of receipts.

    Build it with :meth:`from_jwks` from what ``GET /api/v1/keys`` serves. It remembers
    the checkpoints it has verified (a signed note says the same thing however often it
    is read), so receipts proved against the same checkpoint share that work.
    """

    statement_keys: tuple[StatementKey, ...]
    checkpoint_vkeys: tuple[str, ...]
    tsa_roots: tuple[bytes, ...]
    tsa_intermediates: tuple[bytes, ...]
    _by_kid: dict[str, StatementKey] = field(init=False, repr=False, compare=False, hash=False)
    _notes: dict[str, tuple[note.Checkpoint, str]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_kid", {key.kid: key for key in self.statement_keys})
        object.__setattr__(self, "_notes", {})

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> Keyset:
        """Read a JWKS as the registry publishes it (docs/receipts.md, "The key set").

        Keys without a ``registry_purpose`` the verifier knows are ignored. Raises
        ``VerificationError("keyset", ...)`` if the document is not a JWKS, a statement
        key's ``kid`` is not the RFC 7638 thumbprint of its key, a checkpoint key's
        ``vkey`` is malformed or names another key, a certificate is malformed, a time
        is not RFC 3339 UTC, or a statement key, a checkpoint key or a time-stamp
        authority is missing.
        """
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
            raise VerificationError("keyset", 'expected a JWKS: {"keys": [...]}')
        statement_keys: list[StatementKey] = []
        vkeys: list[str] = []
        roots: list[bytes] = []
        intermediates: list[bytes] = []
        for position, jwk in enumerate(jwks["keys"]):
            if not isinstance(jwk, Mapping):
                raise VerificationError("keyset", f"key {position} is not an object")
            purpose = jwk.get(PURPOSE)
            try:
                if purpose == STATEMENT:
                    statement_keys.append(_statement_key(jwk))
                elif purpose == CHECKPOINT:
                    vkeys.append(_checkpoint_vkey(jwk))
                elif purpose == TIMESTAMP_PURPOSE:
                    chain = _certificate_chain(jwk)
                    roots.append(chain[-1])
                    # Not the first, the TSA's own: receipts' tokens are requested with
                    # certReq, so they carry it (RFC 3161 2.4.1) and must carry it intact.
                    intermediates.extend(chain[1:-1])
            except (_FormatError, VerificationError) as exc:
                message = exc.message if isinstance(exc, VerificationError) else str(exc)
                raise VerificationError(
                    "keyset", f"key {position} ({purpose}): {message}"
                ) from None
        for what, found in (
            ("statement key", statement_keys),
            ("checkpoint key", vkeys),
            ("time-stamp authority", roots),
        ):
            if not found:
                raise VerificationError(
                    "keyset",
                    f"no {what} (registry_purpose) in the key set: "
                    "is this the registry's GET /api/v1/keys?",
                )
        return cls(
            tuple(statement_keys),
            tuple(dict.fromkeys(vkeys)),
            tuple(dict.fromkeys(roots)),
            tuple(dict.fromkeys(intermediates)),
        )

    def statement_key(self, kid: str) -> StatementKey | None:
        return self._by_kid.get(kid)

    def verified_checkpoint(self, signed_note: str, origin: str) -> tuple[note.Checkpoint, str]:
        """The checkpoint in ``signed_note`` and the vkey that signed it.

        Raises ``VerificationError("checkpoint signature", ...)`` unless a checkpoint key
        of ``origin`` in this key set signed the note, and the note is a checkpoint of
        that origin.
        """
        memo_key = f"{origin}\n\n{signed_note}"
        verified = self._notes.get(memo_key)
        if verified is None:
            text, vkey = self._verify_note(signed_note, origin)
            checkpoint = _parse_checkpoint(text, CHECKPOINT_SIGNATURE)
            if checkpoint.origin != origin:
                raise VerificationError(
                    CHECKPOINT_SIGNATURE,
                    f"checkpoint is of log {checkpoint.origin!r}, not {origin!r}",
                )
            if len(self._notes) >= _NOTE_MEMO_SIZE:
                self._notes.clear()
            verified = self._notes[memo_key] = (checkpoint, vkey)
        return verified

    def _verify_note(self, signed_note: str, origin: str) -> tuple[str, str]:
        candidates = [vkey for vkey in self.checkpoint_vkeys if vkey.split("+", 1)[0] == origin]
        if not candidates:
            raise VerificationError(
                CHECKPOINT_SIGNATURE, f"the key set has no checkpoint key for log {origin!r}"
            )
        problems = []
        for vkey in candidates:
            try:
                text = note.verify_note(signed_note, vkey)
            except VerificationError as exc:
                problems.append(exc.message)
                continue
            _check_canonical_signatures(signed_note[len(text) + 1 :])
            return text, vkey
        raise VerificationError(CHECKPOINT_SIGNATURE, "; ".join(dict.fromkeys(problems)))


def _check_canonical_signatures(block: str) -> None:
    # Decoders ignore the spare bits of a final base64 character, so a signature line
    # could be written several ways that all verify; a receipt allows one.
    for position, line in enumerate(block.splitlines()):
        encoded = line.rpartition(" ")[2]
        if base64.b64encode(base64.b64decode(encoded)).decode() != encoded:
            raise VerificationError(
                CHECKPOINT_SIGNATURE, f"signature line {position} is not canonical base64"
            )


def _statement_key(jwk: Mapping[str, Any]) -> StatementKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise _FormatError("a statement key must be an Ed25519 OKP key")
    raw = _b64url(jwk.get("x"), "x", size=32)
    kid = jwk.get("kid")
    if kid != thumbprint(raw):
        raise _FormatError(f"kid {kid!r} is not the RFC 7638 thumbprint of the key")
    valid_until = jwk.get("valid_until")
    return StatementKey(
        kid=kid,
        public_key=Ed25519PublicKey.from_public_bytes(raw),
        raw=raw,
        valid_from=_time(jwk.get("valid_from"), "valid_from"),
        valid_until=None if valid_until is None else _time(valid_until, "valid_until"),
    )


def _checkpoint_vkey(jwk: Mapping[str, Any]) -> str:
    vkey = jwk.get("vkey")
    if not isinstance(vkey, str):
        raise _FormatError("a checkpoint key needs its C2SP verifier key in vkey")
    _, public_key, _ = note.parse_verifier_key(vkey)
    if "x" in jwk and _b64url(jwk["x"], "x", size=32) != raw_public(public_key):
        raise _FormatError("vkey and x are different keys")
    return vkey


def _certificate_chain(jwk: Mapping[str, Any]) -> list[bytes]:
    chain = jwk.get("x5c")
    if not isinstance(chain, list) or not chain:
        raise _FormatError("a time-stamp authority needs its certificate chain in x5c")
    ders = [_b64(c, "x5c certificate") for c in chain]
    for der in ders:
        try:
            x509.load_der_x509_certificate(der)
        except (ValueError, x509.InvalidVersion):
            raise _FormatError("an x5c certificate is malformed") from None
    return ders


# --- Verification -------------------------------------------------------------------


def verify_receipt(
    receipt: Any,
    keyset: Keyset | Mapping[str, Any],
    *,
    content: Mapping[str, bytes] | Sequence[bytes] = (),
    previous_checkpoint: str | None = None,
    consistency_proof: Sequence[bytes] | None = None,
) -> VerificationReport:
    """Run every check on ``receipt`` and report each: it never stops at the first failure.

    ``keyset`` is a :class:`Keyset`, or the JWKS to build one from (parse it once with
    :meth:`Keyset.from_jwks` when verifying many receipts). The checks, in order:

    - ``format``: the receipt's members, types and base64 are as docs/receipts.md says.
      If not, it is the only result, since nothing else can be read.
    - ``signature``: Ed25519 over the statement's RFC 8785 bytes by the statement key
      ``kid`` names, and the statement's time within that key's validity window.
    - ``timestamp``: every RFC 3161 token is over SHA-256 of those bytes, chains to a
      time-stamp authority root in the key set, and is not dated before the statement.
    - ``inclusion``: the inclusion proof leads from the statement to the root of the
      receipt's checkpoint, whose size is the receipt's ``tree_size``.
    - ``checkpoint signature``: a checkpoint key in the key set signed the checkpoint,
      and its log is the statement's registry.
    - ``content``, only if ``content`` is given: each value matches its commitment,
      opened with the receipt's openings. A mapping names the field of each value; a
      sequence of values may match any committed field. Fails without openings.
    - ``consistency``, only if ``previous_checkpoint`` is given: it is signed by a
      checkpoint key, and ``consistency_proof`` (RFC 9162) shows that the smaller of the
      two checkpoints' trees is a prefix of the larger; equal sizes need equal roots.

    Never raises for anything the receipt or the other arguments hold; raises
    ``VerificationError("keyset", ...)`` only if ``keyset`` is a JWKS it cannot read, and
    ``TypeError`` if ``content`` is a bare ``bytes`` or ``str``.
    """
    if not isinstance(keyset, Keyset):
        keyset = Keyset.from_jwks(keyset)
    if isinstance(content, str | bytes):
        raise TypeError("content is a mapping of field to bytes or a sequence of bytes")
    try:
        parsed = _Receipt.read(receipt)
    except _FormatError as exc:
        return VerificationReport((CheckResult(FORMAT, False, str(exc)),))

    results = [CheckResult(FORMAT, True, parsed.describe())]
    checks: list[tuple[str, Callable[[], str]]] = [
        (SIGNATURE, lambda: _check_signature(parsed, keyset)),
        (TIMESTAMP, lambda: _check_timestamps(parsed, keyset)),
        (INCLUSION, lambda: _check_inclusion(parsed)),
        (CHECKPOINT_SIGNATURE, lambda: _check_checkpoint(parsed, keyset)),
    ]
    if content:
        checks.append((CONTENT, lambda: _check_content(parsed, content)))
    if previous_checkpoint is not None:
        checks.append(
            (
                CONSISTENCY,
                lambda: _check_consistency(parsed, keyset, previous_checkpoint, consistency_proof),
            )
        )
    for name, check in checks:
        try:
            results.append(CheckResult(name, True, check()))
        except VerificationError as exc:
            results.append(CheckResult(name, False, exc.message))
    return VerificationReport(tuple(results))


def claimed_tree_size(signed_note: str) -> int | None:
    """The tree size a checkpoint claims, unverified: to know which proof to fetch for it.

    Returns None if the note is not a well-formed checkpoint; never raises.
    """
    if not isinstance(signed_note, str):
        return None
    try:
        return note.Checkpoint.parse(_note_text(signed_note)).size
    except VerificationError:
        return None


def _check_signature(receipt: _Receipt, keyset: Keyset) -> str:
    key = keyset.statement_key(receipt.kid)
    if key is None:
        raise VerificationError(SIGNATURE, f"no statement key {receipt.kid} in the key set")
    try:
        key.public_key.verify(receipt.signature, receipt.canonical)
    except InvalidSignature:
        raise VerificationError(
            SIGNATURE, f"the signature by {receipt.kid} does not verify over the statement"
        ) from None
    moment, what = receipt.time, receipt.time_member
    if moment < key.valid_from - CLOCK_SKEW:
        raise VerificationError(
            SIGNATURE,
            f"{what} {st.rfc3339(moment)} is before key {key.kid} was in use "
            f"(from {st.rfc3339(key.valid_from)})",
        )
    if key.valid_until is not None and moment > key.valid_until:
        raise VerificationError(
            SIGNATURE,
            f"{what} {st.rfc3339(moment)} is after key {key.kid} was retired "
            f"({st.rfc3339(key.valid_until)})",
        )
    until = st.rfc3339(key.valid_until) if key.valid_until else "now"
    return f"Ed25519 by statement key {key.kid}, in use {st.rfc3339(key.valid_from)} to {until}"


def _check_timestamps(receipt: _Receipt, keyset: Keyset) -> str:
    digest = st.statement_hash(receipt.canonical)
    earliest = receipt.time - CLOCK_SKEW
    found = []
    for position, (authority, token) in enumerate(receipt.timestamps):
        try:
            stamped = tsa.verify_timestamp(
                token, digest, roots=keyset.tsa_roots, intermediates=keyset.tsa_intermediates
            )
        except VerificationError as exc:
            raise VerificationError(
                TIMESTAMP, f"token {position} ({authority}): {exc.message}"
            ) from None
        if stamped.time < earliest:
            raise VerificationError(
                TIMESTAMP,
                f"token {position} ({authority}) is dated {st.rfc3339(stamped.time)}, before "
                f"the statement's {receipt.time_member} {st.rfc3339(receipt.time)}",
            )
        found.append(f"{authority} at {st.rfc3339(stamped.time)} (serial {stamped.serial})")
    return "; ".join(found)


def _check_inclusion(receipt: _Receipt) -> str:
    checkpoint = _parse_checkpoint(_note_text(receipt.checkpoint), INCLUSION)
    if receipt.tree_size != checkpoint.size:
        raise VerificationError(
            INCLUSION,
            f"tree_size {receipt.tree_size} is not the checkpoint's size {checkpoint.size}",
        )
    merkle.verify_inclusion(
        receipt.inclusion,
        checkpoint.size,
        checkpoint.root_hash,
        receipt.index,
        merkle.leaf_hash(receipt.canonical),
    )
    return f"entry {receipt.index} of a tree of {checkpoint.size} leads to the checkpoint's root"


def _check_checkpoint(receipt: _Receipt, keyset: Keyset) -> str:
    checkpoint, vkey = keyset.verified_checkpoint(receipt.checkpoint, receipt.registry)
    name, key_id, _ = vkey.split("+", 2)
    return f"size {checkpoint.size}, signed by {name}+{key_id}"


def _check_content(receipt: _Receipt, content: Mapping[str, bytes] | Sequence[bytes]) -> str:
    committed = receipt.statement.get("commitments")
    if not isinstance(committed, dict):
        raise VerificationError(CONTENT, f"a {receipt.kind} statement commits to no content")
    if receipt.openings is None:
        raise VerificationError(
            CONTENT,
            "the receipt has no openings: only those who act as the idea's owner receive them",
        )
    opened = {name: salt for name, salt in receipt.openings.items() if name in committed}
    matched = []
    if isinstance(content, Mapping):
        for name, value in content.items():
            if name not in committed:
                raise VerificationError(CONTENT, f"the statement commits to no field {name!r}")
            if name not in opened:
                raise VerificationError(CONTENT, f"the receipt has no opening for {name}")
            try:
                st.verify_opening(committed[name], opened[name], value, name)
            except VerificationError as exc:
                raise VerificationError(CONTENT, exc.message + _newline_hint(value)) from None
            matched.append(name)
    else:
        for position, value in enumerate(content):
            name = _matching_field(committed, opened, value)
            if name is None:
                raise VerificationError(
                    CONTENT,
                    f"content {position} matches none of the committed fields "
                    f"({', '.join(opened)}){_newline_hint(value)}",
                )
            matched.append(name)
    verb = "matches its commitment" if len(matched) == 1 else "match their commitments"
    return f"{', '.join(matched)} {verb}"


def _matching_field(committed: Mapping[str, str], opened: Mapping[str, bytes], value: bytes):
    for name, salt in opened.items():
        try:
            st.verify_opening(committed[name], salt, value, name)
        except VerificationError:
            continue
        return name
    return None


def _newline_hint(value: bytes) -> str:
    # Editors add a final newline that the submitted text did not have: say so, but
    # still fail, since a commitment proves exact bytes.
    if value.endswith(b"\n"):
        return " (the value ends in a newline: was it added when saving the file?)"
    return ""


def _check_consistency(
    receipt: _Receipt,
    keyset: Keyset,
    previous_note: str,
    proof: Sequence[bytes] | None,
) -> str:
    if not isinstance(previous_note, str):
        raise VerificationError(CONSISTENCY, "the previous checkpoint is not text")
    try:
        previous, _ = keyset.verified_checkpoint(previous_note, receipt.registry)
    except VerificationError as exc:
        raise VerificationError(CONSISTENCY, f"previous checkpoint: {exc.message}") from None
    try:
        current = _parse_checkpoint(_note_text(receipt.checkpoint), CONSISTENCY)
    except VerificationError as exc:
        raise VerificationError(CONSISTENCY, f"receipt's checkpoint: {exc.message}") from None
    proof = list(proof) if proof is not None else None
    if proof is not None and not all(isinstance(h, bytes) for h in proof):
        raise VerificationError(CONSISTENCY, "the consistency proof is not a list of hashes")

    if previous.size == current.size:
        if previous.root_hash != current.root_hash:
            raise VerificationError(
                CONSISTENCY,
                f"two different roots for size {current.size}: the log has forked",
            )
        return f"the previous checkpoint is the receipt's (size {current.size})"
    older, newer = sorted((previous, current), key=lambda c: c.size)
    if older.size == 0:
        if older.root_hash != _EMPTY_ROOT:
            raise VerificationError(CONSISTENCY, "an empty tree's root must be SHA-256 of nothing")
        return f"the empty tree is a prefix of the tree of size {newer.size}"
    if proof is None:
        if previous is older:
            raise VerificationError(
                CONSISTENCY,
                f"a consistency proof from size {older.size} to {newer.size} is needed "
                f"(GET /api/v1/log/proof/consistency?first={older.size}&second={newer.size})",
            )
        raise VerificationError(
            CONSISTENCY,
            f"the receipt's checkpoint (size {current.size}) is older than the previous one "
            f"(size {previous.size}); a consistency proof from {older.size} to {newer.size} "
            f"is needed (GET /api/v1/log/proof/consistency?first={older.size}"
            f"&second={newer.size})",
        )
    merkle.verify_consistency(proof, newer.size, newer.root_hash, older.size, older.root_hash)
    if previous is older:
        return f"the previous checkpoint (size {older.size}) is a prefix of size {newer.size}"
    return (
        f"the receipt is older than the previous checkpoint: its tree (size {older.size}) "
        f"is a prefix of size {newer.size}"
    )


# --- Reading a receipt --------------------------------------------------------------


class _FormatError(Exception):
    """The receipt is not shaped as docs/receipts.md says; reported as ``format``."""

    @property
    def message(self) -> str:
        return str(self)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_int(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_hex64(value: Any) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _is_time(value: Any) -> bool:
    return isinstance(value, str) and _TIME.fullmatch(value) is not None


def _commitments_to(fields: Sequence[str]) -> Callable[[Any], bool]:
    """Is it an object of one commitment (hex) to each of ``fields``, and nothing else?"""

    def valid(value: Any) -> bool:
        return (
            isinstance(value, dict)
            and sorted(value) == sorted(fields)
            and all(_is_hex64(v) for v in value.values())
        )

    return valid


# The members every statement has, first; then each type's own.
_EVERY_STATEMENT: dict[str, Callable[[Any], bool]] = {
    "type": _is_text,
    "statement_version": _is_int,
    "registry": _is_text,
    "idea": _is_text,
}
_IDEA_VERSION: dict[str, Callable[[Any], bool]] = {
    **_EVERY_STATEMENT,
    "version": lambda v: _is_int(v, 1),
    "previous": lambda v: v is None or _is_hex64(v),
    "owner": _is_text,
    "origin": _is_text,
    "group": lambda v: v is None or _is_text(v),
    "derived_from": lambda v: isinstance(v, list) and all(_is_hex64(h) for h in v),
    "sensitivity": _is_text,
    "submitter": _is_text,
    "submitted_at": _is_time,
    "commitments": _commitments_to(st.COMMITTED_FIELDS),
}
_IDEA_WITHDRAWAL: dict[str, Callable[[Any], bool]] = {
    **_EVERY_STATEMENT,
    "previous": _is_hex64,
    "withdrawn_by": _is_text,
    "withdrawn_at": _is_time,
    "reason_sha256": _is_hex64,
}
_IDEA_SHREDDING: dict[str, Callable[[Any], bool]] = {
    **_EVERY_STATEMENT,
    "previous": _is_hex64,
    "shredded_by": _is_text,
    "shredded_at": _is_time,
}
_GRANTEE_KINDS = frozenset({"organisation", "group", "person"})
_GRANT: dict[str, Callable[[Any], bool]] = {
    "previous": _is_hex64,
    "grant": _is_text,
    "grantee_kind": lambda v: v in _GRANTEE_KINDS,
    "grantee": _is_text,
}
_IDEA_GRANT: dict[str, Callable[[Any], bool]] = {
    **_EVERY_STATEMENT,
    **_GRANT,
    "granted_by": _is_text,
    "granted_at": _is_time,
    "expires_at": lambda v: v is None or _is_time(v),
}
_IDEA_GRANT_REVOCATION: dict[str, Callable[[Any], bool]] = {
    **_EVERY_STATEMENT,
    **_GRANT,
    "revoked_by": _is_text,
    "revoked_at": _is_time,
}
_IDEA_ATTACHMENT: dict[str, Callable[[Any], bool]] = {
    **_EVERY_STATEMENT,
    "version": lambda v: _is_int(v, 1),
    "version_statement": _is_hex64,
    "previous": _is_hex64,
    "attachment": _is_text,
    "media_type": _is_text,
    "size": lambda v: _is_int(v, 1),
    "attached_by": _is_text,
    "attached_at": _is_time,
    "commitments": _commitments_to(st.ATTACHMENT_FIELDS),
}
# Statement type -> (its members and what each must be, the member that dates it).
_STATEMENTS = {
    st.IDEA_VERSION: (_IDEA_VERSION, "submitted_at"),
    st.IDEA_WITHDRAWAL: (_IDEA_WITHDRAWAL, "withdrawn_at"),
    st.IDEA_SHREDDING: (_IDEA_SHREDDING, "shredded_at"),
    st.IDEA_GRANT: (_IDEA_GRANT, "granted_at"),
    st.IDEA_GRANT_REVOCATION: (_IDEA_GRANT_REVOCATION, "revoked_at"),
    st.IDEA_ATTACHMENT: (_IDEA_ATTACHMENT, "attached_at"),
}
_RECEIPT_MEMBERS = {"statement", "signature", "timestamps", "log"}
_LOG_MEMBERS = {"index", "tree_size", "inclusion", "checkpoint"}


@dataclass(frozen=True)
class _Receipt:
    """A receipt whose shape has been checked, its base64 decoded."""

    statement: dict[str, Any]
    canonical: bytes
    kind: str
    registry: str
    time_member: str
    time: datetime
    kid: str
    signature: bytes
    timestamps: tuple[tuple[str, bytes], ...]
    index: int
    tree_size: int
    inclusion: tuple[bytes, ...]
    checkpoint: str
    openings: dict[str, bytes] | None

    @classmethod
    def read(cls, receipt: Any) -> _Receipt:
        """Check the receipt's shape and decode it, or raise ``_FormatError`` saying where."""
        _require(isinstance(receipt, dict), "the receipt is not a JSON object")
        _members(receipt, "receipt", _RECEIPT_MEMBERS, optional={"openings"})
        statement = receipt["statement"]
        kind, time_member = _read_statement(statement)
        try:
            canonical = canonicalize(statement)
        except (TypeError, ValueError) as exc:
            raise _FormatError(f"statement: not canonicalisable JSON ({exc})") from None

        signature = receipt["signature"]
        _require(isinstance(signature, dict), "signature is not an object")
        _members(signature, "signature", {"alg", "kid", "sig"})
        _require(signature["alg"] == "Ed25519", "signature.alg is not Ed25519")
        _require(_is_text(signature["kid"]), "signature.kid is not text")

        timestamps = receipt["timestamps"]
        _require(isinstance(timestamps, list) and timestamps, "timestamps is not a non-empty list")
        _require(len(timestamps) <= MAX_TIMESTAMPS, f"more than {MAX_TIMESTAMPS} timestamps")
        tokens = []
        for position, stamp in enumerate(timestamps):
            where = f"timestamps[{position}]"
            _require(isinstance(stamp, dict), f"{where} is not an object")
            _members(stamp, where, {"tsa", "token"})
            _require(
                stamp["tsa"] == OWN_TSA or _EXTERNAL_TSA.fullmatch(stamp["tsa"]) is not None,
                f"{where}.tsa is neither {OWN_TSA!r} nor an http(s) URL",
            )
            tokens.append((stamp["tsa"], _b64(stamp["token"], f"{where}.token")))

        log = receipt["log"]
        _require(isinstance(log, dict), "log is not an object")
        _members(log, "log", _LOG_MEMBERS)
        _require(_is_int(log["index"]), "log.index is not a non-negative integer")
        _require(_is_int(log["tree_size"], 1), "log.tree_size is not a positive integer")
        _require(isinstance(log["inclusion"], list), "log.inclusion is not a list")
        inclusion = tuple(
            _b64(h, f"log.inclusion[{i}]", size=merkle.HASH_SIZE)
            for i, h in enumerate(log["inclusion"])
        )
        _require(_is_text(log["checkpoint"]), "log.checkpoint is not text")

        openings = receipt.get("openings")
        if openings is not None:
            _require(isinstance(openings, dict), "openings is not an object")
            committed = statement.get("commitments") or {}
            for name in openings:
                _require(name in committed, f"openings.{name} opens no commitment")
            openings = {
                name: _b64(salt, f"openings.{name}", size=st.SALT_BYTES)
                for name, salt in openings.items()
            }

        return cls(
            statement=statement,
            canonical=canonical,
            kind=kind,
            registry=statement["registry"],
            time_member=time_member,
            time=_time(statement[time_member], f"statement.{time_member}"),
            kid=signature["kid"],
            signature=_b64(signature["sig"], "signature.sig", size=64),
            timestamps=tuple(tokens),
            index=log["index"],
            tree_size=log["tree_size"],
            inclusion=inclusion,
            checkpoint=log["checkpoint"],
            openings=openings,
        )

    def describe(self) -> str:
        idea = self.statement["idea"]
        if self.kind == st.IDEA_VERSION:
            what = f"version {self.statement['version']} of idea {idea}"
        elif self.kind == st.IDEA_WITHDRAWAL:
            what = f"withdrawal of idea {idea}"
        elif self.kind == st.IDEA_SHREDDING:
            what = f"shredding of idea {idea}"
        elif self.kind == st.IDEA_ATTACHMENT:
            what = (
                f"attachment {self.statement['attachment']} ({self.statement['media_type']}, "
                f"{self.statement['size']} bytes) to version {self.statement['version']} "
                f"of idea {idea}"
            )
        else:
            grantee = f"{self.statement['grantee_kind']} {self.statement['grantee']}"
            verb = "grant" if self.kind == st.IDEA_GRANT else "revocation of the grant"
            what = f"{verb} {self.statement['grant']} of idea {idea} to {grantee}"
        return f"{self.kind} statement: {what}, {self.time_member} {st.rfc3339(self.time)}"


def _read_statement(statement: Any) -> tuple[str, str]:
    _require(isinstance(statement, dict), "statement is not an object")
    kind = statement.get("type")
    _require(kind in _STATEMENTS, f"statement.type {kind!r} is not a known statement type")
    version = statement.get("statement_version")
    _require(
        version == st.STATEMENT_VERSION and _is_int(version),
        f"statement.statement_version {version!r} is not {st.STATEMENT_VERSION}",
    )
    members, time_member = _STATEMENTS[kind]
    _members(statement, "statement", set(members))
    for name, valid in members.items():
        _require(valid(statement[name]), f"statement.{name} is not as docs/receipts.md says")
    return kind, time_member


def _members(value: dict, where: str, required: set[str], optional: Iterable[str] = ()) -> None:
    missing = required - value.keys()
    _require(not missing, f"{where} lacks {', '.join(sorted(missing))}")
    extra = value.keys() - required - set(optional)
    _require(not extra, f"{where} has unknown members {', '.join(sorted(map(str, extra)))}")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _FormatError(message)


def _b64(value: Any, where: str, size: int | None = None) -> bytes:
    """Standard base64 with padding, canonical: re-encoding gives the same text."""
    _require(isinstance(value, str), f"{where} is not base64 text")
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _FormatError(f"{where} is not valid base64") from None
    # Bits beyond the last byte are ignored by decoders; requiring them to be zero keeps
    # one encoding per value, so no change to a receipt goes unnoticed.
    _require(base64.b64encode(decoded).decode() == value, f"{where} is not canonical base64")
    _require(size is None or len(decoded) == size, f"{where} is not {size} bytes")
    return decoded


def _b64url(value: Any, where: str, size: int) -> bytes:
    _require(isinstance(value, str), f"{where} is not base64url text")
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise _FormatError(f"{where} is not valid base64url") from None
    _require(len(decoded) == size, f"{where} is not {size} bytes")
    return decoded


def _time(value: Any, where: str) -> datetime:
    _require(_is_time(value), f"{where} is not an RFC 3339 UTC time")
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise _FormatError(f"{where} is not a valid time") from None


def _note_text(signed_note: str) -> str:
    # The text a signed note signs is everything up to its last blank line; whether the
    # signature holds is the checkpoint signature check's business, not this one's.
    split = signed_note.rfind("\n\n")
    return signed_note[: split + 1] if split >= 0 else signed_note


def _parse_checkpoint(text: str, check: str) -> note.Checkpoint:
    try:
        return note.Checkpoint.parse(text)
    except VerificationError as exc:
        raise VerificationError(check, f"the checkpoint is malformed: {exc.message}") from None
