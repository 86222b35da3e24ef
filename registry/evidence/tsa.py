"""RFC 3161 time-stamping: the registry's own authority, a client for others, a verifier.

The registry's authority lets it date evidence with a token that any RFC 3161 tool
(``openssl ts -verify`` among them) can check against the authority's root certificate,
without trusting the registry's database. Tokens from external authorities
(``request_timestamp``) add a date the registry could not have forged.

Structures are built with asn1crypto and signed with cryptography.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, NoReturn

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from registry.evidence.errors import VerificationError
from registry.keyfiles import KeyFileError, read_secret, write_secret

# The registry's TSA policy. An OID under 2.25 is derived from a UUID (ITU-T X.667), so
# it is globally unique without registering a private enterprise number. The UUID is
# 92c6a78d-371e-46db-a60f-7d9da0bd3a4f; it names this policy and must never change, since
# tokens already issued carry it.
POLICY = "2.25.195098760513220615586856360478345345615"

ROOT_CERTIFICATE = "keys/tsa-root.pem"
ROOT_KEY = "keys/tsa-root.key"
CERTIFICATE = "keys/tsa.pem"
KEY = "keys/tsa.key"

_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_MAX_CHAIN = 8  # certificates above the signer; real TSA chains have one or two
_MAX_RESPONSE = 1 << 20  # a response is a few kilobytes; more is not a TSA talking
# Verifying many tokens meets the same few certificates again and again: what depends
# only on a certificate's bytes (parsing, its key, its issuer's signature on it) is kept.
_CACHED_CERTIFICATES = 64


class _TimeStampResp(core.Sequence):
    # asn1crypto's TimeStampResp makes the token mandatory; RFC 3161 2.4.2 makes it
    # OPTIONAL, and a rejection has none.
    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class TSAError(Exception):
    """An external time-stamp authority could not be reached or refused the request."""


@dataclass(frozen=True)
class TimestampVerification:
    """What a verified RFC 3161 token says: when, which token, who, under what policy."""

    time: datetime
    serial: int
    tsa: str
    policy: str
    source: Literal["rfc3161"] = "rfc3161"


@dataclass(frozen=True)
class _TokenParts:
    """DER of what every token repeats, encoded once per authority."""

    certificate: bytes  # the TSA certificate
    signer_id: bytes  # IssuerAndSerialNumber of the TSA certificate
    signing_certificate: bytes  # the ESS signing-certificate-v2 attribute
    content_type: bytes  # the content-type attribute: id-ct-TSTInfo
    policy: bytes  # ObjectIdentifier
    digests: dict[str, bytes]  # DigestAlgorithm for each supported hash
    ecdsa_sha256: bytes  # SignedDigestAlgorithm


@dataclass(frozen=True)
class TimeStampAuthority:
    """A TSA signing key with its certificate and root, ready to issue tokens.

    asn1crypto never forgets that an object it built was changed, so each ``dump()``
    of a built structure encodes its whole subtree again, and a parent dumps its
    children many times over. Tokens are therefore built bottom-up: each layer is
    encoded once and its parent gets a fresh ``load()`` of those bytes, which dumps
    in constant time; and what every token repeats is encoded once, here.
    """

    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate: bytes  # DER of the TSA certificate
    root_certificate: bytes  # DER of the root that issued it
    name: str = field(init=False)
    _parts: _TokenParts = field(init=False, repr=False)

    def __post_init__(self) -> None:
        cert = x509.load_der_x509_certificate(self.certificate)
        if cert.public_key() != self.private_key.public_key():
            raise ValueError("the TSA key does not match the TSA certificate")
        parsed = asn1_x509.Certificate.load(self.certificate)
        # ESSCertIDv2 (RFC 5035) binds the signature to this certificate, so it cannot be
        # swapped for another one with the same key. hash_algorithm is left out: SHA-256
        # is its DEFAULT, and DER omits defaults.
        issuer_serial = {
            "issuer": [asn1_x509.GeneralName(name="directory_name", value=parsed.issuer)],
            "serial_number": parsed.serial_number,
        }
        cert_id = {
            "cert_hash": hashlib.sha256(self.certificate).digest(),
            "issuer_serial": issuer_serial,
        }
        signing_certificate = {"type": "signing_certificate_v2", "values": [{"certs": [cert_id]}]}
        parts = _TokenParts(
            certificate=self.certificate,
            signer_id=cms.IssuerAndSerialNumber(
                {"issuer": parsed.issuer, "serial_number": parsed.serial_number}
            ).dump(),
            signing_certificate=cms.CMSAttribute(signing_certificate).dump(),
            content_type=cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}).dump(),
            policy=core.ObjectIdentifier(POLICY).dump(),
            digests={
                name: algos.DigestAlgorithm({"algorithm": name}).dump() for name in _DIGEST_SIZES
            },
            ecdsa_sha256=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump(),
        )
        object.__setattr__(self, "name", _common_name(cert))
        object.__setattr__(self, "_parts", parts)

    def timestamp(
        self,
        digest: bytes,
        *,
        hash_algorithm: str = "sha256",
        nonce: int | None = None,
        include_certificate: bool = True,
        serial: int | None = None,
        at: datetime | None = None,
    ) -> bytes:
        """Issue a TimeStampToken (DER ContentInfo) for ``digest``.

        ``at`` (timezone-aware) overrides the clock, for tests and benchmarks;
        ``serial`` defaults to a random positive 64-bit number. Raises ``ValueError``
        for an unsupported hash algorithm, a digest of the wrong length, a naive
        ``at`` or a serial that is not positive.
        """
        if _DIGEST_SIZES.get(hash_algorithm) != len(digest):
            raise ValueError(f"a {hash_algorithm} digest of {len(digest)} bytes is not supported")
        if at is None:
            gen_time = datetime.now(UTC)
        elif at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        else:
            gen_time = at.astimezone(UTC)
        if serial is None:
            serial = secrets.randbelow(2**64 - 1) + 1
        elif serial <= 0:
            raise ValueError("serial must be positive")
        parts = self._parts
        imprint = tsp.MessageImprint(
            {
                "hash_algorithm": algos.DigestAlgorithm.load(parts.digests[hash_algorithm]),
                "hashed_message": digest,
            }
        ).dump()
        tst_info = {
            "version": "v1",
            "policy": core.ObjectIdentifier.load(parts.policy),
            "message_imprint": tsp.MessageImprint.load(imprint),
            "serial_number": serial,
            # The server clock is not audited, so the token claims no accuracy.
            "gen_time": gen_time,
        }
        if nonce is not None:
            tst_info["nonce"] = nonce
        content = tsp.TSTInfo(tst_info).dump()

        message_digest = {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
        # Encoded as a SET, which is what the signature covers (RFC 5652 5.4); inside
        # SignerInfo the same bytes carry an implicit [0] tag instead.
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute.load(parts.content_type),
                cms.CMSAttribute.load(cms.CMSAttribute(message_digest).dump()),
                cms.CMSAttribute.load(parts.signing_certificate),
            ]
        ).dump()
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(parts.signer_id),
                "digest_algorithm": algos.DigestAlgorithm.load(parts.digests["sha256"]),
                "signed_attrs": cms.CMSAttributes.load(signed_attrs),
                "signature_algorithm": algos.SignedDigestAlgorithm.load(parts.ecdsa_sha256),
                "signature": self.private_key.sign(signed_attrs, ec.ECDSA(hashes.SHA256())),
            }
        ).dump()
        encapsulated = cms.EncapsulatedContentInfo(
            {"content_type": "tst_info", "content": core.ParsableOctetString(content)}
        ).dump()
        signed_data = {
            "version": "v3",  # RFC 5652 5.1: the content is not id-data
            "digest_algorithms": [algos.DigestAlgorithm.load(parts.digests["sha256"])],
            "encap_content_info": cms.EncapsulatedContentInfo.load(encapsulated),
            "signer_infos": [cms.SignerInfo.load(signer_info)],
        }
        if include_certificate:
            signed_data["certificates"] = [cms.CertificateChoices.load(parts.certificate)]
        encoded = cms.SignedData(signed_data).dump()
        return cms.ContentInfo(
            {"content_type": "signed_data", "content": cms.SignedData.load(encoded)}
        ).dump()

    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER TimeStampReq with a DER TimeStampResp.

        Never raises on bad input: an unparsable request or digest is rejected with
        failInfo badDataFormat, a hash other than SHA-256/384/512 with badAlg, a version
        other than 1 with badRequest, another policy with unacceptedPolicy, and any
        extension with unacceptedExtension. Nonce and certReq are honoured.
        """
        try:
            request = _read_request(request_der)
        except _RequestRejectedError as rejection:
            return _TimeStampResp(
                {
                    "status": {
                        "status": "rejection",
                        "status_string": [rejection.text],
                        "fail_info": {rejection.fail_info},
                    }
                }
            ).dump()
        token = self.timestamp(
            request["digest"],
            hash_algorithm=request["hash_algorithm"],
            nonce=request["nonce"],
            include_certificate=request["cert_req"],
        )
        return _TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": cms.ContentInfo.load(token)}
        ).dump()


