"""Domain logic of the onsite plugin: plain functions, no request object.

- check_in(): the gate's hot path (rules, single entry, nonce replay), every scan recorded.
- attendance(): audited figures from the scan records.
- print_badges(): badge PDFs with a print log (reprints need a reason).
- the service centre's closed loop: open → route → in progress → resolve → feedback →
  closed when satisfied, else reopened, and again until satisfied (DOMAIN.md §7).
"""
from __future__ import annotations

import datetime as dt
import re
from collections import namedtuple
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, and_, case, func, insert, select
from sqlalchemy.exc import IntegrityError

from crm_expo import signals
from crm_expo.database import (
    FastStatement,
    close_hot_connection,
    hot_connection,
    integrity_error,
    is_sqlite,
    transaction,
    utcnow,
    violated,
    writer_lock,
)
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.i18n import local_name
from crm_expo.models import Organization, Person, Show, audit, get_setting
from plugins.visitors import operations as visitor_ops
from plugins.visitors.models import CATEGORY_TITLES, Registration

from .models import REQUEST_STATUSES, BadgePrint, Lead, Notice, Scan, ServiceEvent, ServiceRequest


class OnsiteError(DomainError):
    """A refusal with a message for the user."""


DEFAULT_SETTINGS = {
    "onsite.reentry": False,          # False: one admitted entry per person and show day
    "onsite.exit_scans": False,       # record exit scans at the gates
    "onsite.print_on_checkin": False,  # the desk prints a first badge at check-in (first entry, walk-in)
    # SLA targets: minutes from logging to resolution, per priority.
    "onsite.sla_minutes": {"urgent": 30, "high": 120, "normal": 480, "low": 1440},
}


def local_day(show: Show, at: dt.datetime) -> dt.date:
    """The show-local date of a naive UTC time."""
    return at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(show.timezone)).date()


# --- check-in ---------------------------------------------------------------------------------
# The codes this system issues (12 characters) and those a registration system printed before
# the visitors were imported (6 to 64 letters and digits, hyphens dropped by normalize_code).
CODE_RE = re.compile(r"^[A-Z0-9]{6,64}$")
REASONS = {
    "admitted": _l("Welcome"),
    "reentry": _l("Re-entry"),
    "exit": _l("Exit recorded"),
    "already_in": _l("Already checked in today"),
    "malformed": _l("This is not a badge code of this system"),
    "unknown_code": _l("Unknown badge code"),
    "other_show": _l("This badge is for another show"),
    "revoked": _l("This badge was replaced (lost badge); the old badge is no longer valid"),
    "exit_scans_off": _l("Exit scans are not used at this show"),
}


def _person_json(reg: Registration) -> dict:
    person = reg.person
    org = person.organization
    return {"registration_id": reg.id, "name_zh": person.name_zh, "name_en": person.name_en,
            "company": (org.name_zh or org.name_en) if org else "",
            "category": reg.category, "category_title": str(visitor_ops_category_title(reg.category))}


def visitor_ops_category_title(category: str):
    return CATEGORY_TITLES.get(category, category)


