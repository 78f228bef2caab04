"""A class's documents and their signatures: the class sheet, which the subject teacher reviews and
signs for their subject, class and term after typing or importing it (the regulation's Điều 18.3);
and the class's term record, which the homeroom teacher reviews and signs once every subject's sheet
is signed and every pupil has the term's conduct (Điều 18.4; `terms`).

Each is an XML document of the học bạ schema: the sheet (root `BangDiemLop`, part `sheet`) holds every
enrolled student's assessments and comment for the class, subject and term; the term record (root
`KetQuaHocKy`, part `term`) holds every pupil's results in every subject, conduct, absences and the
homeroom comments. Signing works as for the học bạ: `prepare` on the service, the teacher signs on
their side, `submit` checks the signature in a document the service rebuilds, that the certificate is
registered and theirs, and that they held the assignment when they signed, then appends
`sheet.signed` or `class_term.signed` with the digest of the part. When anything in the part changes
afterwards, the digest no longer matches: the signature is stale, leaves the document, and the
teacher signs again.
"""