def create_authority(instance_path: Path, name: str = "Alliance Innovation Registry") -> bool:
    """Create the TSA's root and signing certificates unless they exist. True if created.

    Writes ``keys/tsa-root.pem``, ``keys/tsa-root.key``, ``keys/tsa.pem`` and
    ``keys/tsa.key`` under ``instance_path``, keys with mode 0600. Raises
    ``KeyFileError`` if only some of them exist: a half-made authority needs a person
    to restore or remove it, not a silent replacement.
    """
    paths = [instance_path / p for p in (ROOT_CERTIFICATE, ROOT_KEY, CERTIFICATE, KEY)]
    present = [path.name for path in paths if path.exists()]
    if len(present) == len(paths):
        return False
    if present:
        raise KeyFileError(f"TSA files {', '.join(present)} exist without the others")

    now = datetime.now(UTC).replace(microsecond=0)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} Root CA")])
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(_years_later(now, 20))
        # pathLen 0: the root signs the TSA certificate and nothing that could sign more.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(root_ski, critical=False)
        .add_extension(aki, critical=False)
        .sign(root_key, hashes.SHA256())
    )

    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} TSA")]))
        .issuer_name(root_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(_years_later(now, 10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        # RFC 3161 2.3: timeStamping must be the only purpose, and the extension critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), False)
        .add_extension(aki, critical=False)
        .sign(root_key, hashes.SHA256())
    )

    write_secret(instance_path / ROOT_KEY, _private_pem(root_key))
    write_secret(instance_path / KEY, _private_pem(tsa_key))
    _write_public(instance_path / ROOT_CERTIFICATE, root.public_bytes(serialization.Encoding.PEM))
    _write_public(instance_path / CERTIFICATE, tsa.public_bytes(serialization.Encoding.PEM))
    return True


def load_authority(instance_path: Path) -> TimeStampAuthority:
    """Load the TSA that :func:`create_authority` made.

    Raises ``KeyFileError`` if a file is missing or the key is readable by others, and
    ``ValueError`` if the key is not an EC key or does not match the certificate.
    """
    key = serialization.load_pem_private_key(read_secret(instance_path / KEY), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{KEY} is not an EC private key")
    return TimeStampAuthority(
        private_key=key,
        certificate=_read_certificate(instance_path / CERTIFICATE),
        root_certificate=_read_certificate(instance_path / ROOT_CERTIFICATE),
    )


def verify_timestamp(
    token_der: bytes,
    digest: bytes,
    *,
    roots: Sequence[bytes],
    intermediates: Sequence[bytes] = (),
    hash_algorithm: str = "sha256",
) -> TimestampVerification:
    """Check that ``token_der`` is a valid RFC 3161 token over ``digest`` and return it read.

    ``roots`` are the DER certificates trusted to issue TSA certificates;
    ``intermediates`` are DER certificates that may complete the chain (or supply the
    signer's certificate when the token omits it). Raises
    ``VerificationError("timestamp", ...)`` naming the first failed check: structure,
    content type, message imprint, message-digest attribute, signing-certificate
    attribute, signature, the signer's extended key usage, or the chain to a root
    (each certificate valid at the token's genTime).
    """
    token = _read_token(token_der)
    try:
        return _verify(token, digest, roots, intermediates, hash_algorithm)
    # The token is read whole by _read_token; what is left to asn1crypto (the ESS
    # signing-certificate attribute, uncommon signature algorithms, names compared by
    # RFC 5280's rules) parses lazily, so a malformed field there fails when first read.
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise VerificationError("timestamp", f"token is malformed: {exc}") from exc


def _verify(
    token: _Token,
    digest: bytes,
    roots: Sequence[bytes],
    intermediates: Sequence[bytes],
    hash_algorithm: str,
) -> TimestampVerification:
    tst = token.tst_info
    if tst.hash_algorithm != hash_algorithm:
        _fail(f"message imprint is not {hash_algorithm}")
    if not hmac.compare_digest(tst.hashed_message, digest):
        _fail("message imprint does not match the digest")

    signer = token.signer_info
    digest_name = signer.digest_algorithm
    if digest_name not in _HASHES:
        _fail(f"unsupported digest algorithm {digest_name}")
    attributes = signer.attributes
    if attributes.get(_CONTENT_TYPE, _NO_ATTRIBUTE).values != [(0x06, _TST_INFO_OID)]:
        _fail("content-type attribute is not id-ct-TSTInfo")
    message_digest = attributes.get(_MESSAGE_DIGEST, _NO_ATTRIBUTE).values
    if len(message_digest) != 1:
        _fail("no message-digest attribute")
    tag, value = message_digest[0]
    if tag != 0x04:
        _fail("message-digest attribute is not an OCTET STRING")
    if not hmac.compare_digest(value, hashlib.new(digest_name, token.content).digest()):
        _fail("message-digest attribute does not match the TSTInfo")

    pool = [*token.certificates, *intermediates]
    signer_der = _signing_certificate(attributes, pool)
    cert = _load_certificate(signer_der)
    _check_signer_id(signer, signer_der, cert)
    _check_signature(cert, signer, token.signed_attributes)
    _check_timestamping_only(cert)
    _check_chain(cert, [_load_certificate(der) for der in pool], roots, tst.gen_time)

    return TimestampVerification(
        time=tst.gen_time,
        serial=tst.serial,
        tsa=_common_name(cert),
        policy=tst.policy,
    )


def request_timestamp(url: str, digest: bytes, timeout: float = 10) -> bytes:
    """Ask the TSA at ``url`` (http or https) to time-stamp a SHA-256 ``digest``.

    Returns the token's DER, after checking that the response is granted and carries
    our nonce and digest. The token's signature is not checked here: pass it to
    :func:`verify_timestamp` with that TSA's root. Raises ``TSAError`` if the TSA cannot
    be reached or refuses, ``VerificationError("timestamp", ...)`` if its answer is
    malformed or for another request, and ``ValueError`` for a bad URL or digest.
    """
    if len(digest) != 32:
        raise ValueError("digest must be a 32-byte SHA-256 digest")
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"TSA URL must be http or https, not {url!r}")
    nonce = secrets.randbits(63) + 1
    query = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()
    http_request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=query,
        method="POST",
        headers={
            "Content-Type": "application/timestamp-query",
            "Accept": "application/timestamp-reply",
        },
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as reply:  # noqa: S310
            body = reply.read(_MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the connection open otherwise
        raise TSAError(f"{url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:  # TimeoutError is an OSError
        raise TSAError(f"{url} could not be reached: {exc}") from exc
    if len(body) > _MAX_RESPONSE:
        _fail("response is too large to be a TimeStampResp")

    try:
        response = _TimeStampResp.load(body, strict=True)
        status = response["status"].native  # parses it all, so malformation surfaces here
        token = response["time_stamp_token"]
        token_der = None if isinstance(token, core.Void) else token.dump()
    # asn1crypto signals malformed DER with several exception types; all mean the same.
    except Exception as exc:
        raise VerificationError("timestamp", "response is not a DER TimeStampResp") from exc
    if status["status"] not in ("granted", "granted_with_mods"):
        text = " ".join(status["status_string"] or [])
        fail_info = ", ".join(sorted(status["fail_info"] or ()))
        raise TSAError(f"{url} refused the request: {status['status']} {fail_info} {text}".strip())
    if token_der is None:
        _fail("granted response carries no token")
    tst = _read_token(token_der).tst_info
    if tst.nonce != nonce:
        _fail("response nonce does not match the request")
    if tst.hash_algorithm != "sha256" or not hmac.compare_digest(tst.hashed_message, digest):
        _fail("message imprint does not match the digest")
    return token_der


class _RequestRejectedError(Exception):
    def __init__(self, fail_info: str, text: str):
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


def _read_request(request_der: bytes) -> dict:
    """Read what :meth:`TimeStampAuthority.respond` needs, or raise a ``_RequestRejectedError``."""
    try:
        request = tsp.TimeStampReq.load(request_der, strict=True)
        # .native parses the whole request now, so any malformation surfaces here.
        native = request.native
        parameters = request["message_imprint"]["hash_algorithm"]["parameters"]
        null_or_absent = isinstance(parameters, core.Void) or parameters.dump() == b"\x05\x00"
    # asn1crypto signals malformed DER with several exception types (ValueError,
    # TypeError, KeyError, ...); a TSA must answer garbage with a rejection, whatever it is.
    except Exception:  # noqa: BLE001
        raise _RequestRejectedError(
            "bad_data_format", "the request is not a DER TimeStampReq"
        ) from None
    if native["version"] != "v1":
        raise _RequestRejectedError("bad_request", "only version 1 requests are supported")
    algorithm = native["message_imprint"]["hash_algorithm"]["algorithm"]
    if algorithm not in _DIGEST_SIZES or not null_or_absent:
        raise _RequestRejectedError("bad_alg", f"hash algorithm {algorithm} is not supported")
    digest = native["message_imprint"]["hashed_message"]
    if len(digest) != _DIGEST_SIZES[algorithm]:
        raise _RequestRejectedError("bad_data_format", f"the digest is not a {algorithm} digest")
    if native["req_policy"] not in (None, POLICY):
        raise _RequestRejectedError("unaccepted_policy", f"only policy {POLICY} is supported")
    if native["extensions"]:
        raise _RequestRejectedError("unaccepted_extensions", "no request extensions are supported")
    return {
        "hash_algorithm": algorithm,
        "digest": digest,
        "nonce": native["nonce"],
        "cert_req": native["cert_req"],
    }


# -- reading a token -------------------------------------------------------------------
#
# Verification reads a token with the strict DER reader below rather than asn1crypto,
# whose lazy parsing cost more than the signature check itself. The reader takes only
# DER: definite, minimally encoded lengths, the exact tag expected at each position, no
# trailing bytes, and it walks into every constructed part it does not use, so an unread
# part cannot hide a malformation either.

_SIGNED_DATA_OID = bytes.fromhex("2a864886f70d010702")  # id-signedData
_TST_INFO_OID = bytes.fromhex("2a864886f70d0109100104")  # id-ct-TSTInfo
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
_DIGEST_NAMES = {
    "1.2.840.113549.2.5": "md5",
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
# ecdsa-with-SHA256/384/512 (RFC 5758: no parameters), the registry's own signatures;
# any other AlgorithmIdentifier is read by asn1crypto in _check_signature_otherwise.
_ECDSA = {
    bytes.fromhex("300a06082a8648ce3d040302"): hashes.SHA256,
    bytes.fromhex("300a06082a8648ce3d040303"): hashes.SHA384,
    bytes.fromhex("300a06082a8648ce3d040304"): hashes.SHA512,
}
# RFC 3161 2.4.2: genTime is UTC, ends in Z, has seconds, and a fraction without
# trailing zeros (and no point when there is no fraction).
_GEN_TIME = re.compile(
    rb"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})(?:\.([0-9]*[1-9]))?Z"
)


@dataclass(frozen=True)
class _TSTInfo:
    policy: str  # dotted OID
    hash_algorithm: str  # of the message imprint: a name from _DIGEST_NAMES, or dotted
    hashed_message: bytes
    serial: int
    gen_time: datetime  # UTC
    nonce: int | None


@dataclass(frozen=True)
class _Attribute:
    der: bytes  # the attribute's SET OF AttributeValue, as sent
    values: list[tuple[int, bytes]]  # the tag and contents of each value


_NO_ATTRIBUTE = _Attribute(b"", [])


@dataclass(frozen=True)
class _SignerInfo:
    sid: tuple[int, bytes]  # the SignerIdentifier's tag (0x30 or 0x80) and contents
    digest_algorithm: str  # a name from _DIGEST_NAMES, or dotted
    attributes: dict[str, _Attribute]  # the signed attributes by dotted type
    signature_algorithm: bytes  # DER of the AlgorithmIdentifier
    signature: bytes


@dataclass(frozen=True)
class _Token:
    content: bytes  # DER of the TSTInfo, as signed
    signed_attributes: bytes  # the signed attributes as sent, tagged as a SET
    tst_info: _TSTInfo
    signer_info: _SignerInfo
    certificates: list[bytes]


def _malformed(detail: str) -> NoReturn:
    raise VerificationError("timestamp", f"token is not a DER TimeStampToken: {detail}")


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The tag, contents start and contents end of the TLV at ``pos``, which must end by ``end``.

    Raises ``VerificationError`` for a truncated TLV, a multi-byte tag (nothing in a
    token has one), an indefinite length or a length not in its shortest form.
    """
    if pos + 2 > end:
        _malformed(f"truncated at byte {pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        _malformed(f"multi-byte tag at byte {pos}")
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            _malformed(f"indefinite length at byte {pos}")
        if count > 4:  # 4 GB is far beyond any token
            _malformed(f"length of {count} bytes at byte {pos}")
        if start + count > end:
            _malformed(f"truncated at byte {pos}")
        length = int.from_bytes(data[start : start + count], "big")
        if data[start] == 0 or length < 0x80:
            _malformed(f"length not minimally encoded at byte {pos}")
        start += count
    stop = start + length
    if stop > end:
        _malformed(f"truncated at byte {pos}")
    return tag, start, stop


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """The contents start and end of the TLV at ``pos``, which must be tagged ``tag``."""
    found, start, stop = _header(data, pos, end)
    if found != tag:
        _malformed(f"expected {what} (tag 0x{tag:02x}) at byte {pos}, found tag 0x{found:02x}")
    return start, stop


def _elements(data: bytes, start: int, stop: int) -> list[tuple[int, int, int, int]]:
    """The TLVs that exactly fill ``data[start:stop]``, each as (tag, pos, start, stop)."""
    elements = []
    pos = start
    while pos < stop:
        tag, first, last = _header(data, pos, stop)
        elements.append((tag, pos, first, last))
        pos = last
    return elements


def _walk(data: bytes, start: int, stop: int) -> None:
    """Check that ``data[start:stop]`` is DER TLVs, descending into constructed ones."""
    for tag, _, first, last in _elements(data, start, stop):
        if tag & 0x20:
            _walk(data, first, last)


def _done(pos: int, stop: int, what: str) -> None:
    if pos != stop:
        _malformed(f"unexpected data at byte {pos} in {what}")


def _integer(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """The INTEGER at ``pos`` and the position after it; DER allows no redundant leading byte."""
    start, stop = _expect(data, pos, end, 0x02, what)
    if start == stop:
        _malformed(f"empty {what} at byte {pos}")
    if stop - start > 1 and (
        (data[start] == 0x00 and data[start + 1] < 0x80)
        or (data[start] == 0xFF and data[start + 1] >= 0x80)
    ):
        _malformed(f"{what} not minimally encoded at byte {pos}")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def _oid(data: bytes, pos: int, end: int, what: str) -> tuple[bytes, int]:
    """The contents of the OBJECT IDENTIFIER at ``pos`` and the position after it."""
    start, stop = _expect(data, pos, end, 0x06, what)
    contents = data[start:stop]
    if not contents or contents[-1] & 0x80:
        _malformed(f"{what} is not a complete object identifier at byte {pos}")
    for index in range(len(contents)):
        if contents[index] == 0x80 and (index == 0 or not contents[index - 1] & 0x80):
            _malformed(f"{what} has a padded sub-identifier at byte {pos}")
    return contents, stop


@functools.lru_cache(maxsize=256)
def _dotted(contents: bytes) -> str:
    arcs = []
    value = 0
    for byte in contents:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))


def _algorithm(data: bytes, pos: int, end: int, what: str) -> tuple[str, int]:
    """A digest AlgorithmIdentifier's name (dotted if unknown) and the position after it.

    Its parameters must be absent or NULL, the only forms any digest algorithm takes.
    """
    start, stop = _expect(data, pos, end, 0x30, what)
    oid, at = _oid(data, start, stop, f"{what} OID")
    if at != stop and data[at:stop] != b"\x05\x00":
        _malformed(f"{what} parameters are neither absent nor NULL at byte {at}")
    dotted = _dotted(oid)
    return _DIGEST_NAMES.get(dotted, dotted), stop


def _gen_time(data: bytes, pos: int, end: int) -> tuple[datetime, int]:
    start, stop = _expect(data, pos, end, 0x18, "genTime GeneralizedTime")
    text = data[start:stop]
    match = _GEN_TIME.fullmatch(text)
    if match is None:
        _malformed(f"genTime {text!r} is not of the form YYYYMMDDhhmmss[.f]Z")
    fraction = match[7] or b""
    if len(fraction) > 6:  # finer than datetime holds: keep asn1crypto's rounding
        moment = core.GeneralizedTime.load(data[pos:stop], strict=True).native
        if not isinstance(moment, datetime):  # asn1crypto's stand-in for year 0
            _fail("genTime is out of range")
        return moment.astimezone(UTC), stop
    try:
        moment = datetime(
            *(int(match[index]) for index in range(1, 7)),
            int(fraction.ljust(6, b"0")),
            tzinfo=UTC,
        )
    except ValueError:
        _fail("genTime is out of range")
    return moment, stop


def _read_tst_info(data: bytes, pos: int, end: int) -> _TSTInfo:
    start, stop = _expect(data, pos, end, 0x30, "TSTInfo")
    _done(stop, end, "the encapsulated content")
    version, at = _integer(data, start, stop, "TSTInfo version")
    if version != 1:
        _fail("TSTInfo version is not 1")
    policy, at = _oid(data, at, stop, "TSTInfo policy")
    first, last = _expect(data, at, stop, 0x30, "messageImprint")
    hash_algorithm, inner = _algorithm(data, first, last, "messageImprint hashAlgorithm")
    digest_start, digest_stop = _expect(data, inner, last, 0x04, "messageImprint hashedMessage")
    _done(digest_stop, last, "messageImprint")
    serial, at = _integer(data, last, stop, "TSTInfo serialNumber")
    gen_time, at = _gen_time(data, at, stop)
    nonce = None
    remaining = _elements(data, at, stop)
    # accuracy, ordering, nonce, tsa [0], extensions [1]: each optional, in this order.
    expected = [0x30, 0x01, 0x02, 0xA0, 0xA1]
    for tag, element, first, last in remaining:
        if tag not in expected:
            _malformed(f"unexpected tag 0x{tag:02x} at byte {element} in TSTInfo")
        del expected[: expected.index(tag) + 1]
        if tag == 0x02:
            nonce, _ = _integer(data, element, last, "TSTInfo nonce")
        elif tag == 0x01:
            if data[first:last] not in (b"\x00", b"\xff"):
                _malformed(f"ordering is not a DER BOOLEAN at byte {element}")
        else:
            _walk(data, first, last)
    return _TSTInfo(
        policy=_dotted(policy),
        hash_algorithm=hash_algorithm,
        hashed_message=data[digest_start:digest_stop],
        serial=serial,
        gen_time=gen_time,
        nonce=nonce,
    )


def _read_attributes(data: bytes, start: int, stop: int) -> dict[str, _Attribute]:
    attributes: dict[str, _Attribute] = {}
    for tag, pos, first, last in _elements(data, start, stop):
        if tag != 0x30:
            _malformed(f"expected Attribute (tag 0x30) at byte {pos}, found tag 0x{tag:02x}")
        kind, at = _oid(data, first, last, "attribute type")
        values_start, values_stop = _expect(data, at, last, 0x31, "attribute values")
        _done(values_stop, last, "Attribute")
        values = []
        for value_tag, _, value_start, value_stop in _elements(data, values_start, values_stop):
            if value_tag & 0x20:
                _walk(data, value_start, value_stop)
            values.append((value_tag, data[value_start:value_stop]))
        dotted = _dotted(kind)
        if dotted in attributes:  # RFC 5652 5.3 forbids repeats
            _fail("a signed attribute type appears twice")
        attributes[dotted] = _Attribute(data[at:values_stop], values)
    return attributes


def _read_signer_info(data: bytes, pos: int, end: int) -> tuple[_SignerInfo, bytes]:
    """The SignerInfo at ``pos``, and its signed attributes as the signature covers them."""
    start, stop = _expect(data, pos, end, 0x30, "SignerInfo")
    version, at = _integer(data, start, stop, "SignerInfo version")
    sid_tag, sid_start, sid_stop = _header(data, at, stop)
    # RFC 5652 5.3: version 1 goes with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
    if (sid_tag, version) not in ((0x30, 1), (0x80, 3)):
        _malformed(f"SignerInfo version {version} with sid tag 0x{sid_tag:02x} at byte {at}")
    if sid_tag == 0x30:
        _walk(data, sid_start, sid_stop)
    digest_algorithm, at = _algorithm(data, sid_stop, stop, "SignerInfo digestAlgorithm")
    tag, first, last = _header(data, at, stop)
    if tag != 0xA0:
        _fail("signer has no signed attributes")
    attributes = _read_attributes(data, first, last)
    # The signature covers the attributes' own bytes with the SET tag in place of the
    # implicit [0] (RFC 5652 5.4).
    signed = b"\x31" + data[at + 1 : last]
    algorithm_start, algorithm_stop = _expect(data, last, stop, 0x30, "signatureAlgorithm")
    _walk(data, algorithm_start, algorithm_stop)
    signature_start, signature_stop = _expect(data, algorithm_stop, stop, 0x04, "signature")
    at = signature_stop
    if at != stop:
        unsigned_start, unsigned_stop = _expect(data, at, stop, 0xA1, "unsignedAttrs")
        _walk(data, unsigned_start, unsigned_stop)
        _done(unsigned_stop, stop, "SignerInfo")
    signer = _SignerInfo(
        sid=(sid_tag, data[sid_start:sid_stop]),
        digest_algorithm=digest_algorithm,
        attributes=attributes,
        signature_algorithm=data[last:algorithm_stop],
        signature=data[signature_start:signature_stop],
    )
    return signer, signed


def _read_token(token_der: bytes) -> _Token:
    """Read a DER TimeStampToken (RFC 3161 2.4.2) down to the parts verification uses.

    Raises ``VerificationError("timestamp", ...)``: "token is not a DER TimeStampToken"
    with the offending byte for anything that is not DER or not where a token has it,
    and a specific message for a token that is DER but not one we can verify (not
    SignedData, not a TSTInfo, TSTInfo version, signer count, no signed attributes).
    """
    data = bytes(token_der)
    end = len(data)
    start, stop = _expect(data, 0, end, 0x30, "ContentInfo")
    _done(stop, end, "the token")
    content_type, at = _oid(data, start, stop, "ContentInfo contentType")
    if content_type != _SIGNED_DATA_OID:
        _fail("token is not CMS SignedData")
    first, last = _expect(data, at, stop, 0xA0, "ContentInfo content")
    _done(last, stop, "ContentInfo")
    start, stop = _expect(data, first, last, 0x30, "SignedData")
    _done(stop, last, "ContentInfo content")

    version, at = _integer(data, start, stop, "SignedData version")
    # RFC 5652 5.1: 3 for content other than id-data, 4 or 5 with other kinds of certificate.
    if version not in (3, 4, 5):
        _malformed(f"SignedData version {version} is not 3, 4 or 5")
    first, at = _expect(data, at, stop, 0x31, "SignedData digestAlgorithms")
    for tag, pos, _, last in _elements(data, first, at):
        if tag != 0x30:
            _malformed(f"expected AlgorithmIdentifier (tag 0x30) at byte {pos}")
        _algorithm(data, pos, last, "SignedData digestAlgorithm")

    first, last = _expect(data, at, stop, 0x30, "encapContentInfo")
    content_type, inner = _oid(data, first, last, "eContentType")
    if content_type != _TST_INFO_OID:
        _fail("content type is not id-ct-TSTInfo")
    explicit_start, explicit_stop = _expect(data, inner, last, 0xA0, "eContent")
    _done(explicit_stop, last, "encapContentInfo")
    content_start, content_stop = _expect(
        data, explicit_start, explicit_stop, 0x04, "eContent OCTET STRING"
    )
    _done(content_stop, explicit_stop, "eContent")
    tst_info = _read_tst_info(data, content_start, content_stop)
    at = last

    certificates = []
    tag, first, last = _header(data, at, stop)
    if tag == 0xA0:
        for choice, pos, inner_start, inner_stop in _elements(data, first, last):
            if choice == 0x30:  # a certificate; cryptography parses it strictly
                certificates.append(data[pos:inner_stop])
            elif choice in (0xA0, 0xA1, 0xA2, 0xA3):  # other kinds, which we do not use
                _walk(data, inner_start, inner_stop)
            else:
                _malformed(f"unexpected tag 0x{choice:02x} at byte {pos} in certificates")
        at = last
        tag, first, last = _header(data, at, stop)
    if tag == 0xA1:  # revocation information, which RFC 3161 verification does not use
        _walk(data, first, last)
        at = last
    first, last = _expect(data, at, stop, 0x31, "SignedData signerInfos")
    _done(last, stop, "SignedData")
    signer_infos = _elements(data, first, last)
    if len(signer_infos) != 1:
        _fail("token does not have exactly one signer")
    signer_info, signed = _read_signer_info(data, signer_infos[0][1], last)
    content = data[content_start:content_stop]
    return _Token(content, signed, tst_info, signer_info, certificates)


def _signing_certificate(attributes: dict[str, _Attribute], pool: Sequence[bytes]) -> bytes:
    """The certificate the ESS signing-certificate attribute names, from ``pool``.

    RFC 5816 lets a TSA use ESSCertIDv2 or the original SHA-1 ESSCertID, so both are
    accepted; the first certificate listed is the signer's. Raises
    ``VerificationError`` if there is no such attribute or it names no certificate in
    ``pool``.
    """
    if _SIGNING_CERTIFICATE_V2 in attributes:
        kind: type = tsp.SetOfSigningCertificatesV2
        values = attributes[_SIGNING_CERTIFICATE_V2]
    elif _SIGNING_CERTIFICATE in attributes:
        kind = tsp.SetOfSigningCertificates
        values = attributes[_SIGNING_CERTIFICATE]
    else:
        _fail("no signing-certificate attribute")
    # A TSA repeats the same attribute in every token: the answer depends on its bytes
    # and the pool alone, so it is found once (and asn1crypto's parsing is paid once).
    return _named_certificate(kind, values.der, tuple(pool))


@functools.lru_cache(maxsize=_CACHED_CERTIFICATES)  # raises rather than return: no failure is kept
def _named_certificate(kind: type, values_der: bytes, pool: tuple[bytes, ...]) -> bytes:
    values = kind.load(values_der, strict=True)
    if len(values) != 1 or len(values[0]["certs"]) == 0:
        _fail("signing-certificate attribute does not name one certificate")
    cert_id = values[0]["certs"][0]
    if isinstance(cert_id, tsp.ESSCertIDv2):
        hash_name = cert_id["hash_algorithm"]["algorithm"].native
    else:  # the original ESSCertID is always SHA-1
        hash_name = "sha1"
    if hash_name not in (*_HASHES, "sha1"):
        _fail(f"signing-certificate attribute uses unsupported hash {hash_name}")
    wanted = cert_id["cert_hash"].native
    for der in pool:
        if hmac.compare_digest(hashlib.new(hash_name, der).digest(), wanted):
            issuer_serial = cert_id["issuer_serial"]
            if not isinstance(issuer_serial, core.Void):
                parsed = _asn1_certificate(der)
                names = [name.chosen for name in issuer_serial["issuer"]]
                named = any(_same_name(parsed.issuer, name) for name in names)
                if issuer_serial["serial_number"].native != parsed.serial_number or not named:
                    _fail("signing-certificate issuer and serial do not match the certificate")
            return der
    _fail("signer certificate not found in the token or the intermediates")


@functools.lru_cache(maxsize=_CACHED_CERTIFICATES)
def _issuer_and_serial(der: bytes) -> tuple[bytes, int]:
    parsed = _asn1_certificate(der)
    return parsed.issuer.dump(), parsed.serial_number


def _check_signer_id(signer: _SignerInfo, der: bytes, cert: x509.Certificate) -> None:
    """Raise ``VerificationError`` unless the SignerInfo's sid names the certificate ``der``."""
    tag, contents = signer.sid
    if tag == 0x30:  # IssuerAndSerialNumber
        _, name_stop = _expect(contents, 0, len(contents), 0x30, "sid issuer")
        serial, at = _integer(contents, name_stop, len(contents), "sid serialNumber")
        _done(at, len(contents), "sid")
        name = contents[:name_stop]
        issuer, cert_serial = _issuer_and_serial(der)
        # The same encoding is the same name; only a different one needs RFC 5280's
        # comparison, whose string preparation costs more than the rest of a verification.
        matches = serial == cert_serial and (
            name == issuer
            or asn1_x509.Name.load(name, strict=True) == _asn1_certificate(der).issuer
        )
    else:  # [0] SubjectKeyIdentifier
        try:
            ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            matches = False
        else:
            matches = contents == ski.value.digest
    if not matches:
        _fail("signer identifier does not match the signing certificate")


def _check_signature(cert: x509.Certificate, signer: _SignerInfo, signed: bytes) -> None:
    """Raise ``VerificationError`` unless ``cert``'s key signed ``signed`` as ``signer`` says."""
    key = _public_key(cert)
    ecdsa_hash = _ECDSA.get(signer.signature_algorithm)
    if ecdsa_hash is None or not isinstance(key, ec.EllipticCurvePublicKey):
        _check_signature_otherwise(key, signer, signed)
        return
    try:
        key.verify(signer.signature, signed, ec.ECDSA(ecdsa_hash()))
    except InvalidSignature:
        _fail("signature does not verify")


def _check_signature_otherwise(key: object, signer: _SignerInfo, signed: bytes) -> None:
    """Any signature but ECDSA with SHA-2, read by asn1crypto; raises VerificationError."""
    signature = signer.signature
    try:
        algorithm = algos.SignedDigestAlgorithm.load(signer.signature_algorithm, strict=True)
        kind = algorithm.signature_algo
        try:
            hash_name = algorithm.hash_algo
        except ValueError:  # a bare "rsa" or "ecdsa" OID: the digest algorithm says which
            hash_name = signer.digest_algorithm
        if kind == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signed)
            return
        if hash_name not in _HASHES:
            _fail(f"unsupported signature hash {hash_name}")
        chosen = _HASHES[hash_name]()
        if kind == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(chosen))
        elif kind == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), chosen)
        elif kind == "rsassa_pss" and isinstance(key, rsa.RSAPublicKey):
            params = algorithm["parameters"]
            mgf_hash = params["mask_gen_algorithm"]["parameters"]["algorithm"].native
            if mgf_hash not in _HASHES:
                _fail(f"unsupported PSS mask hash {mgf_hash}")
            pss = padding.PSS(padding.MGF1(_HASHES[mgf_hash]()), params["salt_length"].native)
            key.verify(signature, signed, pss, chosen)
        else:
            _fail(f"signature algorithm {kind} does not fit the signer's key")
    except InvalidSignature:
        _fail("signature does not verify")
    except ValueError as exc:  # unknown algorithm OIDs
        raise VerificationError("timestamp", f"unsupported signature algorithm: {exc}") from exc


@functools.lru_cache(maxsize=_CACHED_CERTIFICATES)  # raises rather than return: no failure is kept
def _check_timestamping_only(cert: x509.Certificate) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        _fail("signer certificate has no extended key usage")
    if not eku.critical:
        _fail("signer certificate's extended key usage is not critical")
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        _fail("signer certificate's extended key usage is not timeStamping only")


def _check_chain(
    cert: x509.Certificate,
    pool: Sequence[x509.Certificate],
    roots: Sequence[bytes],
    at: datetime,
) -> None:
    """Walk issuers up from ``cert`` until a root, each certificate valid at ``at``."""
    anchors = [_load_certificate(der) for der in roots]
    for _ in range(_MAX_CHAIN):
        _check_valid_at(cert, at)
        if cert in anchors:
            return
        for anchor in anchors:
            if _issued_by(cert, anchor):
                _check_valid_at(anchor, at)
                return
        issuer = next((c for c in pool if _is_ca(c) and _issued_by(cert, c)), None)
        if issuer is None:
            _fail("signer certificate does not chain to a trusted root")
        cert = issuer
    _fail("certificate chain is too long")


@functools.lru_cache(maxsize=_CACHED_CERTIFICATES)
def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _check_valid_at(cert: x509.Certificate, at: datetime) -> None:
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        _fail(f"certificate {cert.subject.rfc4514_string()} is not valid at {at.isoformat()}")


def _same_name(name: asn1_x509.Name, other: object) -> bool:
    # The same encoding is the same name; only different encodings need RFC 5280's
    # comparison, whose string preparation costs more than the rest of a verification.
    if not isinstance(other, asn1_x509.Name):  # another kind of GeneralName
        return False
    return name.chosen.dump() == other.chosen.dump() or name == other


@functools.lru_cache(maxsize=_CACHED_CERTIFICATES)
def _asn1_certificate(der: bytes) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(der)


@functools.lru_cache(maxsize=_CACHED_CERTIFICATES)
def _public_key(cert: x509.Certificate):
    return cert.public_key()


@functools.lru_cache(maxsize=_CACHED_CERTIFICATES)  # a malformed one raises, so is not kept
def _load_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is no ValueError
        raise VerificationError("timestamp", "a certificate is malformed") from exc


def _fail(message: str) -> NoReturn:
    raise VerificationError("timestamp", message)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _key_usage(**granted: bool) -> x509.KeyUsage:
    usages = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    return x509.KeyUsage(**(usages | granted))


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February, and the target year is not a leap year
        return moment.replace(year=moment.year + years, day=28)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_public(path: Path, data: bytes) -> None:
    # Certificates are public, but like keys they are never silently replaced.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _read_certificate(path: Path) -> bytes:
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path} is missing: run `registry init` first") from None
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
