"""A real mail server on loopback for the tests (aiosmtpd), and the product's SMTP notifier pointed
at it; a guardian's e-mail address written into the student's profile as a clerk records it."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ledger.app.notify import SmtpNotifier
from ledger.base.settings import SmtpSettings
from ledger.log.projection import read
from ledger.school.years.commands import register_students
from ledger.school.years.model import profile_of
from ledger.school.years.tables import students
from tests.support.helpers import SETUP
from tests.support.signers import Signers


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def mailer(port: int) -> SmtpNotifier:
    return SmtpNotifier(SmtpSettings(host="127.0.0.1", port=port, sender="hocba@khanhphu.edu.vn", tls="none"))


async def with_guardian_emails(signers: Signers, student: str, addresses: list[str]) -> None:
    """The student's guardians, each with an address of their own."""
    async with signers.demo.ledger.engine.connect() as conn:
        [row] = await read(conn, students, signers.demo.school, student_id=student)
    profile = profile_of(row)
    profile["guardians"] = [
        {"full_name": name, "relation": relation, "email": address}
        for (name, relation), address in zip((("Trần Thị Mai", "Mẹ"), ("Lê Văn Hùng", "Bố")), addresses, strict=False)
    ]
    await register_students(signers.demo.ledger, signers.demo.school, SETUP, [profile])
