"""The issuance events and the read model of issued học bạ."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, Table, Text

from ledger.log.schema import LEDGER_SCHEMA, metadata, projection_table

HOCBA_ISSUED = "hocba.issued"
HOCBA_RECEIPT = "hocba.receipt"
HOCBA_REVOKED = "hocba.revoked"
HOCBA_INHERITED = "hocba.inherited"
HOCBA_XML_ARCHIVED = "hocba.xml_archive_renewed"  # a new archive timestamp in the issued XML (XAdES-LTA)
HOCBA_PDF_ARCHIVED = "hocba.pdf_archive_renewed"  # the issued PDF's document timestamp, renewed (PAdES-B-LTA)

issued = projection_table(
    "issued",
    keys=[Column("issuance_id", Text)],
    values=[
        Column("hocba_id", Text),
        Column("year", Text),
        Column("student_id", Text),
        Column("class_id", Text),
        Column("status", Text),  # issued, revoked
        Column("xml_sha256", Text),  # the issued XML with its ledger receipt (and its latest archive timestamp)
        Column("xml_c14n_sha256", Text),  # the signed document, without the receipt
        Column("pdf_sha256", Text),
        Column("event_id", Text),
        Column("issued_on", Text),
        Column("issued_by", Text),
        Column("replaces", Text),
        Column("replaced_by", Text),
        Column("revoked_by", Text),
        Column("revocation_reason", Text),
        Column("origin_school", Text),  # for an inherited học bạ: the school that issued it
    ],
)

# The exact bytes of issued documents, addressed by their SHA-256; append-only.
documents = Table(
    "documents",
    metadata,
    Column("school_id", Text, primary_key=True),
    Column("sha256", Text, primary_key=True),
    Column("media_type", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
    schema=LEDGER_SCHEMA,
)
