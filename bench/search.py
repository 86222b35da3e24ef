"""Search at 100,000 ideas: the API against the raw engine query, indexing, reindex, memory.

On a register of ``--ideas`` generated ideas (bench/ideas.py, built and cached by
bench/register.py), copied for the run; on SQLite, or on PostgreSQL when
``REGISTRY_BENCH_DATABASE_URL`` names a server:

- ``api-carol`` and ``api-pat``: ``GET /api/v1/search?q=...&<filter>&per_page=20``
  under gunicorn (2 sync workers) as Carol (CCG staff) and Pat (a Northside member),
  for a fixed set of 2-3 word queries each with one filter (origin, owner, group or
  sensitivity), from one client, one request at a time: latency, not throughput. The
  response is the service's whole answer: hits under the access filter, the total,
  facets, snippets of the page (sealed fields opened for it). ``carol-nofacet``: the
  same with ``facets=false``. ``api-floor``: ``GET /api/v1/me`` as Carol, what any
  authenticated request costs.
- ``raw-fts5`` (``raw-tsquery`` on PostgreSQL): on the same database in the same run,
  the query the engine answers without our service: the same words (plain terms, all
  required), the same filter, full-text entries, the engine's own ranking, the first 20
  (the table's layout is read from registry/search/sqlite.py and postgres.py)::

      SELECT f.rowid FROM search_fts AS f
      JOIN idea_versions AS v ON v.id = f.rowid / 2
      JOIN ideas AS i ON i.id = v.idea_id AND i.latest_version = v.number
      WHERE search_fts MATCH '"w1" AND "w2"' AND f.rowid % 2 = 1 AND <filter>
      ORDER BY bm25(search_fts) LIMIT 20

  The targets take turns, query by query, so that a busy moment of the shared machine
  falls on all of them alike. ``api / raw`` is the cost of the service's layers (aim:
  at most 1.5; p95 under 50 ms).
- ``index-1``: indexing one new submission: ``Indexer.index`` (the call
  ``IdeaRegister`` makes) and the commit of what it wrote, timed for new ideas whose
  rows are stored just before, outside the clock (aim: median under 2 ms);
  ``index-call``: the call alone, without the commit.
- ``reindex``: ``registry search reindex --restart`` over the whole register, in its
  own process, start-up included: ideas per second.
- Memory: RSS and PSS of each gunicorn worker after the API targets, from /proc
  (aim: under 200 MB a worker).
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from sqlalchemy.engine import make_url

from bench import ideas as generator
from bench import register, server
from bench.load import LoadResult
from bench.report import Options, Outcome, ratio

NAME = "search"
DESCRIPTION = (
    "GET /api/v1/search (2-3 words + a filter) against the raw engine query (FTS5, or "
    "tsquery on PostgreSQL) on the same register; indexing one submission; bulk reindex; "
    "worker memory"
)
APP = "registry:create_app()"
PERSONAS = {"carol": "carol@ccg.example", "pat": "pat@northside.example"}
RAW = {"sqlite": "raw-fts5", "postgresql": "raw-tsquery"}
PER_PAGE = 20
QUERIES = 100
INDEX_SAMPLES = 300  # new submissions indexed, after INDEX_WARMUP unmeasured
INDEX_WARMUP = 20
AIM_RATIO = 1.5
AIM_P95_MS = 50.0
AIM_INDEX_MS = 2.0
AIM_WORKER_MB = 200.0


@dataclass(frozen=True)
class Prepared:
    """A query ready for both targets: the API's query string and the raw SQL's filter."""

    query: generator.SearchQuery
    parameters: str
    condition: str
    argument: object  # the filter's value as the database holds it


def run(options: Options) -> Outcome:
    """Build or reuse the register, then measure; RuntimeError if anything cannot run."""
    postgres = register.postgres_server()
    built = register.cached(options.ideas, postgres=postgres)
    raw_target = RAW[built.backend]
    load_before = os.getloadavg()
    with register.copied(built) as copy, Raw(copy.database_url) as raw:
        prepared = _prepare(raw, generator.queries(QUERIES))
        port = server.free_port()
        env = copy.environment(port)
        headers = {
            persona: {"Authorization": f"Bearer {server.registry(env, 'token', email).strip()}"}
            for persona, email in PERSONAS.items()
        }
        print(f"  gunicorn {APP!r} on {server.HOST}:{port}, {copy.backend}", flush=True)
        with server.gunicorn(APP, env, port, log=copy.instance / "gunicorn.log") as master:
            results, found = _latencies(port, headers, raw, raw_target, prepared, options)
            memory = _worker_memory(master.pid)
        print(f"  indexing {INDEX_SAMPLES} new submissions one by one", flush=True)
        results["index-1"], results["index-call"] = _indexing(copy, built)
        print("  `registry search reindex --restart` over the whole register", flush=True)
        results["reindex"] = _reindex(env, raw)
    load_after = os.getloadavg()

    raw_result = results[raw_target]
    ratios: dict[str, float | None] = {}
    for persona in PERSONAS:
        api = results[f"api-{persona}"]
        ratios[f"{persona} p50 api / raw (aim <= {AIM_RATIO:g})"] = ratio(
            api.percentile_ms(50), raw_result.percentile_ms(50)
        )
        ratios[f"{persona} p95 api / raw"] = ratio(
            api.percentile_ms(95), raw_result.percentile_ms(95)
        )
        ratios[f"{persona} p95 / {AIM_P95_MS:g} ms aim"] = ratio(api.percentile_ms(95), AIM_P95_MS)
    ratios["carol-nofacet p50 / raw"] = ratio(
        results["carol-nofacet"].percentile_ms(50), raw_result.percentile_ms(50)
    )
    ratios[f"index-1 median / {AIM_INDEX_MS:g} ms aim"] = ratio(
        results["index-1"].percentile_ms(50), AIM_INDEX_MS
    )
    figures: dict[str, float | None] = {
        "ideas in the register": float(options.ideas),
        "database MB": built.meta["database_bytes"] / 1_000_000,
        "reindex ideas/s": results["reindex"].rate,
        **{f"worker {n} RSS MB": rss for n, (rss, _pss) in enumerate(memory, 1)},
        **{f"worker {n} PSS MB": pss for n, (_rss, pss) in enumerate(memory, 1)},
        "load average before (1 min)": load_before[0],
        "load average after (1 min)": load_after[0],
    }
    _explain(results, raw_target, found, memory)
    return Outcome(
        name=NAME,
        description=DESCRIPTION,
        results=results,
        ratios=ratios,
        figures=figures,
        setting=(
            f"{options.ideas:,} ideas on {built.backend}, {QUERIES} queries; one client, the "
            f"targets in turn query by query; {options.warmup:g} s warm-up and "
            f"{options.duration:g} s measured per target"
        ),
    )


class Raw:
    """The register's database below the service, through its DB-API driver (read-only
    on SQLite). Statements are written with ``?`` placeholders."""

    def __init__(self, database_url: str):
        url = make_url(database_url)
        self.backend = url.get_backend_name()
        if self.backend == "sqlite":
            self.connection = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        else:
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.connection = psycopg.connect(dsn, autocommit=True)

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *_exc) -> None:
        self.connection.close()

    def rows(self, statement: str, parameters: tuple = ()) -> list[tuple]:
        if self.backend != "sqlite":
            statement = statement.replace("?", "%s")
        return self.connection.execute(statement, parameters).fetchall()


# --- Queries -------------------------------------------------------------------------


def _prepare(raw: Raw, queries: list[generator.SearchQuery]) -> list[Prepared]:
    """Each query's filter as the API's parameter and as the raw SQL's condition."""
    organisations = dict(raw.rows("SELECT name, id FROM organisations"))
    groups = dict(raw.rows("SELECT slug, id FROM groups"))
    prepared = []
    for query in queries:
        kind, value = query.filter
        # As the database holds it (SQLite: 32 hex digits; PostgreSQL: a uuid), and as
        # the API takes it.
        stored = {"owner": organisations, "group": groups}.get(kind, {}).get(value, value)
        shown = str(uuid.UUID(str(stored))) if kind in {"owner", "group"} else value
        column = {
            "owner": "i.owner_id",
            "group": "i.group_id",
            "origin": "i.origin",
            "sensitivity": "v.sensitivity",
        }[kind]
        parameters = urlencode({"q": query.text, kind: shown, "per_page": PER_PAGE})
        prepared.append(Prepared(query, parameters, f"{column} = ?", stored))
    return prepared


