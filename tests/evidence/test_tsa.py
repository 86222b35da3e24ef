"""The registry's RFC 3161 authority, checked by our verifier and by OpenSSL's."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from registry.evidence.errors import VerificationError
from registry.evidence.jcs import canonicalize
from registry.evidence.tsa import (
    CERTIFICATE,
    KEY,
    POLICY,
    ROOT_CERTIFICATE,
    ROOT_KEY,
    TimeStampAuthority,
    TSAError,
    create_authority,
    load_authority,
    request_timestamp,
    verify_timestamp,
)
from registry.keyfiles import KeyFileError

DATA = b"An idea worth dating.\n"
DIGEST = hashlib.sha256(DATA).digest()

# A token our authority issued on 22 November 2026, with the root it chains to. It must
# verify for as long as the registry exists: the chain is checked at the token's own
# genTime, not today. Made with serial=20261122, nonce=7.
FIXED_DIGEST = hashlib.sha256(b"Alliance Innovation Registry fixed vector\n").digest()
FIXED_TIME = datetime(2026, 11, 22, 19, 34, 46, 123456, tzinfo=UTC)
FIXED_ROOT = base64.b64decode(
    "MIIBxjCCAWygAwIBAgIUAhSsUPevx32fclseDkfc6kWNSk0wCgYIKoZIzj0EAwIwLzEtMCsGA1UEAwwkQWxsaWFu"
    "Y2UgSW5ub3ZhdGlvbiBSZWdpc3RyeSBSb290IENBMB4XDTI2MTEyMjE5MzQ0NloXDTQ2MTEyMjE5MzQ0NlowLzEt"
    "MCsGA1UEAwwkQWxsaWFuY2UgSW5ub3ZhdGlvbiBSZWdpc3RyeSBSb290IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0D"
    "AQcDQgAENq24wyaTtlogmRbc1mSBDhKylmVwHrlHYejiqfTR4X3anpB+bFUIa4bRQ9QnL4T0+D/8iE9V7gKwyUo0"
    "m3MYn6NmMGQwEgYDVR0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFGGN+j79/ZpEL5if"
    "UFNV8d6CtXqXMB8GA1UdIwQYMBaAFGGN+j79/ZpEL5ifUFNV8d6CtXqXMAoGCCqGSM49BAMCA0gAMEUCIF2IQAqh"
    "d+fE3NyDChQrBFqjD3XHK0NSCijdLjmALK3eAiEAkA5pTRrPLHNjtpP9TSPiXkXv+qRBf8AkFeDB15hyUhE="
)
FIXED_TOKEN = base64.b64decode(
    "MIIEFQYJKoZIhvcNAQcCoIIEBjCCBAICAQMxDzANBglghkgBZQMEAgEFADCBgAYLKoZIhvcNAQkQAQSgcQRvMG0C"
    "AQEGFGmCpcbT46bx8pu3poffs9qF9PRPMDEwDQYJYIZIAWUDBAIBBQAEIA4jDdUFOsGnJF0YPHY7p12aa7zSihlt"
    "6H1gWMJBVEiNAgQBNSkCGBYyMDI2MTEyMjE5MzQ0Ni4xMjM0NTZaAgEHoIIB2DCCAdQwggF6oAMCAQICFHBRuB5g"
    "toom3ac3XMKBH1pvDis1MAoGCCqGSM49BAMCMC8xLTArBgNVBAMMJEFsbGlhbmNlIElubm92YXRpb24gUmVnaXN0"
    "cnkgUm9vdCBDQTAeFw0yNjExMjIxOTM0NDZaFw0zNjExMjIxOTM0NDZaMCsxKTAnBgNVBAMMIEFsbGlhbmNlIElu"
    "bm92YXRpb24gUmVnaXN0cnkgVFNBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFiyYlfuYfXOVoFRpCL9wmBsk"
    "7aXWYqHLq4KgYhG19ZKEygFFyOR+F5gkB9nxUh64afernl3ss0n9PDDGUdqwX6N4MHYwDAYDVR0TAQH/BAIwADAO"
    "BgNVHQ8BAf8EBAMCBsAwFgYDVR0lAQH/BAwwCgYIKwYBBQUHAwgwHQYDVR0OBBYEFNJwVSsy6e09S9TEwl1rpSbg"
    "u4vFMB8GA1UdIwQYMBaAFGGN+j79/ZpEL5ifUFNV8d6CtXqXMAoGCCqGSM49BAMCA0gAMEUCIG7IMHg/jZD3f/n5"
    "FOI8eDhzw1ZGL0oVNZSTFBXgV6D3AiEA40sqGVYXml8hKbvBY/UNA6G26WjGuRwPysHEkXFA38IxggGLMIIBhwIB"
    "ATBHMC8xLTArBgNVBAMMJEFsbGlhbmNlIElubm92YXRpb24gUmVnaXN0cnkgUm9vdCBDQQIUcFG4HmC2iibdpzdc"
    "woEfWm8OKzUwDQYJYIZIAWUDBAIBBQCggdQwGgYJKoZIhvcNAQkDMQ0GCyqGSIb3DQEJEAEEMC8GCSqGSIb3DQEJ"
    "BDEiBCAPi43a8zM2Jj+dWO1ty+W5xlOhnG0WjZg8j1CXH2rw4zCBhAYLKoZIhvcNAQkQAi8xdTBzMHEwbwQg2++F"
    "OK/meNuCGaTdfxSqtkxC13axayBOyQG7uWwOsukwSzAzpDEwLzEtMCsGA1UEAwwkQWxsaWFuY2UgSW5ub3ZhdGlv"
    "biBSZWdpc3RyeSBSb290IENBAhRwUbgeYLaKJt2nN1zCgR9abw4rNTAKBggqhkjOPQQDAgRHMEUCIAD5fgIz5HCq"
    "JmwowL95iytUK+32GXLv7jeWiJFAZQi8AiEAvKlnDgDVK+WSdD7dXsv6DkqDW/ThKWNrE836unNpoD4="
)


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    assert create_authority(path)
    return path


@pytest.fixture
def authority(instance: Path) -> TimeStampAuthority:
    return load_authority(instance)


@pytest.fixture
def openssl() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``openssl`` with arguments; CI installs it, so its absence is a failure."""
    binary = shutil.which("openssl")
    if binary is None:
        pytest.fail("openssl is required for the RFC 3161 interoperability tests")

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, *map(str, args)], capture_output=True, text=True, check=False
        )

    return run