def check_in(show, code: str, gate: str, *, nonce: str | None = None, desk: str = "", device: str = "",
             direction: str = "in", user_id: int | None = None, at: dt.datetime | None = None) -> dict:
    """Decide and record one scan; returns the answer for the desk. ``show`` is a Show or
    any row with its ``id`` and ``timezone`` (the API passes a plain row).

    The gate's hot path, so it is built for short locks rather than for elegance: one read
    (badge, person, today's first entry, the day, the rules and settings, all in one SQL
    statement), the decision in Python, then one INSERT in its own short write transaction.
    No lock is held while deciding; two desks that decide "admit" for the same badge at
    once cannot both record it: the partial unique index on the day's first entry refuses
    the second insert, which then decides again and answers "already_in". A replayed nonce
    fails the unique (show, nonce) index the same way and gets the first answer back."""
    code = visitor_ops.normalize_code(code or "")[:64]
    gate = (gate or "").strip()
    if not gate or len(gate) > 64:
        raise OnsiteError(_("Name the gate (1 to 64 characters)."))
    if nonce is not None and (not isinstance(nonce, str) or not 1 <= len(nonce) <= 64):
        raise OnsiteError(_("The nonce must be 1 to 64 characters."))
    if direction not in ("in", "out"):
        raise OnsiteError(_("The direction is 'in' or 'out'."))
    at = at or utcnow()
    day = local_day(show, at)
    show_id, timezone = show.id, show.timezone   # read once: the commit below expires an ORM Show
    scan = {"show_id": show_id, "code": code, "gate": gate, "desk": desk[:64], "device": device[:64],
            "direction": direction, "day": day, "at": at, "nonce": nonce or None, "user_id": user_id}
    # A caller's open read (SQLite: an old snapshot) must see this scan after. The API's
    # request has no ORM session at all: do not create one only to ask.
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()
    conn = hot_connection()
    for attempt in range(3):
        if nonce and attempt:
            first = _REPLAY_SQL.run({"show_id": show_id, "nonce": nonce})
            conn.commit()
            if first:
                return first[0][0]
        rows = _LOOKUP_SQL.run({"code": code, "day": day, "show_id": show_id}) if CODE_RE.match(code) else []
        conn.commit()   # end the read: the write below takes the lock only for the INSERT
        answer, first_entry = _decide(show_id, timezone, _LookupRow(*rows[0]) if rows else None, code,
                                      direction, day, at)
        person = answer["person"]
        try:
            with writer_lock():
                scan_id = _INSERT_SQL.run(dict(
                    scan, registration_id=person["registration_id"] if person else None,
                    result=answer["result"], reason=answer["reason_code"],
                    category=person["category"] if person else "", first_entry=first_entry or None,
                    answer=answer if nonce else None))[0][0]
                conn.commit()
        except Exception as exc:
            conn.rollback()
            if integrity_error(exc):
                # A replayed nonce, or another desk admitted this badge first: decide
                # again, now seeing the other row.
                continue
            raise
        if first_entry and signals.visitor_checked_in.receivers:
            close_hot_connection()   # receivers use the session: never hold two connections
            signals.visitor_checked_in.send(db.session.get(Scan, scan_id), registration_id=person["registration_id"])
        return answer
    raise OnsiteError(_("The scan could not be recorded; scan again."))


# Plain SQL (compiled once, no ORM) for the hot path. One statement reads every fact the
# decision needs; NULL day_open = not a show day; the settings are the show's, else global.
_SETTING = "(SELECT value FROM settings WHERE key = '{key}' AND {where})"
_LOOKUP_SQL = FastStatement(f"""
SELECT b.show_id AS badge_show_id, b.revoked_at, r.id, r.category, r.verification, r.cancelled_at,
       p.name_zh, p.name_en, p.birth_date, o.name_zh AS org_zh, o.name_en AS org_en,
       (SELECT s.at FROM onsite_scan s
         WHERE s.registration_id = r.id AND s.day = :day AND s.first_entry) AS first_at,
       (SELECT 1 FROM show_days d WHERE d.show_id = r.show_id AND d.date = :day) AS day_open,
       (SELECT d.trade_only FROM show_days d WHERE d.show_id = r.show_id AND d.date = :day) AS trade_only,
       EXISTS (SELECT 1 FROM visitors_admission_rule a
                WHERE a.show_id = r.show_id AND a.category = r.category
                  AND (a.day IS NULL OR a.day = :day) AND NOT a.admitted) AS refused_by_rule,
       (SELECT max(a.min_age) FROM visitors_admission_rule a
         WHERE a.show_id = r.show_id AND a.category = r.category
           AND (a.day IS NULL OR a.day = :day)) AS min_age,
       {_SETTING.format(key="onsite.reentry", where="show_id = :show_id")} AS reentry,
       {_SETTING.format(key="onsite.reentry", where="show_id IS NULL")} AS reentry_global,
       {_SETTING.format(key="onsite.exit_scans", where="show_id = :show_id")} AS exit_scans,
       {_SETTING.format(key="onsite.exit_scans", where="show_id IS NULL")} AS exit_scans_global
  FROM visitors_badge_code b
  JOIN visitors_registration r ON r.id = b.registration_id
  JOIN persons p ON p.id = r.person_id
  LEFT JOIN organizations o ON o.id = p.organization_id
 WHERE b.code = :code""", params={"day": Date()}, columns={
    "badge_show_id": Integer(), "revoked_at": DateTime(), "id": Integer(), "category": String(),
    "verification": String(), "cancelled_at": DateTime(), "name_zh": String(), "name_en": String(),
    "birth_date": Date(), "org_zh": String(), "org_en": String(), "first_at": DateTime(), "day_open": Integer(),
    "trade_only": Boolean(), "refused_by_rule": Boolean(), "min_age": Integer(), "reentry": JSON(),
    "reentry_global": JSON(), "exit_scans": JSON(), "exit_scans_global": JSON()})
