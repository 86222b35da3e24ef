"""What the attachments API accepts and returns. Limits here are the documented limits.

An upload is ``multipart/form-data`` with one file part named ``file``. It is read into
memory, never into a temporary file: the content of a commercial or confidential version
must reach the disk only sealed.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass

import marshmallow as ma
from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from registry.attachments.media import MediaType, MediaTypeError, media_type_of
from registry.errors import APIError

FILE = "file"
# Attachments one version may have.
PER_VERSION_MAX = 20
FILENAME_MAX = 255
# Room in the request body for the multipart framing around the file: boundaries, the
# part's headers and its filename.
FRAMING_BYTES = 64 * 1024
# Parts a request may have before it is refused unread (one is accepted).
PARTS_MAX = 16
# Unicode categories a filename may not hold: control (Cc) and format characters (Cf,
# such as the right-to-left override that makes "exe.pdf" of "fdp.exe"), separators of
# lines and paragraphs (Zl, Zp), surrogates (Cs).
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


@dataclass(frozen=True)
class Upload:
    """A file as sent, checked: its name, its bytes, and the type they proved to be."""

    filename: str
    content: bytes
    media_type: MediaType


def invalid(message: str, field: str = FILE, location: str = "files") -> APIError:
    """A 422 naming a field of the multipart body, where webargs would put it."""
    return APIError(422, f"Invalid {field}: {message}", {location: {field: [message]}})


def _in_memory(*_args, **_kwargs) -> io.BytesIO:
    # werkzeug's default spools parts over 500 KiB to a temporary file.
    return io.BytesIO()


def read_upload(request: Request, max_bytes: int) -> Upload:
    """The one file of a ``multipart/form-data`` request, checked.

    Raises a 413 if the body or the file is over ``max_bytes`` (with room for the
    multipart framing), and a 422 naming the field for a body without exactly one file
    part ``file`` (and nothing else), an empty file, a filename that is empty, too long
    or holds path separators or control characters, or content that is not the
    accepted type its name says.
    """
    limit = max_bytes + FRAMING_BYTES
    too_large = APIError(
        413,
        f"The upload is too large: an attachment is at most {max_bytes} bytes, sent as "
        "one file part.",
        {"files": {FILE: [f"At most {max_bytes} bytes."]}},
    )
    # Also for the body of this request alone: the app's limit is for JSON bodies.
    request.max_content_length = limit
    parser = FormDataParser(
        _in_memory,
        max_content_length=limit,
        # Flask's own (500 kB by default): it bounds text fields and the parser's buffer,
        # which holds a 64 KiB chunk of the file at a time.
        max_form_memory_size=request.max_form_memory_size,
        max_form_parts=PARTS_MAX,
        silent=False,
    )
    try:
        _, form, files = parser.parse(
            request.stream, request.mimetype, request.content_length, request.mimetype_params
        )
    except RequestEntityTooLarge:
        raise too_large from None
    except ValueError:
        raise invalid("The body is not well-formed multipart/form-data.") from None

    if FILE in form:
        raise invalid("Send the file as a file part, with its filename.")
    if form:
        raise invalid("Unknown field: send only the file part.", next(iter(form)), "form")
    other = next((name for name in files if name != FILE), None)
    if other is not None:
        raise invalid("Unknown field: send the file in the part named file.", other)
    sent = files.getlist(FILE)
    if not sent:
        raise invalid("Missing file part: send the file in the part named file.")
    if len(sent) > 1:
        raise invalid("Send one file per request.")
    part = sent[0]
    filename = _filename(part.filename or "")
    content = part.stream.getvalue()
    if not content:
        raise invalid("The file is empty.")
    if len(content) > max_bytes:
        raise too_large
    try:
        media_type = media_type_of(filename, content)
    except MediaTypeError as exc:
        raise invalid(str(exc)) from None
    return Upload(filename, content, media_type)


def _filename(name: str) -> str:
    if not name:
        raise invalid("The file part has no filename.")
    if len(name) > FILENAME_MAX:
        raise invalid(f"A filename is at most {FILENAME_MAX} characters.")
    if "/" in name or "\\" in name:
        raise invalid("A filename may not hold path separators (/ or \\).")
    if any(unicodedata.category(c) in REFUSED_CATEGORIES for c in name):
        raise invalid("A filename may not hold control or formatting characters.")
    if name.strip() != name:
        raise invalid("A filename may not begin or end with spaces.")
    return name


# -- what the API returns --------------------------------------------------------------


class AttachmentSchema(ma.Schema):
    """An attachment's metadata: for those who may read the version's body."""

    id = ma.fields.UUID(attribute="attachment.id")
    idea = ma.fields.UUID(attribute="version.idea_id")
    version = ma.fields.Integer(attribute="version.number")
    position = ma.fields.Integer(attribute="attachment.position")
    filename = ma.fields.String(
        allow_none=True,
        metadata={"description": "As uploaded. Left out once the idea is shredded."},
    )
    media_type = ma.fields.String(attribute="attachment.media_type")
    size = ma.fields.Integer(attribute="attachment.size", metadata={"description": "bytes"})
    created_at = ma.fields.DateTime(attribute="attachment.created_at", format="iso")
    created_by = ma.fields.UUID(attribute="attachment.created_by_id")

    @ma.post_dump(pass_original=True)
    def _shredded(self, data, shown, **_kwargs):
        if shown.shredded:
            # Erased for everyone: the name is left out, and said to be gone.
            data.pop("filename", None)
            data["shredded"] = True
        return data


class AttachedSchema(AttachmentSchema):
    """A new attachment with the receipt of its statement (see docs/receipts.md)."""

    receipt = ma.fields.Dict()
