"""Notifiers: how the portal sends lost files to a guardian's registered phone. The default only
writes a log line (with the identifiers masked by the logging setup); a deployment plugs in its SMS
or Zalo gateway by passing another Notifier to create_app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ledger.base.logs import get_logger

log = get_logger(__name__)


class Notifier(Protocol):
    async def send(self, school: str, student: str, phone: str, documents: Sequence[tuple[str, bytes]]) -> None:
        """Send `documents` (file name, bytes) about `student` to `phone`."""


class LoggingNotifier:
    """Sends nothing: records that a send was asked for."""

    async def send(self, school: str, student: str, phone: str, documents: Sequence[tuple[str, bytes]]) -> None:
        log.info(
            "files to send again to a guardian",
            school=school,
            student=student,
            phone=phone,
            files=[name.rsplit(".", 1)[-1] for name, _ in documents],
        )