_LookupRow = namedtuple("_LookupRow", _LOOKUP_SQL.column_names)
_INSERT_SQL = FastStatement("""
INSERT INTO onsite_scan (show_id, registration_id, code, gate, desk, device, direction, day, at, result,
                         reason, category, first_entry, nonce, answer, user_id)
VALUES (:show_id, :registration_id, :code, :gate, :desk, :device, :direction, :day, :at, :result,
        :reason, :category, :first_entry, :nonce, :answer, :user_id)
RETURNING id""", params={"day": Date(), "at": DateTime(), "first_entry": Boolean(), "answer": JSON(none_as_null=True)},
    columns={"id": Integer()})
_REPLAY_SQL = FastStatement("SELECT answer FROM onsite_scan WHERE show_id = :show_id AND nonce = :nonce",
                            columns={"answer": JSON()})


_texts: dict[tuple, str] = {}


def _constant_text(lazy, language: str) -> str:
    """A constant label (a module-level lazy string) in ``language`` (the request's, read once
    per scan), translated once per process and language: Flask-Babel's gettext costs some
    25 µs a call, which the check-in pays for every scan."""
    key = (id(lazy), language)
    text = _texts.get(key)
    if text is None:
        text = _texts[key] = str(lazy)
    return text


def _row_setting(row, key: str):
    value = getattr(row, key)
    if value is None:
        value = getattr(row, key + "_global")
    return DEFAULT_SETTINGS["onsite." + key] if value is None else value


def _decide(show_id: int, timezone: str, row, code: str, direction: str, day: dt.date, at: dt.datetime
            ) -> tuple[dict, bool]:
    """The answer to a scan from the looked-up row → (answer, is the day's first entry)."""
    reason_text, first_entry, person = "", False, None
    language = str(get_locale())
    if not CODE_RE.match(code):
        result, reason_code = "unknown", "malformed"
    elif row is None:
        result, reason_code = "unknown", "unknown_code"
    elif row.badge_show_id != show_id:
        result, reason_code = "unknown", "other_show"   # nothing about the person is told
    else:
        person = {"registration_id": row.id, "name_zh": row.name_zh, "name_en": row.name_en,
                  "company": row.org_zh or row.org_en or "", "category": row.category,
                  "category_title": _constant_text(visitor_ops_category_title(row.category), language)}
        result = "not_allowed"
        if row.revoked_at is not None:
            reason_code = "revoked"
        else:
            # The visitors plugin owns the rules; it gets the facts read above.
            allowed, reason_code, reason_text = visitor_ops.admission_verdict(
                category=row.category, verification=row.verification, cancelled_at=row.cancelled_at,
                birth_date=row.birth_date, day=day, at=at, show_open=row.day_open is not None,
                trade_only=bool(row.trade_only), refused_by_rule=bool(row.refused_by_rule), min_age=row.min_age)
            if allowed:
                result, reason_code, reason_text = _admit(timezone, row, direction)
                first_entry = reason_code == "admitted"
    if not reason_text:
        reason_text = _constant_text(REASONS[reason_code], language) if reason_code in REASONS else reason_code
    return {"result": result, "reason": reason_text, "reason_code": reason_code, "person": person}, first_entry


def _admit(timezone: str, row, direction) -> tuple[str, str, str]:
    if direction == "out":
        if not _row_setting(row, "exit_scans"):
            return "not_allowed", "exit_scans_off", ""
        return "ok", "exit", ""
    if row.first_at is None:
        return "ok", "admitted", ""
    if _row_setting(row, "reentry"):
        return "ok", "reentry", ""
    return "already_in", "already_in", _("Already checked in today at %(time)s",
                                         time=row.first_at.replace(tzinfo=dt.UTC)
                                         .astimezone(ZoneInfo(timezone)).strftime("%H:%M"))


def gate_count(show: Show, gate: str, day: dt.date | None = None) -> int:
    """Admitted entries at a gate on a day (the desk's counter)."""
    day = day or local_day(show, utcnow())
    return db.session.scalar(select(func.count()).select_from(Scan).where(
        Scan.show_id == show.id, Scan.day == day, Scan.gate == gate, Scan.result == "ok",
        Scan.direction == "in")) or 0


def attendance(show: Show) -> dict:
    """Audited attendance, counted in SQL from the scan records (plugins.onsite.attendance)."""
    from .attendance import figures
    return figures(show)


# --- badges -----------------------------------------------------------------------------------
BADGE_SIZES = ("a6", "a4x4", "90x130")


