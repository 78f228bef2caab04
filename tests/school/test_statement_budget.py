"""SQL statements per unit of work stay under a budget, so that a change that goes back to a query per
row (per student, per subject, per signature) fails here rather than on a school's year end. Not a
timing: the count of statements PostgreSQL receives, which does not depend on the machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import build_demo_school, issuing_class, sign_class
from ledger.school.assessments.commands import SheetEntry, record_sheet
from tests.support.signers import Signers, issuing, sign_all

# The budgets: the counts measured when they were set, with room for a few more (docs/BENCHMARKS.md).
SINGLE_CELL_WRITE = 16  # measured: 12
# The clerk's issuance of one học bạ. Measured: 55, then 91 once the PDF is archived for the long term
# (PAdES-B-LTA): the học bạ is read once more, before the school's lock, to archive its sealed PDF.
ISSUANCE = 100
# Every signature of one học bạ submitted and checked one by one, then its issuance. Measured: 1,025:
# each of its ~20 signatures reads the học bạ three times (prepared, checked before the school's lock,
# checked under it), one set of queries each.
SIGNED_AND_ISSUED = 1150
# The same for a class, each signer's signatures submitted in one batch and the class issued in one.
# Measured: 4 students, 1,023 (256 per học bạ); each student more, 6 (his events and read models,
# no reads of his own): 45 students, about 28 per học bạ.
CLASS_SIGNED_AND_ISSUED = 300
CLASS_PER_STUDENT = 12


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement sent by any engine of this process while the block runs."""
    sent: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", count)


async def test_a_teachers_single_cell_write_stays_within_its_statement_budget(
    app_engine: AsyncEngine, school: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=3, terms=())
    student = demo.rosters["7A1"][0]
    cell = [SheetEntry(student, "regular", "8,5", 1)]
    with statements() as sent:
        events = await record_sheet(
            demo.ledger,
            school,
            demo.teacher("TOAN"),
            year=demo.year,
            term=1,
            class_id="7A1",
            subject="TOAN",
            entries=cell,
        )
    assert len(events) == 1
    print(f"single-cell write: {len(sent)} statements")
    assert len(sent) <= SINGLE_CELL_WRITE, "\n".join(sent)


async def test_issuing_one_hoc_ba_stays_within_its_statement_budget(signers: Signers) -> None:
    student = signers.demo.rosters["9A1"][-1]
    with statements() as signing:
        await sign_all(signers, student)
    with statements() as sent:
        issued = await issuing(signers, student)()
    assert issued.type == "hocba.issued"
    print(f"signing: {len(signing)} statements; issuance: {len(sent)}")
    assert len(sent) <= ISSUANCE, f"{len(sent)} statements"
    assert len(signing) + len(sent) <= SIGNED_AND_ISSUED, f"{len(signing) + len(sent)} statements"


async def test_a_class_signed_and_issued_in_batches_reads_per_class_not_per_student(signers: Signers) -> None:
    """Every signature of a class's học bạ submitted role by role for the whole class, then the class's
    issuance: the reads are made once per batch, so the statements per học bạ stay small, and each
    student more adds only the writes of his own events."""
    few, whole = signers.demo.rosters["9A1"][:2], signers.demo.rosters["8A1"]
    counts = []
    for roster in (few, whole):
        with statements() as sent:
            await sign_class(signers, roster)
            issued = await issuing_class(signers, roster)()
        assert [e.type for e in issued] == ["hocba.issued"] * len(roster)
        counts.append(len(sent))
    per_hocba = counts[1] / len(whole)
    per_student = (counts[1] - counts[0]) / (len(whole) - len(few))
    print(f"{len(few)} students: {counts[0]} statements; {len(whole)}: {counts[1]}; each one more: {per_student:.0f}")
    assert per_hocba <= CLASS_SIGNED_AND_ISSUED, f"{per_hocba:.0f} statements per học bạ"
    assert per_student <= CLASS_PER_STUDENT, f"{per_student:.0f} statements per student more"
