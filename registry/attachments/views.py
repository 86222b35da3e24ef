from __future__ import annotations

import uuid
from urllib.parse import quote

from flask import Response, current_app, request, url_for
from flask_smorest import Blueprint

from registry.access import Permission, breaks_glass, current_principal, requires
from registry.api import accepts
from registry.attachments.media import ACCEPTED
from registry.attachments.schemas import FILE, AttachedSchema, AttachmentSchema, read_upload
from registry.attachments.services import AttachmentRegister, Download
from registry.db import db
from registry.ip.schemas import ReceiptSchema

blp = Blueprint(
    "attachments",
    __name__,
    url_prefix="/api/v1/ideas",
    description="Files attached to an idea's versions",
)
MULTIPART = "multipart/form-data"
VERSION = "/<uuid:idea_id>/versions/<int:number>/attachments"
# RFC 5987 attr-char: what a filename* value may hold unencoded.
ATTR_CHARS = "!#$&+-.^_`|~"


def _register() -> AttachmentRegister:
    return AttachmentRegister(db.session, current_app.extensions["registry.evidence"])


@blp.route(VERSION, methods=["POST"])
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "properties": {FILE: {"type": "string", "format": "binary"}},
                    "required": [FILE],
                }
            }
        },
    }
)
@blp.response(201, AttachedSchema)
@accepts(MULTIPART)
@requires(Permission.IDEA_ADD_VERSION)
def attach(idea_id: uuid.UUID, number: int):
    """Attach a file to a version, as the idea's owner's side.

    One file part named ``file``, at most ``REGISTRY_MAX_ATTACHMENT_BYTES`` (10 MiB by
    default; 413 beyond), and at most 20 per version (409). Its type is chosen by its
    extension and must be proved by its content (422 otherwise): PDF, plain text, CSV,
    Markdown, PNG, JPEG, Word, Excel, PowerPoint and OpenDocument files. For a commercial
    or confidential version the file and its name are stored sealed. The attachment is a
    signed, logged statement of its own: the response carries its receipt.
    """
    upload = read_upload(request, current_app.config["REGISTRY"]["MAX_ATTACHMENT_BYTES"])
    attached = _register().attach(current_principal(), idea_id, number, upload)
    location = url_for(
        "attachments.download", idea_id=idea_id, number=number, attachment_id=attached.attachment.id
    )
    return attached, 201, {"Location": location}


@blp.route(VERSION, methods=["GET"])
@blp.response(200, AttachmentSchema(many=True))
@requires(Permission.IDEA_READ)
@breaks_glass
def list_attachments(idea_id: uuid.UUID, number: int):
    """A version's attachments, in the order they were attached: for those who may read
    its body. A read that only a grant allows goes in the idea's access log."""
    return _register().list(current_principal(), idea_id, number)


@blp.route(VERSION + "/<uuid:attachment_id>", methods=["GET"])
@blp.doc(
    responses={
        "200": {
            "description": "The file, with the media type it was stored with.",
            "content": {
                media.name: {"schema": {"type": "string", "format": "binary"}} for media in ACCEPTED
            },
        }
    }
)
@requires(Permission.IDEA_READ)
@breaks_glass
def download(idea_id: uuid.UUID, number: int, attachment_id: uuid.UUID):
    """Download an attachment: for those who may read the version's body, on the record
    when only a grant allows it. 410 once the idea was shredded."""
    return _file(_register().download(current_principal(), idea_id, number, attachment_id))


@blp.route(VERSION + "/<uuid:attachment_id>/receipt", methods=["GET"])
@blp.response(200, ReceiptSchema)
@requires(Permission.RECEIPT_READ)
def get_receipt(idea_id: uuid.UUID, number: int, attachment_id: uuid.UUID):
    """The receipt proving the attachment (docs/receipts.md): no content; the openings
    only for those who act as the idea's owner."""
    return _register().receipt(current_principal(), idea_id, number, attachment_id)


def _file(download: Download) -> Response:
    response = Response(download.content, mimetype=download.attachment.media_type)
    filename = quote(download.filename, safe=ATTR_CHARS)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    # Served as stored, never sniffed into something a browser would run.
    response.headers["X-Content-Type-Options"] = "nosniff"
    if download.sealed:
        response.headers["Cache-Control"] = "no-store"
    return response