def badge_data(registrations: list[Registration]) -> list[dict]:
    out = []
    shows: dict[int, Show] = {}
    for reg in registrations:
        person, org = reg.person, reg.person.organization
        show = shows.get(reg.show_id) or shows.setdefault(reg.show_id, db.session.get(Show, reg.show_id))
        out.append({"code": reg.badge_code, "name_zh": person.name_zh, "name_en": person.name_en,
                    "show": show.name_zh or show.name_en,
                    "company_zh": org.name_zh if org else "", "company_en": org.name_en if org else "",
                    "category": reg.category, "category_title": str(visitor_ops_category_title(reg.category))})
    return out


def print_badges(show: Show, registrations: list[Registration], size: str = "a6", *, reason: str = "",
                 user=None) -> bytes:
    """Badge PDF for the registrations, logged in the print log in the same transaction.
    A badge printed before is a reprint and needs a reason."""
    from .pdf import render_badges
    if size not in BADGE_SIZES:
        raise OnsiteError(_("Unknown badge size %(size)s (one of: %(sizes)s).", size=size,
                            sizes=", ".join(BADGE_SIZES)))
    if not registrations:
        raise OnsiteError(_("No badges to print."))
    reason = (reason or "").strip()
    if any(r.show_id != show.id for r in registrations):
        raise OnsiteError(_("A registration of another show cannot be printed here."))
    ids = [r.id for r in registrations]
    printed = set(db.session.scalars(select(BadgePrint.registration_id).where(
        BadgePrint.registration_id.in_(ids))).all())
    if printed and not reason:
        raise OnsiteError(_("%(n)d of these badges were printed before: a reprint needs a reason.",
                            n=len(printed)))
    pdf = render_badges(badge_data(registrations), size)
    now = utcnow()
    # Another desk printing one of these first, just now: one first print per badge decides.
    first_print = {"uq_onsite_badge_print_first": OnsiteError(
        _("This badge was printed before: give the reason for the reprint."))}
    with transaction(constraint_errors=first_print):
        db.session.execute(insert(BadgePrint), [
            {"show_id": show.id, "registration_id": r.id, "code": r.badge_code, "size": size,
             "reprint": r.id in printed, "reason": reason if r.id in printed else "", "at": now,
             "user_id": getattr(user, "id", None)} for r in registrations])
        if signals.badge_printed.receivers:
            for row in db.session.scalars(select(BadgePrint).where(BadgePrint.registration_id.in_(ids),
                                                                   BadgePrint.at == now)):
                signals.send_after_commit(signals.badge_printed, row)
    return pdf


def reprint_lost_badge(show: Show, registration: Registration, reason: str, size: str = "a6", user=None) -> bytes:
    """A lost badge: a new code (the old one revoked, so scanning it is refused), then a reprint."""
    reason = (reason or "").strip()
    if not reason:
        raise OnsiteError(_("Give the reason for the reprint (e.g. badge lost)."))
    visitor_ops.replace_badge_code(registration, reason, user=user)
    db.session.refresh(registration)
    return print_badges(show, [registration], size, reason=reason, user=user)


def print_count(show: Show) -> dict:
    rows = db.session.execute(select(BadgePrint.reprint, func.count()).where(
        BadgePrint.show_id == show.id).group_by(BadgePrint.reprint)).all()
    counts = {bool(k): v for k, v in rows}
    return {"printed": counts.get(False, 0), "reprinted": counts.get(True, 0)}


def search_registrations(show: Show, q: str, limit: int = 20) -> list[Registration]:
    """Registrations of the show whose person matches by name (characters, pinyin, initials),
    phone, email or company — for visitors who come without their badge."""
    from crm_expo.contacts.keys import fold_query
    folded = fold_query(q)
    if len(folded) < 2:
        return []
    like = f"%{folded.replace('%', '').replace('_', '')}%"
    stmt = (select(Registration).join(Person, Person.id == Registration.person_id)
            .where(Registration.show_id == show.id, Person.search_keys.like(like))
            .order_by(Person.sort_name).limit(limit))
    return list(db.session.scalars(stmt))


# --- service centre ---------------------------------------------------------------------------
KINDS = {"request": _l("Request"), "complaint": _l("Complaint"), "suggestion": _l("Suggestion")}
CHANNELS = {"desk": _l("Service desk"), "phone": _l("Phone"), "portal": _l("Exhibitor portal"),
            "email": _l("Email")}
