"""Archiving a PDF học bạ whose signer's CA answers by OCSP (certomancer's animator on loopback, a PKI
independent of ours): the responses fetched at issuance go into the DSS, and the PDF verifies offline
years later from them alone (Điều 15, 28.3)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from pyhanko.pdf_utils.reader import PdfFileReader

from ledger.app.runtime import demo_time_stamper
from signing.pdf.archive import archive_pdf
from signing.pdf.render import render_hocba
from signing.pdf.sign import sign_pdf
from signing.pdf.verify import verify_pdf
from signing.x509.pki import Pki
from signing.x509.validation import OnlineRevocation
from tests.interop.test_pdf import DOC
from tests.interop.test_trust_list import Animated, animated, online  # noqa: F401 (fixtures)


async def test_ocsp_responses_fetched_at_archiving_verify_the_pdf_offline_later_dieu_15_28_3(
    animated: Animated,  # noqa: F811
    online: OnlineRevocation,  # noqa: F811
    pki: Pki,
) -> None:
    roots = [animated.certs["root"], *pki.roots()]  # the national root; the demo TSA's
    signed = await sign_pdf(
        render_hocba(DOC),
        animated.keys["teacher"],
        animated.certs["teacher"],
        chain=[animated.certs["ca"]],
        appearance="principal",
        role="PRINCIPAL",
        signer_name="Đoàn Thị Thủy",
        signing_time=datetime.now(UTC) - timedelta(minutes=1),
        time_stamper=demo_time_stamper(pki),
        field_name="HieuTruong-2025-2026",
        year_index=0,
        doc=DOC,
    )
    archived = await archive_pdf(signed, roots, pki.crls(), demo_time_stamper(pki), online=online)
    dss = PdfFileReader(io.BytesIO(archived), strict=False).root["/DSS"]
    assert len(dss["/OCSPs"]) >= 1  # the licensed CA's responder, asked at archiving
    later = animated.certs["teacher"].not_valid_after_utc + timedelta(days=365)
    report = await verify_pdf(archived, roots, [], at=later)  # no CRL, no network
    assert report.ok, report.to_json()
    bare = await verify_pdf(signed, roots, [], at=later)
    assert not bare.ok
    assert "pdf.no_long_term_validation" in {f.code for s in bare.signatures for f in s.findings}