def status_of(response: bytes) -> tuple[str, set[str]]:
    """The status and failure bits of a DER TimeStampResp."""
    info = tsp.PKIStatusInfo.load(core.Sequence.load(response)[0].dump())
    return info["status"].native, set(info["fail_info"].native or ())


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


# -- creating and loading ----------------------------------------------------------------


def test_create_authority_writes_private_keys_and_public_certificates(instance: Path):
    for name in (ROOT_KEY, KEY):
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600
    for name in (ROOT_CERTIFICATE, CERTIFICATE):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode & stat.S_IRUSR
        assert not mode & (stat.S_IWGRP | stat.S_IWOTH)
        x509.load_pem_x509_certificate((instance / name).read_bytes())


def test_create_authority_twice_changes_nothing(instance: Path):
    paths = [instance / p for p in (ROOT_CERTIFICATE, ROOT_KEY, CERTIFICATE, KEY)]
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in paths}
    assert create_authority(instance) is False
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in paths} == before


def test_half_made_authority_is_refused(instance: Path):
    (instance / CERTIFICATE).unlink()
    with pytest.raises(KeyFileError, match="exist without the others"):
        create_authority(instance)


def test_load_authority_refuses_a_key_others_can_read(instance: Path):
    os.chmod(instance / KEY, 0o644)
    with pytest.raises(KeyFileError, match="accessible to other users"):
        load_authority(instance)


def test_tsa_certificate_profile(authority: TimeStampAuthority):
    tsa = x509.load_der_x509_certificate(authority.certificate)
    root = x509.load_der_x509_certificate(authority.root_certificate)

    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    usage = tsa.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not tsa.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert tsa.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Alliance Innovation Registry TSA"
    )
    assert tsa.not_valid_after_utc - tsa.not_valid_before_utc >= timedelta(days=3652)
    tsa.verify_directly_issued_by(root)
    aki = tsa.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest

    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    root_usage = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert root_usage.critical
    assert root_usage.value.key_cert_sign
    assert root_usage.value.crl_sign
    assert root.subject == root.issuer
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Alliance Innovation Registry Root CA"
    )
    assert root.not_valid_after_utc - root.not_valid_before_utc >= timedelta(days=7304)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.public_key().curve.name == "secp256r1"
    assert authority.name == "Alliance Innovation Registry TSA"