def _raw_sql(backend: str, condition: str) -> str:
    """The raw query over the service's own index table, whose layout is read from the
    search backend's module, so that the query follows the index it measures. The
    condition names a column from the fixed table in _prepare; its value is bound."""
    from registry.search.interface import Scope

    joins = (
        "JOIN idea_versions AS v ON v.id = {version} "
        "JOIN ideas AS i ON i.id = v.idea_id AND i.latest_version = v.number "
    )
    if backend == "sqlite":
        from registry.search import sqlite as index

        # Full-text entries are rowids n * version_id + k (n, k read from the backend).
        table, k = index.FTS.name, index.rowid(0, Scope.FULL)
        n = index.rowid(1, Scope.FULL) - k
        if n < 1 or index.rowid(7, Scope.FULL) != 7 * n + k:
            raise RuntimeError("FTS5 rowids are no longer n * version_id + scope: see bench/")
        return (
            f"SELECT f.rowid FROM {table} AS f "  # noqa: S608
            + joins.format(version=f"f.rowid / {n}")
            + f"WHERE {table} MATCH ? AND f.rowid % {n} = {k} AND {condition} "
            f"ORDER BY bm25({table}) LIMIT {PER_PAGE}"
        )
    from registry.search import postgres as index

    table = index.ENTRIES.name
    return (
        "WITH q AS (SELECT plainto_tsquery('english', ?) AS q) "  # noqa: S608
        f"SELECT e.version_id FROM q, {table} AS e "
        + joins.format(version="e.version_id")
        + f"WHERE e.scope = {int(Scope.FULL)} AND e.document @@ q.q AND {condition} "
        f"ORDER BY ts_rank_cd({index.RANK_WEIGHTS}, e.document, q.q) DESC LIMIT {PER_PAGE}"
    )


