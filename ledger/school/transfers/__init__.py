"""Transfers between schools, keyed by the personal identifier (the regulation's Điều 26; DOMAIN §9).

The sending school
- `open_transfer`: the clerk or the principal opens the transfer record (signing/transfer.py): every
  học bạ issued to the student, and every one the school inherited, byte for byte; mid-year, the
  current year's results up to the departure date, and the student leaves the class on that date
  (`student.withdrawn`), so nothing more is entered there;
- `prepare` / `submit`: the principal signs, then the clerk seals with the organisation certificate,
  on their own side, exactly as for the học bạ (Điều 26.2c);
- `sealed_record`: the sealed record, byte for byte, for the receiving school.

The receiving school
- `receive`: verifies the record offline (every signature, every issued học bạ with its ledger
  receipt), then inherits rather than re-creates (Điều 26.1c): registers the student from the record
  if the school does not know them, enrols them, keeps each issued học bạ as its school signed it
  (`hocba.inherited`) and, mid-year, appends the results so far as assessment events whose source
  names the record. Receiving the same record again appends nothing.
- A student from a paper-based school (Điều 26.3a): `open_paper` opens a record of the receiving
  school itself with the scanned pages; its principal signs, its clerk seals, and it is received like
  any other.
"""