# -- our verifier --------------------------------------------------------------------------


def test_fixed_token_verifies_and_reads_back():
    result = verify_timestamp(FIXED_TOKEN, FIXED_DIGEST, roots=[FIXED_ROOT])
    assert result.time == FIXED_TIME
    assert result.serial == 20261122
    assert result.tsa == "Alliance Innovation Registry TSA"
    assert result.policy == POLICY
    assert result.source == "rfc3161"


def test_fresh_token_reads_back_what_was_asked(authority: TimeStampAuthority):
    at = datetime.now(UTC).replace(microsecond=654321)
    token = authority.timestamp(DIGEST, serial=42, nonce=99, at=at)
    result = verify_timestamp(token, DIGEST, roots=[authority.root_certificate])
    assert (result.time, result.serial, result.policy) == (at, 42, POLICY)
    assert result.time.tzinfo is UTC


@pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
def test_longer_digests_are_stamped_too(authority: TimeStampAuthority, algorithm: str):
    digest = hashlib.new(algorithm, DATA).digest()
    token = authority.timestamp(digest, hash_algorithm=algorithm)
    result = verify_timestamp(
        token, digest, roots=[authority.root_certificate], hash_algorithm=algorithm
    )
    assert result.tsa == authority.name


def test_token_without_certificate_needs_it_supplied(authority: TimeStampAuthority):
    token = authority.timestamp(DIGEST, include_certificate=False)
    with pytest.raises(VerificationError, match="signer certificate not found"):
        verify_timestamp(token, DIGEST, roots=[authority.root_certificate])
    verify_timestamp(
        token, DIGEST, roots=[authority.root_certificate], intermediates=[authority.certificate]
    )


def test_timestamp_refuses_bad_arguments(authority: TimeStampAuthority):
    with pytest.raises(ValueError, match="not supported"):
        authority.timestamp(DIGEST[:20])
    with pytest.raises(ValueError, match="not supported"):
        authority.timestamp(DIGEST, hash_algorithm="sha1")
    with pytest.raises(ValueError, match="timezone-aware"):
        authority.timestamp(DIGEST, at=datetime(2030, 1, 1))  # noqa: DTZ001 - the point
    with pytest.raises(ValueError, match="positive"):
        authority.timestamp(DIGEST, serial=0)


def test_changed_signature_fails():
    # The token ends with the ECDSA signature; its last byte is inside the integer s.
    with pytest.raises(VerificationError, match="timestamp: signature does not verify"):
        verify_timestamp(flip_last_byte(FIXED_TOKEN), FIXED_DIGEST, roots=[FIXED_ROOT])


def test_changed_tstinfo_fails():
    gen_time = b"20261122193446.123456Z"
    assert FIXED_TOKEN.count(gen_time) == 1
    tampered = FIXED_TOKEN.replace(gen_time, b"20251122193446.123456Z")
    with pytest.raises(VerificationError, match="message-digest attribute does not match"):
        verify_timestamp(tampered, FIXED_DIGEST, roots=[FIXED_ROOT])


def test_wrong_digest_fails():
    with pytest.raises(VerificationError, match="message imprint does not match the digest"):
        verify_timestamp(FIXED_TOKEN, hashlib.sha256(b"other").digest(), roots=[FIXED_ROOT])


def test_wrong_hash_algorithm_fails():
    with pytest.raises(VerificationError, match="message imprint is not sha512"):
        verify_timestamp(FIXED_TOKEN, FIXED_DIGEST, roots=[FIXED_ROOT], hash_algorithm="sha512")


def test_wrong_root_fails(authority: TimeStampAuthority):
    with pytest.raises(VerificationError, match="does not chain to a trusted root"):
        verify_timestamp(FIXED_TOKEN, FIXED_DIGEST, roots=[authority.root_certificate])


def test_substituted_certificate_fails():
    certificate = cms.ContentInfo.load(FIXED_TOKEN)["content"]["certificates"][0].chosen
    cert_hash = hashlib.sha256(certificate.dump()).digest()
    assert FIXED_TOKEN.count(cert_hash) == 1  # the ESSCertIDv2 in the signed attributes
    tampered = FIXED_TOKEN.replace(cert_hash, bytes(32))
    with pytest.raises(VerificationError, match="signer certificate not found"):
        verify_timestamp(tampered, FIXED_DIGEST, roots=[FIXED_ROOT])


