"""`GET /metrics`: the service's health in the Prometheus text format (version 0.0.4).

Per school: the events in its ledger, the age of its latest signed checkpoint, the last verification
of each of its logs (events and access trail) with its time, the alerts raised, and the requests in
its access trail over the last hour by outcome (denied over all is the refused-access rate).

Deny by default: the page answers a scraper on the same machine (loopback, not relayed by a proxy),
or one that presents `Authorization: Bearer <HOCBA_METRICS_TOKEN>` when that variable is set. It shows counts and times,
never a personal identifier.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from sqlalchemy import func, select, text

from api.http.problems import problem
from api.http.scope import PUBLIC
from audit.trail import access_index, alerts, verifications
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.log import store
from ledger.log.projection import read

TEXT = "text/plain; version=0.0.4; charset=utf-8"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
WINDOW = timedelta(hours=1)
OUTCOMES = ("allowed", "denied", "refused", "failed")


def _allowed(request: Request[Any, Any, Any], token: str | None) -> bool:
    given = request.headers.get("authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    # A request relayed by a reverse proxy on this machine comes from loopback too: it is not local.
    relayed = any(name in request.headers for name in ("forwarded", "x-forwarded-for", "x-real-ip"))
    client = request.client.host if request.client else ""
    return client in LOOPBACK and not relayed


def _family(name: str, kind: str, text: str, samples: Iterable[tuple[dict[str, str], float]]) -> list[str]:
    lines = [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines.append(f"{name}{{{inner}}} {value:.15g}" if inner else f"{name} {value:.15g}")
    return lines


async def exposition(runtime: Runtime) -> str:
    """The metrics text, read with the auditor role."""
    now = runtime.clock.now()
    events, checkpoint_age, ok, ran, raised, requests = [], [], [], [], [], []
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        for school in await store.school_ids(conn):
            label = {"school": school}
            events.append((label, float((await store.read_head(conn, school)).seq)))
            latest = await store.latest_checkpoint(conn, school)
            if latest is not None:
                signed = datetime.fromisoformat(latest.checkpoint.signed_at)
                checkpoint_age.append((label, max(0.0, (now - signed).total_seconds())))
            for row in await read(conn, verifications, school):
                labels = {**label, "log": row["log"]}
                ok.append((labels, 1.0 if row["ok"] else 0.0))
                ran.append((labels, row["ran_at"].timestamp()))
            raised.append((label, float(len(await read(conn, alerts, school)))))
            a = access_index
            recent = (
                select(a.c.outcome, func.count())
                .where(a.c.school_id == school, a.c.seq_to.is_(None), a.c.at >= now - WINDOW)
                .group_by(a.c.outcome)
            )
            counts = {outcome: n for outcome, n in (await conn.execute(recent)).all()}
            for outcome in OUTCOMES:
                requests.append(({**label, "outcome": outcome}, float(counts.get(outcome, 0))))
    lines: list[str] = []
    lines += _family("hocba_events", "gauge", "Events appended to the school's ledger.", events)
    lines += _family(
        "hocba_checkpoint_age_seconds", "gauge", "Seconds since the latest signed checkpoint.", checkpoint_age
    )
    lines += _family("hocba_verification_ok", "gauge", "Whether the last verification found the log intact.", ok)
    lines += _family(
        "hocba_verification_timestamp_seconds", "gauge", "When the last verification ran (Unix time).", ran
    )
    lines += _family("hocba_alerts_open", "gauge", "Unusual-access alerts raised for the school.", raised)
    lines += _family(
        "hocba_access_requests_last_hour",
        "gauge",
        "Requests in the access trail over the last hour, "
        "by outcome: allowed, denied (401, 403), refused (404, 409, 422, 429), failed (5xx); "
        "denied over all is the refused-access rate.",
        requests,
    )
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        # On the primary, each streaming replica's replay lag; visible with pg_monitor (ops/DEPLOYMENT.md).
        lag = await conn.execute(
            text("SELECT application_name, EXTRACT(EPOCH FROM replay_lag) FROM pg_stat_replication ORDER BY 1")
        )
        replicas = [({"replica": str(name)}, float(seconds)) for name, seconds in lag.all() if seconds is not None]
    lines += _family("hocba_replica_lag_seconds", "gauge", "Replay lag of each streaming replica.", replicas)
    lines += await _recovery_metrics(runtime, now)
    from ledger.app.backup import backup_age, configured_destinations

    destinations = configured_destinations(runtime.settings)
    if destinations:
        age = backup_age(destinations, now)
        lines += _family(
            "hocba_backup_age_seconds",
            "gauge",
            "Seconds since the newest backup in the destinations (-1: none yet).",
            [({}, -1.0 if age is None else age)],
        )
    return "\n".join(lines) + "\n"


async def _recovery_metrics(runtime: Runtime, now: datetime) -> list[str]:
    """WAL archiving, the timeline (each failover starts one) and pgBackRest's last backups."""
    import asyncio

    from ledger.app.recovery.pitr import archiving, backup_ages

    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        wal = await archiving(conn)
    lines = _family("hocba_wal_archived_total", "counter", "WAL segments archived.", [({}, wal["archived"] or 0)])
    lines += _family(
        "hocba_wal_archive_failures_total", "counter", "Failed WAL archiving attempts.", [({}, wal["failed"] or 0)]
    )
    for name, key, what in (
        ("hocba_wal_last_archived_timestamp_seconds", "last_archived", "archived"),
        ("hocba_wal_last_archive_failure_timestamp_seconds", "last_failed", "failed to archive"),
    ):
        when = wal[key]
        lines += _family(name, "gauge", f"When a WAL segment last {what} (Unix time; 0: never).", [({}, when or 0)])
    lines += _family(
        "hocba_postgres_timeline",
        "gauge",
        "The database's timeline: it grows by one at each promotion (a failover or switchover).",
        [({"role": "replica" if wal["in_recovery"] else "primary"}, wal["timeline"] or 0)],
    )
    ages = await asyncio.to_thread(backup_ages, runtime.settings, now)
    if ages is not None:
        lines += _family(
            "hocba_pitr_backup_age_seconds",
            "gauge",
            "Seconds since pgBackRest's newest backup in each repository (-1: none, or pgBackRest did not answer).",
            [({"repo": str(repo)}, age) for repo, age in sorted(ages.items())] or [({"repo": "all"}, -1.0)],
        )
    return lines


@get("/metrics", operation_id="metrics", opt={"action": PUBLIC}, include_in_schema=False)
async def metrics(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    if not _allowed(request, state.runtime.settings.metrics_token):
        return problem(
            403,
            "metrics are served to this machine, or with the metrics token",
            "Chỉ phục vụ số liệu giám sát cho máy này, hoặc khi có mã truy cập số liệu.",
        )
    return Response(await exposition(state.runtime), media_type=TEXT)


METRICS_ROUTES = [metrics]
