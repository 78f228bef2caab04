"""The file says what it is: the subject, class, term and year a gradebook's title block or sheet name
states, against the command's own. A disagreement is refused before anything else, naming both; what
the file does not state is listed, for the dry run to say."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.log.projection import read
from ledger.school.imports.sheets import Gradebook, Stated, sheet_error
from ledger.school.rules.names import name_key
from ledger.school.years.tables import subjects

FIELDS = ("subject", "class", "term", "year")
_WORDS = {
    "subject": ("môn", "subject"),
    "class": ("lớp", "class"),
    "term": ("học kì", "term"),
    "year": ("năm học", "year"),
}


def stated_subject(stated: Stated, catalogue: dict[str, str]) -> str | None:
    """The catalogue code a title names ("toan" from "MÔN TOÁN"; "toan_6" from "Môn: Toán 6"), the
    longest name or code its words begin with; None when it names none of the catalogue."""
    best: tuple[int, str] | None = None
    for code, name in catalogue.items():
        for key in (name_key(name), name_key(code)):
            fits = stated.value == key or stated.value.startswith(key + "_")
            if fits and (best is None or len(key) > best[0]):
                best = (len(key), code)
    return best[1] if best else None


async def check_stated(
    conn: AsyncConnection, school: str, book: Gradebook, year: str, class_id: str, code: str, term: int
) -> list[str]:
    """Refuse a file whose title or sheet name states another subject, class, term or year than the
    command; return the ones it does not state."""
    catalogue = {row["code"]: row["name"] for row in await read(conn, subjects, school, year=year)}
    wanted = {"subject": code, "class": class_id, "term": str(term), "year": year}
    shown = {"subject": f"{catalogue.get(code, code)} ({code})", "class": class_id, "term": str(term), "year": year}
    differ_vi, differ_en, unstated = [], [], [name for name in FIELDS if name not in book.stated]
    for name, stated in book.stated.items():
        value: str | None = stated.value
        if name == "subject":
            value = stated_subject(stated, catalogue)
            if stated.where == "tên trang" and value is None:
                unstated.insert(0, name)  # a sheet name that names no subject of the catalogue states none
                continue
        if value == wanted[name]:
            continue
        said = f"{catalogue[value]} ({value})" if name == "subject" and value else stated.value
        vi, en = _WORDS[name]
        differ_vi.append(f"tệp ghi {vi} {said} ({stated.where}: «{stated.text}»), lệnh ghi {vi} {shown[name]}")
        differ_en.append(f"the file states {en} {said} ({stated.where}: «{stated.text}»), the command {shown[name]}")
    if differ_vi:
        raise sheet_error(
            "gradebook.not_this_sheet",
            "tệp không phải bảng điểm lệnh yêu cầu: " + "; ".join(differ_vi),
            "the file is not the sheet the command names: " + "; ".join(differ_en),
            book.file,
            book.sheet,
        )
    return unstated
