"""The media types an attachment may have, and how its content is checked to be one.

The type is chosen by the filename's extension from a fixed allow-list, then the content
must prove it: a PDF begins ``%PDF-``, a PNG with its signature, an office document is a
ZIP holding that format's parts, text is UTF-8 without NUL. What the client says the part
is (its Content-Type) is not trusted: a ".pdf" that is really an executable is refused.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
PDF_SIGNATURE = b"%PDF-"
ZIP_SIGNATURE = b"PK\x03\x04"
# An ODF document's first entry, "mimetype", holds its media type: a few dozen bytes.
ODF_MIMETYPE_MAX = 128


class MediaTypeError(ValueError):
    """The file is not of a type attachments may have, or its content is not that type."""


@dataclass(frozen=True)
class MediaType:
    """An accepted type: its name, the extensions that announce it, and what its content
    must be (``check`` returns a reason it is not, or None)."""

    name: str
    extensions: tuple[str, ...]
    description: str
    check: Callable[[bytes], str | None]

    @property
    def is_text(self) -> bool:
        return self.name.startswith("text/")


def _starts_with(signature: bytes, what: str) -> Callable[[bytes], str | None]:
    def check(content: bytes) -> str | None:
        return None if content.startswith(signature) else f"it does not begin as {what} does"

    return check


def _utf8_text(content: bytes) -> str | None:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"it is not UTF-8 text (byte {exc.start} is not UTF-8)"
    if b"\x00" in content:
        return f"it holds a NUL byte (at byte {content.index(0)}), which text does not"
    return None


# What reading a damaged, encrypted or oddly compressed ZIP entry may raise.
_UNREADABLE = (
    zipfile.BadZipFile,
    ValueError,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
)


def _zip(content: bytes) -> zipfile.ZipFile | str:
    if not content.startswith(ZIP_SIGNATURE):
        return "it is not a ZIP package, as office documents are"
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        return "it is not a readable ZIP package, as office documents are"


def _ooxml(main_part: str) -> Callable[[bytes], str | None]:
    def check(content: bytes) -> str | None:
        package = _zip(content)
        if isinstance(package, str):
            return package
        with package:
            names = set(package.namelist())
        if "[Content_Types].xml" not in names or main_part not in names:
            return f"its package has no [Content_Types].xml and {main_part}"
        return None

    return check


def _odf(name: str) -> Callable[[bytes], str | None]:
    def check(content: bytes) -> str | None:
        package = _zip(content)
        if isinstance(package, str):
            return package
        with package:
            try:
                entry = package.getinfo("mimetype")
                if entry.file_size > ODF_MIMETYPE_MAX:
                    return "its mimetype entry is not an OpenDocument one"
                declared = package.read(entry)
            except (KeyError, *_UNREADABLE):
                return "its package has no readable mimetype entry"
        if declared != name.encode():
            return f"its mimetype entry does not say {name}"
        return None

    return check


_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
ACCEPTED: tuple[MediaType, ...] = (
    MediaType("application/pdf", (".pdf",), "a PDF document", _starts_with(PDF_SIGNATURE, "PDF")),
    MediaType("text/plain", (".txt",), "plain text", _utf8_text),
    MediaType("text/csv", (".csv",), "CSV text", _utf8_text),
    MediaType("text/markdown", (".md", ".markdown"), "Markdown text", _utf8_text),
    MediaType("image/png", (".png",), "a PNG image", _starts_with(PNG_SIGNATURE, "PNG")),
    MediaType(
        "image/jpeg", (".jpg", ".jpeg"), "a JPEG image", _starts_with(JPEG_SIGNATURE, "JPEG")
    ),
    MediaType(
        _OOXML + "wordprocessingml.document",
        (".docx",),
        "a Word document",
        _ooxml("word/document.xml"),
    ),
    MediaType(
        _OOXML + "spreadsheetml.sheet", (".xlsx",), "an Excel workbook", _ooxml("xl/workbook.xml")
    ),
    MediaType(
        _OOXML + "presentationml.presentation",
        (".pptx",),
        "a PowerPoint presentation",
        _ooxml("ppt/presentation.xml"),
    ),
    MediaType(_ODF + "text", (".odt",), "an OpenDocument text", _odf(_ODF + "text")),
    MediaType(
        _ODF + "spreadsheet",
        (".ods",),
        "an OpenDocument spreadsheet",
        _odf(_ODF + "spreadsheet"),
    ),
    MediaType(
        _ODF + "presentation",
        (".odp",),
        "an OpenDocument presentation",
        _odf(_ODF + "presentation"),
    ),
)
BY_EXTENSION = {extension: media for media in ACCEPTED for extension in media.extensions}
EXTENSIONS = tuple(BY_EXTENSION)


def media_type_of(filename: str, content: bytes) -> MediaType:
    """The accepted type ``filename``'s extension names, once ``content`` proves to be it.

    Raises :class:`MediaTypeError` saying why otherwise: an extension not on the
    allow-list, or content that is not of the type it names.
    """
    stem, dot, extension = filename.rpartition(".")
    media = BY_EXTENSION.get(f".{extension.lower()}") if dot and stem else None
    if media is None:
        raise MediaTypeError(
            "Attach a file whose name ends in one of " + ", ".join(EXTENSIONS) + "."
        )
    reason = media.check(content)
    if reason is not None:
        raise MediaTypeError(f"The file is named as {media.description}, but {reason}.")
    return media
