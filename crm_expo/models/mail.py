"""The mail outbox: every outgoing mail is a row here, written in the transaction of the
change that causes it and sent by a worker after the commit (crm_expo.mail)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import utcnow
from ..extensions import db

MAIL_STATUSES = ("queued", "sending", "sent", "retrying", "failed", "withheld")


class OutboxMail(db.Model):
    """One outgoing mail. queued → sending → sent, or → retrying (a temporary SMTP error,
    sent again after ``next_attempt_at``) → … → failed (a permanent error, or too many
    attempts); withheld: its consent purpose was withdrawn, never sent.

    While a mail is "sending", ``next_attempt_at`` is the end of its worker's lease: past
    it (the worker died) the mail may be claimed again. ``message_id`` is fixed when the
    mail is queued, so a re-send after a crash carries the same Message-ID."""
    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('queued','sending','sent','retrying','failed','withheld')", name="status"),
        Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    subject: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text, default=None)
    sender: Mapped[str] = mapped_column(String(200), default="")
    reply_to: Mapped[str] = mapped_column(String(200), default="")
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    purpose: Mapped[str] = mapped_column(String(32), default="transactional")   # or a consent purpose
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
