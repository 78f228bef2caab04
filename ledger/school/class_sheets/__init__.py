"""The class sheet and its signature (the regulation's Điều 18.3): the subject teacher reviews and
signs their subject's results for the class they are assigned, term by term, after typing them or
importing them from the school-management software.

The sheet is an XML document of the học bạ schema (root `BangDiemLop`): the part `sheet` holds every
enrolled student's assessments and comment for the class, subject and term, built from the ledger.
Signing works as for the học bạ: `prepare` on the service, the teacher signs on their side, `submit`
checks the signature in a document the service rebuilds, that the certificate is registered and
theirs, and that they held the assignment when they signed, then appends `sheet.signed` with the
digest of the part. When a value changes afterwards (a correction), the digest no longer matches: the
signature is stale, leaves the document, and the teacher signs again.
"""