def test_token_dated_outside_the_certificate_fails(authority: TimeStampAuthority):
    later = datetime.now(UTC) + timedelta(days=11 * 366)
    token = authority.timestamp(DIGEST, at=later)
    with pytest.raises(VerificationError, match="is not valid at"):
        verify_timestamp(token, DIGEST, roots=[authority.root_certificate])


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (b"", "token is not a DER TimeStampToken"),
        (b"garbage", "token is not a DER TimeStampToken"),
        (FIXED_TOKEN[:-1], "token is not a DER TimeStampToken"),
        (FIXED_TOKEN + b"\0", "token is not a DER TimeStampToken"),
        (b"\x30\x03\x06\x01\x00", "token is not CMS SignedData"),  # ContentInfo of OID 0.0
    ],
    ids=["empty", "garbage", "truncated", "trailing", "not-signed-data"],
)
def test_malformed_token_fails(token: bytes, problem: str):
    with pytest.raises(VerificationError, match=f"timestamp: {problem}"):
        verify_timestamp(token, FIXED_DIGEST, roots=[FIXED_ROOT])


def test_no_single_byte_change_crashes_or_changes_the_facts():
    # Only the OID inside SignedData's digestAlgorithms (bytes 32-40) is neither signed
    # nor checked against anything: RFC 5652 lets that set hold any algorithms, even
    # none. Every other unsigned byte is checked by the strict DER reader (tags,
    # lengths, the SignedData and SignerInfo versions, NULL-or-absent digest parameters).
    # A change there may still verify, but must then report exactly the same facts;
    # anywhere else it must be refused.
    unsigned = set(range(32, 41))
    original = verify_timestamp(FIXED_TOKEN, FIXED_DIGEST, roots=[FIXED_ROOT])
    for index in range(len(FIXED_TOKEN)):
        tampered = bytearray(FIXED_TOKEN)
        tampered[index] ^= 0x01
        try:
            result = verify_timestamp(bytes(tampered), FIXED_DIGEST, roots=[FIXED_ROOT])
        except VerificationError:
            continue
        assert index in unsigned, f"byte {index} changed and the token still verified"
        assert result == original


# -- the strict DER reader ----------------------------------------------------------------


def _tree(data: bytes) -> list:
    """DER as nested [tag, contents] lists, contents a list when constructed."""
    items, pos = [], 0
    while pos < len(data):
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        contents = data[pos : pos + length]
        pos += length
        items.append([tag, _tree(contents) if tag & 0x20 else contents])
    return items


def _encode(items: list) -> bytes:
    out = b""
    for tag, contents in items:
        body = _encode(contents) if isinstance(contents, list) else contents
        size = len(body)
        if size < 0x80:
            length = bytes([size])
        else:
            count = (size.bit_length() + 7) // 8
            length = bytes([0x80 | count]) + size.to_bytes(count, "big")
        out += bytes([tag]) + length + body
    return out


def _edited(change: Callable[[list, list, list], object]) -> bytes:
    """FIXED_TOKEN re-encoded after ``change(signed_data, tst_info, signer_info)``."""
    tree = _tree(FIXED_TOKEN)
    signed_data = tree[0][1][1][1][0][1]
    e_content = signed_data[2][1][1][1][0]
    tst_info = _tree(e_content[1])
    change(signed_data, tst_info[0][1], signed_data[4][1][0][1])
    e_content[1] = _encode(tst_info)
    return _encode(tree)


def test_der_helpers_round_trip_the_fixed_token():
    assert _encode(_tree(FIXED_TOKEN)) == FIXED_TOKEN
    assert _edited(lambda sd, tst, si: None) == FIXED_TOKEN


