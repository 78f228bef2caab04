"""Pages for people, in Vietnamese with an English toggle (`?lang=en`, remembered in a cookie), served
by the same application: the same guard, and one access-trail entry for every page view. Assets are
served from this package; nothing comes from a CDN.

The public verification portal (the regulation's Điều 2.14, 31): upload an XML or PDF học bạ and read
the report in plain words, each check marked; or look a record up with the five details. Both share
the API's per-address limit and its code (api/portal.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from litestar.static_files import create_static_files_router

from api.portal import MAX_UPLOAD, LookupIn, _throttled, lookup, verification
from api.web import PUBLIC, entry_of

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
LANG_COOKIE = "hocba_lang"
CHECKS = ("intact", "chain_trusted", "valid_at_signing", "revoked", "timestamp_valid")

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "product": "Học bạ số — Trường THCS", "switch": "English", "portal": "Cổng xác minh học bạ số",
        "verify_heading": "Kiểm tra một tệp học bạ",
        "verify_help": "Tải lên tệp học bạ XML hoặc PDF (tối đa 10 MB) để kiểm tra chữ ký số, biên nhận sổ cái "
                       "và việc nhà trường đã ban hành đúng tệp này.",
        "file_label": "Tệp học bạ (XML hoặc PDF)", "verify_button": "Kiểm tra",
        "lookup_heading": "Tra cứu học bạ đã ban hành",
        "lookup_help": "Nhập đủ năm thông tin được cấp cùng học bạ (Điều 2.14).",
        "school": "Mã trường", "hocba_id": "Mã học bạ", "full_name": "Họ và tên học sinh",
        "birth_date": "Ngày sinh", "student_id": "Số định danh cá nhân (12 chữ số)", "code": "Mã xác minh",
        "lookup_button": "Tra cứu", "report": "Kết quả kiểm tra", "lookup_result": "Kết quả tra cứu",
        "valid": "Hợp lệ: các chữ ký số đều đúng và còn hiệu lực khi ký.",
        "not_valid": "Không hợp lệ: văn bản không có giá trị pháp lý (Điều 15).",
        "issued_by_school": "Trường %s đã ban hành đúng tệp này ngày %s (mã ban hành %s).",
        "revoked": "Học bạ này đã bị thu hồi.",
        "not_issued_here": "Không tìm thấy tệp này trong các học bạ đã ban hành.",
        "receipt_ok": "Biên nhận sổ cái khớp: sự kiện số %s trong sổ cái của trường %s, điểm kiểm tra %s sự kiện.",
        "signatures": "Các chữ ký số", "signer": "Người ký",
        "intact": "Nội dung nguyên vẹn", "chain_trusted": "Chứng thư tin cậy",
        "valid_at_signing": "Còn hiệu lực khi ký",
        "revoked_check": "Chưa bị thu hồi", "timestamp_valid": "Dấu thời gian",
        "yes": "đạt", "no": "không đạt", "found": "Tìm thấy học bạ đã ban hành.",
        "no_match": "Không có học bạ nào khớp cả năm thông tin.",
        "bad_lookup": "Thông tin tra cứu chưa đúng định dạng.",
        "bad_file": "Hãy chọn một tệp XML hoặc PDF, tối đa 10 MB.", "back": "← Kiểm tra hoặc tra cứu khác",
        "too_many": "Quá nhiều yêu cầu từ địa chỉ này; vui lòng thử lại sau ít phút.",
    },
    "en": {
        "product": "Digital học bạ — lower-secondary school", "switch": "Tiếng Việt",
        "portal": "Học bạ verification portal",
        "verify_heading": "Check a học bạ file",
        "verify_help": "Upload an XML or PDF học bạ (at most 10 MB) to check its digital signatures, its ledger "
                       "receipt, and that the school issued this very file.",
        "file_label": "Học bạ file (XML or PDF)", "verify_button": "Check",
        "lookup_heading": "Look up an issued học bạ",
        "lookup_help": "Enter all five details given with the học bạ (Điều 2.14).",
        "school": "School id", "hocba_id": "Học bạ id", "full_name": "Student's full name",
        "birth_date": "Date of birth", "student_id": "Personal identifier (12 digits)", "code": "Verification code",
        "lookup_button": "Look up", "report": "Verification report", "lookup_result": "Lookup result",
        "valid": "Valid: every digital signature is correct and was valid when made.",
        "not_valid": "Not valid: the document has no legal value (Điều 15).",
        "issued_by_school": "School %s issued this very file on %s (issuance %s).",
        "revoked": "This học bạ was revoked.", "not_issued_here": "This file is not among the issued học bạ.",
        "receipt_ok": "Ledger receipt matches: event %s in school %s's ledger, checkpoint of %s events.",
        "signatures": "Digital signatures", "signer": "Signer",
        "intact": "Content intact", "chain_trusted": "Trusted certificate", "valid_at_signing": "Valid when signed",
        "revoked_check": "Not revoked", "timestamp_valid": "Timestamp",
        "yes": "pass", "no": "fail", "found": "An issued học bạ was found.",
        "no_match": "No issued học bạ matches all five details.",
        "bad_lookup": "The lookup details are not well formed.",
        "bad_file": "Choose an XML or PDF file of at most 10 MB.", "back": "← Check or look up another",
        "too_many": "Too many requests from this address; please try again in a few minutes.",
    },
}  # fmt: skip
ROLES = {
    "vi": {"SUBJECT_TEACHER": "Giáo viên bộ môn", "HOMEROOM_TEACHER": "Giáo viên chủ nhiệm",
           "PRINCIPAL": "Hiệu trưởng", "ORGANISATION": "Dấu của nhà trường"},
    "en": {"SUBJECT_TEACHER": "Subject teacher", "HOMEROOM_TEACHER": "Homeroom teacher",
           "PRINCIPAL": "Principal", "ORGANISATION": "School seal"},
}  # fmt: skip


def _lang(request: Request[Any, Any, Any]) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in TEXT else "vi"


def _page(request: Request[Any, Any, Any], template: str, title: str, status: int = 200, **context: Any) -> Template:
    lang = _lang(request)
    text = TEXT[lang]
    labels = {**text, "revoked": text["revoked_check"]}  # column headers: the revocation check
    page = Template(
        template_name=template,
        context={"t": text, "labels": labels, "lang": lang, "other": "en" if lang == "vi" else "vi",
                 "path": request.url.path, "title": text[title], "roles": ROLES[lang], **context},
        status_code=status,
    )  # fmt: skip
    if "lang" in request.query_params and lang == request.query_params.get("lang"):
        page.cookies.append(Cookie(key=LANG_COOKIE, value=lang, httponly=True, samesite="lax", max_age=365 * 86400))
    return page


@get("/cong-xac-minh", operation_id="page_portal", opt={"action": PUBLIC}, include_in_schema=False)
async def portal_page(request: Request[Any, Any, Any]) -> Template:
    return _page(request, "portal.html", "portal")


@post(
    "/cong-xac-minh", operation_id="page_portal_verify", opt={"action": PUBLIC}, status_code=200,
    include_in_schema=False, request_max_body_size=MAX_UPLOAD + 64 * 1024,
)  # fmt: skip
async def portal_verify_page(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template | Response[Any]:
    blocked = await _throttled(request, state)
    if blocked is not None:
        return _page(request, "portal_result.html", "report", 429, error=TEXT[_lang(request)]["too_many"])
    upload = data.get("file")
    body = await upload.read() if isinstance(upload, UploadFile) else b""
    if not body or len(body) > MAX_UPLOAD:
        entry_of(request).reason = "portal.no_file"
        return _page(request, "portal_result.html", "report", 422, error=TEXT[_lang(request)]["bad_file"])
    outcome = await verification(state.runtime, body)
    if outcome["student"] is not None:
        entry_of(request).touch([outcome["student"]])
    return _page(request, "portal_result.html", "report", checks=CHECKS, report=outcome["report"],
                 issued=outcome["issued"], revoked=outcome["revoked"])  # fmt: skip


@post("/cong-xac-minh/tra-cuu", operation_id="page_portal_lookup", opt={"action": PUBLIC}, status_code=200,
      include_in_schema=False)  # fmt: skip
async def portal_lookup_page(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    blocked = await _throttled(request, state)
    if blocked is not None:
        return _page(request, "portal_result.html", "lookup_result", 429, error=TEXT[_lang(request)]["too_many"])
    try:
        details = msgspec.convert({k: (v or "").strip() for k, v in data.items()}, LookupIn)
    except msgspec.ValidationError:
        entry_of(request).reason = "portal.bad_lookup"
        return _page(request, "portal_result.html", "lookup_result", 422, error=TEXT[_lang(request)]["bad_lookup"])
    found = await lookup(state.runtime, details)
    if found is None:
        entry_of(request).reason = "portal.no_match"
        return _page(request, "portal_result.html", "lookup_result", 404, error=TEXT[_lang(request)]["no_match"])
    entry_of(request).touch([details.student_id])
    return _page(request, "portal_result.html", "lookup_result", found=found)


STATIC = create_static_files_router(
    path="/static", directories=[PACKAGE / "static"], opt={"action": PUBLIC}, include_in_schema=False
)
PAGE_ROUTES: list[Any] = [portal_page, portal_verify_page, portal_lookup_page, STATIC]
