"""The words of the pages, in Vietnamese (the default) and English. One table per language, the same
keys in both (tests/pages/test_pages.py checks it); templates read them as `t.key`."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "people": "Nhân sự và tài khoản", "people_help": "Phân công vai trò và tài khoản đăng nhập. Phân công Phó "
        "hiệu trưởng, quản trị viên, văn thư, giáo viên tin học do quản trị viên ghi chỉ có hiệu lực khi Hiệu trưởng "
        "duyệt (Điều 5.3c).", "pending_grants": "Phân công chờ Hiệu trưởng duyệt", "assignments": "Phân công",
        "accounts": "Tài khoản", "person_name": "Họ và tên", "role": "Vai trò", "kind": "Loại",
        "grant_approve": "Duyệt", "refuse": "Từ chối", "note": "Ghi chú (số quyết định hoặc lý do)",
        "end_assignment": "Kết thúc", "last_day": "Ngày cuối", "disable": "Khóa tài khoản", "active": "Đang hoạt động",
        "disabled": "Đã khóa", "people_done": "Đã ghi vào sổ cái.", "account_of": "Người",
        "appointed_by": "Quyết định bổ nhiệm",
        "student_page": "Học sinh", "my_child": "Kết quả học tập và học bạ của con",
        "my_record": "Kết quả học tập và học bạ của em", "guardian_of": "cha mẹ học sinh %s",
        "results_year": "Kết quả năm học %s, lớp %s", "not_enrolled_year": "Học sinh không học ở trường trong năm "
        "học này.", "term1": "Học kì I", "term2": "Học kì II", "whole_year": "Cả năm", "reassessed": "Kiểm tra lại",
        "learning_result": "Kết quả học tập", "conduct_result": "Kết quả rèn luyện",
        "absent": "Số buổi nghỉ", "issued_hocba": "Học bạ đã ban hành", "no_issued": "Chưa có học bạ nào được ban "
        "hành.", "download_pdf": "Tải bản PDF", "download_xml": "Tải bản XML có chữ ký số",
        "state_issued": "Có hiệu lực", "state_revoked": "Đã thu hồi",
        "state_inherited": "Nhận từ trường cũ khi chuyển trường",
        "viewers": "Ai đã xem hồ sơ của con", "viewers_help": "Mỗi lần xem đều được ghi vào nhật ký truy cập "
        "(Điều 20.3); danh sách này là %s lần xem gần nhất.", "viewed": "Nội dung đã xem",
        # every page
        "product": "Học bạ số — Trường THCS", "switch": "English", "skip": "Bỏ qua, đến nội dung chính",
        "signed_in_as": "Đang đăng nhập: %s", "sign_out": "Đăng xuất", "home": "Trang chính",
        "year": "Năm học", "class": "Lớp", "subject": "Môn học", "term": "Học kì", "student": "Học sinh",
        "policy_refused": "Không có quyền",
        "status": "Trạng thái", "when": "Thời điểm", "who": "Người thực hiện", "reason": "Lý do", "none": "Không có.",
        "show": "Xem", "back_home": "← Về trang chính", "rule": "Căn cứ",
        # sign-in
        "login": "Đăng nhập",
        "login_help": "Cán bộ, giáo viên, thanh tra, cha mẹ học sinh và học sinh đăng nhập bằng tài khoản "
        "nhà trường cấp.",
        "school": "Mã trường", "username": "Tên đăng nhập", "password": "Mật khẩu", "login_button": "Đăng nhập",
        "login_failed": "Tên đăng nhập hoặc mật khẩu không đúng.",
        "login_blocked": "Đăng nhập sai quá nhiều lần; vui lòng thử lại sau %s phút.",
        "session_over": "Phiên làm việc đã hết hạn hoặc chưa đăng nhập; vui lòng đăng nhập.",
        # errors
        "error": "Không thực hiện được", "forbidden": "Vai trò, phân công hoặc thời điểm hiện tại không cho phép "
        "thao tác này.", "bad_request": "Yêu cầu không hợp lệ.", "not_found": "Không tìm thấy.",
        "unavailable": "Dịch vụ tạm thời không sẵn sàng; vui lòng thử lại.", "internal": "Lỗi hệ thống; chưa có "
        "gì được thực hiện.", "stale_form": "Biểu mẫu đã cũ hoặc không phải do trang này gửi; hãy tải lại trang.",
        # home
        "welcome": "Xin chào, %s", "roles_now": "Vai trò hiện giữ", "no_roles": "Tài khoản chưa được phân công "
        "vai trò nào trong năm học này.", "leadership": "Quản lý năm học", "teaching": "Giảng dạy",
        "oversight": "Kiểm tra, thanh tra", "classes": "Các lớp", "no_year": "Trường chưa mở năm học nào.",
        # corrections
        "inbox": "Đề nghị điều chỉnh", "inbox_help": "Mỗi đề nghị nêu giá trị cũ, giá trị mới, lịch sử của điểm "
        "đó, người đề nghị và lý do. Người đề nghị không tự phê duyệt được (Điều 4.4, 17.3).",
        "pending": "Đang chờ", "approved": "Đã phê duyệt", "rejected": "Đã từ chối", "expired": "Hết hạn",
        "all": "Tất cả", "filter": "Lọc", "old_value": "Giá trị cũ", "new_value": "Giá trị mới",
        "requested_by": "Người đề nghị", "requested_at": "Ngày đề nghị", "history": "Lịch sử giá trị",
        "value": "Giá trị", "recorded_by": "Người ghi", "seqs": "Sự kiện (từ – đến)",
        "decision_reason": "Lý do quyết định",
        "approve": "Phê duyệt", "reject": "Từ chối", "decided_by": "Người quyết định",
        "done_approved": "Đã phê duyệt đề nghị; giá trị mới đã được ghi vào sổ cái.",
        "done_rejected": "Đã từ chối đề nghị.", "no_requests": "Không có đề nghị nào.",
        "what_conduct": "Hạnh kiểm (kết quả rèn luyện)", "regular": "ĐĐGtx", "midterm": "ĐĐGgk", "final": "ĐĐGck",
        "comment": "Nhận xét", "attachment": "Tệp đính kèm (SHA-256)",
        # calendar and locks
        "calendar": "Lịch năm học và khóa nhập liệu", "no_calendar": "Hiệu trưởng chưa ban hành lịch năm học này.",
        "decision": "Quyết định", "term_dates": "Thời gian học kì", "entry_window": "Thời hạn nhập điểm",
        "from": "Từ", "to": "Đến", "close": "Khóa sổ cuối năm (Điều 25.1)",
        "final_date": "Hạn cuối điều chỉnh (Điều 25.3)", "open_now": "đang mở", "closed_now": "đã đóng",
        "not_yet": "chưa mở", "locks": "Khóa nhập liệu (Điều 36.2)", "scope": "Phạm vi", "order": "Theo lệnh",
        "changed_by": "Người thực hiện", "state_closed": "Đang khóa", "state_open": "Đã mở lại",
        "reopenings": "Mở lại sau hạn theo quyết định của Sở (Điều 25.4)", "issued_by": "Cơ quan ban hành",
        "issued_on": "Ngày ban hành", "document_hash": "SHA-256 của văn bản",
        "reopen_help": "Chỉ đề nghị điều chỉnh đã được duyệt mới được ghi trong thời gian mở lại; ngày chốt và "
        "ngày cuối cùng của lịch năm học không thay đổi.",
        "set_lock": "Khóa hoặc mở nhập liệu", "lock_help": "Quản trị viên thực hiện theo lệnh của Hiệu trưởng. "
        "Để trống lớp, môn hoặc học kì nghĩa là tất cả.", "ordered_by": "Người ra lệnh (tên đăng nhập)",
        "order_text": "Số, ngày của lệnh", "lock_action": "Thao tác", "do_close": "Khóa", "do_open": "Mở lại",
        "lock_button": "Ghi nhận", "lock_done": "Đã ghi nhận việc khóa hoặc mở nhập liệu.", "any": "tất cả",
        # the grade sheet
        "sheet": "Sổ điểm", "sheet_help": "Nhập điểm số từ 0 đến 10, tối đa một chữ số thập phân (ví dụ 8,5); môn "
        "đánh giá bằng nhận xét nhập Đ hoặc CĐ (TT22 Đ.5, Đ.6). Ô đã có điểm chỉ sửa được bằng đề nghị điều "
        "chỉnh (Điều 17.3).", "deadline": "Thời hạn nhập", "entry_open": "Đang trong thời hạn nhập điểm, đến %s.",
        "entry_closed": "Đã hết thời hạn nhập điểm học kì này (%s).", "entry_not_open": "Chưa đến thời hạn nhập "
        "điểm học kì này (từ %s).", "locked": "Đang khóa nhập liệu: %s",
        "save": "Lưu điểm", "saved": "Đã lưu %s ô điểm vào sổ cái.", "nothing_changed": "Không có ô nào thay đổi.",
        "refused": "Không lưu được", "stt": "STT", "term_average": "ĐTBmhk",
        "homeroom_page": "Chủ nhiệm", "homeroom_help": "Giáo viên chủ nhiệm ghi kết quả rèn luyện từng học kì "
        "(Tốt, Khá, Đạt, Chưa đạt), số buổi nghỉ có phép và không phép, và nhận xét của học kì; ở học kì II thêm "
        "nhận xét cả năm (Điều 34.1, 34.6; TT22 Đ.8). Kết quả rèn luyện đã ghi chỉ sửa được bằng đề nghị điều chỉnh.",
        "homeroom_comment_1": "Nhận xét học kì I", "homeroom_comment_2": "Nhận xét học kì II",
        "homeroom_comment_year": "Nhận xét cả năm", "save_homeroom": "Lưu",
        "saved_homeroom": "Đã lưu %s mục vào sổ cái.",
        "homeroom_partly": "Đã lưu: %s. Chưa lưu: %s.", "nothing_word": "không có gì",
        "nothing_changed_homeroom": "Không có mục nào thay đổi.", "comment_cleared": "Chưa lưu gì: nhận xét đã "
        "ghi không xóa được, chỉ sửa được nội dung (%s).",
        "part_conduct": "kết quả rèn luyện", "part_absences": "số buổi nghỉ", "part_comments": "nhận xét",
        "sign_term": "Ký xác nhận học kì %s (Điều 18.4)", "sign_term_help": "Giáo viên chủ nhiệm rà soát và ký số "
        "kết quả học kì của cả lớp: điểm và nhận xét của tất cả các môn học, kết quả rèn luyện, số buổi nghỉ và "
        "nhận xét của giáo viên chủ nhiệm (ở học kì II cả nhận xét cả năm). Chỉ ký được khi mọi học sinh đã có kết "
        "quả rèn luyện và bảng điểm của từng môn đã được giáo viên bộ môn ký; sửa bất kỳ dữ liệu nào sau khi ký thì "
        "cần ký lại.", "term_signed": "Kết quả học kì đã được ký bởi %s lúc %s.",
        "term_stale": "Kết quả học kì đã thay đổi sau khi ký; cần ký lại.",
        "term_unsigned": "Kết quả học kì chưa được ký.", "sign_term_button": "Ký xác nhận học kì…",
        "confirm_term": "Ký xác nhận kết quả học kì %s của lớp %s: %s học sinh, %s môn học.",
        "confirm_subjects": "Các môn học", "confirm_sign": "Ký xác nhận", "cancel_sign": "Không ký",
        "term_signed_notice": "Đã ký xác nhận kết quả học kì của lớp.",
        "final_passed_read_only": "Đã qua hạn cuối điều chỉnh (%s, Điều 25.3): dữ liệu năm học là bản cuối cùng, "
        "trang này chỉ để xem.",
        "excused_days": "Nghỉ có phép", "unexcused_days": "Nghỉ không phép", "homeroom_link": "Chủ nhiệm lớp",
        "progress": "Tiến độ nhập điểm và ký bảng điểm", "progress_help": "Mỗi ô là một bảng điểm lớp × môn × học "
        "kì: số ô đã nhập trên số ô cần nhập (mỗi học sinh: các lần ĐĐGtx, ĐĐGgk và ĐĐGck).",
        "progress_legend": "✓ giáo viên đã ký bảng điểm (Điều 18.3); ⟳ có điểm ghi sau khi ký, cần ký lại; "
        "“quá hạn”: đã hết thời hạn nhập mà còn thiếu điểm. Cột “GVCN ký học kì”: giáo viên chủ nhiệm đã ký "
        "kết quả học kì của lớp (Điều 18.4; ⟳: có thay đổi sau khi ký).", "homeroom_term_column": "GVCN ký học kì",
        "changed_after_signing": "Có thay đổi sau khi ký",
        "sheet_is_signed": "Đã ký", "late": "quá hạn",
        "set_calendar": "Ban hành lịch năm học", "set_calendar_help": "Hiệu trưởng ban hành thời gian từng học kì, "
        "thời hạn nhập điểm, ngày khóa sổ và ngày cuối cùng được điều chỉnh (Điều 25, 33.3c). Ngày đã qua không "
        "thể dời; thời hạn nhập đóng vào cuối ngày được chọn.", "term_starts": "Ngày bắt đầu học kì",
        "term_ends": "Ngày kết thúc học kì", "entry_opens": "Mở nhập điểm từ ngày", "entry_closes": "Đóng nhập điểm "
        "vào cuối ngày", "issue_calendar": "Ban hành", "order_example": "Quyết định số …/QĐ-THCS ngày …",
        "calendar_done": "Đã ban hành lịch năm học.",
        "report_card": "Phiếu báo kết quả học tập và rèn luyện", "result": "Kết quả", "homeroom_says": "Nhận xét "
        "của giáo viên chủ nhiệm", "parent_signs": "Cha mẹ học sinh (ký, ghi rõ họ tên)",
        "homeroom_signs": "Giáo viên chủ nhiệm (ký, ghi rõ họ tên)", "print_card": "Phiếu báo để in",
        "summary": "Tổng hợp kết quả học tập và rèn luyện", "summary_help": "Số học sinh và tỉ lệ trên sĩ số "
        "ở từng mức của kết quả học tập và rèn luyện (TT22 Đ.8, Đ.9), theo lớp, khối và toàn trường; cả năm có "
        "thêm kết quả lên lớp và khen thưởng (Điều 33.6).", "enrolled": "Sĩ số", "not_rated": "Chưa xếp loại",
        "year_outcomes": "Lên lớp và khen thưởng", "grade_total": "Khối %s", "school_total": "Toàn trường",
        "outcome_promoted": "Lên lớp, hoàn thành", "outcome_re_assessment": "Kiểm tra lại",
        "outcome_summer_training": "Rèn luyện hè", "outcome_not_promoted": "Ở lại lớp",
        "outcome_excellent": "HS Xuất sắc", "outcome_good": "HS Giỏi",
        "outcome_completed": "Hoàn thành chương trình THCS",
        "nothing_saved": "Chưa ô nào được lưu vào sổ cái. Các ô chưa lưu (đánh dấu trong bảng): %s.",
        "saved_some": "Đã lưu %s ô mới vào sổ cái. Các ô đã có điểm chưa được sửa (đánh dấu trong bảng): %s.",
        "unsaved": "chưa lưu", "offer_correction": "Gửi đề nghị điều chỉnh cho ô này",
        "import": "Nhập từ tệp", "import_help": "Tệp XLSX, CSV hoặc XML của đúng lớp, môn và học kì này, xuất từ "
        "phần mềm quản lý trường học (SMAS, vnEdu…), tối đa 5 MB. Bấm “Chạy thử” để xem trước ô nào sẽ được ghi; "
        "chỉ khi bấm “Nhập vào sổ” điểm mới được ghi. Ô đã có điểm khác với tệp không bị ghi đè mà thành đề nghị "
        "điều chỉnh (Điều 17.3).", "import_file": "Tệp bảng điểm", "import_check": "Chạy thử",
        "import_confirm": "Nhập vào sổ", "import_result": "Chạy thử tệp %s",
        "import_nothing_written": "Đây là kết quả chạy thử: chưa ghi gì vào sổ cái.",
        "import_counts": "%s ô mới sẽ được ghi; %s ô khác với sổ sẽ thành đề nghị điều chỉnh; %s ô giống sổ.",
        "import_unstated": "Tệp không ghi %s; dùng của trang này.",
        "import_left_aside": "Bỏ qua các cột tính sẵn hoặc mô tả: %s.", "import_stated": "Tệp ghi",
        "import_nothing_new": "Không có gì mới để nhập vào sổ.", "import_row": "Dòng trong tệp",
        "import_legend": "Mỗi ô là giá trị trong tệp: chữ thường là ô mới sẽ được ghi; chữ mờ là ô giống sổ, "
        "không ghi lại; ô có giá trị gạch ngang là giá trị trong sổ, khác với tệp, sẽ thành đề nghị điều chỉnh "
        "(Điều 17.3).", "import_same": "giống sổ", "import_differs": "đề nghị điều chỉnh",
        "import_pending": "đã có đề nghị chờ duyệt",
        "imported": "Đã nhập %s ô điểm từ tệp vào sổ cái; %s ô khác với sổ được gửi thành đề nghị điều chỉnh "
        "(Điều 17.3).", "import_no_file": "Chưa chọn tệp, hoặc tệp rỗng.",
        "import_lost": "Không đọc được tệp của lần chạy thử; hãy chọn tệp và chạy thử lại.",
        "field_subject": "môn", "field_class": "lớp", "field_term": "học kì", "field_year": "năm học",
        "correction_help": "Lãnh đạo nhà trường sẽ xem xét và phê duyệt hoặc từ chối (Điều 17.3).",
        "correction_reason": "Lý do điều chỉnh", "file_correction": "Gửi đề nghị",
        "filed": "Đã gửi đề nghị điều chỉnh; lãnh đạo nhà trường sẽ phê duyệt.",
        "invalid_value": "Giá trị không hợp lệ",
        "value_help_score": "Điểm từ 0 đến 10, một chữ số thập phân, ví dụ 8,5",
        "value_help_mark": "Đ (Đạt) hoặc CĐ (Chưa đạt)", "cell": "%s, %s", "read_only": "Chỉ xem.",
        "sign_sheet": "Ký bảng điểm lớp (Điều 18.3)", "sheet_signed": "Bảng điểm đã được ký bởi %s lúc %s.",
        "sheet_stale": "Bảng điểm đã thay đổi sau khi ký; cần ký lại.", "sheet_unsigned": "Bảng điểm chưa được ký.",
        "sign_hocba_subject": "Ký học bạ cả lớp cho môn này (Điều 18.1)",
        "signed_count": "Đã ký %s văn bản.", "demo_signer": "Nút xác nhận ký bằng khóa thử nghiệm của tài "
        "khoản (chỉ bản thử nghiệm); chữ ký thật dùng USB token hoặc dịch vụ ký số từ xa của người ký.",
        # the signing board
        "board": "Tình trạng ký học bạ", "board_help": "✓ đã ký (người ký, thời điểm); ⟳ đã ký nhưng nội dung đổi "
        "sau đó, cần ký lại; — chưa ký. Thứ tự ký: giáo viên bộ môn, giáo viên chủ nhiệm, hiệu trưởng, đóng dấu "
        "(Điều 18, 24.5).", "signed": "đã ký", "stale": "cần ký lại", "unsigned": "chưa ký",
        "homeroom": "GVCN", "principal": "Hiệu trưởng", "seal": "Dấu", "pdf_principal": "PDF: Hiệu trưởng",
        "pdf_seal": "PDF: Dấu", "sheets": "Bảng điểm lớp", "log_events": "Sổ cái sự kiện",
        "log_access": "Nhật ký truy cập", "log": "Sổ",
        "sign": "Ký", "sign_as": "Ký với vai trò %s", "sign_homeroom_teacher": "GVCN, học bạ XML",
        "sign_principal": "Hiệu trưởng, học bạ XML", "sign_organisation": "đóng dấu, học bạ XML",
        "sign_pdf_principal": "Hiệu trưởng, học bạ PDF", "sign_pdf_organisation": "đóng dấu, học bạ PDF",
        "ready_count": "%s học bạ sẵn sàng", "confirm_title": "Xác nhận trước khi ký",
        "confirm_board": "Bạn sắp ký (%s) học bạ năm học %s của %s học sinh lớp %s:",
        "confirm_left_out": "%s học sinh chưa ký được lúc này (lý do ghi ở từng dòng của bảng) sẽ không được ký.",
        "confirm_button": "Xác nhận ký %s học bạ", "cancel": "Hủy",
        "sign_remote": "Ký bằng dịch vụ ký số từ xa",
        "remote_credential": "Mã chứng thư số (credential) tại dịch vụ ký số",
        "remote_pin": "Mã PIN hoặc OTP",
        "remote_note": "Mã PIN/OTP chỉ dùng một lần cho lượt ký này và không được lưu lại. Tất cả học bạ "
        "trong danh sách được ký với một lần xác thực.",
        "sign_token": "Ký bằng USB token",
        "token_pin": "Mã PIN của USB token",
        "token_note": "Cắm USB token và mở chương trình ký trên máy này (hocba signing helper). Mã PIN chỉ "
        "gửi tới chương trình ký trên máy, không gửi lên máy chủ.",
        "token_port": "Cổng của chương trình ký",
        "token_working": "Đang ký bằng USB token…",
        "token_failed": "Không ký được bằng USB token: %s",
        "token_unreachable": "Không kết nối được chương trình ký trên máy này. Hãy mở lệnh hocba signing "
        "helper rồi thử lại.",
        "confirm_sheet": "Bạn sắp ký bảng điểm môn %s lớp %s, học kì %s, của %s học sinh, đã nhập đủ các lần "
        "đánh giá. Sau khi ký, mọi thay đổi đều làm chữ ký này phải ký lại.",
        "confirm_sheet_button": "Xác nhận ký bảng điểm",
        "confirm_hocba_subject": "Bạn sắp ký kết quả môn %s trong học bạ năm học %s của %s học sinh lớp %s:",
        # auditors
        "audit": "Kiểm tra sổ cái", "ledger_status": "Tình trạng sổ cái", "events": "Số sự kiện",
        "last_verification": "Lần kiểm tra gần nhất", "intact": "nguyên vẹn", "broken": "KHÔNG nguyên vẹn",
        "never_verified": "Chưa kiểm tra lần nào.", "checkpoint": "Điểm kiểm (checkpoint) mới nhất",
        "tree_size": "Số sự kiện được ký", "root": "Gốc Merkle", "no_checkpoint": "Chưa có điểm kiểm nào.",
        "verify_now": "Kiểm tra ngay", "verified": "Vừa kiểm tra: %s.", "alerts": "Cảnh báo truy cập bất thường",
        "no_alerts": "Không có cảnh báo.", "alert_rule": "Quy tắc", "timeline": "Dòng thời gian sự kiện",
        "timeline_help": "Lịch sử sự kiện của một học sinh (mã định danh) hoặc một lớp; chọn một ngày để xem "
        "dữ liệu tại thời điểm đó và những gì thay đổi từ đó.", "as_of": "Tại ngày",
        "as_of_view": "Dữ liệu tại cuối ngày %s (đến sự kiện số %s)", "changed_since": "Thay đổi từ sau ngày %s",
        "no_change": "Không có thay đổi.", "then": "Khi đó", "now": "Hiện nay", "event": "Sự kiện",
        "type": "Loại", "details": "Nội dung", "seq": "Số thứ tự", "learning": "Học tập", "conduct": "Rèn luyện",
        "promotion": "Lên lớp", "year_avg": "Cả năm", "access_log": "Nhật ký truy cập", "user": "Tài khoản",
        "outcome": "Kết quả", "action": "Thao tác", "address": "Địa chỉ", "students_touched": "Học sinh liên quan",
        "access_allowed": "Cho phép", "access_denied": "Từ chối: không có quyền",
        "access_refused": "Từ chối theo quy định", "access_failed": "Lỗi", "more": "Trang sau →",
        "pick_target": "Nhập mã định danh học sinh hoặc chọn lớp.",
        # charts
        "year_end": "Tổng kết năm học", "year_end_results": "Kết quả cả năm học %s",
        "year_end_help": "Kết quả cả năm của từng môn theo thứ tự trong học bạ, kết quả học tập, rèn luyện, lên "
        "lớp và khen thưởng (Điều 33.6, 34.4; Thông tư 22 Điều 9–14). Sau hè, giáo viên bộ môn nhập điểm kiểm tra "
        "lại môn mình, hiệu trưởng nhập kết quả rèn luyện sau hè.",
        "year_outcome": "Lên lớp", "award": "Khen thưởng",
        "reassessment_section": "Kiểm tra lại trong hè (Thông tư 22 Điều 12–14)",
        "none_to_reassess": "Không có học sinh phải kiểm tra lại.", "not_entered": "chưa nhập",
        "save_subject": "Lưu điểm kiểm tra lại môn %s",
        "summer_section": "Rèn luyện trong hè (Thông tư 22 Điều 12–14)",
        "none_summer": "Không có học sinh phải rèn luyện trong hè.",
        "save_summer": "Lưu kết quả rèn luyện sau hè", "saved_year_end": "Đã lưu %s kết quả vào sổ cái.",
        "sheet_requests": "Đề nghị điều chỉnh trong bảng điểm này (Điều 17.3)", "column": "Cột",
        "request_pending": "đề nghị sửa thành %s, chờ duyệt", "request_approved": "đã duyệt sửa thành %s",
        "request_rejected": "đề nghị sửa thành %s bị từ chối",
        "summary_lists": "Danh sách học sinh (Điều 33.6)",
        "year_end_link": "Tổng kết năm", "reassessment_page": "Kiểm tra lại trong hè",
        "reassessment_link": "Nhập điểm kiểm tra lại trong hè",
        "charts": "Biểu đồ", "grade_distribution": "Phân bố điểm trung bình môn cả năm",
        "levels": "Kết quả học tập và rèn luyện cả năm", "count": "Số học sinh", "no_data": "Chưa đủ dữ liệu.",
        "unknown": "Chưa có",
        # the portal
        "portal": "Cổng xác minh học bạ số", "verify_heading": "Kiểm tra một tệp học bạ",
        "verify_help": "Tải lên tệp học bạ XML hoặc PDF (tối đa 10 MB) để kiểm tra chữ ký số, biên nhận sổ cái "
                       "và việc nhà trường đã ban hành đúng tệp này.",
        "file_label": "Tệp học bạ (XML hoặc PDF)", "verify_button": "Kiểm tra",
        "lookup_heading": "Tra cứu học bạ đã ban hành",
        "lookup_help": "Nhập mã trường, rồi đủ năm thông tin in trên học bạ (Điều 2.14): số học bạ, họ và tên, "
        "ngày sinh, số định danh cá nhân và mã xác minh. Quét mã QR trên bản PDF thì trường, số học bạ và mã xác "
        "minh được điền sẵn.",
        "hocba_id": "Số học bạ", "full_name": "Họ và tên học sinh",
        "birth_date": "Ngày sinh", "student_id": "Số định danh cá nhân (12 chữ số)", "code": "Mã xác minh",
        "lookup_button": "Tra cứu", "report": "Kết quả kiểm tra", "lookup_result": "Kết quả tra cứu",
        "valid": "Hợp lệ: các chữ ký số đều đúng và còn hiệu lực khi ký.",
        "not_valid": "Không hợp lệ: văn bản không có giá trị pháp lý (Điều 15).",
        "issued_by_school": "%s đã ban hành đúng tệp này ngày %s (mã ban hành %s).",
        "hocba_of": "Học bạ năm học %s của em %s, lớp %s.",
        "revoked": "Học bạ này đã bị thu hồi.",
        "not_issued_here": "Không tìm thấy tệp này trong các học bạ đã ban hành.",
        "receipt_ok": "Biên nhận sổ cái khớp: sự kiện số %s trong sổ cái của %s, điểm kiểm tra %s sự kiện.",
        "standing": "Biên nhận so với sổ cái hôm nay",
        "live_contained": "Sổ cái hiện tại của trường vẫn chứa biên nhận này: cây %(live)s sự kiện đã ký "
                          "nối tiếp đúng cây %(held)s sự kiện của biên nhận.",
        "live_missing": "Cảnh báo: sổ cái hiện tại của trường chỉ còn %(live)s sự kiện đã ký, ít hơn %(held)s sự "
                        "kiện của biên nhận. Sổ cái đã bị quay lui hoặc cắt bớt; hãy báo cho Phòng hoặc Sở GD&ĐT.",
        "live_fork": "Cảnh báo: sổ cái hiện tại của trường không còn là lịch sử mà biên nhận ghi ("
                     "%(held)s sự kiện): lịch sử đã bị viết lại; hãy báo cho Phòng hoặc Sở GD&ĐT.",
        "live_absent": "Hệ thống này không giữ sổ cái của trường đã ban hành tệp; biên nhận chỉ được kiểm tra "
                       "bằng chữ ký của nó.",
        "witness_covers": "%(name)s (bên chứng kiến độc lập) đã đồng ký cây %(size)s sự kiện, bao gồm biên nhận "
                          "này.",
        "witness_not_yet": "%(name)s mới đồng ký cây %(size)s sự kiện, trước biên nhận này và khớp với nó; lần "
                           "công bố tới sẽ bao gồm biên nhận.",
        "witness_ahead": "Cảnh báo: %(name)s đã đồng ký cây %(size)s sự kiện, nhiều hơn sổ cái hiện có của "
                         "trường: sổ cái đã bị quay lui.",
        "witness_disagrees": "Cảnh báo: cây %(size)s sự kiện mà %(name)s đã đồng ký không còn khớp với sổ cái "
                             "của trường: lịch sử đã bị viết lại.",
        "witness_unknown": "%(name)s chưa chứng kiến sổ cái của trường này.",
        "witness_unreachable": "Lúc này không hỏi được %(name)s.",
        "signatures": "Các chữ ký số", "signer": "Người ký",
        "intact_check": "Nội dung nguyên vẹn", "chain_trusted": "Chứng thư tin cậy",
        "valid_at_signing": "Còn hiệu lực khi ký",
        "revoked_check": "Chưa bị thu hồi", "timestamp_valid": "Dấu thời gian",
        "trusted_time": "Thời điểm ký tin cậy",
        "no_trusted_time": "Chữ ký XAdES-B, không có thời điểm ký tin cậy (ban hành trước khi có dấu thời gian)",
        "yes": "đạt", "no": "không đạt", "found": "Tìm thấy học bạ đã ban hành.",
        "no_match": "Không có học bạ nào khớp cả năm thông tin.",
        "bad_lookup": "Thông tin tra cứu chưa đúng định dạng.",
        "bad_file": "Hãy chọn một tệp XML hoặc PDF, tối đa 10 MB.", "back": "← Kiểm tra hoặc tra cứu khác",
        "too_many": "Quá nhiều yêu cầu từ địa chỉ này; vui lòng thử lại sau ít phút.",
    },
    "en": {
        "people": "Staff and accounts", "people_help": "Role assignments and sign-in accounts. Vice-principal, "
        "administrator, clerk and IT-teacher grants recorded by the administrator take effect only when the principal "
        "approves them (Điều 5.3c).", "pending_grants": "Grants waiting for the principal",
        "assignments": "Assignments",
        "accounts": "Accounts", "person_name": "Full name", "role": "Role", "kind": "Kind",
        "grant_approve": "Approve", "refuse": "Refuse", "note": "Note (decision number or reason)",
        "end_assignment": "End", "last_day": "Last day", "disable": "Disable account", "active": "Active",
        "disabled": "Disabled", "people_done": "Recorded in the ledger.", "account_of": "Person",
        "appointed_by": "Appointing decision",
        "product": "Digital học bạ — lower-secondary school", "switch": "Tiếng Việt", "skip": "Skip to the content",
        "signed_in_as": "Signed in: %s", "sign_out": "Sign out", "home": "Home",
        "year": "School year", "class": "Class", "subject": "Subject", "term": "Term", "student": "Student",
        "policy_refused": "Not permitted",
        "status": "Status", "when": "When", "who": "By", "reason": "Reason", "none": "None.",
        "show": "Show", "back_home": "← Home", "rule": "Rule",
        "login": "Sign in",
        "login_help": "Staff, teachers, inspectors, parents and students sign in with the account the school "
        "gave them.",
        "school": "School id", "username": "Username", "password": "Password", "login_button": "Sign in",
        "login_failed": "The username or password is not right.",
        "login_blocked": "Too many refused sign-ins; please try again in %s minutes.",
        "session_over": "The session has ended or you are not signed in; please sign in.",
        "error": "Not done", "forbidden": "Your role, assignment or the current time does not allow this.",
        "bad_request": "The request is not valid.", "not_found": "Not found.",
        "unavailable": "The service is not available for a moment; please retry.",
        "internal": "Internal error; nothing was done.",
        "stale_form": "The form is out of date or was not sent by this page; reload the page.",
        "welcome": "Hello, %s", "roles_now": "Roles held now", "no_roles": "The account holds no role this school "
        "year.", "leadership": "The school year", "teaching": "Teaching", "oversight": "Oversight and inspection",
        "classes": "Classes", "no_year": "The school has opened no school year.",
        "inbox": "Correction requests", "inbox_help": "Each request shows the old and new value, the history of "
        "that value, who asked and why. Whoever asked cannot approve it (Điều 4.4, 17.3).",
        "pending": "Waiting", "approved": "Approved", "rejected": "Rejected", "expired": "Expired",
        "all": "All", "filter": "Filter", "old_value": "Old value", "new_value": "New value",
        "requested_by": "Requested by", "requested_at": "Requested on", "history": "History of the value",
        "value": "Value", "recorded_by": "Recorded by", "seqs": "Events (from – to)",
        "decision_reason": "Reason for the decision",
        "approve": "Approve", "reject": "Reject", "decided_by": "Decided by",
        "done_approved": "The request is approved; the new value is recorded in the ledger.",
        "done_rejected": "The request is rejected.", "no_requests": "No requests.",
        "what_conduct": "Conduct", "regular": "Regular", "midterm": "Midterm", "final": "Final",
        "comment": "Comment", "attachment": "Attachment (SHA-256)",
        "calendar": "School-year calendar and entry locks", "no_calendar": "The principal has not set this year's "
        "calendar.", "decision": "Decision", "term_dates": "Terms", "entry_window": "Entry window",
        "from": "From", "to": "To", "close": "Year close (Điều 25.1)", "final_date": "Final date for changes "
        "(Điều 25.3)", "open_now": "open", "closed_now": "closed", "not_yet": "not open yet",
        "locks": "Entry locks (Điều 36.2)", "scope": "Scope", "order": "Ordered by", "changed_by": "Done by",
        "state_closed": "Locked", "state_open": "Reopened", "set_lock": "Lock or reopen entry",
        "reopenings": "Reopened after the deadline by the Department's decision (Điều 25.4)",
        "issued_by": "Issued by", "issued_on": "Issued on",
        "document_hash": "SHA-256 of the document",
        "reopen_help": "Only approved corrections are recorded while a year is reopened; the calendar's close "
        "and final date do not move.",
        "lock_help": "The admin does it on the principal's order. Leave class, subject or term empty for all.",
        "ordered_by": "Who ordered it (username)", "order_text": "Number and date of the order",
        "lock_action": "Action", "do_close": "Lock", "do_open": "Reopen", "lock_button": "Record",
        "lock_done": "The lock change is recorded.", "any": "all",
        "sheet": "Grade sheet", "sheet_help": "Enter scores from 0 to 10 with at most one decimal (for example "
        "8,5); comment-only subjects take Đ or CĐ (TT22 Đ.5, Đ.6). A cell that has a value changes only "
        "through a correction request (Điều 17.3).", "deadline": "Entry deadline",
        "entry_open": "Entry is open until %s.", "entry_closed": "Entry for this term closed (%s).",
        "entry_not_open": "Entry for this term is not open yet (from %s).", "locked": "Entry is locked: %s",
        "save": "Save", "saved": "%s cells saved to the ledger.", "nothing_changed": "No cell changed.",
        "refused": "Not saved", "offer_correction": "File a correction request for this cell",
        "stt": "No.", "term_average": "Term average",
        "homeroom_page": "Homeroom", "homeroom_help": "The homeroom teacher records each term's conduct (Tốt, Khá, "
        "Đạt, Chưa đạt), sessions absent with and without leave, and the term's comment; in term II also the "
        "year's comment (Điều 34.1, 34.6; TT22 Đ.8). Recorded conduct changes only by a correction request.",
        "homeroom_comment_1": "Term I comment", "homeroom_comment_2": "Term II comment",
        "homeroom_comment_year": "Year comment", "save_homeroom": "Save",
        "saved_homeroom": "%s entries saved to the ledger.",
        "homeroom_partly": "Saved: %s. Not saved: %s.", "nothing_word": "nothing",
        "nothing_changed_homeroom": "Nothing changed.", "comment_cleared": "Nothing saved: a recorded comment "
        "cannot be erased, only rewritten (%s).",
        "part_conduct": "conduct", "part_absences": "absences", "part_comments": "comments",
        "excused_days": "Absent with leave", "unexcused_days": "Absent without leave", "homeroom_link": "Homeroom",
        "sign_term": "Sign term %s (Điều 18.4)", "sign_term_help": "The homeroom teacher reviews and signs the "
        "class's term: every subject's assessments and comments, conduct, sessions absent and the homeroom comments "
        "(in term II the year's comment too). It is signed once every pupil has the term's conduct and every "
        "subject's sheet is signed by its teacher; any change afterwards calls for signing again.",
        "term_signed": "The term is signed by %s at %s.",
        "term_stale": "The term changed after it was signed; sign it again.",
        "term_unsigned": "The term is not signed.", "sign_term_button": "Sign the term…",
        "confirm_term": "Sign term %s of class %s: %s pupils, %s subjects.",
        "confirm_subjects": "Subjects", "confirm_sign": "Sign", "cancel_sign": "Do not sign",
        "term_signed_notice": "The class's term is signed.",
        "final_passed_read_only": "The final date (%s, Điều 25.3) has passed: the year's data is final; this page "
        "is read only.",
        "progress": "Grade entry and signing progress", "progress_help": "Each cell is a class × subject × term "
        "sheet: cells entered out of cells due (per student: each regular, the midterm and the final).",
        "progress_legend": "✓ signed by its teacher (Điều 18.3); ⟳ changed after signing, to be signed again; "
        "“late”: the entry window has closed with cells still empty. “Homeroom signed term”: the homeroom "
        "teacher has signed the class's term (Điều 18.4; ⟳: changed since).",
        "homeroom_term_column": "Homeroom signed term", "changed_after_signing": "Changed after signing",
        "sheet_is_signed": "Signed", "late": "late",
        "set_calendar": "Set the year's calendar", "set_calendar_help": "The principal sets each term's dates, the "
        "entry windows, the close and the final date for corrections (Điều 25, 33.3c). A date that has passed "
        "cannot be moved; an entry window closes at the end of the day chosen.", "term_starts": "Term starts",
        "term_ends": "Term ends", "entry_opens": "Entry opens on", "entry_closes": "Entry closes at the end of",
        "issue_calendar": "Set", "order_example": "Decision no. …/QĐ-THCS of …",
        "calendar_done": "The year's calendar is set.",
        "report_card": "Report of results and conduct", "result": "Result", "homeroom_says": "The homeroom "
        "teacher's comment", "parent_signs": "Parent (signature and full name)",
        "homeroom_signs": "Homeroom teacher (signature and full name)", "print_card": "Report to print",
        "summary": "Results of learning and conduct", "summary_help": "Students and their share of the class at "
        "each level of learning and conduct (TT22 Đ.8, Đ.9), per class, grade and school; for the year also "
        "promotion and awards (Điều 33.6).", "enrolled": "Enrolled", "not_rated": "Not yet rated",
        "year_outcomes": "Promotion and awards", "grade_total": "Grade %s", "school_total": "School",
        "outcome_promoted": "Promoted, completed", "outcome_re_assessment": "Re-assessment",
        "outcome_summer_training": "Summer training", "outcome_not_promoted": "Held back",
        "outcome_excellent": "Excellent", "outcome_good": "Good",
        "outcome_completed": "Completed lower secondary school",
        "nothing_saved": "Nothing was saved to the ledger. Cells not saved (marked in the sheet): %s.",
        "saved_some": "%s new cells saved to the ledger. Cells already recorded were not changed (marked): %s.",
        "unsaved": "not saved",
        "import": "Import from a file", "import_help": "An XLSX, CSV or XML file of this very class, subject and "
        "term, exported by the school-management software (SMAS, vnEdu…), at most 5 MB. “Dry run” shows which "
        "cells would be written; only “Write to the ledger” writes them. A recorded cell that differs from the "
        "file is not overwritten but becomes a correction request (Điều 17.3).", "import_file": "Gradebook file",
        "import_check": "Dry run", "import_confirm": "Write to the ledger", "import_result": "Dry run of %s",
        "import_nothing_written": "This is a dry run: nothing is written to the ledger yet.",
        "import_counts": "%s new cells would be written; %s cells that differ from the ledger would become "
        "correction requests; %s cells are the same.", "import_unstated": "The file does not state the %s; this "
        "page's is used.", "import_left_aside": "Computed or descriptive columns left aside: %s.",
        "import_stated": "The file states", "import_nothing_new": "Nothing new to write to the ledger.",
        "import_row": "Row in the file", "import_legend": "Each cell is the file's value: plain text is a new "
        "cell to be written; faded text is the same as the ledger, not written again; a struck-out value is the "
        "ledger's, which differs from the file: a correction request (Điều 17.3).", "import_same": "same as the "
        "ledger", "import_differs": "correction request", "import_pending": "a request is already pending",
        "imported": "%s cells imported from the file into the ledger; %s cells that "
        "differ from the ledger were filed as correction requests (Điều 17.3).",
        "import_no_file": "No file chosen, or the file is empty.",
        "import_lost": "The dry run's file could not be read; choose the file and run it again.",
        "field_subject": "subject", "field_class": "class", "field_term": "term", "field_year": "year",
        "correction_help": "School leadership will approve or reject it (Điều 17.3).",
        "correction_reason": "Reason for the correction", "file_correction": "File the request",
        "filed": "The correction request is filed; school leadership will decide.",
        "invalid_value": "Not a valid value", "value_help_score": "A score from 0 to 10, one decimal, e.g. 8,5",
        "value_help_mark": "Đ (pass) or CĐ (not yet)", "cell": "%s, %s", "read_only": "Read only.",
        "sign_sheet": "Sign the class sheet (Điều 18.3)", "sheet_signed": "The sheet is signed by %s at %s.",
        "sheet_stale": "The sheet changed after it was signed; sign it again.", "sheet_unsigned": "The sheet is "
        "not signed.", "sign_hocba_subject": "Sign every học bạ of the class for this subject (Điều 18.1)",
        "signed_count": "%s documents signed.", "demo_signer": "The confirm button signs with the account's demo "
        "key (demo only); a real signature is made with the signer's USB token or remote-signing service.",
        "board": "Signing status of the học bạ", "board_help": "✓ signed (by, when); ⟳ signed but changed since, "
        "sign again; — not signed. Order: subject teachers, homeroom teacher, principal, seal (Điều 18, 24.5).",
        "signed": "signed", "stale": "sign again", "unsigned": "not signed",
        "homeroom": "Homeroom", "principal": "Principal", "seal": "Seal", "pdf_principal": "PDF: principal",
        "pdf_seal": "PDF: seal", "sheets": "Class sheets", "log_events": "Event ledger",
        "log_access": "Access trail", "log": "Log",
        "sign": "Sign", "sign_as": "Sign as %s", "sign_homeroom_teacher": "homeroom teacher, XML học bạ",
        "sign_principal": "principal, XML học bạ", "sign_organisation": "seal, XML học bạ",
        "sign_pdf_principal": "principal, PDF học bạ", "sign_pdf_organisation": "seal, PDF học bạ",
        "ready_count": "%s học bạ ready", "confirm_title": "Confirm before signing",
        "confirm_board": "You are about to sign (%s) the %s học bạ of %s pupils of %s:",
        "confirm_left_out": "%s pupils who cannot be signed now (the reason is on their row) are left out.",
        "confirm_button": "Confirm: sign %s học bạ", "cancel": "Cancel",
        "sign_remote": "Sign at the remote-signing service",
        "remote_credential": "Your credential's id at the remote-signing service",
        "remote_pin": "PIN or one-time code",
        "remote_note": "The PIN/OTP is used once, for these signatures, and is not kept. Every học bạ "
        "listed is signed under one authorisation.",
        "sign_token": "Sign with the USB token",
        "token_pin": "The USB token's PIN",
        "token_note": "Plug in the USB token and start the signing helper on this computer (hocba signing "
        "helper). The PIN goes to the helper on this computer only, never to the server.",
        "token_port": "The signing helper's port",
        "token_working": "Signing with the USB token…",
        "token_failed": "The USB token did not sign: %s",
        "token_unreachable": "The signing helper on this computer does not answer. Start hocba signing "
        "helper and try again.",
        "confirm_sheet": "You are about to sign the %s sheet of %s, term %s, for %s pupils, every assessment "
        "entered. Any later change makes this signature to be signed again.",
        "confirm_sheet_button": "Confirm: sign the sheet",
        "confirm_hocba_subject": "You are about to sign %s in the %s học bạ of %s pupils of %s:",
        "audit": "Ledger audit", "ledger_status": "Ledger status", "events": "Events",
        "last_verification": "Last verification", "intact": "intact", "broken": "NOT intact",
        "never_verified": "Never verified.", "checkpoint": "Latest checkpoint", "tree_size": "Events signed",
        "root": "Merkle root", "no_checkpoint": "No checkpoint yet.", "verify_now": "Verify now",
        "verified": "Verified just now: %s.", "alerts": "Unusual-access alerts", "no_alerts": "No alerts.",
        "alert_rule": "Rule", "timeline": "Event timeline",
        "timeline_help": "The event history of a student (personal identifier) or a class; pick a date to see "
        "the data as it stood then and what changed since.", "as_of": "As of",
        "as_of_view": "The data at the end of %s (up to event %s)", "changed_since": "Changed after %s",
        "no_change": "No change.", "then": "Then", "now": "Now", "event": "Event", "type": "Type",
        "details": "Details", "seq": "Seq", "learning": "Learning", "conduct": "Conduct", "promotion": "Promotion",
        "year_avg": "Year", "access_log": "Access log", "user": "Account", "outcome": "Outcome",
        "action": "Action", "address": "Address", "students_touched": "Students concerned",
        "access_allowed": "Allowed", "access_denied": "Denied: not permitted",
        "access_refused": "Refused by a rule", "access_failed": "Failed", "more": "Next page →",
        "pick_target": "Enter a student's personal identifier or pick a class.",
        "year_end": "Year-end summary", "year_end_results": "Results of the %s school year",
        "year_end_help": "Each subject's year result in the học bạ's order, learning, conduct, promotion and "
        "awards (Điều 33.6, 34.4; TT22 Đ.9–14). After summer, each subject teacher enters the re-assessment "
        "results of their subject, and the principal the conduct after summer training.",
        "year_outcome": "Promotion", "award": "Award",
        "reassessment_section": "Summer re-assessment (TT22 Đ.12–14)",
        "none_to_reassess": "No pupil is to be re-assessed.", "not_entered": "not entered",
        "save_subject": "Save the %s re-assessment results",
        "summer_section": "Summer training (TT22 Đ.12–14)",
        "none_summer": "No pupil is in summer training.",
        "save_summer": "Save the conduct after summer", "saved_year_end": "%s results recorded in the ledger.",
        "sheet_requests": "Correction requests on this sheet (Điều 17.3)", "column": "Column",
        "request_pending": "requested %s, waiting", "request_approved": "approved: %s",
        "request_rejected": "request for %s rejected",
        "summary_lists": "Lists of pupils (Điều 33.6)",
        "year_end_link": "Year end", "reassessment_page": "Summer re-assessment",
        "reassessment_link": "Enter the summer re-assessment results",
        "charts": "Charts", "grade_distribution": "Distribution of year averages by subject",
        "levels": "Learning and conduct levels for the year", "count": "Students", "no_data": "Not enough data yet.",
        "unknown": "Not yet",
        "portal": "Học bạ verification portal",
        "verify_heading": "Check a học bạ file",
        "verify_help": "Upload an XML or PDF học bạ (at most 10 MB) to check its digital signatures, its ledger "
                       "receipt, and that the school issued this very file.",
        "file_label": "Học bạ file (XML or PDF)", "verify_button": "Check",
        "lookup_heading": "Look up an issued học bạ",
        "lookup_help": "Enter the school code, then the five details printed on the học bạ (Điều 2.14): its "
        "number, the full name, the date of birth, the personal identifier and the verification code. The QR code "
        "on the PDF fills in the school, the number and the code.",
        "hocba_id": "Học bạ id", "full_name": "Student's full name",
        "birth_date": "Date of birth", "student_id": "Personal identifier (12 digits)", "code": "Verification code",
        "lookup_button": "Look up", "report": "Verification report", "lookup_result": "Lookup result",
        "valid": "Valid: every digital signature is correct and was valid when made.",
        "not_valid": "Not valid: the document has no legal value (Điều 15).",
        "issued_by_school": "%s issued this very file on %s (issuance %s).",
        "hocba_of": "The học bạ of %s of %s, class %s.",
        "revoked": "This học bạ was revoked.", "not_issued_here": "This file is not among the issued học bạ.",
        "receipt_ok": "Ledger receipt matches: event %s in the ledger of %s, checkpoint of %s events.",
        "standing": "The receipt against today's ledger",
        "live_contained": "The school's ledger still holds this receipt: its signed tree of %(live)s events "
                          "extends the receipt's tree of %(held)s.",
        "live_missing": "Warning: the school's ledger now holds only %(live)s signed events, fewer than the "
                        "receipt's %(held)s. It was rolled back or cut; tell the district or provincial "
                        "department of education.",
        "live_fork": "Warning: the school's ledger is no longer the history the receipt records (%(held)s "
                     "events): history was rewritten; tell the district or provincial department of education.",
        "live_absent": "This service does not hold the ledger of the school that issued the file; the receipt "
                       "is checked by its signature alone.",
        "witness_covers": "%(name)s (an independent witness) cosigned a tree of %(size)s events that includes "
                          "this receipt.",
        "witness_not_yet": "%(name)s has cosigned a tree of %(size)s events, before this receipt and consistent "
                           "with it; the next publication will include the receipt.",
        "witness_ahead": "Warning: %(name)s cosigned a tree of %(size)s events, more than the school's ledger "
                         "now holds: the ledger was rolled back.",
        "witness_disagrees": "Warning: the tree of %(size)s events %(name)s cosigned no longer matches the "
                             "school's ledger: history was rewritten.",
        "witness_unknown": "%(name)s does not witness this school's ledger yet.",
        "witness_unreachable": "%(name)s cannot be asked right now.",
        "signatures": "Digital signatures", "signer": "Signer",
        "intact_check": "Content intact", "chain_trusted": "Trusted certificate",
        "valid_at_signing": "Valid when signed",
        "revoked_check": "Not revoked", "timestamp_valid": "Timestamp",
        "trusted_time": "Trusted signing time",
        "no_trusted_time": "XAdES-B signature, no trusted signing time (issued before timestamps)",
        "yes": "pass", "no": "fail", "found": "An issued học bạ was found.",
        "no_match": "No issued học bạ matches all five details.",
        "bad_lookup": "The lookup details are not well formed.",
        "bad_file": "Choose an XML or PDF file of at most 10 MB.", "back": "← Check or look up another",
        "too_many": "Too many requests from this address; please try again in a few minutes.",
        "student_page": "Student", "my_child": "Your child's results and học bạ",
        "my_record": "Your results and học bạ", "guardian_of": "parent of %s",
        "results_year": "Results of %s, class %s", "not_enrolled_year": "Not enrolled at the school this year.",
        "term1": "Term I", "term2": "Term II", "whole_year": "Year", "reassessed": "Re-assessment",
        "learning_result": "Learning", "conduct_result": "Conduct", "absent": "Days absent",
        "issued_hocba": "Issued học bạ", "no_issued": "No học bạ has been issued yet.",
        "download_pdf": "Download the PDF", "download_xml": "Download the signed XML",
        "state_issued": "In force", "state_revoked": "Revoked", "state_inherited": "Received on transfer",
        "viewers": "Who viewed the record", "viewers_help": "Every view is recorded in the access log (Điều 20.3); "
        "these are the latest %s.", "viewed": "What was viewed",
    },
}  # fmt: skip


ROLES = {
    "vi": {"SUBJECT_TEACHER": "Giáo viên bộ môn", "HOMEROOM_TEACHER": "Giáo viên chủ nhiệm",
           "PRINCIPAL": "Hiệu trưởng", "LEADERSHIP": "Phó hiệu trưởng", "ORGANISATION": "Dấu của nhà trường",
           "CLERK": "Văn thư", "ADMIN": "Quản trị viên", "IT_REVIEWER": "Giáo viên tin học (đối soát)",
           "AUDITOR": "Thanh tra, kiểm tra", "INTEGRATION": "Hệ thống kết nối", "GUARDIAN": "Cha mẹ học sinh",
           "STUDENT": "Học sinh"},
    "en": {"SUBJECT_TEACHER": "Subject teacher", "HOMEROOM_TEACHER": "Homeroom teacher",
           "PRINCIPAL": "Principal", "LEADERSHIP": "Vice-principal", "ORGANISATION": "School seal",
           "CLERK": "Clerk", "ADMIN": "Administrator", "IT_REVIEWER": "IT teacher (reconciliation)",
           "AUDITOR": "Inspector", "INTEGRATION": "Integration client", "GUARDIAN": "Parent or guardian",
           "STUDENT": "Student"},
}  # fmt: skip

# Event types as an auditor reads them.
EVENTS = {
    "vi": {"assessment.recorded": "Ghi điểm", "subject_comment.recorded": "Nhận xét môn học",
           "conduct.recorded": "Ghi kết quả rèn luyện", "absences.recorded": "Ghi số buổi nghỉ",
           "homeroom_comment.recorded": "Nhận xét của GVCN", "reassessment.recorded": "Kiểm tra lại trong hè",
           "summer_conduct.recorded": "Rèn luyện trong hè", "correction.requested": "Đề nghị điều chỉnh",
           "correction.approved": "Phê duyệt điều chỉnh", "correction.rejected": "Từ chối điều chỉnh",
           "correction.expired": "Đề nghị hết hạn", "assessment.corrected": "Điều chỉnh điểm",
           "conduct.corrected": "Điều chỉnh rèn luyện", "signature.added": "Chữ ký số",
           "sheet.signed": "Ký bảng điểm lớp", "class_term.signed": "GVCN ký kết quả học kì",
           "hocba.issued": "Ban hành học bạ", "hocba.receipt": "Biên nhận",
           "hocba.revoked": "Thu hồi học bạ", "hocba.inherited": "Nhận học bạ chuyển đến",
           "family.notified": "Gửi thông báo cho gia đình",
           "hocba.pdf_archive_renewed": "Gia hạn dấu thời gian lưu trữ học bạ (PDF)",
           "hocba.xml_archive_renewed": "Gia hạn dấu thời gian lưu trữ học bạ (XML)",
           "student.registered": "Hồ sơ học sinh", "student.enrolled": "Xếp lớp", "student.withdrawn": "Rời lớp",
           "entry.locked": "Khóa nhập liệu", "entry.opened": "Mở nhập liệu", "transfer.opened": "Mở hồ sơ chuyển "
           "trường", "transfer.signed": "Ký hồ sơ chuyển trường", "transfer.received": "Nhận hồ sơ chuyển trường",
           "class.opened": "Mở lớp", "account.opened": "Mở tài khoản", "account.disabled": "Khóa tài khoản",
           "assignment.made": "Phân công", "assignment.ended": "Kết thúc phân công",
           "assignment.approved": "Hiệu trưởng duyệt phân công", "assignment.refused": "Hiệu trưởng từ chối phân công",
           "calendar.reopened": "Mở lại sau hạn theo quyết định của Sở"},
    "en": {"assessment.recorded": "Assessment recorded", "subject_comment.recorded": "Subject comment",
           "conduct.recorded": "Conduct recorded", "absences.recorded": "Absences recorded",
           "homeroom_comment.recorded": "Homeroom comment", "reassessment.recorded": "Summer re-assessment",
           "summer_conduct.recorded": "Summer conduct", "correction.requested": "Correction requested",
           "correction.approved": "Correction approved", "correction.rejected": "Correction rejected",
           "correction.expired": "Correction expired", "assessment.corrected": "Assessment corrected",
           "conduct.corrected": "Conduct corrected", "signature.added": "Digital signature",
           "sheet.signed": "Class sheet signed", "class_term.signed": "Term signed by the homeroom teacher",
           "hocba.issued": "Học bạ issued", "hocba.receipt": "Receipt",
           "hocba.revoked": "Học bạ revoked", "hocba.inherited": "Học bạ received on transfer",
           "family.notified": "Family notified",
           "hocba.pdf_archive_renewed": "Học bạ PDF archive timestamp renewed",
           "hocba.xml_archive_renewed": "Học bạ XML archive timestamp renewed",
           "student.registered": "Student profile", "student.enrolled": "Enrolled", "student.withdrawn": "Withdrawn",
           "entry.locked": "Entry locked", "entry.opened": "Entry reopened", "transfer.opened": "Transfer opened",
           "transfer.signed": "Transfer signed", "transfer.received": "Transfer received",
           "class.opened": "Class opened", "account.opened": "Account opened", "account.disabled": "Account disabled",
           "assignment.made": "Assignment", "assignment.ended": "Assignment ended",
           "assignment.approved": "Grant approved by the principal",
           "assignment.refused": "Grant refused by the principal",
           "calendar.reopened": "Reopened by the Department's decision"},
}  # fmt: skip

# What each request did, by its route's operation, as the access log shows it.
OPERATIONS = {
    "vi": {
        "absences_write": "Ghi số buổi nghỉ", "account_create": "Mở tài khoản", "account_disable": "Khóa tài khoản",
        "assessment_evaluate": "Tính kết quả theo TT22", "assignment_approve": "Duyệt phân công",
        "assignment_end": "Kết thúc phân công", "assignment_list": "Xem phân công",
        "assignment_refuse": "Từ chối phân công", "audit_access": "Xem nhật ký truy cập",
        "audit_alerts": "Xem cảnh báo", "auth_certificate": "Đăng nhập bằng chứng thư số",
        "auth_challenge": "Xin mã thử thách đăng nhập", "auth_sign_out": "Đăng xuất", "auth_token": "Đăng nhập",
        "calendar_read": "Xem lịch năm học", "calendar_reopen": "Mở lại sau hạn",
        "calendar_set": "Ban hành lịch năm học",
        "certificate_list": "Xem chứng thư số", "certificate_register": "Đăng ký chứng thư số",
        "certificate_revoke": "Thu hồi chứng thư số", "class_summary": "Xem tổng hợp kết quả lớp",
        "class_term_signature_prepare": "Chuẩn bị ký kết quả học kì của lớp",
        "class_term_signature_status": "Xem chữ ký kết quả học kì của lớp",
        "class_term_signature_submit": "Ký kết quả học kì của lớp",
        "conduct_write": "Ghi kết quả rèn luyện", "correction_approve": "Phê duyệt điều chỉnh",
        "correction_file_conduct": "Đề nghị điều chỉnh rèn luyện", "correction_file_sheet": "Đề nghị điều chỉnh điểm",
        "correction_list": "Xem đề nghị điều chỉnh", "correction_read": "Xem một đề nghị điều chỉnh",
        "correction_reject": "Từ chối điều chỉnh", "health": "Kiểm tra dịch vụ", "hocba_issue": "Ban hành học bạ",
        "hocba_pdf": "Xem học bạ (PDF)", "hocba_xml": "Xem học bạ (XML)",
        "homeroom_comments_write": "Ghi nhận xét của GVCN", "import_rows": "Nhập dữ liệu từ tệp",
        "integration_feed": "Đọc dữ liệu kết nối", "issued_list": "Xem danh sách học bạ đã ban hành",
        "issued_revoke": "Thu hồi học bạ", "ledger_checkpoint": "Xem điểm kiểm tra sổ cái",
        "ledger_verify": "Kiểm tra sổ cái", "lock_set": "Khóa hoặc mở nhập liệu", "me": "Xem tài khoản của mình",
        "me_password": "Đổi mật khẩu", "metrics": "Đọc số liệu giám sát", "page_access": "Trang nhật ký truy cập",
        "page_account_disable": "Khóa tài khoản (trang)", "page_assignment_end": "Kết thúc phân công (trang)",
        "page_audit": "Trang tình trạng sổ cái", "page_audit_verify": "Kiểm tra sổ cái (trang)",
        "page_board": "Trang ký số của lớp", "page_board_sign": "Ký số trên bảng ký của lớp",
        "page_token_prepare": "Chuẩn bị lô ký bằng USB token", "page_token_submit": "Gửi lô đã ký bằng USB token",
        "page_calendar": "Trang lịch năm học", "page_charts": "Trang biểu đồ của lớp",
        "page_decide": "Quyết định đề nghị điều chỉnh (trang)", "page_grant_decide": "Duyệt phân công (trang)",
        "page_home": "Trang chính", "page_inbox": "Trang đề nghị điều chỉnh", "page_lock": "Khóa nhập liệu (trang)",
        "page_login": "Trang đăng nhập", "page_login_submit": "Đăng nhập (trang)", "page_logout": "Đăng xuất (trang)",
        "page_people": "Trang nhân sự", "page_portal": "Cổng xác minh", "page_portal_lookup": "Tra cứu học bạ",
        "page_progress": "Trang tiến độ nhập điểm", "page_summary": "Trang tổng hợp kết quả",
        "page_calendar_set": "Ban hành lịch năm học (trang)",
        "page_report_card": "Phiếu báo kết quả",
        "page_homeroom": "Trang chủ nhiệm",
        "page_homeroom_save": "Lưu trang chủ nhiệm",
        "page_homeroom_sign": "Ký xác nhận học kì (trang)",
        "page_year_end": "Trang tổng kết năm học của lớp",
        "page_reassessment": "Trang kiểm tra lại trong hè",
        "page_reassessment_save": "Lưu điểm kiểm tra lại (trang)",
        "page_summer_conduct_save": "Lưu kết quả rèn luyện sau hè (trang)",
        "page_portal_verify": "Kiểm tra tệp học bạ", "page_sheet": "Trang sổ điểm", "page_sheet_save": "Lưu sổ điểm",
        "page_sheet_correction": "Đề nghị điều chỉnh (trang)", "page_sheet_sign": "Ký bảng điểm lớp (trang)",
        "page_sheet_sign_hocba": "Ký môn trong học bạ (trang)", "page_student": "Trang kết quả học tập",
        "page_sheet_import_check": "Chạy thử nhập sổ điểm từ tệp (trang)",
        "page_sheet_import": "Nhập sổ điểm từ tệp (trang)",
        "page_student_document": "Tải tệp học bạ", "page_timeline": "Trang dòng thời gian",
        "pki_crl": "Tải danh sách chứng thư bị thu hồi", "portal_lookup": "Tra cứu học bạ",
        "portal_resend": "Gửi lại học bạ", "portal_verify": "Kiểm tra tệp học bạ", "ready": "Kiểm tra dịch vụ",
        "reassessments_write": "Ghi kết quả kiểm tra lại", "sheet_import": "Nhập sổ điểm từ tệp",
        "sheet_read": "Xem sổ điểm", "sheet_reconcile": "Đối soát sổ điểm",
        "sheet_signature_prepare": "Chuẩn bị ký bảng điểm lớp", "sheet_signature_status": "Xem chữ ký bảng điểm lớp",
        "sheet_signature_submit": "Ký bảng điểm lớp", "sheet_write": "Ghi sổ điểm",
        "signature_prepare": "Chuẩn bị ký học bạ", "signature_submit": "Ký học bạ",
        "class_signature_prepare": "Chuẩn bị ký học bạ cả lớp", "class_signature_submit": "Ký học bạ cả lớp",
        "signature_submit_pdf": "Ký bản PDF của học bạ", "student_issued": "Xem học bạ đã ban hành",
        "student_issued_document": "Tải tệp học bạ", "student_record_signed": "Xem hồ sơ đã ký",
        "student_transcript": "Xem kết quả học tập", "student_viewers": "Xem ai đã xem hồ sơ",
        "summer_conduct_write": "Ghi kết quả rèn luyện hè", "time_stamp": "Xin dấu thời gian",
        "transfer_list": "Xem hồ sơ chuyển trường", "transfer_open": "Mở hồ sơ chuyển trường",
        "transfer_paper": "Lưu bản quét học bạ giấy", "transfer_prepare": "Chuẩn bị ký hồ sơ chuyển trường",
        "transfer_receive": "Nhận hồ sơ chuyển đến", "transfer_record": "Xem hồ sơ chuyển trường",
        "transfer_submit": "Ký hồ sơ chuyển trường",
    },
    "en": {},  # the English pages show the operation's own name
}  # fmt: skip
