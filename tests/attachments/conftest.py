"""Factories for the attachments' tests: sample files of every accepted type, uploads."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.grants.conftest import ADAM, AUDREY, CAROL, FRAN, PAT, QUINN, keyset, share, verified

# The personas, and the grants' fixtures these tests use too.
__all__ = ["ADAM", "AUDREY", "CAROL", "FRAN", "PAT", "QUINN", "keyset", "share", "verified"]

SENSITIVITIES = ["public", "alliance", "commercial", "confidential"]
SEALED = {"commercial", "confidential"}

OOXML = "application/vnd.openxmlformats-officedocument."
ODF = "application/vnd.oasis.opendocument."


def zipped(entries: dict[str, bytes]) -> bytes:
    """A ZIP package holding ``entries`` in order (the first stored, as ODF wants)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for position, (name, data) in enumerate(entries.items()):
            compression = zipfile.ZIP_STORED if position == 0 else zipfile.ZIP_DEFLATED
            package.writestr(name, data, compress_type=compression)
    return buffer.getvalue()


def ooxml(main_part: str) -> bytes:
    return zipped({"[Content_Types].xml": b"<Types/>", main_part: b"<document/>"})


def odf(media_type: str) -> bytes:
    return zipped({"mimetype": media_type.encode(), "content.xml": b"<office:document/>"})


# One small, well-formed file of each accepted type: (filename, content, media type).
SAMPLES = {
    "pdf": ("plan.pdf", b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n", "application/pdf"),
    "txt": ("notes.txt", "Notes: café at 10.\n".encode(), "text/plain"),
    "csv": ("costs.csv", b"item,cost\nlink worker,32000\n", "text/csv"),
    "md": ("README.md", b"# Frailty hub\n\n- one\n", "text/markdown"),
    "markdown": ("notes.markdown", b"*notes*\n", "text/markdown"),
    "png": ("chart.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(17), "image/png"),
    "jpg": ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(8), "image/jpeg"),
    "jpeg": ("photo.JPEG", b"\xff\xd8\xff\xdb" + bytes(8), "image/jpeg"),
    "docx": ("plan.docx", ooxml("word/document.xml"), OOXML + "wordprocessingml.document"),
    "xlsx": ("costs.xlsx", ooxml("xl/workbook.xml"), OOXML + "spreadsheetml.sheet"),
    "pptx": ("deck.pptx", ooxml("ppt/presentation.xml"), OOXML + "presentationml.presentation"),
    "odt": ("plan.odt", odf(ODF + "text"), ODF + "text"),
    "ods": ("costs.ods", odf(ODF + "spreadsheet"), ODF + "spreadsheet"),
    "odp": ("deck.odp", odf(ODF + "presentation"), ODF + "presentation"),
}
PDF = SAMPLES["pdf"]


def attachments_path(idea_id: str, number: int = 1) -> str:
    return f"/api/v1/ideas/{idea_id}/versions/{number}/attachments"


def multipart(
    parts: list[tuple[str, str, bytes]], form: dict[str, str] | None = None, part_type: str = ""
) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type. File parts name their file as
    RFC 7578 allows, ``filename*=UTF-8''...``, so that any character reaches the server
    as sent (a test client's quoted ``filename="..."`` loses backslashes and newlines)."""
    boundary = "registry-test-boundary"
    body = b""
    for name, value in (form or {}).items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    for name, filename, content in parts:
        headers = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}\r\n"
        )
        if part_type:
            headers += f"Content-Type: {part_type}\r\n"
        body += headers.encode() + b"\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def upload(client: FlaskClient, auth) -> Callable[..., TestResponse]:
    """A factory: POST a multipart body to a version's attachments as ``by`` (None:
    without a token). ``files`` is a list of (part name, filename, content); by default
    one part ``file`` holding ``filename`` and ``content``."""

    def post(
        idea_id: str,
        filename: str = PDF[0],
        content: bytes = PDF[1],
        by: str | None = PAT,
        number: int = 1,
        files: list[tuple[str, str, bytes]] | None = None,
        form: dict[str, str] | None = None,
        part_type: str = "application/octet-stream",
    ) -> TestResponse:
        parts = files if files is not None else [("file", filename, content)]
        body, content_type = multipart(parts, form, part_type)
        return client.post(
            attachments_path(idea_id, number),
            data=body,
            content_type=content_type,
            headers=auth(by) if by else {},
        )

    return post


@pytest.fixture
def attach(upload) -> Callable[..., dict]:
    """A factory: attach a file (a PDF by default) as the owner; return the response body."""

    def attach_(idea_id: str, expect: int = 201, **kwargs) -> dict:
        response = upload(idea_id, **kwargs)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.json

    return attach_


@pytest.fixture
def fetch(client: FlaskClient, auth) -> Callable[..., TestResponse]:
    """A factory: GET an attachment path (after .../attachments) as ``by`` (None: anonymous)."""

    def get(idea_id: str, rest: str = "", by: str | None = PAT, number: int = 1) -> TestResponse:
        path = attachments_path(idea_id, number) + rest
        return client.get(path, headers=auth(by) if by else {})

    return get


@pytest.fixture
def read_access_log(client: FlaskClient, auth) -> Callable[[str], list[dict]]:
    """A factory: an idea's access log entries, newest first, as its owner reads them."""

    def read(idea_id: str) -> list[dict]:
        response = client.get(f"/api/v1/ideas/{idea_id}/access-log", headers=auth(PAT))
        assert response.status_code == 200, response.json
        return response.json["items"]

    return read
