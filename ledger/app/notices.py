"""Notices to families when a học bạ is issued or revoked (Điều 31: families keep and check their
child's học bạ). What is owed comes from the ledger (`hocba_read.family_notices`); each notice sent,
or found to have no one to go to, is recorded as a family.notified event, so a notice is sent once
and a crash loses none (at worst, one is sent twice). A notice that cannot be handed to the mail
server stays owed and is tried again at the next run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.app.notify import Notifier
from ledger.app.runtime import Runtime
from ledger.base.logs import get_logger
from ledger.format.envelope import SYSTEM
from ledger.log import store
from ledger.log.projection import read
from ledger.school.notices.commands import record_notified
from ledger.school.notices.tables import family_notices
from ledger.school.readmodels import school_ledger
from ledger.school.schools.tables import schools
from ledger.school.years.tables import students

log = get_logger(__name__)


def compose(
    kind: str, notice: dict[str, Any], student: dict[str, Any], school_name: str, url: str | None
) -> tuple[str, str]:
    """The subject and text of a notice, in Vietnamese, naming the student, the class, the year and
    the school (never their codes, nor the student's personal identifier: e-mail is read by more than
    the family), and where to read and check the học bạ."""
    name, year, class_id = student["full_name"], notice["year"], notice["class_id"]
    if kind == "issued":
        subject = f"Học bạ năm học {year} của em {name} đã được ban hành"
        what = f"{school_name} đã ban hành học bạ số năm học {year} của em {name}, lớp {class_id}."
    else:
        subject = f"Học bạ năm học {year} của em {name} đã bị thu hồi"
        what = (
            f"{school_name} đã thu hồi học bạ số năm học {year} của em {name}, lớp {class_id}. Bản đã tải "
            "trước đây không còn giá trị; nhà trường sẽ ban hành bản thay thế nếu cần."
        )
    where = (
        f"Quý phụ huynh đăng nhập tại {url}/truong/{notice['school_id']} để xem và tải học bạ, và có thể "
        f"kiểm tra một tệp học bạ tại cổng xác minh {url}/cong-xac-minh."
        if url
        else "Quý phụ huynh đăng nhập trang Học bạ số của nhà trường để xem và tải học bạ."
    )
    body = (
        f"Kính gửi quý phụ huynh em {name},\n\n{what}\n\n{where}\n\n"
        "Thư này do hệ thống Học bạ số gửi tự động; xin đừng trả lời thư này.\n"
    )
    return subject, body


async def send_family_notices(runtime: Runtime, notifier: Notifier, schools_named: Sequence[str] | None = None) -> int:
    """Send every notice owed (in every school, or the ones named); the number sent or settled."""
    engine = runtime.engine()
    ledger = school_ledger(engine, clock=runtime.clock)
    settled = 0
    async with engine.connect() as conn:
        names = list(schools_named) if schools_named is not None else await store.school_ids(conn)
    for school in names:
        async with engine.connect() as conn:
            owed = await read(conn, family_notices, school, status="pending")
            if not owed:
                continue
            found = await read(conn, schools, school)
            school_name = found[0]["name"] if found and found[0]["name"] else school
        for notice in owed:
            async with engine.connect() as conn:
                rows = await read(conn, students, school, student_id=notice["student_id"])
            if not rows:
                continue
            addresses = sorted({g["email"] for g in rows[0]["guardians"] or [] if g.get("email")})
            if addresses:
                subject, body = compose(
                    notice["kind"], {**notice, "school_id": school}, rows[0], school_name, runtime.settings.public_url
                )
                try:
                    await notifier.notice(school, notice["student_id"], addresses, subject, body)
                except Exception:
                    log.exception("a family's notice could not be sent; it stays owed", school=school)
                    continue
            await record_notified(ledger, school, notice["issuance_id"], notice["kind"], len(addresses), SYSTEM)
            settled += 1
    return settled