PRIORITIES = {"urgent": _l("Urgent"), "high": _l("High"), "normal": _l("Normal"), "low": _l("Low")}
# DOMAIN.md §6 (services by content) plus what an on-site service centre hears every day.
CATEGORIES = {
    "secretarial": _l("Secretarial & etiquette"), "design_installation": _l("Design & installation"),
    "rental": _l("Rental"), "transport_storage": _l("Transport & storage"), "advertising": _l("Advertising"),
    "logistics": _l("Logistics support"), "sightseeing": _l("Sightseeing"),
    "entertainment": _l("Sports & entertainment"), "lost_found": _l("Lost & found"), "badges": _l("Badges"),
    "stand_construction": _l("Stand construction"), "power_internet": _l("Power & internet"),
    "cleaning": _l("Cleaning"), "security": _l("Security"), "catering": _l("Catering"), "other": _l("Other"),
}
STATUS_TITLES = {"new": _l("New"), "assigned": _l("Assigned"), "in_progress": _l("In progress"),
                 "resolved": _l("Resolved"), "feedback_given": _l("Feedback given"), "closed": _l("Closed")}
DEPARTMENTS = {"service_centre": _l("Service centre"), "engineering": _l("Exhibition engineering"),
               "venue": _l("Venue operations"), "security": _l("Security"), "registration": _l("Registration"),
               "sales": _l("Sales"), "finance": _l("Finance")}
SATISFIED = 4   # satisfaction 4–5 closes the request; 1–3 reopens it
OPEN_STATUSES = ("new", "assigned", "in_progress")


def open_request(show: Show, *, category: str, description: str, kind: str = "request", channel: str = "desk",
                 priority: str = "normal", location: str = "", organization_id: int | None = None,
                 contact: str = "", user=None) -> ServiceRequest:
    """Log a request; the user who takes it is its owner (首问责任制)."""
    if category not in CATEGORIES:
        raise OnsiteError(_("Choose the category of the request."))
    if kind not in KINDS:
        raise OnsiteError(_("Unknown kind %(kind)s.", kind=kind))
    if channel not in CHANNELS:
        raise OnsiteError(_("Unknown channel %(channel)s.", channel=channel))
    if priority not in PRIORITIES:
        raise OnsiteError(_("Unknown priority %(priority)s.", priority=priority))
    description = (description or "").strip()
    if not description:
        raise OnsiteError(_("Describe the request."))
    now = utcnow()
    sla = get_setting("onsite.sla_minutes", show)
    req = ServiceRequest(show_id=show.id, kind=kind, channel=channel, category=category, priority=priority,
                         location=(location or "").strip()[:100], description=description,
                         organization_id=organization_id, contact=(contact or "").strip()[:200],
                         # Portal users log their own requests: the centre's first agent to act owns it.
                         owner_id=user.id if getattr(user, "is_staff", False) else None, status="new", created_at=now,
                         due_at=now + dt.timedelta(minutes=int(sla.get(priority, 480))))
    req.events.append(ServiceEvent(at=now, user_id=getattr(user, "id", None), action="open", to_status="new",
                                   note=description))
    with transaction():
        db.session.add(req)
        signals.send_after_commit(signals.service_request_opened, req)
    return req


def _step(req: ServiceRequest, action: str, allowed_from: tuple, to: str | None, note: str, user,
          satisfaction: int | None = None) -> str:
    if req.status not in allowed_from:
        raise OnsiteError(_("A request that is %(status)s cannot be %(action)s.",
                            status=str(STATUS_TITLES[req.status]), action=str(ACTION_TITLES[action])))
    old = req.status
    now = utcnow()
    if req.owner_id is None and getattr(user, "is_staff", False):
        req.owner_id = user.id
    if to is not None:
        req.status = to
        if old == "new" and req.first_response_at is None:
            req.first_response_at = now
    req.events.append(ServiceEvent(at=now, user_id=getattr(user, "id", None), action=action, from_status=old,
                                   to_status=req.status, note=(note or "").strip(), satisfaction=satisfaction))
    return old


ACTION_TITLES = {"open": _l("logged"), "assign": _l("routed"), "start": _l("started"), "resolve": _l("resolved"),
                 "feedback": _l("given feedback"), "reopen": _l("reopened"), "close": _l("closed"),
                 "chase": _l("chased")}