def _set(node: list, value: object) -> None:
    node[1] = value


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (b"\x30\x80" + FIXED_TOKEN[4:] + b"\0\0", "indefinite length at byte 0"),
        (b"\x30\x83\x00" + FIXED_TOKEN[2:], "length not minimally encoded at byte 0"),
        (b"\x30\x81\x03\x06\x01\x00", "length not minimally encoded at byte 0"),
        (b"\x1f\x01\x00", "multi-byte tag at byte 0"),
        (FIXED_TOKEN + b"\0", rf"unexpected data at byte {len(FIXED_TOKEN)} in the token"),
        (
            FIXED_TOKEN[:23] + b"\x0a" + FIXED_TOKEN[24:],
            r"expected SignedData version \(tag 0x02\) at byte 23, found tag 0x0a",
        ),
        (
            _edited(lambda sd, tst, si: sd.append([0x05, b""])),
            r"unexpected data at byte \d+ in SignedData",
        ),
        (
            _edited(lambda sd, tst, si: tst[2][1].append([0x05, b""])),
            r"unexpected data at byte \d+ in messageImprint",
        ),
        (
            _edited(lambda sd, tst, si: _set(tst[3], b"\0" + tst[3][1])),
            r"TSTInfo serialNumber not minimally encoded at byte \d+",
        ),
        (
            _edited(lambda sd, tst, si: _set(tst[1], b"\x80" + tst[1][1])),
            r"TSTInfo policy has a padded sub-identifier",
        ),
        (
            _edited(lambda sd, tst, si: sd[2][1][1][1][0].__setitem__(0, 0x24)),
            r"expected eContent OCTET STRING \(tag 0x04\) at byte \d+, found tag 0x24",
        ),
        (
            _edited(lambda sd, tst, si: _set(tst[4], b"20261122193446.123450Z")),
            r"genTime b'20261122193446.123450Z' is not of the form YYYYMMDDhhmmss\[.f\]Z",
        ),
        (
            _edited(lambda sd, tst, si: _set(tst[4], b"20261122193446+0100")),
            r"genTime b'20261122193446\+0100' is not of the form",
        ),
        (
            _edited(lambda sd, tst, si: _set(sd[0], b"\x02")),
            "SignedData version 2 is not 3, 4 or 5",
        ),
        (
            _edited(lambda sd, tst, si: _set(si[0], b"\x03")),
            "SignerInfo version 3 with sid tag 0x30",
        ),
        (
            _edited(lambda sd, tst, si: _set(si[2][1][1], b"\0")),
            "SignerInfo digestAlgorithm parameters are neither absent nor NULL",
        ),
        (
            _edited(lambda sd, tst, si: sd[3][1][0].__setitem__(0, 0x31)),
            r"unexpected tag 0x31 at byte \d+ in certificates",
        ),
    ],
    ids=[
        "indefinite", "padded-length", "long-form-short-length", "multi-byte-tag",
        "trailing", "wrong-tag", "trailing-in-signed-data", "trailing-in-imprint",
        "padded-integer", "padded-oid", "constructed-octet-string", "gen-time-trailing-zero",
        "gen-time-offset", "signed-data-version", "signer-info-version", "digest-parameters",
        "certificate-choice",
    ],
)  # fmt: skip
def test_token_that_is_not_strict_der_is_refused(token: bytes, problem: str):
    with pytest.raises(VerificationError, match=f"token is not a DER TimeStampToken: {problem}"):
        verify_timestamp(token, FIXED_DIGEST, roots=[FIXED_ROOT])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda sd, tst, si: si[3][1].append(si[3][1][0]), "a signed attribute type appears twice"),
        (
            lambda sd, tst, si: sd[4][1].append(sd[4][1][0]),
            "token does not have exactly one signer",
        ),
        (lambda sd, tst, si: _set(tst[0], b"\x02"), "TSTInfo version is not 1"),
        (lambda sd, tst, si: _set(tst[4], b"00001122193446Z"), "genTime is out of range"),
    ],
    ids=["repeated-attribute", "two-signers", "tst-info-version", "year-zero"],
)
def test_well_formed_but_unacceptable_token_is_refused(change, problem: str):
    with pytest.raises(VerificationError, match=f"timestamp: {problem}"):
        verify_timestamp(_edited(change), FIXED_DIGEST, roots=[FIXED_ROOT])


def _authority_with(eku: list, critical: bool) -> TimeStampAuthority:
    """A TSA whose certificate breaks the RFC 3161 profile in a chosen way."""
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=critical)
    tsa = builder.sign(root_key, hashes.SHA256())
    der = serialization.Encoding.DER
    return TimeStampAuthority(key, tsa.public_bytes(der), root.public_bytes(der))


