"""Long-term validation of the XML học bạ (Điều 15, 23.2, 28.3): each signature keeps the certificates
and the revocation information it was validated with (XAdES-LT), the issued học bạ carries an
archive timestamp over all of it (XAdES-LTA), and it verifies offline, with nothing but the trusted
root, years after every signer's certificate has expired."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from lxml import etree

from ledger.app.jobs import archive_renewals
from ledger.app.runtime import Runtime, demo_time_stamper, stamp_with
from ledger.base.clock import VN_TZ
from ledger.log.projection import read
from ledger.log.replay import replay
from ledger.log.store import select_events
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.renewal import renew_archive_timestamps
from ledger.school.issuance.tables import issued
from ledger.school.readmodels import PROJECTIONS
from signing.pdf.timestamp import LocalTimeStamper
from signing.verify_file import verify_file
from signing.xml import archive, longterm
from signing.xml import document as hocba_xml
from tests.support import helpers
from tests.support.signers import Signers, signed_and_issued

LATER = datetime(2031, 6, 1, tzinfo=VN_TZ)  # every signer's certificate expired (2028), the TSA's not yet (2035)


def _seal(root: etree._Element) -> etree._Element:
    signature = hocba_xml.wrappers(root)[-1].find(f"{{{hocba_xml.DS}}}Signature")
    assert signature is not None
    return signature


async def test_an_issued_hoc_ba_verifies_offline_after_its_certificates_expired_dieu_15_28_3(
    signers: Signers, tmp_path: Path
) -> None:
    """With only the trusted root, no CRL and no network: every signature valid as of 2031, its
    certificate judged at its timestamp's time with the revocation values it keeps; the archive
    timestamp proves the signature timestamps existed while their authority's certificate stood."""
    demo = signers.demo
    student = demo.rosters["6A1"][0]
    done = await signed_and_issued(signers, student)
    roots = signers.pki.roots()
    root = hocba_xml.parse(done.xml)
    people = [p.certificate for p in signers.people.values()]
    assert all(c.not_valid_after_utc < LATER for c in people)
    assert len(archive.tokens(root)) == 1
    for wrapper in hocba_xml.wrappers(root):
        signature = wrapper.find(f"{{{hocba_xml.DS}}}Signature")
        kept = longterm.embedded(signature)
        assert kept.present and kept.crls and kept.certificates

    report = await verify_file(done.xml, roots, [], at=LATER)
    assert report.ok, report.to_json()
    assert {s.profile for s in report.signatures} == {"XAdES-LTA"}
    assert report.receipt is not None  # the receipt stands with the archive timestamp in the document
    assert (await verify_file(done.xml, roots, [])).ok  # and today
    path = tmp_path / "hocba.xml"
    path.write_bytes(done.xml)
    assert all(helpers.xmlsec1_verifies(path, signers.pki.root_path))  # every signature, independently

    # the recorded signature events hold the same validation data: it is ledger history
    async with demo.ledger.engine.connect() as conn:
        events = await select_events(conn, demo.school)
    elements = [
        base64.b64decode(e.payload["element"])
        for e in events
        if e.type == "signature.added" and e.payload["student"] == student and e.payload["format"] == "xml"
    ]
    assert len(elements) == len(hocba_xml.wrappers(root))
    assert all(b"RevocationValues" in element and b"CertificateValues" in element for element in elements)


async def test_without_its_revocation_values_a_signature_is_not_valid_years_later_dieu_15(signers: Signers) -> None:
    """The same học bạ with the revocation values taken out: once the certificates have expired
    nothing proves they were not revoked when they signed, and the report says so."""
    done = await signed_and_issued(signers, signers.demo.rosters["6A1"][1])
    root = hocba_xml.parse(done.xml)
    for element in list(root.iter(f"{{{hocba_xml.XADES}}}RevocationValues")):
        element.getparent().remove(element)
    report = await verify_file(hocba_xml.to_bytes(root), signers.pki.roots(), [], at=LATER)
    assert not report.ok
    seal = report.signatures[-1]
    [finding] = [f for f in seal.findings if f.code == "signature.revocation_values"]
    assert "không kèm thông tin thu hồi (CRL/OCSP)" in finding.vi
    assert "does not carry the revocation information" in finding.en
    assert seal.revoked is None and seal.profile == "XAdES-T"  # no longer long-term
    assert "archive.timestamp" in {f.code for f in report.findings}  # nor does the archive timestamp cover this


async def test_an_archive_timestamp_over_other_content_leaves_the_hoc_ba_not_valid_dieu_15(signers: Signers) -> None:
    """A genuine token of the school's authority, but over a document with one result changed, put
    in place of the archive timestamp: the signatures stand, the archive timestamp does not."""
    done = await signed_and_issued(signers, signers.demo.rosters["6A1"][2])
    root = hocba_xml.parse(done.xml)
    altered = hocba_xml.parse(done.xml)
    comment = altered.find(f".//{hocba_xml.tag('MonHoc')}/{hocba_xml.tag('NhanXet')}")
    assert comment is not None
    comment.text = (comment.text or "") + " (đã sửa)"
    stamp = stamp_with(demo_time_stamper(signers.pki, signers.demo.clock))
    forged = await stamp(archive.archive_input(altered, 0))
    [stamp_element] = root.iter(archive.ARCHIVE)
    encapsulated = stamp_element.find(f"{{{hocba_xml.XADES}}}EncapsulatedTimeStamp")
    encapsulated.text = base64.b64encode(forged).decode()
    report = await verify_file(hocba_xml.to_bytes(root), signers.pki.roots(), [], at=LATER)
    assert not report.ok
    assert [f.code for f in report.findings] == ["archive.timestamp"]
    assert "Dấu thời gian lưu trữ thứ 1 không hợp lệ" in report.findings[0].vi
    assert all(s.intact for s in report.signatures)


