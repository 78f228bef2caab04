"""The issued PDF học bạ is PAdES-B-LTA: after the seal, issuance adds the validation material of
every signature and timestamp (DSS) and a document timestamp of the school's authority, so that the
học bạ verifies offline long after the signers' certificates expire (Điều 15, 23.2, 28.3)."""

from __future__ import annotations

import io
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import HTTPTimeStamper

from api.app import create_app
from ledger.app.demo import CLERK, PRINCIPAL, issue_hocba
from ledger.app.jobs import renew_pdf_archives
from ledger.app.runtime import Runtime, demo_time_stamper
from ledger.base.clock import VN_TZ
from ledger.log.projection import read
from ledger.log.replay import replay
from ledger.school.issuance.archives import renew_archives
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import issued as issued_table
from ledger.school.readmodels import PROJECTIONS
from ledger.school.signatures.queries import load_documents
from signing.pdf.archive import document_timestamps, newest_authority
from signing.pdf.timestamp import LocalTimeStamper
from signing.verify_file import verify_file
from tests.support import helpers
from tests.support.helpers import nss_database, pdfsig, poppler_major
from tests.support.signers import YEAR, Issued, Signers, issuing, sign_all, signed_and_issued

TEN_YEARS_ON = timedelta(days=3653)


async def _issued(signers: Signers) -> tuple[Issued, bytes]:
    """One student's học bạ, signed, sealed and issued; and the sealed PDF before issuance."""
    student = signers.demo.rosters["6A1"][0]
    issued = await signed_and_issued(signers, student)
    async with signers.demo.ledger.engine.connect() as conn:
        documents = await load_documents(conn, signers.demo.school, YEAR, [student])
    sealed, _ = documents.pdf(student, signers.verification)
    return issued, sealed


async def test_the_issued_pdf_carries_its_validation_material_and_a_document_timestamp_dieu_28_3(
    signers: Signers,
) -> None:
    """The issued bytes are the sealed PDF with one more revision: a DSS with the certificates and
    CRLs of both signatures and their timestamps, and a document timestamp over the whole file."""
    issued, sealed = await _issued(signers)
    pdf = issued.pdf
    assert pdf.startswith(sealed) and len(pdf) > len(sealed)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 3 and len(dss["/CRLs"]) >= 1
    [stamped] = document_timestamps(pdf)
    assert abs(stamped - datetime.now(UTC)) < timedelta(minutes=5)
    [last] = reader.embedded_timestamp_signatures
    assert int(last.byte_range[2]) + int(last.byte_range[3]) == len(pdf)  # it covers every byte


async def test_the_issued_pdf_verifies_offline_ten_years_later_dieu_15_28_3(signers: Signers) -> None:
    """Ten years on, the signers' certificates long expired, the issued PDF verifies with the
    trusted root alone (no CRL given, no network): its signatures as of the document timestamp's
    time, with the revocation information its DSS keeps."""
    issued, _ = await _issued(signers)
    later = datetime.now(UTC) + TEN_YEARS_ON
    certificates = [signers.people[PRINCIPAL.user].certificate, signers.people["organisation"].certificate]
    assert all(c.not_valid_after_utc < later for c in certificates)  # the point of the test
    report = await verify_file(issued.pdf, signers.pki.roots(), [], at=later)
    assert report.ok, report.to_json()
    assert [s.role for s in report.signatures] == ["PRINCIPAL", "ORGANISATION"]
    assert all(s.revoked is False and s.timestamp_valid for s in report.signatures)
    # and today, still without a CRL: the embedded ones suffice
    assert (await verify_file(issued.pdf, signers.pki.roots(), [])).ok


async def test_without_its_archive_revision_the_pdf_is_not_valid_ten_years_later_dieu_15(signers: Signers) -> None:
    """The same PDF without the revision issuance added (the bytes before it) verifies today with
    the CA's CRL, but ten years on nothing shows its signatures valid when made: refused, saying why
    in Vietnamese and English."""
    issued, sealed = await _issued(signers)
    assert issued.pdf.startswith(sealed)
    assert (await verify_file(sealed, signers.pki.roots(), signers.pki.crls())).ok
    report = await verify_file(sealed, signers.pki.roots(), [], at=datetime.now(UTC) + TEN_YEARS_ON)
    assert not report.ok
    for signature in report.signatures:
        [finding] = [f for f in signature.findings if f.code == "pdf.no_long_term_validation"]
        assert "dữ liệu xác thực dài hạn" in finding.vi and "long-term validation material" in finding.en


async def test_a_changed_archive_revision_is_detected_dieu_15(signers: Signers) -> None:
    """A byte changed in the DSS the document timestamp covers: the archive no longer holds, and the
    file is refused today as ten years on."""
    issued, sealed = await _issued(signers)
    pdf = bytearray(issued.pdf)
    at = pdf.index(b"/DSS", len(sealed))
    pdf[at + 1 : at + 4] = b"DSX"
    for when in (None, datetime.now(UTC) + TEN_YEARS_ON):
        report = await verify_file(bytes(pdf), signers.pki.roots(), [], at=when)
        assert not report.ok
        assert "pdf.archive_timestamp_invalid" in {f.code for f in report.findings}