def assign_request(req: ServiceRequest, *, department: str = "", supplier_organization_id: int | None = None,
                   note: str = "", user=None) -> ServiceRequest:
    """Route to a department or a supplier (re-routing an open request is allowed)."""
    if bool(department) == bool(supplier_organization_id):
        raise OnsiteError(_("Route the request to one department or one supplier."))
    if department and department not in DEPARTMENTS:
        raise OnsiteError(_("Unknown department %(d)s.", d=department))
    if supplier_organization_id and db.session.get(Organization, supplier_organization_id) is None:
        raise OnsiteError(_("No organization with id %(id)s.", id=supplier_organization_id))
    with transaction():
        _step(req, "assign", OPEN_STATUSES, "assigned", note, user)
        req.department = department
        req.supplier_organization_id = supplier_organization_id
    return req


def start_request(req: ServiceRequest, note: str = "", user=None) -> ServiceRequest:
    with transaction():
        _step(req, "start", ("new", "assigned"), "in_progress", note, user)
    return req


def resolve_request(req: ServiceRequest, note: str, user=None) -> ServiceRequest:
    if not (note or "").strip():
        raise OnsiteError(_("Say how the request was resolved."))
    with transaction():
        _step(req, "resolve", OPEN_STATUSES, "resolved", note, user)
        req.resolved_at = utcnow()
        signals.send_after_commit(signals.service_request_resolved, req)
    return req


def give_feedback(req: ServiceRequest, note: str, satisfaction: int | None = None, user=None) -> ServiceRequest:
    """The centre tells the customer how it was resolved. With the customer's satisfaction
    (1–5): 4–5 closes the request; 1–3 reopens it and the loop runs again."""
    if satisfaction is not None and not (isinstance(satisfaction, int) and 1 <= satisfaction <= 5):
        raise OnsiteError(_("Satisfaction is a whole number from 1 to 5."))
    if req.status not in ("resolved", "feedback_given"):
        raise OnsiteError(_("Feedback can only be given on a resolved request (this one is %(status)s).",
                            status=str(STATUS_TITLES[req.status])))
    with transaction():
        now = utcnow()
        if req.status == "resolved":
            _step(req, "feedback", ("resolved",), "feedback_given", note, user)
            req.feedback_at = now
        if satisfaction is None:
            return req
        req.satisfaction = satisfaction
        if satisfaction >= SATISFIED:
            _step(req, "close", ("feedback_given",), "closed", "", user, satisfaction=satisfaction)
            req.closed_at = now
            signals.send_after_commit(signals.service_request_closed, req)
        else:
            _step(req, "reopen", ("feedback_given",), "assigned" if (req.department or req.supplier_organization_id)
                  else "new", note, user, satisfaction=satisfaction)
            req.reopen_count += 1
            req.resolved_at = None
            # A reopened request gets a fresh SLA target: the customer is waiting again.
            sla = get_setting("onsite.sla_minutes", db.session.get(Show, req.show_id))
            req.due_at = now + dt.timedelta(minutes=int(sla.get(req.priority, 480)))
            signals.send_after_commit(signals.service_request_reopened, req)
    return req


def chase_request(req: ServiceRequest, note: str = "", user=None) -> ServiceRequest:
    """The centre chases the department or supplier; logged on the request."""
    with transaction():
        _step(req, "chase", OPEN_STATUSES, None, note, user)
    return req


def is_overdue(req: ServiceRequest, now: dt.datetime | None = None) -> bool:
    return req.status in OPEN_STATUSES and (now or utcnow()) > req.due_at


def _seconds(later, earlier):
    """SQL expression: seconds between two timestamp columns, on SQLite and PostgreSQL."""
    if is_sqlite():
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def service_kpis(show: Show, now: dt.datetime | None = None) -> dict:
    """The service KPIs (DOMAIN.md §5, §7), averaged in SQL."""
    now = now or utcnow()
    R = ServiceRequest
    row = db.session.execute(select(
        func.count(), func.avg(_seconds(R.first_response_at, R.created_at)),
        func.avg(_seconds(R.resolved_at, R.created_at)), func.avg(R.satisfaction),
        func.count(case((R.status == "closed", 1))), func.sum(R.reopen_count),
        func.count(case((and_(R.status.in_(OPEN_STATUSES), R.due_at < now), 1))),
        func.count(case((R.feedback_at.is_not(None), 1))),
        func.count(case((R.satisfaction >= SATISFIED, 1))), func.count(R.satisfaction),
    ).where(R.show_id == show.id)).one()
    total = row[0] or 0
    return {"total": total,
            "avg_first_response_min": round(row[1] / 60, 1) if row[1] is not None else None,
            "avg_resolution_min": round(row[2] / 60, 1) if row[2] is not None else None,
            "avg_satisfaction": round(float(row[3]), 2) if row[3] is not None else None,
            "closed": row[4], "reopens": int(row[5] or 0), "overdue": row[6], "feedback_given": row[7],
            "satisfied_share": round(100.0 * row[8] / row[9], 1) if row[9] else None}


