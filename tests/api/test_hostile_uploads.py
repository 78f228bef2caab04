"""One hostile upload never stops the service (Điều 20: the system stays available, and every access
is recorded): files are read in worker processes, within limits of size, shape and time, while the
event loop goes on answering. The hostile files are made here: a signed PDF học bạ with its
signature field duplicated a thousand times in incremental updates, a signed XML học bạ with its
ds:Signature copied two hundred times, an XLSX that declares the whole sheet as its used range."""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from openpyxl import Workbook
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.v1.portal import MAX_UPLOAD
from audit.trail import access_index
from ledger.app.demo import DemoSchool
from ledger.app.uploads import MAX_SIGNATURES, check_shape
from ledger.app.workers import WorkerPool
from ledger.base.errors import DomainError, TooLarge
from ledger.school.imports.sheets import read_gradebook
from ledger.school.imports.tables import MAX_ROWS
from signing.xml import document as hocba_xml
from tests.support.helpers import PASSWORD, free_port
from tests.support.signers import YEAR, Signers, signed_and_issued

V1 = "/api/v1"
# seconds: the longest a health answer may take while hostile uploads are read. An upload checked on
# the event loop holds it for seconds; on two cores shared with a second test worker, a health
# answer was once seen to wait 0.65 s for the processor alone.
HEALTH_BUDGET = 1.0


def duplicated_pdf_signatures(pdf: bytes, copies: int) -> bytes:
    """The signed PDF with its first signature field copied `copies` times, in incremental updates
    of a hundred fields each (every copy points at the same signature value)."""
    for start in range(0, copies, 100):
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        form = writer.root["/AcroForm"]
        fields = form["/Fields"]
        field = next(f.get_object() for f in fields if f.get_object().get("/FT") == "/Sig")
        for index in range(start, min(copies, start + 100)):
            twin = generic.DictionaryObject(dict(field.items()))
            twin["/T"] = generic.TextStringObject(f"Copy{index}")
            fields.append(writer.add_object(twin))
        raw = form.raw_get("/Fields")
        writer.update_container(raw.get_object() if isinstance(raw, generic.IndirectObject) else form)
        writer.update_container(form)
        out = io.BytesIO()
        writer.write(out)
        pdf = out.getvalue()
    return pdf