@pytest.mark.parametrize(
    ("eku", "critical", "problem"),
    [
        ([], True, "has no extended key usage"),
        ([ExtendedKeyUsageOID.TIME_STAMPING], False, "extended key usage is not critical"),
        (
            [ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.CODE_SIGNING],
            True,
            "not timeStamping only",
        ),
    ],
)
def test_signer_must_be_a_timestamping_only_certificate(eku, critical, problem):
    authority = _authority_with(eku, critical)
    token = authority.timestamp(DIGEST)
    with pytest.raises(VerificationError, match=problem):
        verify_timestamp(token, DIGEST, roots=[authority.root_certificate])


def test_key_must_match_certificate(authority: TimeStampAuthority):
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError, match="does not match"):
        TimeStampAuthority(other, authority.certificate, authority.root_certificate)


# -- OpenSSL's verifier and client ---------------------------------------------------------


def test_token_verifies_with_openssl(authority, instance, tmp_path, openssl):
    token = tmp_path / "token.tsr"
    token.write_bytes(authority.timestamp(DIGEST))
    result = openssl(
        "ts", "-verify", "-digest", DIGEST.hex(), "-in", token, "-token_in",
        "-CAfile", instance / ROOT_CERTIFICATE, "-untrusted", instance / CERTIFICATE,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout


def test_fixed_token_verifies_with_openssl(tmp_path, openssl):
    token = tmp_path / "token.tsr"
    token.write_bytes(FIXED_TOKEN)
    root = tmp_path / "root.pem"
    root.write_bytes(
        x509.load_der_x509_certificate(FIXED_ROOT).public_bytes(serialization.Encoding.PEM)
    )
    # OpenSSL checks the chain at the current time; -attime pins it to the token's.
    result = openssl(
        "ts", "-verify", "-digest", FIXED_DIGEST.hex(), "-in", token, "-token_in",
        "-CAfile", root, "-attime", str(int(FIXED_TIME.timestamp())),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout


@pytest.mark.parametrize("nonce", [True, False], ids=["nonce", "no-nonce"])
@pytest.mark.parametrize("cert_req", [True, False], ids=["cert", "no-cert"])
def test_openssl_query_is_answered(authority, instance, tmp_path, openssl, nonce, cert_req):
    data, query, reply = tmp_path / "data.txt", tmp_path / "req.tsq", tmp_path / "resp.tsr"
    data.write_bytes(DATA)
    flags = ["-cert"] if cert_req else []
    flags += [] if nonce else ["-no_nonce"]
    made = openssl("ts", "-query", "-data", data, "-sha256", *flags, "-out", query)
    assert made.returncode == 0, made.stderr

    reply.write_bytes(authority.respond(query.read_bytes()))

    text = openssl("ts", "-reply", "-in", reply, "-text")
    assert text.returncode == 0, text.stderr
    assert "Status: Granted." in text.stdout
    assert f"Policy OID: {POLICY}" in text.stdout
    assert ("Nonce: 0x" in text.stdout) == nonce
    trust = ["-CAfile", instance / ROOT_CERTIFICATE, "-untrusted", instance / CERTIFICATE]
    for check in (["-queryfile", query], ["-digest", DIGEST.hex()], ["-data", data]):
        verified = openssl("ts", "-verify", *check, "-in", reply, *trust)
        assert verified.returncode == 0, verified.stderr
        assert "Verification: OK" in verified.stdout


def test_openssl_rejects_a_response_to_another_query(authority, instance, tmp_path, openssl):
    data, query, reply = tmp_path / "data.txt", tmp_path / "req.tsq", tmp_path / "resp.tsr"
    data.write_bytes(DATA)
    openssl("ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
    reply.write_bytes(authority.respond(query.read_bytes()))
    other = tmp_path / "other.tsq"
    openssl("ts", "-query", "-data", data, "-sha256", "-cert", "-out", other)  # new nonce
    result = openssl(
        "ts", "-verify", "-queryfile", other, "-in", reply,
        "-CAfile", instance / ROOT_CERTIFICATE, "-untrusted", instance / CERTIFICATE,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Verification: OK" not in result.stdout


@pytest.mark.parametrize("ess_cert_id_alg", ["sha1", "sha256", "sha384"])
def test_openssl_tokens_verify_with_ours(instance, tmp_path, openssl, ess_cert_id_alg):
    # OpenSSL's own TSA, with our key and certificate: an independent encoder, which
    # names its certificate with ESSCertID (SHA-1) or ESSCertIDv2 as configured.
    config = tmp_path / "tsa.cnf"
    config.write_text(
        "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\n"
        f"serial = {tmp_path / 'serial'}\nsigner_digest = sha256\n"
        "default_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\n"
        f"ess_cert_id_alg = {ess_cert_id_alg}\n"
    )
    (tmp_path / "serial").write_text("01\n")
    data, query = tmp_path / "data.txt", tmp_path / "req.tsq"
    data.write_bytes(DATA)
    openssl("ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
    made = openssl(
        "ts", "-reply", "-config", config, "-queryfile", query, "-inkey", instance / KEY,
        "-signer", instance / CERTIFICATE, "-token_out", "-out", tmp_path / "token.der",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    root = load_authority(instance).root_certificate
    result = verify_timestamp((tmp_path / "token.der").read_bytes(), DIGEST, roots=[root])
    assert result.policy == "1.2.3.4.1"
    assert result.serial == 2  # OpenSSL issues the serial after the one in its file
    assert result.tsa == "Alliance Innovation Registry TSA"


# -- respond() never raises ----------------------------------------------------------------


def test_sha1_query_is_rejected_with_bad_alg(authority, tmp_path, openssl):
    data, query, reply = tmp_path / "data.txt", tmp_path / "req.tsq", tmp_path / "resp.tsr"
    data.write_bytes(DATA)
    made = openssl("ts", "-query", "-data", data, "-sha1", "-out", query)
    assert made.returncode == 0, made.stderr
    response = authority.respond(query.read_bytes())
    assert status_of(response) == ("rejection", {"bad_alg"})
    reply.write_bytes(response)
    text = openssl("ts", "-reply", "-in", reply, "-text")
    assert text.returncode == 0, text.stderr
    assert "Status: Rejected." in text.stdout
    assert "unrecognized or unsupported algorithm" in text.stdout


def _query(**changes) -> bytes:
    fields = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": DIGEST},
        "cert_req": True,
        **changes,
    }
    return tsp.TimeStampReq(fields).dump()


@pytest.mark.parametrize(
    ("request_der", "fail_info"),
    [
        (b"", "bad_data_format"),
        (b"garbage", "bad_data_format"),
        (_query()[:-1], "bad_data_format"),
        (_query() + b"\0", "bad_data_format"),
        (b"\x30\x80\x00\x00", "bad_data_format"),  # indefinite length is not DER
        (
            _query(message_imprint={"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": b"x"}),  # noqa: E501
            "bad_data_format",
        ),
        (
            _query(message_imprint={"hash_algorithm": {"algorithm": "md5"}, "hashed_message": bytes(16)}),  # noqa: E501
            "bad_alg",
        ),
        (_query(version=2), "bad_request"),
        (_query(req_policy="1.2.3.4"), "unaccepted_policy"),
        (
            _query(extensions=[{"extn_id": "2.5.29.99", "critical": False, "extn_value": b"x"}]),
            "unaccepted_extensions",
        ),
    ],
    ids=[
        "empty", "garbage", "truncated", "trailing", "indefinite", "short-digest",
        "md5", "version-2", "other-policy", "extension",
    ],
)  # fmt: skip
def test_bad_queries_get_rejections(authority, request_der: bytes, fail_info: str):
    assert status_of(authority.respond(request_der)) == ("rejection", {fail_info})


def test_every_single_byte_change_to_a_query_gets_an_answer(authority):
    query = _query(nonce=5)
    for index in range(len(query)):
        for flip in (0x01, 0x80):
            tampered = bytearray(query)
            tampered[index] ^= flip
            status, _ = status_of(authority.respond(bytes(tampered)))
            assert status in ("granted", "rejection")


def test_our_policy_and_certreq_false_are_honoured(authority: TimeStampAuthority):
    response = authority.respond(_query(req_policy=POLICY, cert_req=False, nonce=2**70))
    assert status_of(response) == ("granted", set())
    token = core.Sequence.load(response)[1].dump()
    with pytest.raises(VerificationError, match="signer certificate not found"):
        verify_timestamp(token, DIGEST, roots=[authority.root_certificate])
    verify_timestamp(
        token, DIGEST, roots=[authority.root_certificate], intermediates=[authority.certificate]
    )


# -- an external TSA over HTTP ---------------------------------------------------------------


@pytest.fixture
def external_tsa(tmp_path: Path, monkeypatch) -> Iterator[tuple[str, TimeStampAuthority]]:
    """Another authority behind a real HTTP server on loopback.

    ``/tsa`` answers properly; ``/reject`` rejects everything; ``/garbage`` answers
    nonsense; ``/stale`` replays an answer to another request; ``/broken`` fails with
    HTTP 500.
    """
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    create_authority(tmp_path / "external", name="External Witness")
    other = load_authority(tmp_path / "external")
    stale = other.respond(_query(nonce=1))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/broken":
                self.send_error(500)
                return
            answers = {
                "/tsa": lambda: other.respond(body),
                "/reject": lambda: other.respond(b""),
                "/garbage": lambda: b"garbage",
            }
            answer = answers.get(self.path, lambda: stale)()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", other
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_external_token_verifies_against_its_root_only(external_tsa, authority):
    url, other = external_tsa
    token = request_timestamp(f"{url}/tsa", DIGEST)
    result = verify_timestamp(token, DIGEST, roots=[other.root_certificate])
    assert result.tsa == "External Witness TSA"
    with pytest.raises(VerificationError, match="does not chain to a trusted root"):
        verify_timestamp(token, DIGEST, roots=[authority.root_certificate])


def test_external_rejection_is_a_tsa_error(external_tsa):
    url, _ = external_tsa
    with pytest.raises(TSAError, match="refused the request: rejection bad_data_format"):
        request_timestamp(f"{url}/reject", DIGEST)


def test_external_replayed_answer_fails(external_tsa):
    url, _ = external_tsa
    with pytest.raises(VerificationError, match="response nonce does not match"):
        request_timestamp(f"{url}/stale", DIGEST)


def test_external_garbage_answer_fails(external_tsa):
    url, _ = external_tsa
    with pytest.raises(VerificationError, match="response is not a DER TimeStampResp"):
        request_timestamp(f"{url}/garbage", DIGEST)


def test_external_http_error_is_a_tsa_error(external_tsa):
    url, _ = external_tsa
    with pytest.raises(TSAError, match="answered HTTP 500"):
        request_timestamp(f"{url}/broken", DIGEST)


def test_unreachable_tsa_is_a_tsa_error():
    # A port the system just handed out and that is closed again: nothing listens.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TSAError, match="could not be reached"):
        request_timestamp(f"http://127.0.0.1:{port}/tsa", DIGEST, timeout=2)


def test_request_timestamp_refuses_other_schemes():
    with pytest.raises(ValueError, match="http or https"):
        request_timestamp("file:///etc/passwd", DIGEST)


# -- configured external TSAs, through a submission -------------------------------------


def test_a_configured_external_tsa_adds_its_token_beside_ours(make_app, auth, external_tsa):
    url, other = external_tsa
    app = make_app(EXTERNAL_TSAS=[f"{url}/tsa"])
    client = app.test_client()
    response = client.post(
        "/api/v1/ideas",
        headers=auth("pat@northside.example"),
        json={
            "title": "Witnessed twice",
            "summary": "s",
            "body": "b",
            "sensitivity": "alliance",
            "origin": "provider",
        },
    )
    assert response.status_code == 201, response.json
    tokens = {
        t["tsa"]: base64.b64decode(t["token"]) for t in response.json["receipt"]["timestamps"]
    }
    assert set(tokens) == {"registry", f"{url}/tsa"}
    statement = response.json["receipt"]["statement"]
    digest = hashlib.sha256(canonicalize(statement)).digest()
    witnessed = verify_timestamp(tokens[f"{url}/tsa"], digest, roots=[other.root_certificate])
    assert witnessed.tsa == "External Witness TSA"
    with pytest.raises(VerificationError, match="timestamp"):
        verify_timestamp(
            tokens[f"{url}/tsa"],
            digest,
            roots=[app.extensions["registry.evidence"].tsa.root_certificate],
        )


def test_an_external_tsa_that_fails_does_not_fail_the_submission(
    make_app, auth, external_tsa, caplog
):
    url, _ = external_tsa
    client = make_app(EXTERNAL_TSAS=[f"{url}/broken"]).test_client()
    response = client.post(
        "/api/v1/ideas",
        headers=auth("pat@northside.example"),
        json={
            "title": "t",
            "summary": "s",
            "body": "b",
            "sensitivity": "alliance",
            "origin": "provider",
        },
    )
    assert response.status_code == 201, response.json
    assert [t["tsa"] for t in response.json["receipt"]["timestamps"]] == ["registry"]
    assert "gave no token" in caplog.text
