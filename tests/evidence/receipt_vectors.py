"""A known-answer receipt: made once by a registry on 22 November 2026, verified forever.

The instance that made it is gone; only its public keys remain, in ``VECTOR_KEYS``. Pat
registered six ideas; ``VECTOR_RECEIPT`` is the receipt of the third (log index 2),
fetched as Pat (so with openings) once all six were in the log. ``VECTOR_CHECKPOINT_3``
is the checkpoint published after the third, and ``VECTOR_CONSISTENCY_3_6`` the proof
GET /api/v1/log/proof/consistency?first=3&second=6 gave. The time-stamp token is checked
at its own genTime, so the certificates' expiry never breaks it.
"""

from __future__ import annotations

VECTOR_CONTENT = {
    "title": "Social prescribing for frailty",
    "summary": "Link frail patients to community groups.",
    "body": "Practices refer frail patients to a link worker who knows the local groups.",
    "tags": ["frailty", "social prescribing"],
}

# Bytes of the token that no signature covers and that verification does not read: the
# SignedData version (25), the tag of its digestAlgorithms SET and the set's content
# (26, 28-42), the SignerInfo version's tag and value (659, 661) and the tag of the NULL
# parameters of its digestAlgorithm (748). A change there may still verify, with the
# same facts; a change anywhere else in the receipt must not.
VECTOR_TOKEN_UNSIGNED_BYTES = frozenset({25, 26, *range(28, 43), 659, 661, 748})

