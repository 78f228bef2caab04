"""Verification of many logs on every core: one process per log of a school, each with its own
connection, when there is enough to verify that starting processes pays.

`ledger.log.verify.verify` is one pass over one log at a time, on one core; the database server works
beside it on another. A school has two logs (events and access trail) and an installation may hold
many schools: here each (school, log) is verified by `verify` itself in a worker process, and the
results come back in the order `verify` would give them. The report is the same as `verify`'s; only
the progress differs (a log at a time, when it is done).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.db import AUDITOR_ROLE, UNHURRIED, create_engine
from ledger.log import store
from ledger.log.report import SchoolResult, VerifyPolicy, VerifyReport
from ledger.log.schema import ACCESS, EVENTS, Chain
from ledger.log.verify import Progress, verify

CHAINS = {chain.name: chain for chain in (EVENTS, ACCESS)}
PARALLEL_FROM = 200_000  # entries in all: below this, starting processes costs more than it saves


def _verify_one(url: str, school: str, log: str, roots: list[bytes], policy: VerifyPolicy, crls: list[bytes]) -> Any:
    """In a worker process: `verify` of one log of one school, on a connection of its own."""

    async def run() -> SchoolResult:
        engine = create_engine(url, AUDITOR_ROLE, UNHURRIED, poolclass=pool.NullPool)
        try:
            trusted = [x509.load_der_x509_certificate(der) for der in roots]
            revoked = tuple(x509.load_der_x509_crl(der) for der in crls)
            report = await verify(
                engine, trusted, [school], chains=(CHAINS[log],), policy=replace(policy, crls=revoked)
            )
            return report.schools[0]
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def _jobs(
    engine: AsyncEngine, schools: Sequence[str] | None, chains: Sequence[Chain]
) -> list[tuple[str, Chain, int]]:
    jobs = []
    async with engine.connect() as conn:
        for chain in chains:
            names = schools if schools is not None else await store.school_ids(conn, chain)
            for school in names:
                jobs.append((school, chain, (await store.read_head(conn, school, chain)).seq))
    return jobs


async def verify_logs(
    url: str,
    engine: AsyncEngine,
    trusted_roots: Sequence[x509.Certificate],
    schools: Sequence[str] | None = None,
    progress: Progress | None = None,
    chains: Sequence[Chain] = (EVENTS, ACCESS),
    policy: VerifyPolicy | None = None,
    workers: int | None = None,
    parallel_from: int = PARALLEL_FROM,
) -> VerifyReport:
    """`verify`, with each (school, log) in a process of its own, up to `workers` (default: one per
    core) at a time; in this process when there is one log, one core, or little to verify."""
    policy = policy or VerifyPolicy()
    workers = workers or os.cpu_count() or 1
    jobs = await _jobs(engine, schools, chains) if workers > 1 else []
    if len(jobs) < 2 or sum(size for *_, size in jobs) < parallel_from:
        return await verify(engine, trusted_roots, schools, progress, chains, policy)
    loop = asyncio.get_running_loop()
    roots = [cert.public_bytes(Encoding.DER) for cert in trusted_roots]
    crls = [crl.public_bytes(Encoding.DER) for crl in policy.crls]
    portable = replace(policy, crls=())
    started = loop.time()
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of this loop or its connections
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as executor:
        futures = [
            loop.run_in_executor(executor, _verify_one, url, school, chain.name, roots, portable, crls)
            for school, chain, _ in jobs
        ]
        for done in asyncio.as_completed(futures):
            result: SchoolResult = await done
            if progress:
                progress(result.school, result.events, result.head_seq)
        results = [future.result() for future in futures]
    return VerifyReport(results, loop.time() - started)
