"""Outgoing mail: an outbox that loses nothing (pretix's outbox is the model).

:func:`queue_mail` writes a row of ``mail_outbox`` inside the caller's
``database.transaction()``; the job that sends it is handed to the queue (crm_expo.jobs) only
after that transaction committed, so a rolled-back change sends nothing and a worker always
finds the row. The worker (:func:`deliver`) claims each row before sending it — PostgreSQL:
``SELECT … FOR UPDATE SKIP LOCKED``; SQLite: one ``UPDATE … WHERE status IN (…)`` whose row
count says who won — so two workers never send one mail; it then sends through smtplib and
marks it sent. A temporary SMTP error (4xx, server down or slow) → retrying, with a wait that
doubles at each attempt, up to ``MAIL_MAX_ATTEMPTS``, then failed; a permanent one (5xx) →
failed, and a bounce recorded on the Person (``mail_bounced_at``, audited). A worker killed
while sending leaves its row "sending": once its lease (``MAIL_SENDING_TIMEOUT_SECONDS``) is
over the periodic :func:`sweep` queues it again, with the Message-ID it was given when queued
(a re-send after a crash is recognisable by it; only a mail the server had accepted in the
instant before the kill can arrive twice). Marketing mail (``purpose`` a consent purpose)
carries ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` and is withheld, never sent, when
the person's consent for it is withdrawn.

SMTP is configured by MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME, MAIL_PASSWORD and
MAIL_SENDER in app.config."""
from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_request_context, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import DateTime, bindparam, func, select, text, update

from . import signals
from .database import _DEPTH, _QUEUE, is_sqlite, transaction, utcnow
from .errors import DomainError
from .extensions import db
from .jobs import crontab, job
from .models import Consent, OutboxMail, Person, audit
from .models.contacts import CONSENT_PURPOSES

TRANSACTIONAL = "transactional"
BATCH = 100                 # mails per delivery job: one SMTP connection serves a batch
MAX_RETRY_WAIT = 6 * 3600   # seconds


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server (the reason is in the message)."""


class UnsubscribeError(DomainError):
    """An unsubscribe link that is forged or damaged."""


def build_message(to: str | list[str], subject: str, text: str, html: str | None = None,
                  sender: str | None = None, *, message_id: str | None = None, reply_to: str = "",
                  headers: dict | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender or current_app.config.get("MAIL_SENDER") or "crm-expo@localhost"
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id or new_message_id()
    if reply_to:
        msg["Reply-To"] = reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)   # UTF-8; Chinese text survives any 8-bit-clean server
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def new_message_id() -> str:
    sender = current_app.config.get("MAIL_SENDER") or ""
    domain = sender.rpartition("@")[2].strip(">") or "crm-expo"
    return make_msgid(domain=domain)


def _smtp() -> smtplib.SMTP:
    cfg = current_app.config
    host, port = cfg.get("MAIL_SERVER") or "localhost", int(cfg.get("MAIL_PORT") or 25)
    smtp = smtplib.SMTP(host, port, timeout=float(cfg.get("MAIL_TIMEOUT_SECONDS") or 10))
    try:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def send_mail(to: str | list[str], subject: str, text: str, html: str | None = None, *,
              timeout: float = 10.0) -> EmailMessage:
    """Send one message now, outside the outbox (a test message, a check of the settings).
    Everything else goes through :func:`queue_mail`. Raises MailError naming the cause."""
    msg = build_message(to, subject, text, html)
    try:
        with _smtp() as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        cfg = current_app.config
        raise MailError(f"could not send mail through {cfg.get('MAIL_SERVER')}:{cfg.get('MAIL_PORT')}: {exc}") \
            from exc
    return msg


# --- queueing --------------------------------------------------------------------------------
def queue_mail(to: str, subject: str, text: str, html: str | None = None, *, purpose: str = TRANSACTIONAL,
               person: Person | None = None, language: str | None = None, sender: str = "",
               reply_to: str = "", headers: dict | None = None) -> OutboxMail:
    """Put one mail in the outbox, in the open ``transaction()`` (or one of its own): it is
    handed to a worker when that transaction commits, and never if it rolls back.

    ``purpose``: "transactional" (a confirmation, a receipt: always sent) or a consent purpose
    ("marketing"…): then ``person`` is required, the mail carries the unsubscribe headers, and
    it is withheld while the person's consent for the purpose is not granted."""
    if purpose != TRANSACTIONAL and purpose not in CONSENT_PURPOSES:
        raise ValueError(f"unknown mail purpose {purpose!r}")
    if purpose != TRANSACTIONAL and person is None:
        raise ValueError("a mail for a consent purpose needs its person")
    headers = dict(headers or {})
    body = text
    if purpose != TRANSACTIONAL:
        link = unsubscribe_url(person.id, purpose)
        headers["List-Unsubscribe"] = f"<{link}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"   # RFC 8058 one-click
        with force_locale(language or str(get_locale() or "zh")):
            body = text.rstrip("\n") + "\n\n-- \n" + _("Unsubscribe: %(link)s", link=link) + "\n"
    withheld = purpose != TRANSACTIONAL and not person.consent(purpose)
    with transaction() as session:
        mail = OutboxMail(
            recipient=to, subject=subject, text=body, html=html, sender=sender, reply_to=reply_to,
            headers=headers, purpose=purpose, person_id=person.id if person is not None else None,
            language=language or str(get_locale() or current_app.config.get("DEFAULT_LOCALE") or "zh"),
            status="withheld" if withheld else "queued", message_id=new_message_id(),
            last_error="consent withdrawn" if withheld else "")
        session.add(mail)
        if not withheld:
            _pending_ids(session).append(mail.message_id)
    return mail


