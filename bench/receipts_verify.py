"""verify_receipt on one core, in-process, over a few hundred real receipts.

A temporary instance (its own keys, time-stamp authority and SQLite database, built by
the migrations, with the demo alliance) registers ideas through the API as Pat, then
hands out each idea's receipt and the key set, as an auditor would fetch them. The
receipts are then verified one after the other in this process, on one thread:

- ``shared``: receipts fetched after every idea was registered, all proved against the
  same latest checkpoint, as in an audit of the whole register;
- ``distinct``: the receipts returned at submission, each proved against the checkpoint
  of its own moment, so every one has a checkpoint signature of its own to check.

Each pass over the receipts starts from a freshly parsed key set, so nothing verified in
one pass is remembered in the next. The figure is set against the aim of 2,000
receipts per second.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.load import LoadResult
from bench.report import Options, Outcome, ratio

NAME = "receipts-verify"
DESCRIPTION = "registry.evidence.receipts.verify_receipt in-process on one core (receipts/s)"
AIM = 2000.0  # receipts per second
RECEIPTS = 300
SUBMITTER = "pat@northside.example"


def run(options: Options) -> Outcome:
    """Make the receipts, then measure each target; RuntimeError if they cannot be made."""
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as scratch:
        shared, distinct, jwks = make_receipts(Path(scratch), RECEIPTS)
    print(f"  {len(shared)} receipts made; verifying for {options.duration:g} s per target")
    results = {
        "shared": _measure(shared, jwks, options),
        "distinct": _measure(distinct, jwks, options),
    }
    for target, result in results.items():
        met = "meets" if result.rate >= AIM else "misses"
        print(f"  {target}: {result.rate:,.0f} receipts/s {met} the aim of {AIM:,.0f}/s")
    return Outcome(
        name=NAME,
        description=DESCRIPTION,
        results=results,
        ratios={
            f"{target} receipts/s / aim {AIM:,.0f}": ratio(r.rate, AIM)
            for target, r in results.items()
        },
    )


def make_receipts(
    folder: Path, count: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Register ``count`` ideas in a new instance under ``folder``.

    Returns the receipts fetched afterwards (one latest checkpoint), those returned at
    submission (one checkpoint each) and the key set. Raises RuntimeError if the
    instance refuses a request.
    """
    from flask_migrate import upgrade

    from registry import MIGRATIONS, create_app, demo
    from registry.alliance.services import person_by_email
    from registry.auth.tokens import person_token
    from registry.db import db
    from registry.evidence.keys import register_keys
    from registry.instance import create_keys

    instance = folder / "instance"
    create_keys(instance)
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
            "ISSUER": "http://registry.bench",
            "DEMO": True,
        }
    )
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS)
            register_keys(db.session, instance)
            demo.load_alliance()
            db.session.commit()
            person = person_by_email(SUBMITTER)
            token = person_token(app.extensions["registry.token_generator"], person)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        client = app.test_client()
        distinct, ids = [], []
        for n in range(count):
            response = client.post("/api/v1/ideas", json=_idea(n), headers=headers)
            if response.status_code != 201:
                raise RuntimeError(f"submitting idea {n}: {response.status_code} {response.json}")
            distinct.append(response.json["receipt"])
            ids.append(response.json["id"])
        shared = []
        for idea in ids:
            response = client.get(f"/api/v1/ideas/{idea}/versions/1/receipt", headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"fetching a receipt: {response.status_code} {response.json}")
            shared.append(response.json)
        jwks = client.get("/api/v1/keys").json
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return shared, distinct, jwks


def _idea(n: int) -> dict[str, Any]:
    return {
        "title": f"Frailty link workers {n} {secrets.token_hex(4)}",
        "summary": "Link workers for frail patients.",
        "body": "Each practice refers frail patients to a link worker who " * 20,
        "tags": ["frailty", "link workers"],
        "sensitivity": "commercial",
        "origin": "provider",
    }


def _measure(receipts: list[dict[str, Any]], jwks: dict[str, Any], options: Options) -> LoadResult:
    from registry.evidence.receipts import Keyset, verify_receipt

    latencies: list[float] = []
    errors: Counter[str] = Counter()
    clock = time.perf_counter
    warm_until = clock() + options.warmup
    started = None
    while True:
        keyset = Keyset.from_jwks(jwks)  # a fresh key set: nothing carried between passes
        for receipt in receipts:
            before = clock()
            report = verify_receipt(receipt, keyset)
            after = clock()
            if started is None:
                if after < warm_until:
                    continue
                started = after
                continue
            if report.ok:
                latencies.append(after - before)
            else:
                errors.update(report.failed)
        if started is not None and clock() - started >= options.duration:
            break
    elapsed = clock() - started
    return LoadResult(len(latencies), dict(errors), elapsed, latencies)
