"""Handing outbox messages to an SMTP server (plain, STARTTLS or SSL)."""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from leaksentry.config import SmtpSettings
from leaksentry.errors import DeliveryError, SmtpUnavailable


def build_message(row: dict, sender: str) -> EmailMessage:
    """A multipart/alternative mail (plain text and HTML) from an outbox row."""
    message = EmailMessage()
    message["Subject"] = row["subject"]
    message["From"] = sender
    message["To"] = ", ".join(json.loads(row["recipients"]))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = row["message_id"]
    if row.get("in_reply_to"):  # one thread per brief in the operator's mail client
        message["In-Reply-To"] = row["in_reply_to"]
        message["References"] = row["refs"] or row["in_reply_to"]
    message.set_content(row["body_text"])
    message.add_alternative(row["body_html"], subtype="html")
    return message


class Mailer:
    """One SMTP session for a batch of messages; connection problems raise SmtpUnavailable."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        s = self.settings
        try:
            if s.security == "ssl":
                self._smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=_tls(s))
            else:
                self._smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    self._smtp.starttls(context=_tls(s))
            if s.user:
                self._smtp.login(s.user, s.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            self._close()
            raise SmtpUnavailable(
                f"SMTP server {s.host}:{s.port} not usable: {_reason(exc)}"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def send(self, message: EmailMessage) -> dict:
        """The recipients refused (when others were accepted); DeliveryError when none was."""
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPServerDisconnected as exc:
            raise SmtpUnavailable(f"SMTP connection lost: {_reason(exc)}") from None
        except smtplib.SMTPException as exc:  # refused by the server (SMTPException is an OSError)
            raise DeliveryError(f"message refused: {_reason(exc)}") from None
        except OSError as exc:
            raise SmtpUnavailable(f"SMTP connection lost: {_reason(exc)}") from None
        return refused

    def _close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _tls(settings: SmtpSettings) -> ssl.SSLContext:
    """Certificate and host name checked; against `ca_file` when set, else the system's CAs."""
    return ssl.create_default_context(cafile=settings.ca_file)


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
