"""Application logs carry no secrets and no personal identifiers in plain text."""

from __future__ import annotations

import json
import logging

import pytest

from ledger.base.logs import configure_logging, get_logger


def test_json_logs_redact_secrets_and_mask_identifiers(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    try:
        get_logger("test").info(
            "lookup for 079201001234 by phone 0912345678",
            password="hunter2",
            personal_id="079201001234",
            school="khanh-phu",
        )
        logging.getLogger("stdlib").warning("guardian 0987654321 asked")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    finally:
        configure_logging("console")
    text = json.dumps(lines, ensure_ascii=False)
    for secret in ("hunter2", "079201001234", "0912345678", "0987654321"):
        assert secret not in text
    first = lines[0]
    assert first["password"] == "[redacted]" and first["personal_id"] == "[redacted]"
    assert first["school"] == "khanh-phu"
    assert first["event"] == "lookup for *********234 by phone *******678"
    assert lines[1]["event"] == "guardian *******321 asked"