def _raw_words(backend: str, query: generator.SearchQuery) -> str:
    """The query's words as the engine takes them: FTS5 quoted terms joined by AND, or
    plain words for plainto_tsquery (which joins them by &)."""
    if backend == "sqlite":
        return " AND ".join(f'"{word}"' for word in query.words)
    return query.text


# --- The API against the raw query ----------------------------------------------------


def _latencies(
    port: int,
    headers: dict[str, dict[str, str]],
    raw: Raw,
    raw_target: str,
    prepared: list[Prepared],
    options: Options,
) -> tuple[dict[str, LoadResult], dict[str, int]]:
    """Every target in turn, query by query, for warm-up then ``duration`` seconds each.
    Also returns, by search target, how many of the queries found something."""
    raw_sql = {query.condition: _raw_sql(raw.backend, query.condition) for query in prepared}
    connection = http.client.HTTPConnection(server.HOST, port, timeout=30)
    clock = time.perf_counter

    def get(path: str, persona: str) -> tuple[float, str | int]:
        began = clock()
        try:
            connection.request("GET", path, None, headers[persona])
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            return clock() - began, type(exc).__name__
        spent = clock() - began
        if response.status != 200:
            return spent, f"HTTP {response.status}"
        return spent, json.loads(body).get("total", 1)

    def direct(query: Prepared) -> tuple[float, str | int]:
        words = _raw_words(raw.backend, query.query)
        began = clock()
        found = raw.rows(raw_sql[query.condition], (words, query.argument))
        return clock() - began, len(found)

    targets = {
        **{
            f"api-{persona}": (
                lambda q, persona=persona: get(f"/api/v1/search?{q.parameters}", persona)
            )
            for persona in headers
        },
        "carol-nofacet": lambda q: get(f"/api/v1/search?{q.parameters}&facets=false", "carol"),
        "api-floor": lambda _q: get("/api/v1/me", "carol"),
        raw_target: direct,
    }
    latencies: dict[str, list[float]] = {t: [] for t in targets}
    errors: dict[str, Counter[str]] = {t: Counter() for t in targets}
    found: dict[str, int] = dict.fromkeys(targets, 0)
    # A first pass, unmeasured: what each target finds; any failure stops the run.
    for query in prepared:
        for target, send in targets.items():
            _spent, outcome = send(query)
            if isinstance(outcome, str):
                raise RuntimeError(f"{target} {query.parameters}: {outcome}")
            found[target] += outcome > 0
    for measured, seconds in ((False, options.warmup), (True, options.duration)):
        started = clock()
        deadline = started + seconds * len(targets)
        while clock() < deadline:
            for query in prepared:
                for target, send in targets.items():
                    spent, outcome = send(query)
                    if not measured:
                        continue
                    if isinstance(outcome, str):
                        errors[target][outcome] += 1
                    else:
                        latencies[target].append(spent)
                if clock() >= deadline:
                    break
    connection.close()
    elapsed = clock() - started
    results = {
        target: LoadResult(len(latencies[target]), dict(errors[target]), elapsed, latencies[target])
        for target in targets
    }
    del found["api-floor"]
    return results, found


# --- Indexing one submission --------------------------------------------------------


