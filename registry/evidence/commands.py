"""`registry verify`: check a receipt offline, with the registry's published keys alone."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import click

from registry.evidence.errors import VerificationError
from registry.evidence.statements import ATTACHMENT_FIELDS, COMMITTED_FIELDS, field_value

KEYS_BESIDE = "keys.json"
# Fields a --content FIELD=FILE may name: a version's, or an attachment's.
NAMED_FIELDS = COMMITTED_FIELDS + ATTACHMENT_FIELDS


class _FileParam(click.ParamType):
    """A path checked only when read, so every unreadable file is reported the same way."""

    name = "file"

    def convert(self, value: Any, param, ctx) -> Path:
        return Path(value)


@click.command("verify")
@click.argument("receipt_file", metavar="RECEIPT.json", type=_FileParam())
@click.option(
    "--content",
    "contents",
    multiple=True,
    metavar="[FIELD=]FILE",
    help="Content to check against the statement's commitments (repeatable). FIELD=FILE "
    f"checks one field ({', '.join(COMMITTED_FIELDS)}; for an attachment "
    f"{', '.join(ATTACHMENT_FIELDS)}); a bare FILE may match any field. For tags, FILE "
    "holds the JSON list of tags. Needs a receipt with openings.",
)
@click.option(
    "--keys",
    "keys_file",
    type=_FileParam(),
    metavar="JWKS.json",
    help=f"The registry's key set (GET /api/v1/keys). Default: {KEYS_BESIDE} beside the receipt.",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=_FileParam(),
    metavar="LAST_CHECKPOINT.txt",
    help="A checkpoint seen before (GET /api/v1/log/checkpoint): check the log has not forked.",
)
@click.option(
    "--consistency",
    "proof_file",
    type=_FileParam(),
    metavar="PROOF.json",
    help="The consistency proof between that checkpoint and the receipt's "
    "(GET /api/v1/log/proof/consistency).",
)
def verify(
    receipt_file: Path,
    contents: tuple[str, ...],
    keys_file: Path | None,
    checkpoint_file: Path | None,
    proof_file: Path | None,
) -> None:
    """Verify RECEIPT.json offline and print PASS or FAIL for each check.

    RECEIPT.json is a receipt (GET /api/v1/ideas/ID/versions/N/receipt) or the answer to
    a submission, which holds one. Nothing is fetched: the key set, any earlier
    checkpoint and its consistency proof are files. Exits 0 if every check passes, 1 if
    any fails, 2 if a file cannot be read or is not what it should be.
    """
    from registry.evidence.receipts import Keyset, verify_receipt

    receipt = _json(receipt_file, "RECEIPT.json")
    if isinstance(receipt, dict) and "receipt" in receipt and "statement" not in receipt:
        receipt = receipt["receipt"]  # a submission's answer: the receipt is inside
    if keys_file is None:
        keys_file = receipt_file.parent / KEYS_BESIDE
        if not keys_file.is_file():
            raise click.BadParameter(
                f"give the key set (GET /api/v1/keys) with --keys, or save it as {keys_file}",
                param_hint="--keys",
            )
    try:
        keyset = Keyset.from_jwks(_json(keys_file, "--keys"))
    except VerificationError as exc:
        raise click.BadParameter(f"{keys_file}: {exc.message}", param_hint="--keys") from None
    previous = None
    if checkpoint_file is not None:
        previous = _text(checkpoint_file, "--checkpoint")
    proof = None
    if proof_file is not None:
        proof = _proof(proof_file)

    report = verify_receipt(
        receipt,
        keyset,
        content=_contents(contents),
        previous_checkpoint=previous,
        consistency_proof=proof,
    )
    for result in report.results:
        click.echo(f"{'PASS' if result.ok else 'FAIL'} {result.check}: {result.detail}")
    if not report.ok:
        click.get_current_context().exit(1)


def _read(path: Path, hint: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint=hint) from None


def _json(path: Path, hint: str) -> Any:
    try:
        return json.loads(_read(path, hint))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise click.BadParameter(f"{path} is not JSON: {exc}", param_hint=hint) from None


def _text(path: Path, hint: str) -> str:
    # Bytes decoded strictly, never with newline translation: the signature covers them.
    try:
        return _read(path, hint).decode()
    except UnicodeDecodeError:
        raise click.BadParameter(f"{path} is not UTF-8 text", param_hint=hint) from None


def _proof(path: Path) -> list[bytes]:
    """A consistency proof: the API's answer ``{"consistency": [...]}`` or the bare list."""
    document = _json(path, "--consistency")
    hashes = document.get("consistency") if isinstance(document, dict) else document
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise click.BadParameter(
            f'{path} is not a consistency proof: expected {{"consistency": ["<base64>", ...]}}',
            param_hint="--consistency",
        )
    try:
        return [base64.b64decode(h, validate=True) for h in hashes]
    except (binascii.Error, ValueError):
        raise click.BadParameter(
            f"{path}: a hash is not base64", param_hint="--consistency"
        ) from None


def _contents(options: tuple[str, ...]) -> dict[str, bytes] | list[bytes]:
    named: dict[str, bytes] = {}
    bare: list[bytes] = []
    for option in options:
        field, sep, name = option.partition("=")
        if sep and field in NAMED_FIELDS:
            if field in named:
                raise click.BadParameter(f"{field} is given twice", param_hint="--content")
            named[field] = _field_bytes(field, _read(Path(name), "--content"))
        else:  # a path, even one holding "="
            bare.append(_read(Path(option), "--content"))
    if named and bare:
        raise click.BadParameter(
            "give every --content as FIELD=FILE, or every one as a bare FILE",
            param_hint="--content",
        )
    return named or bare


def _field_bytes(field: str, data: bytes) -> bytes:
    # Tags commit to the RFC 8785 form of their JSON list: a file holding the list in any
    # JSON layout is brought to it. Anything else is taken byte for byte.
    if field != "tags":
        return data
    try:
        tags = json.loads(data)
    except ValueError:
        return data
    if isinstance(tags, list) and all(isinstance(tag, str) for tag in tags):
        return field_value("tags", tags)
    return data
