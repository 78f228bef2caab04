"""Benchmark of signing the học bạ, with baselines measured in the same run.

    .venv/bin/python ops/bench_signing.py [--rounds 200] [--pdf-rounds 40] [--students 1000]

1. XML: one signature over a whole học bạ (the clerk's seal: every part and 15 earlier signatures)
   signed and verified by hocba-ledger (signxml, XAdES-B, with the wrapping, role and certificate
   checks of signing.xml.verify.verify_signature), as a ratio to the same references signed and verified
   with the xmlsec bindings (libxmlsec1, plain XMLDSig: no XAdES properties, no checks of ours).
2. PDF: render one học bạ, the principal's signature and the seal, both timestamped: ms each.
3. Issuance throughput: `--students` học bạ (XML seal + PDF render + two timestamped signatures)
   on two worker processes, the machine's two cores; the target is 1,000 in under 2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ledger.app.runtime import demo_time_stamper
from ledger.base.clock import VN_TZ
from signing.pdf.render import render_hocba
from signing.pdf.sign import sign_pdf
from signing.x509.keys import DocumentSigner, KeySigner
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades

WHEN = datetime(2026, 5, 31, 10, tzinfo=VN_TZ)
SUBJECTS = [
    ("NGU_VAN", "Ngữ văn"),
    ("TOAN", "Toán"),
    ("NGOAI_NGU", "Ngoại ngữ 1"),
    ("GDCD", "Giáo dục công dân"),
    ("LSDL", "Lịch sử và Địa lí"),
    ("KHTN", "Khoa học tự nhiên"),
    ("CONG_NGHE", "Công nghệ"),
    ("TIN_HOC", "Tin học"),
    ("GDTC", "Giáo dục thể chất"),
    ("NGHE_THUAT", "Nghệ thuật"),
    ("HDTN", "Hoạt động trải nghiệm, hướng nghiệp"),
    ("GDDP", "Nội dung giáo dục của địa phương"),
]


def model(serial: int) -> dict[str, Any]:
    student = f"0373110{serial:05d}"
    return {
        "hocba_id": f"kp-2025-2026-{student}",
        "school": {"id": "kp", "name": "Trường THCS Khánh Phú", "province": "Ninh Bình", "address": "xã Khánh Phú"},
        "student": {
            "student_id": student,
            "full_name": "Nguyễn Thị Hương",
            "birth_date": "2013-05-02",
            "gender": "Nữ",
            "ethnicity": "Kinh",
            "birth_place": "Ninh Bình",
            "address": "xã Khánh Phú",
            "guardian": "Nguyễn Văn An",
        },
        "years": [
            {
                "year": "2025-2026",
                "class": "6A1",
                "grade": 6,
                "school_name": "Trường THCS Khánh Phú",
                "subjects": [
                    {
                        "code": code,
                        "name": name,
                        "kind": "comment" if code in ("GDTC", "NGHE_THUAT", "HDTN", "GDDP") else "score",
                        "term1": "8.0",
                        "term2": "8.5",
                        "year": "8.3",
                        "reassessment": None,
                        "comment": "Có tiến bộ",
                    }
                    for code, name in SUBJECTS
                ],
                "learning": {"1": "Tốt", "2": "Tốt", "year": "Tốt", "after_summer": None},
                "conduct": {"1": "Tốt", "2": "Tốt", "year": "Tốt", "after_summer": None},
                "absences": {"excused": 1, "unexcused": 0},
                "homeroom_comment": "Ngoan, chăm học.",
                "homeroom_teacher": "Lê Thị Mai",
                "promotion": "Được lên lớp",
                "award": "Học sinh Xuất sắc",
                "corrections": {"total": 0, "subjects": []},
                "principal": {"name": "Đoàn Thị Thủy", "date": None},
            }
        ],
    }


def signed_before_seal(pki: Pki, people: dict[str, DocumentSigner]) -> bytes:
    """A học bạ signed by every subject teacher, the homeroom teacher and the principal, prepared
    for the clerk's seal."""
    doc, signatures = model(1), []
    steps = [("SUBJECT_TEACHER", code) for code, _ in SUBJECTS] + [("HOMEROOM_TEACHER", None), ("PRINCIPAL", None)]
    for number, (role, subject) in enumerate(steps):
        root = hocba_xml.build(doc, signatures=signatures)
        hocba_xml.add_placeholder(root, f"ck-{number}", role, hocba_xml.references_for(root, role, subject))
        holder = people["principal"] if role == "PRINCIPAL" else people["teacher"]
        data = xades.sign_prepared(hocba_xml.to_bytes(root), holder.key, holder.certificate, signing_time=WHEN)
        signatures = [element for _, element in hocba_xml.iter_wrapper_bytes(data)]
    root = hocba_xml.build(doc, issuance={"date": "2026-05-31"}, signatures=signatures)
    hocba_xml.add_placeholder(root, "ck-seal", "ORGANISATION", hocba_xml.references_for(root, "ORGANISATION"))
    return hocba_xml.to_bytes(root)