def requests_for(show: Show, *, status: str = "", supplier_organization_id: int | None = None,
                 organization_id: int | None = None, limit: int = 200) -> list[ServiceRequest]:
    stmt = select(ServiceRequest).where(ServiceRequest.show_id == show.id)
    if status == "open":
        stmt = stmt.where(ServiceRequest.status.in_(OPEN_STATUSES))
    elif status in REQUEST_STATUSES:
        stmt = stmt.where(ServiceRequest.status == status)
    if supplier_organization_id is not None:
        stmt = stmt.where(ServiceRequest.supplier_organization_id == supplier_organization_id)
    if organization_id is not None:
        stmt = stmt.where(ServiceRequest.organization_id == organization_id)
    return list(db.session.scalars(stmt.order_by(ServiceRequest.due_at).limit(limit)))


def customer_history(organization, entries: list) -> None:
    """collect_customer_history handler: complaints and requests per show for this organization."""
    rows = db.session.execute(select(
        Show.slug, Show.name_zh, Show.name_en, ServiceRequest.kind, func.count(), func.avg(ServiceRequest.satisfaction))
        .join(Show, Show.id == ServiceRequest.show_id)
        .where(ServiceRequest.organization_id == organization.id)
        .group_by(Show.slug, Show.name_zh, Show.name_en, ServiceRequest.kind)).all()
    for slug, name_zh, name_en, kind, n, sat in rows:
        value = str(n) if sat is None else f"{n} (⌀ {float(sat):.1f}/5)"
        entries.append({"show": local_name(name_zh, name_en), "kind": "onsite", "label": str(KINDS[kind]),
                        "value": value, "url": url_for("onsite.service", slug=slug)})


# --- leads ------------------------------------------------------------------------------------
def _exhibitor(show: Show, organization_id: int):
    from plugins.exhibitors.operations import exhibitor_for_organization
    exhibitor = exhibitor_for_organization(show, organization_id)
    if exhibitor is None or exhibitor.status in ("rejected", "withdrawn"):
        raise OnsiteError(_("Your company is not an exhibitor of this show."))
    return exhibitor


def capture_lead(show: Show, organization_id: int, code: str, *, rating: int = 0, notes: str = "", tags: str = "",
                 user=None) -> Lead:
    """An exhibitor scans a visitor's badge: a new lead, or the same lead updated."""
    exhibitor = _exhibitor(show, organization_id)
    if not isinstance(rating, int) or not 0 <= rating <= 5:
        raise OnsiteError(_("The rating is a whole number from 0 to 5."))
    reg, badge = visitor_ops.registration_by_code(show, code or "")
    if reg is None or badge is None or badge.revoked_at is not None:
        raise OnsiteError(_("Unknown badge code %(code)s.", code=(code or "")[:20]))
    tags = ",".join(t.strip() for t in (tags or "").replace("，", ",").split(",") if t.strip())[:200]
    exhibitor_id, reg_id = exhibitor.id, reg.id
    now = utcnow()
    def save() -> Lead:
        with transaction():
            lead = db.session.scalar(select(Lead).where(Lead.exhibitor_id == exhibitor_id,
                                                        Lead.registration_id == reg_id))
            if lead is None:
                lead = Lead(show_id=show.id, exhibitor_id=exhibitor_id, registration_id=reg_id, rating=rating,
                            notes=(notes or "").strip(), tags=tags, created_at=now, updated_at=now,
                            user_id=getattr(user, "id", None))
                db.session.add(lead)
            else:
                lead.scans += 1
                lead.rating = rating or lead.rating
                lead.notes = (notes or "").strip() or lead.notes
                lead.tags = tags or lead.tags
                lead.updated_at = now
            signals.send_after_commit(signals.lead_captured, lead)
        return lead
    try:
        return save()
    except IntegrityError as exc:
        if not violated(exc, "uq_onsite_lead_exhibitor_registration"):
            raise
        return save()     # two phones scanned the same visitor at once: update the other's lead