async def test_without_a_document_timestamp_nothing_is_issued_dieu_24_28_3(signers: Signers) -> None:
    """The school's time-stamping authority does not answer: the issuance is refused with a reason
    in Vietnamese and English, and the ledger is unchanged; once it answers, the học bạ is issued."""
    s = signers
    student = s.demo.rosters["6A1"][1]
    await sign_all(s, student)
    silent = HTTPTimeStamper(f"http://127.0.0.1:{_closed_port()}/tsa", timeout=2)

    def attempt() -> Any:
        return issue_hocba(
            s.demo.ledger,
            s.demo.school,
            CLERK,
            YEAR,
            student,
            s.pki.roots(),
            [s.pki.crl()],
            s.service,
            s.policy,
            verification=s.verification,
            time_stamper=silent,
        )

    error = await helpers.refused(s.demo.ledger, s.demo.school, "issuance.archive", attempt)
    assert "dấu thời gian" in error.vi and "timestamp" in error.en
    event = await issuing(s, student)()
    assert event.type == "hocba.issued"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the probe is: nothing listens there


async def test_pdfsig_accepts_each_signature_of_the_archived_pdf(signers: Signers, tmp_path: Path) -> None:
    """poppler's pdfsig, an independent validator, still finds both signatures valid and trusted in
    the archived file (it cannot check the document timestamp itself)."""
    issued, _ = await _issued(signers)
    path = tmp_path / "hocba.pdf"
    path.write_bytes(issued.pdf)
    results = pdfsig(path, nss_database(tmp_path / "nss", signers.pki))
    assert len(results) == 3  # the principal, the seal, the document timestamp
    assert all(r["signature"] == "Signature is Valid." for r in results[:2]), results
    assert results[0]["certificate"] == "Certificate is Trusted.", results
    if poppler_major() >= 23:
        assert results[1]["certificate"] == "Certificate is Trusted.", results
    else:  # poppler 22 reads a stale NSS error after a first certificate (tests/interop/test_pdf.py)
        assert results[1]["certificate"] in {
            "Certificate is Trusted.",
            "Unknown issue with Certificate or corrupted data.",
        }
    assert "signature" not in results[2] or results[2]["signature"] != "Signature is Valid."


def _renewed_authority(signers: Signers, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A time-stamping authority whose certificate, issued by the root, outlives the demo one's."""
    root = signers.pki.roots()[0]
    root_key = serialization.load_pem_private_key(signers.pki.root_key_path.read_bytes(), password=None)
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Đơn vị cấp dấu thời gian (gia hạn)")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(root.not_valid_after_utc - timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return key, cert


async def test_the_document_timestamp_is_renewed_before_its_authority_expires_dieu_28(
    signers: Signers, runtime: Runtime
) -> None:
    """The renewal runs on the ledger's clock: nothing is due while the authority's certificate has
    more than a year left; a year before it expires, a new document timestamp over the file and the
    validation material of the old one is added and recorded as `hocba.pdf_archive_renewed`, and the
    renewed PDF is the one kept. It verifies offline after the first authority's certificate (and
    its CA) expired, which the PDF as first issued no longer does. A renewal by an authority whose
    certificate expires no later is not kept."""
    s = signers
    issued, _ = await _issued(s)
    ledger, school, roots, crls = s.demo.ledger, s.demo.school, s.pki.roots(), s.pki.crls()
    first = newest_authority(issued.pdf)
    assert first is not None
    assert await renew_archives(ledger, school, roots, crls, demo_time_stamper(s.pki, s.demo.clock)) == []
    assert await renew_pdf_archives(runtime, [school]) == []  # the scheduled job, on the service's clock
    s.demo.clock.set((first.not_valid_after_utc - timedelta(days=300)).astimezone(VN_TZ))
    same = demo_time_stamper(s.pki, s.demo.clock)  # the same authority certificate: nothing gained
    assert await renew_archives(ledger, school, roots, crls, same) == []
    key, cert = _renewed_authority(s, datetime.now(UTC))
    renewed = LocalTimeStamper(key, cert, now=s.demo.clock.now)
    [event] = await renew_archives(ledger, school, roots, crls, renewed)
    assert event.type == "hocba.pdf_archive_renewed" and event.actor.user == "system"
    assert event.payload["issuance"] == issued.event.payload["issuance"]
    assert event.payload["previous_pdf_sha256"] == issued.row["pdf_sha256"]
    async with ledger.engine.connect() as conn:
        [row] = await read(conn, issued_table, school, issuance_id=event.payload["issuance"])
        pdf = await stored_document(conn, school, row["pdf_sha256"])
    assert row["pdf_sha256"] == event.payload["pdf_sha256"] and pdf.startswith(issued.pdf)
    assert [t.year for t in document_timestamps(pdf)] == [datetime.now(UTC).year, s.demo.clock.now().year]
    assert await renew_archives(ledger, school, roots, crls, renewed) == []  # renewed: not due again
    after = first.not_valid_after_utc + timedelta(days=500)  # the first authority and its CA expired
    report = await verify_file(pdf, roots, [], at=after)
    assert report.ok, report.to_json()
    old = await verify_file(issued.pdf, roots, [], at=after)
    assert not old.ok and "pdf.archive_timestamp_invalid" in {f.code for f in old.findings}
    assert (await replay(ledger.engine, PROJECTIONS, school)).ok
    # the portal matches the copy a family downloaded before the renewal to its issuance, as the new one
    transport = httpx.ASGITransport(app=create_app(runtime, scheduler=False), client=("10.30.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        for data in (issued.pdf, pdf):
            answer = await client.post(
                "/api/v1/portal/verify", content=data, headers={"Content-Type": "application/pdf"}
            )
            assert answer.status_code == 200, answer.text
            found = answer.json()
            assert found["issued"]["issuance_id"] == event.payload["issuance"] and found["report"]["ok"], found