def ours(prepared: bytes, seal: DocumentSigner, roots: list[Any], crls: list[Any]) -> None:
    signed = xades.sign_prepared(prepared, seal.key, seal.certificate, signing_time=WHEN)
    index = len(hocba_xml.wrappers(hocba_xml.parse(signed))) - 1
    report = asyncio.run(xml_verify.verify_signature(signed, index, roots, crls))
    assert report.ok, report.to_json()


def with_xmlsec(prepared: bytes, key_pem: bytes, cert_pem: bytes) -> None:
    """The same references signed and verified by libxmlsec1 (plain XMLDSig)."""
    root = hocba_xml.parse(prepared)
    wrapper = hocba_xml.wrappers(root)[-1]
    references = (wrapper.get("ThamChieu") or "").split()
    placeholder = wrapper[0]
    signature = xmlsec.template.create(root, xmlsec.Transform.C14N11, xmlsec.Transform.ECDSA_SHA256)
    for uri in references:
        ref = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA256, uri=uri)
        xmlsec.template.add_transform(ref, xmlsec.Transform.C14N11)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    wrapper.replace(placeholder, signature)
    ctx = xmlsec.SignatureContext()
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("Id"):
            ctx.register_id(element, "Id")
    ctx.key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
    ctx.key.load_cert_from_memory(cert_pem, xmlsec.constants.KeyDataFormatPem)
    ctx.sign(signature)
    data = etree.tostring(root)
    check = hocba_xml.parse(data)
    verifier = xmlsec.SignatureContext()
    for element in check.iter():
        if isinstance(element.tag, str) and element.get("Id"):
            verifier.register_id(element, "Id")
    verifier.key = xmlsec.Key.from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)
    verifier.verify(hocba_xml.wrappers(check)[-1][0])


def timed(rounds: int, work: Any) -> float:
    """Median seconds of one call, over `rounds` calls after one warm-up."""
    work()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def pdf_for(doc: dict[str, Any], pki: Pki, principal: DocumentSigner, seal: DocumentSigner) -> tuple[float, ...]:
    stamper = demo_time_stamper(pki)
    t0 = time.perf_counter()
    pdf = render_hocba(doc)
    t1 = time.perf_counter()
    pdf = await sign_pdf(
        pdf,
        principal.key,
        principal.certificate,
        chain=pki.roots(),
        appearance="principal",
        role="PRINCIPAL",
        signer_name="Đoàn Thị Thủy",
        signing_time=WHEN,
        time_stamper=stamper,
        field_name="HieuTruong",
    )
    t2 = time.perf_counter()
    await sign_pdf(
        pdf,
        seal.key,
        seal.certificate,
        chain=pki.roots(),
        appearance="seal",
        role="ORGANISATION",
        signer_name="Trường THCS Khánh Phú",
        signing_time=WHEN,
        time_stamper=stamper,
        field_name="DongDau",
    )
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


