"""The allow-list of media types: chosen by extension, proved by content."""

from __future__ import annotations

import pytest

from registry.attachments.media import ACCEPTED, MediaTypeError, media_type_of
from tests.attachments.conftest import ODF, OOXML, SAMPLES, odf, ooxml, zipped

# The start of a Windows executable and of a Linux one.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(48)
ELF = b"\x7fELF\x02\x01\x01" + bytes(57)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_accepted_type_is_recognised(kind):
    filename, content, expected = SAMPLES[kind]
    assert media_type_of(filename, content).name == expected


def test_every_accepted_type_has_a_sample():
    assert {media.name for media in ACCEPTED} == {sample[2] for sample in SAMPLES.values()}


@pytest.mark.parametrize(
    ("filename", "content", "reason"),
    [
        ("plan.pdf", EXE, "named as a PDF document, but it does not begin as PDF does"),
        ("plan.pdf", ELF, "does not begin as PDF does"),
        ("chart.png", SAMPLES["jpg"][1], "does not begin as PNG does"),
        ("photo.jpg", SAMPLES["png"][1], "does not begin as JPEG does"),
        ("plan.pdf", SAMPLES["png"][1], "does not begin as PDF does"),
        ("notes.txt", b"caf\xe9", "not UTF-8 text (byte 3"),
        ("notes.md", b"# a\x00b", "holds a NUL byte (at byte 3)"),
        ("costs.csv", EXE, "not UTF-8 text"),
        ("plan.docx", EXE, "not a ZIP package"),
        ("plan.docx", b"PK\x03\x04 truncated", "not a readable ZIP package"),
        ("plan.docx", ooxml("xl/workbook.xml"), "no [Content_Types].xml and word/document.xml"),
        ("costs.xlsx", zipped({"xl/workbook.xml": b"<w/>"}), "no [Content_Types].xml"),
        ("plan.odt", odf(ODF + "spreadsheet"), "mimetype entry does not say " + ODF + "text"),
        ("plan.odt", zipped({"content.xml": b"<x/>"}), "no readable mimetype entry"),
        ("plan.odt", zipped({"mimetype": b"x" * 500}), "not an OpenDocument one"),
    ],
)
def test_content_that_is_not_the_named_type_is_refused(filename, content, reason):
    with pytest.raises(MediaTypeError, match="The file is named as") as refused:
        media_type_of(filename, content)
    assert reason in str(refused.value)


@pytest.mark.parametrize(
    "filename", ["setup.exe", "plan", "plan.", ".pdf", "script.js", "page.html", "plan.pdf.exe"]
)
def test_names_off_the_allow_list_are_refused(filename):
    with pytest.raises(MediaTypeError, match=r"Attach a file whose name ends in one of \.pdf, "):
        media_type_of(filename, SAMPLES["pdf"][1])


def test_the_extension_is_compared_without_case():
    assert media_type_of("PLAN.PDF", SAMPLES["pdf"][1]).name == "application/pdf"
    assert media_type_of("Plan.Docx", SAMPLES["docx"][1]).name == OOXML + (
        "wordprocessingml.document"
    )
