"""`registry verify`: the known-answer receipt checked from files, as an auditor would."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.evidence.commands import verify
from tests.evidence.receipt_vectors import (
    VECTOR_CHECKPOINT_3,
    VECTOR_CONSISTENCY_3_6,
    VECTOR_CONTENT,
    VECTOR_KEYS,
    VECTOR_RECEIPT,
)

CHECK_LINES = ("format", "signature", "timestamp", "inclusion", "checkpoint signature")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A receipt with the key set saved beside it, and the content it commits to."""
    (tmp_path / "receipt.json").write_text(json.dumps(VECTOR_RECEIPT))
    (tmp_path / "keys.json").write_text(json.dumps(VECTOR_KEYS))
    for field in ("title", "summary", "body"):
        (tmp_path / f"{field}.txt").write_text(VECTOR_CONTENT[field])
    (tmp_path / "tags.json").write_text(json.dumps(VECTOR_CONTENT["tags"], indent=2) + "\n")
    (tmp_path / "checkpoint.txt").write_text(VECTOR_CHECKPOINT_3)
    (tmp_path / "proof.json").write_text(
        json.dumps({"first": 3, "second": 6, "consistency": VECTOR_CONSISTENCY_3_6})
    )
    return tmp_path


def run(folder: Path, *args: str):
    return CliRunner().invoke(verify, [str(a) for a in args], catch_exceptions=False)


def lines(output: str) -> list[tuple[str, str]]:
    """(PASS or FAIL, check) for each line printed."""
    return [tuple(line.split(":", 1)[0].split(" ", 1)) for line in output.splitlines()]


def test_a_good_receipt_passes_every_check(folder):
    result = run(folder, folder / "receipt.json", "--keys", folder / "keys.json")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == [("PASS", check) for check in CHECK_LINES]
    assert "PASS inclusion: entry 2 of a tree of 6 leads to the checkpoint's root" in (
        result.output
    )


def test_keys_json_beside_the_receipt_is_the_default(folder):
    result = run(folder, folder / "receipt.json")
    assert result.exit_code == 0, result.output


def test_a_submission_answer_holding_the_receipt_is_accepted(folder):
    (folder / "submission.json").write_text(json.dumps({"id": "x", "receipt": VECTOR_RECEIPT}))
    result = run(folder, folder / "submission.json")
    assert result.exit_code == 0, result.output


def test_content_by_field(folder):
    result = run(
        folder,
        folder / "receipt.json",
        *("--content", f"title={folder / 'title.txt'}"),
        *("--content", f"body={folder / 'body.txt'}"),
        *("--content", f"tags={folder / 'tags.json'}"),
    )
    assert result.exit_code == 0, result.output
    assert lines(result.output)[-1] == ("PASS", "content")
    assert "PASS content: title, body, tags match their commitments" in result.output


def test_content_without_a_field_matches_any(folder):
    result = run(folder, folder / "receipt.json", "--content", folder / "summary.txt")
    assert result.exit_code == 0, result.output
    assert "PASS content: summary matches its commitment" in result.output


def test_wrong_content_fails_and_exits_1(folder):
    (folder / "other.txt").write_text("Practices refer frail patients to a link worker.")
    result = run(folder, folder / "receipt.json", "--content", f"body={folder / 'other.txt'}")
    assert result.exit_code == 1
    assert lines(result.output) == [
        *(("PASS", check) for check in CHECK_LINES),
        ("FAIL", "content"),
    ]
    assert "FAIL content: body does not match its commitment" in result.output


def test_a_saved_file_with_a_final_newline_is_pointed_out(folder):
    (folder / "title-newline.txt").write_text(VECTOR_CONTENT["title"] + "\n")
    result = run(folder, folder / "receipt.json", "--content", folder / "title-newline.txt")
    assert result.exit_code == 1
    assert "ends in a newline" in result.output


def test_a_tampered_receipt_fails_and_exits_1(folder):
    tampered = copy.deepcopy(VECTOR_RECEIPT)
    tampered["statement"]["owner"] = tampered["statement"]["submitter"]
    (folder / "tampered.json").write_text(json.dumps(tampered))
    result = run(folder, folder / "tampered.json")
    assert result.exit_code == 1
    assert lines(result.output) == [
        ("PASS", "format"),
        ("FAIL", "signature"),
        ("FAIL", "timestamp"),
        ("FAIL", "inclusion"),
        ("PASS", "checkpoint signature"),
    ]


def test_a_receipt_of_the_wrong_shape_fails_format(folder):
    (folder / "odd.json").write_text(json.dumps({"statement": {}}))
    result = run(folder, folder / "odd.json")
    assert result.exit_code == 1
    assert result.output.startswith("FAIL format: receipt lacks log, signature, timestamps")


def test_a_consistent_previous_checkpoint_passes(folder):
    result = run(
        folder,
        folder / "receipt.json",
        *("--checkpoint", folder / "checkpoint.txt"),
        *("--consistency", folder / "proof.json"),
    )
    assert result.exit_code == 0, result.output
    assert "PASS consistency: the previous checkpoint (size 3) is a prefix of size 6" in (
        result.output
    )