def lead_rows(show: Show, organization_id: int) -> list[dict]:
    """The exhibitor's leads, showing only what each visitor consented to share with
    exhibitors; otherwise a pseudonymous lead id and the category."""
    exhibitor = _exhibitor(show, organization_id)
    rows = db.session.execute(
        select(Lead, Person, Organization.name_zh, Organization.name_en, Registration.category)
        .join(Registration, Registration.id == Lead.registration_id)
        .join(Person, Person.id == Registration.person_id)
        .outerjoin(Organization, Organization.id == Person.organization_id)
        .where(Lead.exhibitor_id == exhibitor.id).order_by(Lead.updated_at.desc())).all()
    out = []
    for lead, person, org_zh, org_en, category in rows:
        shared = person.consent("share_with_exhibitors") and person.erased_at is None
        out.append({"lead": f"L{lead.id:06d}", "category": str(visitor_ops_category_title(category)),
                    "name": (person.name_zh or person.name_en) if shared else "",
                    "name_en": person.name_en if shared else "",
                    "company": (org_zh or org_en or "") if shared else "",
                    "email": person.email if shared else "", "phone": person.phone if shared else "",
                    "rating": lead.rating, "notes": lead.notes, "tags": lead.tags, "scans": lead.scans,
                    "at": lead.updated_at, "shared": shared})
    return out


def lead_counts(show: Show) -> list[tuple]:
    """Lead counts per exhibitor for the organizer (counted in SQL)."""
    from plugins.exhibitors.models import Exhibitor
    return db.session.execute(
        select(Organization.name_zh, Organization.name_en, func.count(Lead.id))
        .select_from(Lead).join(Exhibitor, Exhibitor.id == Lead.exhibitor_id)
        .join(Organization, Organization.id == Exhibitor.organization_id)
        .where(Lead.show_id == show.id).group_by(Organization.id, Organization.name_zh, Organization.name_en)
        .order_by(func.count(Lead.id).desc())).all()


# --- proactive service ------------------------------------------------------------------------
_TOKEN = re.compile(r"[a-z0-9]{3,}|[\u3400-\u9fff]")
_STOP = {"the", "and", "not", "our", "has", "have", "with", "is", "are", "was", "for", "的", "了", "是", "在", "我", "们"}


def _keywords(text: str) -> set[str]:
    from crm_expo.contacts.keys import fold
    folded = fold(text)
    words = [w for w in _TOKEN.findall(folded) if w not in _STOP]
    # Chinese has no spaces: character pairs stand in for words.
    han = [w for w in words if len(w) == 1]
    return {w for w in words if len(w) > 1} | {a + b for a, b in zip(han, han[1:], strict=False)}


def recurring_problems(show: Show, min_count: int = 2, similarity: float = 0.3, limit: int = 2000) -> list[dict]:
    """Groups of requests about the same problem: same category and either the same location
    or similar text (keyword overlap, Jaccard ≥ ``similarity``). Largest groups first."""
    rows = db.session.execute(select(ServiceRequest.id, ServiceRequest.category, ServiceRequest.location,
                                     ServiceRequest.description)
                              .where(ServiceRequest.show_id == show.id, ServiceRequest.kind != "suggestion")
                              .order_by(ServiceRequest.id.desc()).limit(limit)).all()
    groups: list[dict] = []
    for rid, category, location, description in rows:
        words = _keywords(description)
        for g in groups:
            if g["category"] != category:
                continue
            same_place = location and location.lower() == g["location"].lower()
            overlap = len(words & g["words"]) / len(words | g["words"]) if words | g["words"] else 0
            if same_place or overlap >= similarity:
                g["ids"].append(rid)
                g["words"] |= words
                break
        else:
            groups.append({"category": category, "location": location, "words": set(words), "ids": [rid],
                           "example": description})
    found = [dict(g, count=len(g["ids"]), keywords=sorted(g["words"])[:8]) for g in groups
             if len(g["ids"]) >= min_count]
    return sorted(found, key=lambda g: -g["count"])


def promote_to_notice(show: Show, category: str, title: str, body: str, requests_seen: int = 0, user=None) -> Notice:
    if category not in CATEGORIES:
        raise OnsiteError(_("Choose the category of the request."))
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise OnsiteError(_("A notice needs a title and a text."))
    with transaction():
        notice = Notice(show_id=show.id, category=category, title=title[:200], body=body,
                        requests_seen=requests_seen, user_id=getattr(user, "id", None))
        db.session.add(notice)
        audit("onsite.notice", notice, user=user, show_id=show.id, after={"title": notice.title, "category": category})
    return notice


def notices(show: Show) -> list[Notice]:
    return list(db.session.scalars(select(Notice).where(Notice.show_id == show.id).order_by(Notice.id.desc())))