def _indexing(copy: register.Copy, built: register.Register) -> tuple[LoadResult, LoadResult]:
    """``Indexer.index`` with and without its commit, for new ideas stored just before
    (untimed). A submission commits its version and index entries together: its share
    of that commit lies between the two (FTS5 writes its pending terms at the commit;
    PostgreSQL's commit is mostly the WAL flush, paid once per submission anyway)."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from registry.db import db, writing
    from registry.ip.models import IdeaVersion

    app = copy.app()
    indexer = app.extensions["registry.search"]
    kek = app.extensions["registry.evidence"].keks.current()
    clock = time.perf_counter
    latencies: list[float] = []
    calls: list[float] = []
    try:
        with app.app_context(), writing():
            session = db.session
            directory = register.Directory.read(session)
            for n in range(INDEX_WARMUP + INDEX_SAMPLES):
                made = generator.idea(built.count + n, built.count, built.seed)
                version_id = register.next_version_id(session)
                register.insert(
                    session, register.rows(made, built.seed, version_id, directory, kek)
                )
                session.commit()
                # With its idea, as IdeaRegister holds both when it calls the indexer.
                version = session.scalar(
                    select(IdeaVersion)
                    .where(IdeaVersion.id == version_id)
                    .options(joinedload(IdeaVersion.idea))
                )
                content = {"title": made.title, "summary": made.summary, "body": made.body}
                before = clock()
                indexer.index(session, version, content)
                called = clock()
                session.commit()
                after = clock()
                if n >= INDEX_WARMUP:
                    latencies.append(after - before)
                    calls.append(called - before)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return (
        LoadResult(len(latencies), {}, sum(latencies), latencies),
        LoadResult(len(calls), {}, sum(calls), calls),
    )


# --- Reindex and memory ---------------------------------------------------------------


def _reindex(env: dict[str, str], raw: Raw) -> LoadResult:
    (ideas,) = raw.rows("SELECT count(*) FROM ideas")[0]
    began = time.perf_counter()
    server.registry(env, "search", "reindex", "--restart", timeout=register.REINDEX_TIMEOUT)
    elapsed = time.perf_counter() - began
    return LoadResult(ideas, {}, elapsed, [])


def _worker_memory(master: int) -> list[tuple[float, float]]:
    """(RSS, PSS) in MB of each child of ``master``, from /proc."""
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: the fields after it do not.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == master:
            workers.append(int(entry.name))
    measured = []
    for pid in sorted(workers):
        rss = _proc_kb(Path(f"/proc/{pid}/status"), "VmRSS:")
        pss = _proc_kb(Path(f"/proc/{pid}/smaps_rollup"), "Pss:")
        measured.append((rss / 1000, pss / 1000 if pss is not None else None))
    if not measured:
        raise RuntimeError(f"gunicorn {master} has no workers to measure")
    return measured


def _proc_kb(path: Path, field: str) -> float | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def _explain(
    results: dict[str, LoadResult],
    raw_target: str,
    found: dict[str, int],
    memory: list[tuple[float, float]],
) -> None:
    raw = results[raw_target]
    print(
        f"\n  {QUERIES} queries; how many found something: "
        + ", ".join(f"{target} {count}" for target, count in found.items())
    )
    for persona in PERSONAS:
        api = results[f"api-{persona}"]
        p50, p95 = api.percentile_ms(50), api.percentile_ms(95)
        share = ratio(p50, raw.percentile_ms(50))
        verdict = "meets" if share is not None and share <= AIM_RATIO else "misses"
        print(
            f"  api-{persona}: p50 {p50:.1f} ms, p95 {p95:.1f} ms; p50 {share:.1f}x the raw "
            f"query's ({verdict} the aim of {AIM_RATIO:g}x); p95 "
            f"{'under' if p95 < AIM_P95_MS else 'over'} {AIM_P95_MS:g} ms"
        )
    nofacet, floor = results["carol-nofacet"], results["api-floor"]
    print(
        f"  carol-nofacet (the same searches with facets=false): p50 "
        f"{nofacet.percentile_ms(50):.1f} ms, p95 {nofacet.percentile_ms(95):.1f} ms"
    )
    floor_ms, raw_ms = floor.percentile_ms(50), raw.percentile_ms(50)
    print(
        f"  api-floor (GET /api/v1/me as carol): p50 {floor_ms:.1f} ms, what any "
        "authenticated request costs through gunicorn; the raw query behind it would be "
        f"{(floor_ms + raw_ms) / raw_ms:.1f}x the raw query alone"
    )
    index = results["index-1"]
    median = index.percentile_ms(50)
    call = results["index-call"]
    print(
        f"  index-1: median {median:.2f} ms, p95 {index.percentile_ms(95):.2f} ms per "
        f"submission with its commit ({'meets' if median < AIM_INDEX_MS else 'misses'} the "
        f"aim of a median under {AIM_INDEX_MS:g} ms); index-call, the call alone: median "
        f"{call.percentile_ms(50):.2f} ms, p95 {call.percentile_ms(95):.2f} ms"
    )
    reindex = results["reindex"]
    print(
        f"  reindex: {reindex.successes:,} ideas in {reindex.elapsed:.1f} s = "
        f"{reindex.rate:,.0f} ideas/s"
    )
    for n, (rss, pss) in enumerate(memory, 1):
        print(
            f"  worker {n}: RSS {rss:.0f} MB, PSS {pss:.0f} MB "
            f"({'under' if rss < AIM_WORKER_MB else 'over'} the aim of {AIM_WORKER_MB:g} MB)"
        )
    print(
        "  (in the table: req/s of api and raw is of the turn-taking loop; of index-1, "
        "submissions indexed per second of indexing; of reindex, ideas per second)"
    )
