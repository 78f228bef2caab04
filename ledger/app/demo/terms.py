"""The demo's class sheets and term records, signed once each term's entry is over (Điều 18.3, 18.4):
every subject teacher signs their sheet of the class for the term, then the homeroom teacher the
class's term record, each with their demo key, through the same prepare → sign → submit as any
signer's own software."""

from __future__ import annotations

from typing import Any

from ledger.log.projection import read
from ledger.school.class_sheets.commands import prepare_sheet, prepare_term, submit_sheet, submit_term
from ledger.school.years.model import hocba_order
from ledger.school.years.tables import subjects
from signing.xml import xades


async def sign_class_terms(signers: Any, class_id: str) -> int:
    """Sign, for terms I and II, every subject's sheet of `class_id` and then its term record, as
    `signers` (ledger.app.demo.Signers) hold the keys; the number of signatures recorded."""
    demo = signers.demo
    roots, crls = signers.pki.roots(), signers.pki.crls()
    async with demo.ledger.engine.connect() as conn:
        listed = await read(conn, subjects, demo.school, year=demo.year, grade=demo.classes[class_id])
    codes = [row["code"] for row in sorted(listed, key=lambda row: hocba_order(row["code"], row["name"]))]

    def signed(staff: str, prepared: bytes) -> bytes:
        keys = signers.people[staff]
        return xades.sign_prepared(prepared, keys.key, keys.certificate, signing_time=demo.clock.now())

    count = 0
    for term in (1, 2):
        for code in codes:
            teacher = demo.teacher(code)
            async with demo.ledger.engine.connect() as conn:
                prepared = await prepare_sheet(conn, demo.school, demo.year, class_id, code, term, demo.clock.now())
            document = signed(str(teacher.user), prepared)
            ledger, school = demo.ledger, demo.school
            await submit_sheet(ledger, school, teacher, demo.year, class_id, code, term, document, roots, crls)
            count += 1
        homeroom = demo.homeroom_teacher(class_id)
        async with demo.ledger.engine.connect() as conn:
            prepared = await prepare_term(conn, demo.school, demo.year, class_id, term, demo.clock.now())
        document = signed(str(homeroom.user), prepared)
        await submit_term(demo.ledger, demo.school, homeroom, demo.year, class_id, term, document, roots, crls)
        count += 1
    return count
