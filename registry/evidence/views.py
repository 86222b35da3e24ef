"""Keys, the log and the time-stamp authority over HTTP."""

from __future__ import annotations

import base64
import json

from flask import Response, current_app, request
from flask_smorest import Blueprint
from sqlalchemy import select

from registry.access import Permission, public, requires
from registry.api import accepts
from registry.db import db
from registry.errors import APIError, Invalid
from registry.evidence import publication
from registry.evidence.log import TransparencyLog
from registry.evidence.models import Statement
from registry.evidence.receipts import Keyset, claimed_tree_size, verify_receipt
from registry.evidence.schemas import (
    ENTRIES_MAX,
    ConsistencyProofSchema,
    ConsistencyQuerySchema,
    EntriesQuerySchema,
    InclusionProofSchema,
    InclusionQuerySchema,
    LogEntriesSchema,
    VerificationSchema,
    VerifyRequestSchema,
)
from registry.evidence.service import Evidence
from registry.evidence.statements import COMMITTED_FIELDS, field_value

blp = Blueprint("evidence", __name__, url_prefix="/api/v1", description="Evidence")
TSA_REQUEST_MAX = 4096


def _evidence() -> Evidence:
    return current_app.extensions["registry.evidence"]


def _log() -> TransparencyLog:
    return TransparencyLog(db.session, _evidence().origin)


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(v).decode() for v in values]


def _text(body: str, mimetype: str = "text/plain; charset=utf-8") -> Response:
    return Response(body, mimetype=mimetype)


@blp.route("/keys", methods=["GET"])
@public
def keys():
    """Every public key a verifier needs: statement keys (with the window each signed
    in), the checkpoint key, and the time-stamp authority's certificate chain."""
    return publication.keyset(db.session, _evidence().tsa, _evidence().origin)


@blp.route("/log/key", methods=["GET"])
@public
def log_key():
    """The checkpoint verifier key, in C2SP vkey format."""
    try:
        return _text(publication.checkpoint_vkey(db.session, _evidence().origin) + "\n")
    except LookupError:
        raise APIError(503, "No checkpoint key is registered yet.") from None


@blp.route("/log/checkpoint", methods=["GET"])
@public
def checkpoint():
    """The latest signed checkpoint (C2SP tlog-checkpoint as a signed note)."""
    latest = _log().checkpoint()
    if latest is None:
        raise APIError(404, "The log is empty: nothing has been registered yet.")
    return _text(latest.note)


@blp.route("/log/proof/inclusion", methods=["GET"])
@blp.arguments(InclusionQuerySchema, location="query")
@blp.response(200, InclusionProofSchema)
@requires(Permission.LOG_READ)
def inclusion(query):
    """Proof that the entry at ``index`` is in the tree of ``tree_size`` entries."""
    log = _log()
    size = log.size()
    tree_size = query.get("tree_size", size)
    if tree_size > size:
        raise Invalid("tree_size", f"The log has {size} entries.")
    if query["index"] >= tree_size:
        raise Invalid("index", f"Must be less than tree_size ({tree_size}).")
    signed = log.checkpoint(tree_size)
    return {
        "index": query["index"],
        "tree_size": tree_size,
        "inclusion": _b64(log.inclusion(query["index"], tree_size)),
        "checkpoint": signed.note if signed else None,
    }


@blp.route("/log/proof/consistency", methods=["GET"])
@blp.arguments(ConsistencyQuerySchema, location="query")
@blp.response(200, ConsistencyProofSchema)
@requires(Permission.LOG_READ)
def consistency(query):
    """Proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""
    log = _log()
    size = log.size()
    if query["second"] > size:
        raise Invalid("second", f"The log has {size} entries.")
    if query["first"] > query["second"]:
        raise Invalid("first", "Must not exceed second.")
    return {
        "first": query["first"],
        "second": query["second"],
        "consistency": _b64(log.consistency(query["second"], query["first"])),
    }


@blp.route("/log/entries", methods=["GET"])
@blp.arguments(EntriesQuerySchema, location="query")
@blp.response(200, LogEntriesSchema)
@requires(Permission.LOG_READ)
def entries(query):
    """Log entries ``start`` to ``end`` (exclusive): statements only, never content."""
    start, end = query["start"], query["end"]
    if end <= start:
        raise Invalid("end", "Must be greater than start.")
    if end - start > ENTRIES_MAX:
        raise Invalid("end", f"At most {ENTRIES_MAX} entries per call.")
    rows = db.session.scalars(
        select(Statement)
        .where(Statement.log_index >= start, Statement.log_index < end)
        .order_by(Statement.log_index)
    )
    return {
        "entries": [
            {
                "log_index": row.log_index,
                "statement": json.loads(row.canonical),
                "statement_hash": row.statement_hash.hex(),
                "signature": {
                    "alg": "Ed25519",
                    "kid": row.kid,
                    "sig": base64.b64encode(row.signature).decode(),
                },
            }
            for row in rows
        ]
    }


@blp.route("/tsa/certs", methods=["GET"])
@public
def tsa_certificates():
    """The TSA certificate and its root, PEM: for ``openssl ts -verify``."""
    return _text(
        publication.certificate_chain_pem(_evidence().tsa), "application/pem-certificate-chain"
    )


@blp.route("/tsa", methods=["POST"])
@accepts("application/timestamp-query")
@requires(Permission.TSA_USE)
def timestamp():
    """RFC 3161 over HTTP: a TimeStampReq in, a TimeStampResp out (``openssl ts -query``)."""
    body = request.get_data(cache=False)
    if len(body) > TSA_REQUEST_MAX:
        raise APIError(413, f"A time-stamp request is at most {TSA_REQUEST_MAX} bytes.")
    return Response(_evidence().tsa.respond(body), mimetype="application/timestamp-reply")


@blp.route("/verify", methods=["POST"])
@blp.arguments(VerifyRequestSchema)
@blp.response(200, VerificationSchema)
@requires(Permission.RECEIPT_VERIFY)
def verify(request_body):
    """Verify a receipt against this registry's published keys, as ``registry verify`` does.

    A receipt that fails a check is still a 200, with ``ok`` false and the check that
    failed; only a malformed request is a 422. With ``previous_checkpoint``, the registry
    supplies the consistency proof from its own log, and the proof is checked against
    both signed roots, so it need not be trusted.
    """
    evidence = _evidence()
    keyset = Keyset.from_jwks(publication.keyset(db.session, evidence.tsa, evidence.origin))
    receipt = request_body["receipt"]
    previous = request_body.get("previous_checkpoint")
    given = request_body.get("content", {})
    content = {  # in the order statements commit to them, whatever the JSON's order
        field: value.encode() if isinstance(value, str) else field_value(field, value)
        for field in COMMITTED_FIELDS
        if (value := given.get(field)) is not None
    }
    report = verify_receipt(
        receipt,
        keyset,
        content=content,
        previous_checkpoint=previous,
        consistency_proof=_consistency_proof(receipt, previous),
    )
    return report.to_dict()


def _consistency_proof(receipt: dict, previous: str | None) -> list[bytes] | None:
    """The proof between the sizes the two checkpoints claim, if the log holds both.

    It is only a hint: verification checks it against both checkpoints' signed roots.
    """
    if previous is None:
        return None
    log = receipt.get("log")
    sizes = (claimed_tree_size(previous), log.get("tree_size") if isinstance(log, dict) else None)
    if not all(isinstance(size, int) and size >= 1 for size in sizes):
        return None  # verification says what is wrong
    first, second = sorted(sizes)
    log_ = _log()
    if first == second or second > log_.size():
        return None
    return log_.consistency(second, first)