def duplicated_xml_signatures(xml: bytes, copies: int) -> bytes:
    """The signed XML with its first ds:Signature copied `copies` times beside it."""
    root = hocba_xml.parse(xml)
    first = next(root.iter(f"{{{hocba_xml.DS}}}Signature"))
    parent = first.getparent()
    assert parent is not None
    for _ in range(copies):
        parent.append(copy.deepcopy(first))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def huge_dimension_xlsx(last_cell: str | None = None) -> bytes:
    """A small XLSX whose sheet declares `A1:XFD1048576` as its used range (and, with `last_cell`,
    holds a real value there too)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["STT", "Họ và tên", "Điểm"])
    sheet.append([1, "Nguyễn Văn An", 8])
    if last_cell:
        sheet[last_cell] = "x"
    saved = io.BytesIO()
    book.save(saved)
    source = zipfile.ZipFile(io.BytesIO(saved.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                start = data.index(b"<dimension ")
                end = data.index(b"/>", start) + 2
                data = data[:start] + b'<dimension ref="A1:XFD1048576"/>' + data[end:]
            target.writestr(item, data)
    return out.getvalue()


def test_a_sheet_declaring_every_cell_is_read_by_its_real_cells_dieu_20() -> None:
    data = huge_dimension_xlsx()
    assert len(data) < 10_000
    started = time.monotonic()
    with pytest.raises(DomainError) as caught:
        read_gradebook(data, "lop.xlsx")
    assert time.monotonic() - started < 5
    assert caught.value.code == "gradebook.headers" and caught.value.status == 422  # read, and found wanting
    with pytest.raises(TooLarge) as beyond:
        read_gradebook(huge_dimension_xlsx("XFD1048576"), "lop.xlsx")
    assert beyond.value.code == "gradebook.too_many_rows" and beyond.value.status == 413
    assert f"{MAX_ROWS}" in beyond.value.en and beyond.value.en.startswith("lop.xlsx")


def test_a_job_over_its_time_limit_is_stopped_and_the_pool_goes_on_dieu_20() -> None:
    async def run() -> None:
        pool = WorkerPool(1, queue=0, seconds=1.0)
        try:
            assert await pool.run(pow, 2, 10) == 1024
            [worker] = pool._idle
            started = time.monotonic()
            with pytest.raises(TooLarge) as caught:
                await pool.run(time.sleep, 60)
            assert caught.value.code == "upload.timeout" and time.monotonic() - started < 5
            assert not worker.process.is_alive()  # killed, not left burning a core
            busy = asyncio.ensure_future(pool.run(time.sleep, 0.5))
            await asyncio.sleep(0.1)
            with pytest.raises(DomainError) as refused:  # one running, none may wait
                await pool.run(pow, 2, 2)
            assert (refused.value.code, refused.value.status) == ("workers.busy", 503)
            await busy
            assert await pool.run(pow, 2, 3) == 8  # a fresh worker took the killed one's place
        finally:
            await pool.close()

    asyncio.run(run())


@pytest.fixture
async def hocba(signers: Signers) -> tuple[bytes, bytes]:
    """A signed and issued học bạ: its XML and its PDF."""
    student = signers.demo.rosters["7A1"][0]
    issued = await signed_and_issued(signers, student)
    return issued.xml, issued.pdf


@pytest.mark.slow
def test_the_hostile_files_are_refused_before_their_signatures_are_checked(hocba: tuple[bytes, bytes]) -> None:
    xml, pdf = hocba
    check_shape(xml)
    check_shape(pdf)
    for hostile in (duplicated_xml_signatures(xml, 200), duplicated_pdf_signatures(pdf, 1000)):
        started = time.monotonic()
        with pytest.raises(TooLarge) as caught:
            check_shape(hostile)
        assert caught.value.code == "upload.too_many_signatures" and str(MAX_SIGNATURES) in caught.value.en
        assert time.monotonic() - started < 5


@pytest.fixture
def service(env: dict[str, str]) -> Iterator[str]:
    """`hocba serve` on the test database, in a process of its own: its event loop is the one measured."""
    port = free_port()
    script = Path(sys.executable).with_name("hocba")
    process = subprocess.Popen(
        [str(script), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}{V1}/health", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"hocba serve did not come up:\n{output}")
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _health(base: str, stop: threading.Event) -> list[tuple[float, float, int]]:
    """(when, how long, status) of each health request, one every 20 ms until `stop`, from a thread
    of its own (the test's loop is busy sending the uploads)."""
    polls = []
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            started = time.monotonic()
            status = client.get(f"{V1}/health").status_code
            polls.append((started, time.monotonic() - started, status))
            time.sleep(0.02)
    return polls


@pytest.mark.slow
async def test_ten_hostile_uploads_at_once_leave_the_service_answering_dieu_20(
    service: str,
    hocba: tuple[bytes, bytes],
    demo: DemoSchool,
    credentials: dict[str, dict[str, str]],
    auditor_engine: AsyncEngine,
) -> None:
    xml, pdf = hocba
    many_pdf = duplicated_pdf_signatures(pdf, 1000)
    many_xml = duplicated_xml_signatures(xml, 200)
    sheet = huge_dimension_xlsx()
    limits = os.environ.get("HOCBA_HOSTILE_TIMEOUT", "120")
    async with httpx.AsyncClient(base_url=service, timeout=float(limits)) as client:
        login = await client.post(
            f"{V1}/auth/token", json={"school": demo.school, "username": "gv.toan02", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        teacher = {"Authorization": f"Bearer {login.json()['access_token']}"}
        imports = f"{V1}/schools/{demo.school}/classes/6A1/sheets/TOAN/1/import?year={YEAR}&filename=lop.xlsx"
        uploads: list[tuple[str, bytes, dict[str, str]]] = [
            *[(f"{V1}/portal/verify", many_pdf, {"Content-Type": "application/pdf"})] * 4,
            *[(f"{V1}/portal/verify", many_xml, {"Content-Type": "application/xml"})] * 4,
            *[(imports, sheet, teacher)] * 2,
        ]
        stop = threading.Event()
        with ThreadPoolExecutor(1) as poller:
            polling = poller.submit(_health, service, stop)
            await asyncio.sleep(0.2)
            started = time.monotonic()
            answers = await asyncio.gather(*(client.post(url, content=body, headers=h) for url, body, h in uploads))
            took = time.monotonic() - started
            await asyncio.sleep(0.2)
            stop.set()
            polls = polling.result()
    assert len(polls) >= 5 and all(status == 200 for *_, status in polls)
    slowest = max(polls, key=lambda p: p[1])
    print(f"health: at most {slowest[1] * 1000:.0f} ms over {len(polls)} answers; the uploads took {took:.2f} s")
    assert slowest[1] < HEALTH_BUDGET, (
        f"health took {slowest[1]:.3f} s at {slowest[0] - started:+.2f} s of {took:.2f} s of uploads: "
        f"{sorted(round(p[1], 3) for p in polls)[-8:]}"
    )
    statuses = [a.status_code for a in answers]
    assert all(s in (413, 422, 503) for s in statuses), [(a.status_code, a.text[:200]) for a in answers]
    assert took < 60
    codes = {a.json().get("code") for a in answers}
    assert codes <= {"upload.too_many_signatures", "gradebook.headers", "workers.busy", "upload.timeout"}, codes
    assert all(a.headers["content-type"].startswith("application/problem+json") for a in answers)
    for answer in answers:
        if answer.status_code == 503:
            assert int(answer.headers["retry-after"]) > 0
    # every refusal is in the access trail, with its reason
    ids = {a.headers["x-request-id"]: a for a in answers}
    async with auditor_engine.connect() as conn:
        query = select(access_index.c.request_id, access_index.c.status, access_index.c.reason).where(
            access_index.c.request_id.in_(list(ids))
        )
        rows = {r.request_id: r for r in (await conn.execute(query)).all()}
    assert set(rows) == set(ids)
    for request_id, answer in ids.items():
        assert (rows[request_id].status, rows[request_id].reason) == (answer.status_code, answer.json()["code"])


@pytest.mark.slow
async def test_an_ordinary_upload_is_verified_beside_them(service: str, hocba: tuple[bytes, bytes]) -> None:
    xml, pdf = hocba
    async with httpx.AsyncClient(base_url=service, timeout=120) as client:
        for body in (xml, pdf):
            answer = await client.post(f"{V1}/portal/verify", content=body)
            assert answer.status_code == 200, answer.text
            report: dict[str, Any] = answer.json()["report"]
            assert report["signatures"] and all(s["intact"] for s in report["signatures"])


@pytest.mark.slow
async def test_a_signer_submitting_thousands_of_signatures_is_refused_and_recorded_dieu_20(
    api: httpx.AsyncClient,
    tokens: dict[str, dict[str, str]],
    demo: DemoSchool,
    hocba: tuple[bytes, bytes],
    auditor_engine: AsyncEngine,
) -> None:
    xml, pdf = hocba
    student = demo.rosters["6A1"][0]
    base = f"{V1}/schools/{demo.school}/students/{student}/signatures"
    sent = [
        (base, duplicated_xml_signatures(xml, 200), tokens["SUBJECT_TEACHER"]),
        (f"{base}/pdf", duplicated_pdf_signatures(pdf, 1000), tokens["PRINCIPAL"]),
    ]
    answers = []
    for url, document, headers in sent:
        body = {"document": base64.b64encode(document).decode()}
        answer = await api.post(f"{url}?year={demo.year}", json=body, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (413, "upload.too_many_signatures"), answer.text
        answers.append(answer)
    page = await api.post("/cong-xac-minh", files={"file": ("hocba.xml", sent[0][1], "application/xml")})
    assert page.status_code == 413 and "hơn 50 chữ ký" in page.text  # the portal's page says why
    for answer in [*answers, page]:
        async with auditor_engine.connect() as conn:
            query = select(access_index.c.status, access_index.c.reason).where(
                access_index.c.request_id == answer.headers["x-request-id"]
            )
            assert (await conn.execute(query)).one() == (413, "upload.too_many_signatures")


async def test_a_file_beyond_ten_megabytes_is_refused_unread_and_recorded_dieu_20(
    api: httpx.AsyncClient, auditor_engine: AsyncEngine
) -> None:
    for size in (MAX_UPLOAD + 1, 2 * MAX_UPLOAD):
        answer = await api.post(f"{V1}/portal/verify", content=b"%PDF-1.7\n" + b"0" * size)
        assert (answer.status_code, answer.json()["code"]) == (413, "upload.too_large"), answer.text
        async with auditor_engine.connect() as conn:
            query = select(access_index.c.status, access_index.c.reason).where(
                access_index.c.request_id == answer.headers["x-request-id"]
            )
            assert (await conn.execute(query)).one() == (413, "upload.too_large")