def _pending_ids(session) -> list:
    """The Message-IDs queued in this transaction, handed to the queue after its commit: one
    entry in the transaction's after-commit queue, whatever the number of mails."""
    for signal, _sender, kwargs in session.info.get(_QUEUE, ()):
        if signal is signals.mail_queued:
            return kwargs["message_ids"]
    message_ids: list = []
    assert session.info.get(_DEPTH), "queue_mail opens its own transaction"
    signals.send_after_commit(signals.mail_queued, None, message_ids=message_ids)
    return message_ids


@signals.mail_queued.connect
def _hand_to_queue(_sender, message_ids, **_kw):
    for start in range(0, len(message_ids), BATCH):
        deliver.delay(message_ids[start:start + BATCH])


# --- delivery ----------------------------------------------------------------------------------
_CLAIMABLE = ("(status = 'queued' OR (status IN ('retrying', 'sending') AND next_attempt_at <= :now))")
_COLUMNS = "id, recipient, subject, text, html, sender, reply_to, headers, purpose, person_id, attempts, message_id"


def _times(*names):
    return [bindparam(name, type_=DateTime()) for name in names]


def _claim(message_id: str):
    """Take one mail for this worker (status → sending, a lease), or None when it is sent,
    being sent by another worker, not due yet or gone."""
    now = utcnow()
    lease = now + dt.timedelta(seconds=int(current_app.config["MAIL_SENDING_TIMEOUT_SECONDS"]))
    params = {"mid": message_id, "now": now, "lease": lease}
    if is_sqlite():
        # SQLite has one writer at a time: the UPDATE's WHERE decides, atomically, who wins.
        sql = (f"UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = :lease "
               f"WHERE message_id = :mid AND {_CLAIMABLE} RETURNING {_COLUMNS}")
    else:
        # A row another worker holds is skipped, not waited for (and its status re-read).
        sql = (f"UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = :lease "
               f"WHERE id = (SELECT id FROM mail_outbox WHERE message_id = :mid AND {_CLAIMABLE} "
               f"FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}")
    with transaction() as session:
        row = session.execute(text(sql).bindparams(*_times("now", "lease")), params).mappings().first()
        row = dict(row) if row is not None else None
        if row is not None and row["purpose"] != TRANSACTIONAL and not _consented(row["person_id"], row["purpose"]):
            session.execute(update(OutboxMail).where(OutboxMail.id == row["id"])
                            .values(status="withheld", last_error="consent withdrawn", next_attempt_at=None))
            return None
    return row