async def test_archive_timestamps_are_renewed_before_their_authority_expires_dieu_15_28_3(
    signers: Signers, runtime: Runtime
) -> None:
    """The demo authority's certificate expires at the end of 2039, with the demo's licensed CA. In
    March 2039 (the clock of the school, injected) the renewal adds an archive timestamp from the
    authority's new certificate (under the root, as the CA ends) over the document and the first one:
    a ledger event names the new bytes, the earlier bytes stay stored, and in 2041 the renewed học bạ
    verifies offline while the one before renewal no longer does."""
    demo = signers.demo
    done = await signed_and_issued(signers, demo.rosters["6A1"][3])
    roots = signers.pki.roots()
    [first] = archive.tokens(hocba_xml.parse(done.xml))
    expires = archive.authority_expiry(first)
    assert expires is not None and expires.year == 2039
    demo.clock.set(datetime(2039, 3, 1, 9, tzinfo=VN_TZ))
    margin = timedelta(days=365)
    # the authority still signing with that certificate: renewing would prove nothing longer
    assert await archive_renewals(Runtime(runtime.settings, runtime.url, demo.clock), [demo.school]) == []

    key, cert = signers.pki.issue_demo_time_stamper(
        valid_from=datetime(2035, 1, 1, tzinfo=VN_TZ), days=365 * 9, under_root=True
    )
    renewed_stamp = stamp_with(LocalTimeStamper(key, cert, now=demo.clock.now))
    [event] = await renew_archive_timestamps(demo.ledger, demo.school, renewed_stamp, roots, margin=margin)
    assert event.type == "hocba.xml_archive_renewed" and event.actor.user == "system"
    assert event.payload["previous_xml_sha256"] == done.row["xml_sha256"]
    assert event.payload["archive_time"].startswith("2039-03-01")
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, issued, demo.school, issuance_id=done.row["issuance_id"])
        renewed = await stored_document(conn, demo.school, row["xml_sha256"])
        before = await stored_document(conn, demo.school, done.row["xml_sha256"])  # kept
    assert row["xml_sha256"] == event.payload["xml_sha256"] and before == done.xml
    assert (await replay(demo.ledger.engine, PROJECTIONS, demo.school)).ok  # the read model follows the events
    assert archive.tokens(hocba_xml.parse(renewed))[0] == first and len(archive.tokens(hocba_xml.parse(renewed))) == 2

    in_2041 = datetime(2041, 6, 1, tzinfo=VN_TZ)
    report = await verify_file(renewed, roots, [], at=in_2041)
    assert report.ok, report.to_json()
    assert report.receipt is not None and {s.profile for s in report.signatures} == {"XAdES-LTA"}
    stale = await verify_file(done.xml, roots, [], at=in_2041)
    assert not stale.ok and stale.findings[0].code == "archive.timestamp"
    assert "chưa được gia hạn" in stale.findings[0].vi and "2041-06-01" in stale.findings[0].en
    assert not any(s.timestamp_valid for s in stale.signatures)  # their authority expired, nothing proves them

    # nothing is due any more: the new authority's certificate runs to 2044
    assert await renew_archive_timestamps(demo.ledger, demo.school, renewed_stamp, roots, margin=margin) == []


def test_the_renewal_runs_every_night(runtime: Runtime) -> None:
    from ledger.app.jobs import build_scheduler

    scheduler = build_scheduler(Runtime(replace(runtime.settings, archive_renewal_days=30), runtime.url))
    job = scheduler.get_job("archive-renewal")
    assert job is not None and "hour='3'" in str(job.trigger)


async def test_verify_file_at_a_later_time_on_the_command_line_dieu_15(
    signers: Signers, env: dict[str, str], tmp_path: Path
) -> None:
    """`hocba verify-file --at`: the issued file alone, as of 2031; a time without its offset is a
    one-line error."""
    done = await signed_and_issued(signers, signers.demo.rosters["7A1"][0])
    path = tmp_path / "hocba.xml"
    path.write_bytes(done.xml)
    trust = ("--trust", str(signers.pki.root_path))
    checked = helpers.hocba("verify-file", str(path), *trust, "--at", "2031-06-01T00:00:00+07:00", "--json", env=env)
    assert checked.returncode == 0, checked.stdout
    assert {s["profile"] for s in json.loads(checked.stdout)["signatures"]} == {"XAdES-LTA"}
    naive = helpers.hocba("verify-file", str(path), *trust, "--at", "2031-06-01", env=env)
    assert naive.returncode == 2 and "give the time with its offset" in naive.stderr