VECTOR_RECEIPT = {
    "log": {
        "checkpoint": (
            "registry.example/alliance-registry\n6\nfbHgEiV0ystn8R3fWccvfhClucgF7FJuu2DjcTJ2mAI"
            "=\n\n\u2014 registry.example/alliance-registry p435QCTaigofTBS4HRfgloJdKcA9E1ZbRL/"
            "I10uHvh3iFsIi6i2VZ+pt5ZFXj5S2bSkwStLWcK+jKROR5LMVUzfmOgc=\n"
        ),
        "inclusion": [
            "ckr1mF1yRJjVlDfL1DEn/aztiN32w8y7eq1T0xm6bD4=",
            "zT+S8Q5P67ttPaznr7DmC5Z7l/EBXdm5X/kkTegGtR8=",
            "ReelYSPRACfjOZZgkdr6rL9s/SrGIIs08m1FEMHZCCw=",
        ],
        "index": 2,
        "tree_size": 6,
    },
    "openings": {
        "body": "QYMbs3FYb0sPz0KqqdHHY4Dsmy5Qq11lsEz2RaAa0iE=",
        "summary": "j3DYcFPm2vxoSqko5fxkWngq8c8BFeY/M2h7HLFYGYI=",
        "tags": "jIfgLDrb5pLG/hmXx8dwwTQZCgfCRDniN641JThV0I0=",
        "title": "+3WtS9h0zM4IB9MzyzgaV0nUiZ305DUxR1oaXzRp9MI=",
    },
    "signature": {
        "alg": "Ed25519",
        "kid": "_BmdixOM-hd2E3Z7q5vXl1TrWRtkkhCAW_6_5DyYArc",
        "sig": (
            "Kxxn8rDwM8gWHji22UzAKb5mdhEe0wpYRDA9vcqGd0yPP6zjxrOe9GK84BkFCP0/C5oReEO64QHBVYMP3K"
            "8DAQ=="
        ),
    },
    "statement": {
        "commitments": {
            "body": "93bc14154cadf71044838536f6f68413da36e2a5be2c91a2e7ec01846c739b9d",
            "summary": "5369da16d5de1c593a756eb04b11c74c8e84419d1043a5208745e2ebcef8fd18",
            "tags": "50a56b9d5555f99d75909342eb09052471a28fda1a0c253828e8d1e574cc9379",
            "title": "8d4d05e9d51013485e2118673c080b991ec03b8b1706f49cd645f8c9461ba866",
        },
        "derived_from": [],
        "group": None,
        "idea": "c00e3455-daef-4815-ad71-24c12ab8b0b1",
        "origin": "provider",
        "owner": "58bff270-0aef-4347-a2b0-cbe073de34dd",
        "previous": None,
        "registry": "registry.example/alliance-registry",
        "sensitivity": "commercial",
        "statement_version": 1,
        "submitted_at": "2026-11-22T19:50:51.337859Z",
        "submitter": "7164940e-5cd2-4ad1-8f34-4dd4ed26439f",
        "type": "idea-version",
        "version": 1,
    },
    "timestamps": [
        {
            "token": (
                "MIIEFgYJKoZIhvcNAQcCoIIEBzCCBAMCAQMxDzANBglghkgBZQMEAgEFADCBgQYLKoZIhvcNAQkQAQ"
                "SgcgRwMG4CAQEGFGmCpcbT46bx8pu3poffs9qF9PRPMDEwDQYJYIZIAWUDBAIBBQAEIMkDf6w6kUh1"
                "26YEI6D4bC7Gr5uXOnox54NCCQgIKFAcAghxvx6bnc+7uBgWMjAyNjExMjIxOTUwNTEuMzQzNjU2Wq"
                "CCAdgwggHUMIIBeqADAgECAhQWzhZSGzz8c+bPacDtB6qWfDreqzAKBggqhkjOPQQDAjAvMS0wKwYD"
                "VQQDDCRBbGxpYW5jZSBJbm5vdmF0aW9uIFJlZ2lzdHJ5IFJvb3QgQ0EwHhcNMjYxMTIyMTk1MDUwWh"
                "cNMzYxMTIyMTk1MDUwWjArMSkwJwYDVQQDDCBBbGxpYW5jZSBJbm5vdmF0aW9uIFJlZ2lzdHJ5IFRT"
                "QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNVV9qMuz1xnVob+pXnDUdkl+Q9nJ70tyIoSB2s+Eg"
                "bVeLFFyFM9med4LSUUGq4qKn2uJLAAoNuhDQnVWP7bY5ujeDB2MAwGA1UdEwEB/wQCMAAwDgYDVR0P"
                "AQH/BAQDAgbAMBYGA1UdJQEB/wQMMAoGCCsGAQUFBwMIMB0GA1UdDgQWBBT3kfuy038Pr/U9w7xWZW"
                "ZRHyAg/zAfBgNVHSMEGDAWgBQkF/vjmmqdtkcU1pJsHifg/k92lzAKBggqhkjOPQQDAgNIADBFAiBJ"
                "c5K/zgg19ajbdim0ohEDbMVvWsOZrWT/q7gpcEu4hwIhAPfYfY903pW3eWZ0nemliX18khH1nTJl9Q"
                "9HpQujDWcmMYIBizCCAYcCAQEwRzAvMS0wKwYDVQQDDCRBbGxpYW5jZSBJbm5vdmF0aW9uIFJlZ2lz"
                "dHJ5IFJvb3QgQ0ECFBbOFlIbPPxz5s9pwO0HqpZ8Ot6rMA0GCWCGSAFlAwQCAQUAoIHUMBoGCSqGSI"
                "b3DQEJAzENBgsqhkiG9w0BCRABBDAvBgkqhkiG9w0BCQQxIgQg8CHB48z8d4CM2iOcLu7yUf7hcP3l"
                "Qwf05UY6h0HSSewwgYQGCyqGSIb3DQEJEAIvMXUwczBxMG8EINdXA3KdY2dW5Ko8Lud+O9zrPf4SNw"
                "ehALyYfuwYLIR7MEswM6QxMC8xLTArBgNVBAMMJEFsbGlhbmNlIElubm92YXRpb24gUmVnaXN0cnkg"
                "Um9vdCBDQQIUFs4WUhs8/HPmz2nA7Qeqlnw63qswCgYIKoZIzj0EAwIERzBFAiApwLuz83fbEdaWS2"
                "YOnU9gF8BhcTi7CBfBcDslUOb+VwIhAKPXFmlVBAKfWfihHNIgFRjmMzDd/pKHl0/8oU/5AeLX"
            ),
            "tsa": "registry",
        },
    ],
}
VECTOR_KEYS = {
    "keys": [
        {
            "alg": "EdDSA",
            "crv": "Ed25519",
            "kid": "_BmdixOM-hd2E3Z7q5vXl1TrWRtkkhCAW_6_5DyYArc",
            "kty": "OKP",
            "registry_purpose": "statement",
            "use": "sig",
            "valid_from": "2026-11-22T19:50:51.184538Z",
            "valid_until": None,
            "x": "DcFSGf_lWPXd3dVtDFLt6KqPSi3bP_SQJQI2qXAezo0",
        },
        {
            "alg": "EdDSA",
            "crv": "Ed25519",
            "kid": "iTlQOVz7NOcxTxUB4RN5wML4BGw8BE2jMch8GQN2FFM",
            "kty": "OKP",
            "registry_purpose": "checkpoint",
            "use": "sig",
            "valid_from": "2026-11-22T19:50:51.184538Z",
            "valid_until": None,
            "vkey": (
                "registry.example/alliance-registry+a78df940+AUCV5n2uUD2dzRnGhW9j5++iogSjKVSjQy"
                "o2TG50pi2k"
            ),
            "x": "QJXmfa5QPZ3NGcaFb2Pn76KiBKMpVKNDKjZMbnSmLaQ",
        },
        {
            "alg": "ES256",
            "crv": "P-256",
            "kid": "tsa-d75703729d636756",
            "kty": "EC",
            "registry_purpose": "timestamp",
            "use": "sig",
            "x": "1VX2oy7PXGdWhv6lecNR2SX5D2cnvS3IihIHaz4SBtU",
            "x5c": [
                (
                    "MIIB1DCCAXqgAwIBAgIUFs4WUhs8/HPmz2nA7Qeqlnw63qswCgYIKoZIzj0EAwIwLzEtMCsGA1"
                    "UEAwwkQWxsaWFuY2UgSW5ub3ZhdGlvbiBSZWdpc3RyeSBSb290IENBMB4XDTI2MTEyMjE5NTA1"
                    "MFoXDTM2MTEyMjE5NTA1MFowKzEpMCcGA1UEAwwgQWxsaWFuY2UgSW5ub3ZhdGlvbiBSZWdpc3"
                    "RyeSBUU0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATVVfajLs9cZ1aG/qV5w1HZJfkPZye9"
                    "LciKEgdrPhIG1XixRchTPZnneC0lFBquKip9riSwAKDboQ0J1Vj+22Obo3gwdjAMBgNVHRMBAf"
                    "8EAjAAMA4GA1UdDwEB/wQEAwIGwDAWBgNVHSUBAf8EDDAKBggrBgEFBQcDCDAdBgNVHQ4EFgQU"
                    "95H7stN/D6/1PcO8VmVmUR8gIP8wHwYDVR0jBBgwFoAUJBf745pqnbZHFNaSbB4n4P5PdpcwCg"
                    "YIKoZIzj0EAwIDSAAwRQIgSXOSv84INfWo23YptKIRA2zFb1rDma1k/6u4KXBLuIcCIQD32H2P"
                    "dN6Vt3lmdJ3ppYl9fJIR9Z0yZfUPR6ULow1nJg=="
                ),
                (
                    "MIIBxTCCAWygAwIBAgIUIYuXr4z/F9kYqe+30xfzJKUxO8gwCgYIKoZIzj0EAwIwLzEtMCsGA1"
                    "UEAwwkQWxsaWFuY2UgSW5ub3ZhdGlvbiBSZWdpc3RyeSBSb290IENBMB4XDTI2MTEyMjE5NTA1"
                    "MFoXDTQ2MTEyMjE5NTA1MFowLzEtMCsGA1UEAwwkQWxsaWFuY2UgSW5ub3ZhdGlvbiBSZWdpc3"
                    "RyeSBSb290IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPWN15s/efNHj1mguyQjh4p+i"
                    "zhfVJyy3acltWaQugEP8xQqSRkKtS3CjVhsAlZ7rKMq86vSllnWBR34L+B0YbqNmMGQwEgYDVR"
                    "0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFCQX++Oaap22RxTWkmwe"
                    "J+D+T3aXMB8GA1UdIwQYMBaAFCQX++Oaap22RxTWkmweJ+D+T3aXMAoGCCqGSM49BAMCA0cAME"
                    "QCICYlBXl5+mo11h847fIg3aAQ9FaoVPrMSJARvYTMUnqfAiBIHR4OKGkCTgNEt9lnYf0qDPPm"
                    "dQ8BZ3UV/ufc1EbzUA=="
                ),
            ],
            "y": "eLFFyFM9med4LSUUGq4qKn2uJLAAoNuhDQnVWP7bY5s",
        },
    ],
}
VECTOR_CHECKPOINT_3 = (
    "registry.example/alliance-registry\n3\n70ZjSaJXP6LCa+41fNgsYHcK2MlTUWtoqhwLfj7hkZU=\n\n"
    "\u2014 registry.example/alliance-registry p435QBisZZNA/Go2KI3Vb/xFMJ5zQA5ircBrihl7Rpf3eZ88"
    "xOIRbOeKSLGdgR+NrV3aboo/h9S1kOE25zFv9A+kPwk=\n"
)
VECTOR_CONSISTENCY_3_6 = [
    "LwoxTfbNUoDMcESSZzB3pLUn7jyl7R7vkXUDsrRJBCk=",
    "ckr1mF1yRJjVlDfL1DEn/aztiN32w8y7eq1T0xm6bD4=",
    "zT+S8Q5P67ttPaznr7DmC5Z7l/EBXdm5X/kkTegGtR8=",
    "ReelYSPRACfjOZZgkdr6rL9s/SrGIIs08m1FEMHZCCw=",
]
