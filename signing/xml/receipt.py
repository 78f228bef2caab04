"""The ledger receipt inside an issued XML học bạ: proof, checkable offline with only the trusted
root certificate, that this document is the one the school's ledger recorded as issued.

The receipt is a `BienNhan` element (namespace urn:hocba:receipt:1), the last child of `HocBa`,
outside every signed part. It carries the issuance event (its seq, the previous event's hash and its
canonical body), the school's signed checkpoint over a tree that includes that event, and the
event's inclusion proof in that tree (RFC 9162). A verifier checks that:

1. the checkpoint is signed by the school's ledger-service certificate, which chains to the root;
2. the event's leaf, SHA-256(0x00 ‖ previous hash ‖ body), is in the checkpoint's tree;
3. the event is `hocba.issued` for this học bạ, and names the SHA-256 of the document's canonical
   form (C14N 1.0) without the receipt and without its archive timestamps (added at issuance and
   renewed after it: signing.xml.archive).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from lxml import etree

from ledger.format import merkle
from ledger.format.checkpoint import Checkpoint
from signing.report import Finding
from signing.x509.checkpoints import checkpoint_problems
from signing.xml import archive
from signing.xml.document import parse

NS = "urn:hocba:receipt:1"


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def document_digest(root: etree._Element) -> str:
    """SHA-256 of the document's canonical form without its receipt and without the archive
    timestamps added at and after issuance (signing.xml.archive): the signed document."""
    return hashlib.sha256(archive.archive_input(root, 0)).hexdigest()


def attach(
    root: etree._Element, *, seq: int, prev_hash: bytes, body: bytes, checkpoint: Checkpoint, proof: Sequence[bytes]
) -> None:
    receipt = etree.SubElement(root, _q("BienNhan"), nsmap={"bn": NS})
    receipt.set("PhienBan", "1")
    event = etree.SubElement(receipt, _q("SuKien"), Seq=str(seq), PrevHash=prev_hash.hex())
    event.text = base64.b64encode(body).decode()
    signed = etree.SubElement(receipt, _q("Checkpoint"))
    signed.text = json.dumps(checkpoint.to_json(), sort_keys=True)
    path = etree.SubElement(receipt, _q("BangChung"))
    path.text = " ".join(node.hex() for node in proof)


def carried_checkpoint(data: bytes) -> Checkpoint | None:
    """The checkpoint an XML document's receipt carries, unverified (None when there is no receipt).
    Raises ValueError when the file is not XML or the receipt's checkpoint is unreadable."""
    try:
        root = parse(data)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not an XML document: {exc}") from None
    found = root.findall(_q("BienNhan"))
    if not found:
        return None
    return Checkpoint.from_json(json.loads(found[-1].findtext(_q("Checkpoint")) or ""))


def verify(root: etree._Element, roots: Sequence[x509.Certificate]) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Check the receipt of a document: (what it says, findings); (None, []) when there is none."""
    found = root.findall(_q("BienNhan"))
    if not found:
        return None, []
    findings: list[Finding] = []

    def bad(code: str, vi: str, en: str) -> tuple[dict[str, Any] | None, list[Finding]]:
        findings.append(Finding(code, vi, en))
        return None, findings

    try:
        receipt = found[-1]
        event = receipt.find(_q("SuKien"))
        seq, prev = int(event.get("Seq", "")), bytes.fromhex(event.get("PrevHash", ""))
        body = base64.b64decode(event.text or "", validate=True)
        checkpoint = Checkpoint.from_json(json.loads(receipt.findtext(_q("Checkpoint")) or ""))
        proof = [bytes.fromhex(node) for node in (receipt.findtext(_q("BangChung")) or "").split()]
        payload = json.loads(body)
    except (AttributeError, ValueError, KeyError, TypeError):
        return bad("receipt.malformed", "Biên nhận sổ cái không đọc được.", "The ledger receipt is unreadable.")
    school = root.find("{urn:hocba:hoc-ba:1}HoSo/{urn:hocba:hoc-ba:1}Truong")
    if checkpoint.log != "events" or school is None or checkpoint.school != school.get("Ma"):
        return bad(
            "receipt.school",
            "Biên nhận không phải của sổ cái trường này.",
            "The receipt is not from this school's ledger.",
        )
    problems = checkpoint_problems(checkpoint, roots)
    if problems:
        return bad(
            "receipt.checkpoint",
            f"Điểm kiểm tra của sổ cái không tin cậy được: {problems[0]}",
            f"The ledger checkpoint cannot be trusted: {problems[0]}",
        )
    leaf = merkle.leaf_hash(prev + body)
    if not merkle.verify_inclusion(leaf, seq - 1, checkpoint.tree_size, proof, checkpoint.root):
        return bad(
            "receipt.inclusion",
            "Sự kiện ban hành không nằm trong sổ cái đã ký.",
            "The issuance event is not in the signed ledger.",
        )
    issued = payload.get("payload", {})
    named = (payload.get("type"), payload.get("school"), payload.get("seq"), issued.get("hocba_id"))
    if named != ("hocba.issued", checkpoint.school, seq, root.get("MaHocBa")):
        return bad(
            "receipt.event",
            "Biên nhận không phải của việc ban hành học bạ này.",
            "The receipt is not for the issuance of this học bạ.",
        )
    if issued.get("xml_c14n_sha256") != document_digest(root):
        return bad(
            "receipt.document",
            "Văn bản khác với văn bản sổ cái ghi nhận đã ban hành.",
            "The document differs from the one the ledger recorded as issued.",
        )
    return {
        "ok": True,
        "school": checkpoint.school,
        "seq": seq,
        "issuance": issued.get("issuance"),
        "issued_on": issued.get("issued_on"),
        "checkpoint_tree_size": checkpoint.tree_size,
        "checkpoint_root": checkpoint.root.hex(),
        "checkpoint_time": checkpoint.signed_at,
    }, findings
