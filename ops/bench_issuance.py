"""Benchmark of issuance end to end through the ledger, with its floor measured in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python ops/bench_issuance.py [--classes-per-grade 1] [--students-per-class 15] [--workers 2]

Uses DATABASE_URL's server (or the embedded PostgreSQL) and a scratch database it drops afterwards.

1. Setup (not timed): the demo school year (`ledger.app.demo.build_demo_school`) with 4 × N classes,
   and the demo certificates of every signer registered.
2. Through the ledger (timed): on `--workers` processes, each class as `hocba demo` does it: every
   XML signature prepared by the service, signed on the signer's side, submitted and checked (with
   the school's RFC 3161 timestamp), role by role for the class; the PDF rendered, signed by the
   principal and sealed, both timestamped, submitted and checked; then the class's issuance with
   its checkpoint and receipts. The signers' own work (XAdES signing, PDF signing) and the demo
   time-stamping authority's run in the same processes and are timed apart, so the service's share
   is shown too.
3. The floor (timed, same processes): the same number of signature verifications and PDF renders
   alone, without the ledger: every XML signature of every issued học bạ verified once with its
   timestamp (`verify_timestamped`), every PDF rendered once and its two signatures verified once.

Prints wall times, the ratio to the floor, and the statements per học bạ.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ledger.app import demo as demo_flow
from ledger.app import migrate
from ledger.app.db import APP_ROLE, create_engine, ensure_database, start_embedded
from ledger.app.runtime import verification_for
from ledger.app.service_keys import ServiceKeys
from ledger.base.settings import Settings
from ledger.log.projection import read
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import issued
from ledger.school.signatures.queries import load_documents
from signing.pdf.render import render_hocba
from signing.pdf.verify import verify_pdf
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades

SCHOOL = "bench-issue"


def _settings(url: str, home: Path) -> Settings:
    return Settings(url, home, "development", "json", None, 300)


def _through_ledger(url: str, home: str, layout: dict[str, Any], part: list[tuple[int, tuple[str, list[str]]]]) -> Any:
    """A worker: sign and issue the classes of `part`, as `hocba demo` does; returns (students, seconds
    spent on the signers' and the time-stamping authority's side, statements sent, seconds)."""
    signer_seconds = 0.0
    tsa_seconds = 0.0
    sent = 0

    def count(*_: Any) -> None:
        nonlocal sent
        sent += 1

    event.listen(Engine, "before_cursor_execute", count)
    original_xml = xades.sign_prepared

    def timed_xml(*args: Any, **kwargs: Any) -> Any:
        nonlocal signer_seconds
        started = time.perf_counter()
        try:
            return original_xml(*args, **kwargs)
        finally:
            signer_seconds += time.perf_counter() - started

    setattr(xades, "sign_prepared", timed_xml)  # noqa: B010 - the signer's side, timed apart
    import signing.pdf.sign as pdf_sign

    original_pdf = pdf_sign.sign_pdf

    async def timed_pdf(*args: Any, **kwargs: Any) -> Any:
        nonlocal signer_seconds
        started = time.perf_counter()
        try:
            return await original_pdf(*args, **kwargs)
        finally:
            signer_seconds += time.perf_counter() - started

    setattr(pdf_sign, "sign_pdf", timed_pdf)  # noqa: B010
    import ledger.app.runtime as wiring

    original_stamp_with = wiring.stamp_with

    def timed_stamp_with(*args: Any, **kwargs: Any) -> Any:
        stamp = original_stamp_with(*args, **kwargs)

        async def timed_stamp(data: bytes) -> bytes:
            nonlocal tsa_seconds
            started = time.perf_counter()
            try:
                return await stamp(data)
            finally:
                tsa_seconds += time.perf_counter() - started

        return timed_stamp

    setattr(wiring, "stamp_with", timed_stamp_with)  # noqa: B010 - the time-stamping authority's side
    started = time.perf_counter()
    done = demo_flow.sign_and_issue_classes(url, SCHOOL, _settings(url, Path(home)), layout, part)
    return done, signer_seconds + tsa_seconds, sent, time.perf_counter() - started


def _floor(url: str, home: str, students: list[str]) -> tuple[int, float]:
    """A worker: every signature of these issued học bạ verified once, each PDF rendered once."""
    pki = Pki(Path(home) / "pki")
    roots, crls = pki.roots(), [pki.crl()]

    async def work() -> tuple[int, float]:
        engine = create_engine(url, APP_ROLE)
        try:
            async with engine.connect() as conn:
                documents = await load_documents(conn, SCHOOL, demo_flow.YEAR, students)
                rows = {r["student_id"]: r for r in await read(conn, issued, SCHOOL, status="issued")}
                files = {
                    s: (
                        await stored_document(conn, SCHOOL, rows[s]["xml_sha256"]),
                        await stored_document(conn, SCHOOL, rows[s]["pdf_sha256"]),
                    )
                    for s in students
                }
        finally:
            await engine.dispose()
        started = time.perf_counter()
        verified = 0
        for student in students:
            xml, pdf = files[student]
            for index in range(len(hocba_xml.wrappers(hocba_xml.parse(xml)))):
                report = await xml_verify.verify_timestamped(xml, index, roots, crls)
                assert report.ok, report.findings
                verified += 1
            render_hocba(documents.models[student])
            pdf_report = await verify_pdf(pdf, roots, crls)
            assert pdf_report.ok
            verified += len(pdf_report.signatures)
        return verified, time.perf_counter() - started

    return asyncio.run(work())


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes-per-grade", type=int, default=1)
    parser.add_argument("--students-per-class", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL") or start_embedded(Path.home() / ".cache" / "hocba-bench" / "pgdata")
    name = f"hocba_bench_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server, name)
    home = Path("/tmp") / name
    try:
        migrate.upgrade(url)
        pki = Pki(home / "pki")
        pki.init_demo()
        settings = _settings(url, home)
        engine = create_engine(url, APP_ROLE)
        try:
            started = time.perf_counter()
            school = await demo_flow.build_demo_school(
                engine,
                SCHOOL,
                classes_per_grade=args.classes_per_grade,
                students_per_class=args.students_per_class,
                corrections=True,
            )
            school.clock.set(demo_flow.SIGNING_DAY)
            service = ServiceKeys(settings, pki).signer(SCHOOL)
            signers = await demo_flow.certify(school, pki, service, verification_for(settings))
            print(f"setup: the school year in {time.perf_counter() - started:.1f} s (not timed below)")
        finally:
            await engine.dispose()
        for holder, keys in signers.people.items():
            pki.save_holder(SCHOOL, holder, keys)
        layout = demo_flow.layout_of(school)
        classes = list(enumerate(sorted(school.rosters.items())))
        students = [s for _, (_, roster) in classes for s in roster]
        parts = [classes[i :: args.workers] for i in range(args.workers)]
        started = time.perf_counter()
        with _pool(args.workers) as pool:
            futures = [pool.submit(_through_ledger, url, str(home), layout, p) for p in parts if p]
            results = [f.result() for f in futures]
        print(f"  (through the ledger, with the processes' start: {time.perf_counter() - started:.1f} s)")
        ledger_wall = max(r[3] for r in results)
        done = sum(r[0] for r in results)
        signer_cpu = sum(r[1] for r in results)
        statements = sum(r[2] for r in results)
        assert done == len(students), (done, len(students))

        halves = [students[i :: args.workers] for i in range(args.workers)]
        started = time.perf_counter()
        with _pool(args.workers) as pool:
            floors = [f.result() for f in [pool.submit(_floor, url, str(home), h) for h in halves if h]]
        print(f"  (the floor, with the processes' start and reading the files: {time.perf_counter() - started:.1f} s)")
        verified = sum(f[0] for f in floors)
        floor_wall = max(f[1] for f in floors)
        _report(args.workers, len(students), ledger_wall, signer_cpu, statements, floor_wall, verified)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _report(
    workers: int, n: int, ledger_wall: float, signer_cpu: float, statements: int, floor_wall: float, verified: int
) -> None:
    service_wall = ledger_wall - signer_cpu / workers
    lines: Sequence[str] = (
        f"through the ledger: {n} học bạ in {ledger_wall:.1f} s on {workers} processes "
        f"({1000 * ledger_wall / n:.0f} ms each; 1,000 at this rate: {1000 * ledger_wall / n:.0f} s)",
        f"  of which the signers' side (XAdES and PDF signing, with its timestamps) and the time-stamping "
        f"authority's for the XML: {signer_cpu:.1f} s of process time, "
        f"~{signer_cpu / workers:.1f} s wall; the service's share ~{service_wall:.1f} s "
        f"(1,000: ~{1000 * service_wall / n:.0f} s)",
        f"  SQL statements: {statements} ({statements / n:.0f} per học bạ)",
        f"floor: {verified} signature verifications and {n} PDF renders in {floor_wall:.1f} s "
        f"(1,000: {1000 * floor_wall / n:.0f} s)",
        f"ratio to the floor: {ledger_wall / floor_wall:.2f} end to end, {service_wall / floor_wall:.2f} the service's "
        "share; target <= 2",
    )
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
