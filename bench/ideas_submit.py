"""POST /api/v1/ideas under gunicorn, against a bare Flask + SQLAlchemy insert of the same rows.

Both targets get a fresh instance folder built by ``registry init`` and ``registry demo``,
two sync gunicorn workers and the same request bodies, one after the other so they never
share the CPU. The ratio registry/baseline is what the registry's layers (authentication,
schemas, the ownership rule, the ORM, serialisation) cost in throughput.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench import server
from bench.load import LoadResult, Target, drive
from bench.report import Options, Outcome, ratio

NAME = "ideas-submit"
DESCRIPTION = (
    "POST /api/v1/ideas under gunicorn (2 workers) against a bare Flask + SQLAlchemy insert"
)
SUBMITTER = "pat@northside.example"
PATH = "/api/v1/ideas"
REGISTRY_APP = "registry:create_app()"
BASELINE_APP = "bench.baseline_app:create_app()"


def idea_body(client: int, n: int) -> bytes:
    """Pat's provider idea; titles differ so that no two rows are identical."""
    return json.dumps(
        {
            "title": f"Frailty link workers {client}-{n}",
            "summary": "Link workers for frail patients.",
            "body": "Each practice refers frail patients to a link worker who " * 20,
            "tags": ["frailty", "link workers"],
            "sensitivity": "commercial",
            "origin": "provider",
        }
    ).encode()


def run(options: Options) -> Outcome:
    """Measure the baseline, then the registry; RuntimeError if either cannot be served."""
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as scratch:
        folder = Path(scratch)
        baseline = _measure("baseline", BASELINE_APP, folder, options, authorised=False)
        registry = _measure("registry", REGISTRY_APP, folder, options, authorised=True)
    return Outcome(
        name=NAME,
        description=DESCRIPTION,
        results={"baseline": baseline, "registry": registry},
        ratios={
            "throughput registry/baseline": ratio(registry.rate, baseline.rate),
            "p50 latency registry/baseline": ratio(
                registry.percentile_ms(50), baseline.percentile_ms(50)
            ),
        },
    )


def _measure(
    label: str, app: str, scratch: Path, options: Options, *, authorised: bool
) -> LoadResult:
    instance = scratch / label
    port = server.free_port()
    env = server.instance_environment(instance, port)
    server.prepare_instance(env)
    headers = {"Content-Type": "application/json"}
    if authorised:
        # Minted with the server's environment, so issuer, audience and keys match.
        token = server.registry(env, "token", SUBMITTER).strip()
        headers["Authorization"] = f"Bearer {token}"
    print(f"  {label}: gunicorn {app!r} on {server.HOST}:{port}", flush=True)
    with server.gunicorn(app, env, port, log=instance / "gunicorn.log"):
        return drive(
            Target(port=port, method="POST", path=PATH, headers=headers, body=idea_body),
            concurrency=options.concurrency,
            duration=options.duration,
            warmup=options.warmup,
        )