def _consented(person_id: int | None, purpose: str) -> bool:
    if person_id is None:
        return False
    granted = db.session.scalar(select(Consent.granted).where(Consent.person_id == person_id,
                                                              Consent.purpose == purpose)
                                .order_by(Consent.at.desc(), Consent.id.desc()).limit(1))
    return bool(granted)


def _message(row) -> EmailMessage:
    headers = row["headers"]
    if isinstance(headers, str):      # raw SQL on SQLite returns the JSON text
        import json
        headers = json.loads(headers or "{}")
    return build_message(row["recipient"], row["subject"], row["text"], row["html"], row["sender"] or None,
                         message_id=row["message_id"], reply_to=row["reply_to"], headers=headers)


def _smtp_code(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return max(codes) if codes else None
    return getattr(exc, "smtp_code", None)


def _retry_wait(attempts: int) -> int:
    base = int(current_app.config["MAIL_RETRY_SECONDS"])
    return min(base * 2 ** max(attempts - 1, 0), MAX_RETRY_WAIT)


def _mark_sent(mail_id: int) -> None:
    with transaction() as session:
        session.execute(update(OutboxMail).where(OutboxMail.id == mail_id)
                        .values(status="sent", sent_at=utcnow(), next_attempt_at=None, last_error=""))


def _mark_failed_for_now(row, error: str) -> int | None:
    """A temporary error: retrying after a wait (the seconds returned), or failed when the
    mail had its last attempt (None)."""
    attempts = row["attempts"]
    with transaction() as session:
        if attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"]):
            session.execute(update(OutboxMail).where(OutboxMail.id == row["id"])
                            .values(status="failed", next_attempt_at=None, last_error=error[:2000]))
            return None
        wait = _retry_wait(attempts)
        session.execute(update(OutboxMail).where(OutboxMail.id == row["id"])
                        .values(status="retrying", next_attempt_at=utcnow() + dt.timedelta(seconds=wait),
                                last_error=error[:2000]))
    return wait


def _mark_bounced(row, error: str) -> None:
    """A permanent error (5xx): failed, and the bounce recorded on the person."""
    now = utcnow()
    with transaction() as session:
        session.execute(update(OutboxMail).where(OutboxMail.id == row["id"])
                        .values(status="failed", next_attempt_at=None, last_error=error[:2000]))
        person = session.get(Person, row["person_id"]) if row["person_id"] else None
        if person is None:
            person = session.scalar(select(Person).where(Person.email == row["recipient"].lower(),
                                                         Person.erased_at.is_(None)).order_by(Person.id).limit(1))
        if person is not None:
            person.mail_bounced_at = now
            audit("mail.bounce", person, actor="system",
                  after={"recipient": row["recipient"], "message_id": row["message_id"], "error": error[:500]})


def _postpone(message_ids: list, error: str) -> int:
    """The server cannot be reached: the mails of the batch not tried yet wait like the one
    that was (one attempt each), without a connection attempt per mail."""
    now = utcnow()
    wait = _retry_wait(1)
    with transaction() as session:
        session.execute(
            text(f"UPDATE mail_outbox SET status = 'retrying', attempts = attempts + 1, next_attempt_at = :at, "
                 f"last_error = :error WHERE message_id IN :mids AND {_CLAIMABLE}")
            .bindparams(bindparam("mids", expanding=True), *_times("now", "at")),
            {"mids": list(message_ids), "now": now, "at": now + dt.timedelta(seconds=wait), "error": error[:2000]})
    return wait


@job()
def deliver(message_ids: list) -> None:
    """Send the outbox mails with these Message-IDs that are still to send (one SMTP
    connection for the batch)."""
    smtp = None
    retry: dict[int, list] = {}     # wait in seconds → Message-IDs
    try:
        for index, mid in enumerate(message_ids):
            row = _claim(mid)
            if row is None:
                continue
            try:
                if smtp is None:
                    smtp = _smtp()
                smtp.send_message(_message(row))
            except (OSError, smtplib.SMTPException) as exc:
                code = _smtp_code(exc)
                error = f"{type(exc).__name__}: {exc}"
                if code is not None and 500 <= code < 600:
                    _mark_bounced(row, error)
                    continue        # smtplib reset the session: go on with the next mail
                wait = _mark_failed_for_now(row, error)
                if wait is not None:
                    retry.setdefault(wait, []).append(mid)
                if smtp is None or isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):
                    _quit(smtp)
                    smtp = None
                    rest = message_ids[index + 1:]
                    if rest:
                        retry.setdefault(_postpone(rest, error), []).extend(rest)
                    break
                continue
            _mark_sent(row["id"])
    finally:
        _quit(smtp)
        db.session.remove()
    for wait, mids in retry.items():
        # A second or so late, so that the mails are due when the job runs; the sweep is
        # the safety net if this job is lost.
        deliver.schedule((mids,), delay=wait + 1)


