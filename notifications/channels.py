"""Delivery channels: email over SMTP, SMS (an interface; the shipped one only logs)."""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("himaya.notifications")


class SmtpUrlError(ValueError):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: str  # "none" | "starttls" | "ssl"
    sender: str


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp://[user:pass@]host[:port][?starttls=1&from=addr]`` or ``smtps://…``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise SmtpUrlError(f"HIMAYA_SMTP_URL does not parse: {error}") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpUrlError("HIMAYA_SMTP_URL must look like smtp://user:password@host:587?starttls=1 "
                           "or smtps://host:465")
    query = parse_qs(parts.query)
    tls = "ssl" if parts.scheme == "smtps" else ("starttls" if query.get("starttls", ["0"])[0] in ("1", "true")
                                                 else "none")
    return SmtpSettings(
        host=parts.hostname, port=port or (465 if tls == "ssl" else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls, sender=query.get("from", ["himaya@localhost"])[0])


class EmailSender:
    def __init__(self, settings: SmtpSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def send(self, to: str, subject: str, body: str, *, key: str | None = None) -> None:
        """Send one email; ``key`` (unique per message) fixes its Message-ID, so a repeat after a
        crash is recognisably the same message."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.settings.sender, to, subject
        domain = self.settings.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = f"<{key}@{domain}>" if key else make_msgid(domain=domain)
        message.set_content(body)
        s = self.settings
        if s.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        with client:
            if s.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password or "")
            client.send_message(message)


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LogSmsSender:
    """The SMS channel of this installation: it logs that a message would go (no content)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))
        log.info("sms queued to a phone number ending %s (%d characters)", phone[-2:], len(text))