_WORKER: dict[str, Any] = {}


def _worker_setup(directory: str) -> None:
    pki = Pki(Path(directory))
    _WORKER.update(pki=pki, people=_people(pki, create=False))
    _WORKER["prepared"] = signed_before_seal(pki, _WORKER["people"])


def _ready(_: int) -> None:
    """Nothing: lets the workers start (and warm up) before the clock starts."""
    _issue(0)


def _issue(serial: int) -> None:
    """One học bạ issued: the XML sealed and checked, the PDF rendered, signed and sealed."""
    pki, people = _WORKER["pki"], _WORKER["people"]
    ours(_WORKER["prepared"], people["seal"], pki.roots(), [pki.crl()])
    asyncio.run(pdf_for(model(serial), pki, people["principal"], people["seal"]))


def _people(pki: Pki, *, create: bool) -> dict[str, DocumentSigner]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    from signing.x509.pki import DEMO_P12_PASSWORD

    holders = {}
    for name in ("teacher", "principal", "seal"):
        path = pki.directory / "holders" / "kp" / f"{name}.p12"
        if create:
            since = datetime(2025, 8, 1, tzinfo=VN_TZ)
            made = (
                pki.issue_demo_organisation("kp", "Trường THCS Khánh Phú", valid_from=since)
                if name == "seal"
                else pki.issue_demo_personal("kp", f"gv.{name}", name, valid_from=since)
            )
            pki.save_holder("kp", name, made)
        key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), DEMO_P12_PASSWORD)
        holders[name] = KeySigner(key, cert)  # type: ignore[arg-type]
    return holders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--pdf-rounds", type=int, default=40)
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="hocba-bench-signing-")) / "pki"
    pki = Pki(directory)
    pki.init_demo()
    people = _people(pki, create=True)
    prepared = signed_before_seal(pki, people)
    seal = people["seal"]
    key_pem = seal.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = seal.certificate.public_bytes(serialization.Encoding.PEM)
    roots, crls = pki.roots(), [pki.crl()]

    baseline = timed(args.rounds, lambda: with_xmlsec(prepared, key_pem, cert_pem))
    mine = timed(args.rounds, lambda: ours(prepared, seal, roots, crls))
    references = len((hocba_xml.wrappers(hocba_xml.parse(prepared))[-1].get("ThamChieu") or "").split())
    print(f"XML seal over {references} references, sign + verify, median of {args.rounds}:")
    print(f"  xmlsec bindings (baseline)  {baseline * 1000:8.2f} ms")
    print(f"  hocba-ledger                {mine * 1000:8.2f} ms   ratio {mine / baseline:.2f}")

    samples = [asyncio.run(pdf_for(model(n), pki, people["principal"], seal)) for n in range(args.pdf_rounds + 1)][1:]
    render, principal, sealing = (statistics.median(s[i] for s in samples) * 1000 for i in range(3))
    print(
        f"PDF, median of {args.pdf_rounds}: render {render:.1f} ms, principal signature + timestamp "
        f"{principal:.1f} ms, seal + timestamp {sealing:.1f} ms, total {render + principal + sealing:.1f} ms"
    )

    workers = 2
    spawn = multiprocessing.get_context("spawn")  # not fork: the parent already runs threads
    with ProcessPoolExecutor(workers, spawn, initializer=_worker_setup, initargs=(str(directory),)) as pool:
        list(pool.map(_ready, range(workers)))
        started = time.perf_counter()
        list(pool.map(_issue, range(args.students), chunksize=16))
    elapsed = time.perf_counter() - started
    print(
        f"Issuance: {args.students} học bạ (XML sealed and checked, PDF rendered, signed and sealed with "
        f"timestamps) on {workers} processes ({os.cpu_count()} cores): {elapsed:.1f} s, "
        f"{elapsed / args.students * 1000:.1f} ms each; target 1,000 in 120 s"
    )


if __name__ == "__main__":
    main()
