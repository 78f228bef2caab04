"""Issuing the học bạ, and revoking or replacing an issued one (the regulation's Điều 21–25; DOMAIN §8).

- The clerk issues one student's year once every required signature is present and valid: every
  subject teacher, the homeroom teacher, the principal and the organisation seal on the XML, the
  principal and the seal on the PDF. `hocba.issued` names the digest of the signed XML and the PDF's
  hash; the stored XML carries the ledger's receipt for that event (signing/xml/receipt.py) and
  `hocba.receipt` names its hash. Both files are stored byte for byte, addressed by SHA-256, in an
  append-only table: nothing afterwards can change them. The PDF issued is the sealed one archived
  for the long term (PAdES-B-LTA: validation material and a document timestamp, one more revision;
  signing/pdf/archive.py), and its document timestamp is renewed before the authority's certificate
  expires (`hocba.pdf_archive_renewed`, archives.py): each renewal adds a revision, and the PDF kept and
  handed out is the latest; the signed revisions never change.
- Before the close (31 May, or the final date of 30 August for a student with summer work), the
  principal may revoke an issued học bạ with a reason, and the school issues its replacement, which
  names the one it replaces (Điều 25.3). After the close an issued học bạ stands.
- A học bạ issued by another school and received with a transfer (ledger/school/transfers/) is kept as
  that school signed it (`hocba.inherited`, status `inherited`): listed and exported like the
  school's own, never revoked or replaced here.
"""
