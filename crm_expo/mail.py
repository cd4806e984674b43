"""Outgoing mail through SMTP (smtplib), configured by MAIL_SERVER, MAIL_PORT,
MAIL_USE_TLS, MAIL_USERNAME, MAIL_PASSWORD and MAIL_SENDER in app.config."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server (the reason is in the message)."""


def build_message(to: str | list[str], subject: str, text: str, html: str | None = None,
                  sender: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender or current_app.config.get("MAIL_SENDER") or "crm-expo@localhost"
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="crm-expo")
    msg.set_content(text)   # UTF-8; Chinese text survives any 8-bit-clean server
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def send_mail(to: str | list[str], subject: str, text: str, html: str | None = None, *,
              timeout: float = 10.0) -> EmailMessage:
    """Send one message now (synchronously). Raises MailError naming the cause."""
    cfg = current_app.config
    msg = build_message(to, subject, text, html)
    host, port = cfg.get("MAIL_SERVER") or "localhost", int(cfg.get("MAIL_PORT") or 25)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not send mail through {host}:{port}: {exc}") from exc
    return msg
