"""Notifiers: how the service reaches families. Two things are sent:

- `send`: the portal sends lost files to a guardian's registered phone;
- `notice`: a short message to the guardians' e-mail addresses when a học bạ is issued or revoked
  (ledger.app.notices decides what and when, from the ledger).

The default only writes log lines (with identifiers masked by the logging setup). With
HOCBA_SMTP_HOST set, notices go out by e-mail (`SmtpNotifier`); a deployment plugs in its SMS or Zalo
gateway for phones by passing another Notifier to create_app.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol

from ledger.base.logs import get_logger
from ledger.base.settings import SmtpSettings

log = get_logger(__name__)


class Notifier(Protocol):
    async def send(self, school: str, student: str, phone: str, documents: Sequence[tuple[str, bytes]]) -> None:
        """Send `documents` (file name, bytes) about `student` to `phone`."""

    async def notice(self, school: str, student: str, addresses: Sequence[str], subject: str, body: str) -> None:
        """Send a notice about `student` to `addresses`; raise if it could not be handed over."""


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

    async def notice(self, school: str, student: str, addresses: Sequence[str], subject: str, body: str) -> None:
        log.info("notice to a family (no mail server configured)", school=school, student=student, to=len(addresses))


class SmtpNotifier(LoggingNotifier):
    """Notices by e-mail through the school's or the Sở's mail server (SMTP with STARTTLS or TLS, in
    a worker thread so the service never waits on the mail server). Files for phones are still only
    logged: phones need the deployment's gateway."""

    def __init__(self, settings: SmtpSettings, sender_name: str = "Học bạ số") -> None:
        self.settings = settings
        self.sender_name = sender_name

    async def notice(self, school: str, student: str, addresses: Sequence[str], subject: str, body: str) -> None:
        """One message per address: guardians of one child need not be shown each other's address."""
        messages = []
        for address in addresses:
            message = EmailMessage()
            message["From"] = formataddr((self.sender_name, self.settings.sender))
            message["To"] = address
            message["Subject"] = subject
            message["Message-ID"] = make_msgid(domain=self.settings.sender.rsplit("@", 1)[-1])
            message.set_content(body, charset="utf-8")
            messages.append(message)
        await asyncio.to_thread(self._deliver, messages)
        log.info("notice mailed to a family", school=school, student=student, to=len(addresses))

    def _deliver(self, messages: list[EmailMessage]) -> None:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.tls == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=30, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=30)
        with smtp:
            if s.tls == "starttls":
                smtp.starttls(context=context)
            if s.user and s.password_file:
                smtp.login(s.user, s.password_file.read_text().strip())
            for message in messages:
                smtp.send_message(message)


def notifier_for(settings: SmtpSettings | None) -> Notifier:
    """E-mail when a mail server is configured; otherwise log lines."""
    return SmtpNotifier(settings) if settings is not None else LoggingNotifier()
