"""Certificates, documents and signatures, with no database and no web:

    signing.report       the shape of a verification report
    signing.x509         certificates, revocation, checkpoint trust, the development PKI
    signing.xml          the học bạ XML, XAdES signatures, the ledger receipt
    signing.pdf          the học bạ PDF, PAdES signatures and timestamps
    signing.transfer     the transfer record between schools
    signing.verify_file  the one file verifier

Imports ledger.base and ledger.format only."""