def _quit(smtp) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


SWEEP_LIMIT = 10_000


def due_message_ids(limit: int = SWEEP_LIMIT) -> list[str]:
    """Mails that no job will pick up: retries that are due, mails whose worker's lease ran
    out ("sending" still: it was killed), and mails queued longer than a lease ago (the
    process died between the commit and handing the job over)."""
    now = utcnow()
    lost = now - dt.timedelta(seconds=int(current_app.config["MAIL_SENDING_TIMEOUT_SECONDS"]))
    stmt = (select(OutboxMail.message_id)
            .where(((OutboxMail.status.in_(("retrying", "sending"))) & (OutboxMail.next_attempt_at <= now))
                   | ((OutboxMail.status == "queued") & (OutboxMail.created_at <= lost)))
            .order_by(OutboxMail.id).limit(limit))
    return list(db.session.scalars(stmt))


@job(periodic=crontab(minute="*"))
def sweep() -> int:
    """Every minute: queue again the mails no job will pick up (:func:`due_message_ids`)."""
    mids = due_message_ids()
    db.session.remove()
    for start in range(0, len(mids), BATCH):
        deliver.delay(mids[start:start + BATCH])
    return len(mids)


def status_counts() -> dict[str, int]:
    from .models.mail import MAIL_STATUSES
    counts = dict.fromkeys(MAIL_STATUSES, 0)
    counts.update(db.session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all())
    return counts


# --- unsubscribe -----------------------------------------------------------------------------
def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="crm-expo-unsubscribe")


def unsubscribe_token(person_id: int, purpose: str) -> str:
    return _serializer().dumps([person_id, purpose])


def unsubscribe_url(person_id: int, purpose: str) -> str:
    base = current_app.config.get("PUBLIC_URL") or (request.host_url if has_request_context() else "")
    base = (base or "http://localhost:8000/").rstrip("/")
    return f"{base}/mail/unsubscribe/{unsubscribe_token(person_id, purpose)}"


def read_unsubscribe_token(token: str) -> tuple[Person, str]:
    try:
        person_id, purpose = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise UnsubscribeError(_("This unsubscribe link is not valid."), "bad_link", status=404) from None
    person = db.session.get(Person, person_id) if isinstance(person_id, int) else None
    if person is None or person.erased_at is not None or purpose not in CONSENT_PURPOSES:
        raise UnsubscribeError(_("This unsubscribe link is not valid."), "bad_link", status=404)
    return person, purpose


def withdraw_consent(person: Person, purpose: str, *, source: str = "unsubscribe") -> int:
    """Withdraw the person's consent for ``purpose`` (a new Consent row, audited) and withhold
    the mail for that purpose still waiting in the outbox. Returns how many were withheld."""
    with transaction() as session:
        if person.consent(purpose):
            session.add(Consent(person_id=person.id, purpose=purpose, granted=False, source=source))
            audit("consent.withdraw", person, actor="system" if not has_request_context() else None,
                  after={"purpose": purpose, "source": source})
        result = session.execute(
            update(OutboxMail).where(OutboxMail.person_id == person.id, OutboxMail.purpose == purpose,
                                     OutboxMail.status.in_(("queued", "retrying")))
            .values(status="withheld", last_error="consent withdrawn", next_attempt_at=None))
        session.expire(person, ["consents"])
    return result.rowcount