def test_a_bare_list_is_a_proof_too(folder):
    (folder / "list.json").write_text(json.dumps(VECTOR_CONSISTENCY_3_6))
    result = run(
        folder,
        folder / "receipt.json",
        *("--checkpoint", folder / "checkpoint.txt"),
        *("--consistency", folder / "list.json"),
    )
    assert result.exit_code == 0, result.output


def test_a_previous_checkpoint_without_proof_fails(folder):
    result = run(folder, folder / "receipt.json", "--checkpoint", folder / "checkpoint.txt")
    assert result.exit_code == 1
    assert "FAIL consistency: a consistency proof from size 3 to 6 is needed" in result.output


def test_a_tampered_proof_fails(folder):
    proof = [base64.b64encode(bytes(32)).decode(), *VECTOR_CONSISTENCY_3_6[1:]]
    (folder / "bad-proof.json").write_text(json.dumps({"consistency": proof}))
    result = run(
        folder,
        folder / "receipt.json",
        *("--checkpoint", folder / "checkpoint.txt"),
        *("--consistency", folder / "bad-proof.json"),
    )
    assert result.exit_code == 1
    assert "FAIL consistency: proof leads to" in result.output


@pytest.mark.parametrize(
    ("prepare", "args", "problem"),
    [
        (None, ["missing.json"], "cannot read"),
        ("receipt.json", ["receipt.json"], "is not JSON"),
        (None, ["receipt.json", "--keys", "nowhere.json"], "cannot read"),
        ("keys.json", ["receipt.json"], "is not JSON"),
        (None, ["receipt.json", "--content", "absent.txt"], "cannot read"),
        (None, ["receipt.json", "--content", "title=absent.txt"], "cannot read"),
        (None, ["receipt.json", "--checkpoint", "absent.txt"], "cannot read"),
        (None, ["receipt.json", "--consistency", "absent.json"], "cannot read"),
        ("proof.json", ["receipt.json", "--consistency", "proof.json"], "is not JSON"),
    ],
)
def test_unreadable_files_are_usage_errors(folder, prepare, args, problem):
    if prepare:
        (folder / prepare).write_text("{not json")
    result = run(folder, *(_in(folder, a) for a in args))
    assert result.exit_code == 2, result.output
    assert problem in result.output
    assert "PASS" not in result.output


def _in(folder: Path, arg: str) -> str:
    if arg.startswith("--"):
        return arg
    field, sep, name = arg.partition("=")
    return f"{field}={folder / name}" if sep else str(folder / arg)


def test_without_keys_and_none_beside_the_receipt_is_a_usage_error(folder):
    (folder / "keys.json").unlink()
    result = run(folder, folder / "receipt.json")
    assert result.exit_code == 2
    assert "give the key set (GET /api/v1/keys) with --keys" in result.output


def test_a_jwks_that_is_not_the_registrys_is_a_usage_error(folder):
    (folder / "oauth.json").write_text(json.dumps({"keys": [{"kty": "EC", "kid": "token"}]}))
    result = run(folder, folder / "receipt.json", "--keys", folder / "oauth.json")
    assert result.exit_code == 2
    assert "is this the registry's GET /api/v1/keys?" in result.output


def test_a_checkpoint_file_that_is_not_utf8_is_a_usage_error(folder):
    (folder / "binary.txt").write_bytes(b"\xff\xfe")
    result = run(folder, folder / "receipt.json", "--checkpoint", folder / "binary.txt")
    assert result.exit_code == 2
    assert "is not UTF-8 text" in result.output


@pytest.mark.parametrize(
    "document", [{"consistency": "AAAA"}, {"first": 3}, ["not base64!"], [1, 2]]
)
def test_a_file_that_is_not_a_proof_is_a_usage_error(folder, document):
    (folder / "odd-proof.json").write_text(json.dumps(document))
    result = run(
        folder,
        folder / "receipt.json",
        *("--checkpoint", folder / "checkpoint.txt"),
        *("--consistency", folder / "odd-proof.json"),
    )
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("{folder}/body.txt", "every --content as FIELD=FILE, or every one as a bare FILE"),
        ("title={folder}/body.txt", "title is given twice"),
    ],
    ids=["mixing-named-and-unnamed", "a-field-given-twice"],
)
def test_content_after_a_named_field_is_a_usage_error(folder, second, message):
    result = run(
        folder,
        folder / "receipt.json",
        *("--content", f"title={folder / 'title.txt'}"),
        *("--content", second.format(folder=folder)),
    )
    assert result.exit_code == 2
    assert message in result.output


def test_a_path_holding_an_equals_sign_is_a_bare_file(folder):
    (folder / "a=b.txt").write_text(VECTOR_CONTENT["title"])
    result = run(folder, folder / "receipt.json", "--content", folder / "a=b.txt")
    assert result.exit_code == 0, result.output
