"""Domain logic of the visitors plugin: plain functions, no request object.

Public API for other plugins (onsite codes against these names): ``register_visitor``,
``registration_by_code``, ``admission_decision``, ``replace_badge_code``,
``COUNTED_CATEGORIES``, ``VisitorError``.

Self-registration (``source="self"``: the public form) never looks up or changes an existing
person: it registers a new Person with what was typed and, when that matches someone by the
core's duplicate rules, records a Review for staff (``merge_review`` / ``keep_apart``).
"""
from __future__ import annotations

import datetime as dt
import io
import secrets

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import aliased, joinedload

from crm_expo import signals
from crm_expo.contacts import duplicates, merge, normalise, search
from crm_expo.contacts.keys import has_han, name_key, search_keys
from crm_expo.database import transaction, utcnow
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.listing import PER_PAGE, Order, Page, Position, count_rows, seek_page, unindexed
from crm_expo.models import Consent, Organization, Person, Show, ShowDay, audit

from .models import (  # noqa: F401
    BADGE_CODE_LENGTH,
    BADGE_CODE_MAX,
    BADGE_CODE_MIN,
    CATEGORIES,
    CATEGORY_TITLES,
    CONCESSIONS,
    COUNTED_CATEGORIES,
    QUESTION_KINDS,
    REVIEW_STATUSES,
    VERIFICATION_TITLES,
    AdmissionRule,
    BadgeCode,
    BusinessCard,
    Question,
    Registration,
    Review,
)

# Crockford's base-32 alphabet: upper case and digits without I, L, O, U (nothing to misread
# at a desk). 12 characters = 60 random bits from `secrets`: unguessable, QR/URL-safe.
BADGE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REQUIRED_CONSENTS = ("marketing", "share_with_exhibitors")
CARD_MAX_BYTES = 5 * 1024 * 1024
CARD_MAX_PIXELS = 40_000_000       # a phone's photo of a card is 12–50 MP; more is not a photo
CARD_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


class VisitorError(DomainError):
    """A request the visitors plugin refuses, with a message naming the problem."""

    code = "invalid"

    def __init__(self, message: str, field: str = "", registration: Registration | None = None):
        super().__init__(message, "duplicate" if registration is not None else None, field=field,
                         status=409 if registration is not None else None)
        self.field = field     # "" when none, as the visitors' pages expect
        self.registration = registration   # the existing one, for a duplicate


# Random byte → badge character by its low 5 bits (256 = 8 × 32: each character equally likely).
_BYTE_TO_BADGE_CHAR = bytes(ord(BADGE_ALPHABET[b % 32]) for b in range(256))


def new_badge_code() -> str:
    return new_badge_codes(1)[0]


def new_badge_codes(n: int) -> list[str]:
    """n badge codes of 12 characters, each character 5 random bits from ``secrets`` (60
    bits a code), drawn and mapped in C in one call: imports make 100,000 at once."""
    text = secrets.token_bytes(BADGE_CODE_LENGTH * n).translate(_BYTE_TO_BADGE_CHAR).decode("ascii")
    return [text[i:i + BADGE_CODE_LENGTH] for i in range(0, BADGE_CODE_LENGTH * n, BADGE_CODE_LENGTH)]


def normalize_code(raw: str) -> str:
    """What a scanner or a person typed → the stored form (case, spaces, dashes ignored)."""
    return "".join((raw or "").split()).replace("-", "").upper()


# --- people ------------------------------------------------------------------------------
def _normalize_email(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return normalise.normalize_email(raw)
    except DomainError as exc:
        raise VisitorError(exc.message, field="email") from exc


def _normalize_phone(raw: str, country: str = "CN") -> str:
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return normalise.normalize_phone(raw, region=country or "CN")
    except DomainError as exc:
        raise VisitorError(exc.message, field="phone") from exc


def _clean(value, limit: int) -> str:
    # Stored as typed (HTML is text, escaped on output); only trimmed and bounded.
    return str(value or "").strip()[:limit]


def clean_person_fields(person: dict) -> dict:
    """Validate and normalise the person part of a registration (raises VisitorError)."""
    name_zh = _clean(person.get("name_zh"), 100)
    name_en = _clean(person.get("name_en"), 100)
    if not (name_zh or name_en):
        raise VisitorError(_("Give a name (Chinese or English)."), field="name_zh")
    country = (_clean(person.get("country"), 2) or "CN").upper()
    email = _normalize_email(person.get("email", ""))
    phone = _normalize_phone(person.get("phone", ""), country)
    birth = person.get("birth_date")
    if isinstance(birth, str):
        try:
            birth = dt.date.fromisoformat(birth.strip()) if birth.strip() else None
        except ValueError as exc:
            raise VisitorError(_("Not a date (YYYY-MM-DD): %(value)s", value=birth), field="birth_date") from exc
    if isinstance(birth, dt.date) and not (dt.date(1900, 1, 1) <= birth <= dt.date.today()):
        raise VisitorError(_("The date of birth is not plausible."), field="birth_date")
    return {"name_zh": name_zh, "name_en": name_en, "email": email, "phone": phone, "country": country,
            "job_title": _clean(person.get("job_title"), 100),
            "organization_name": _clean(person.get("organization_name") or person.get("company"), 200),
            "birth_date": birth or None}


def _organization_for(name: str) -> Organization | None:
    if not name:
        return None
    fields = {"name_zh": name} if has_han(name) else {"name_en": name}
    try:
        org, _created = duplicates.get_or_create_organization(fields)
    except duplicates.CustomerError as exc:
        raise VisitorError(str(exc), field="organization_name") from exc
    return org


def _person_for(fields: dict) -> Person:
    """The one Person these details describe (same email, phone, or name at the same
    company: crm_expo.contacts.duplicates), else a new one. Blanks are filled, nothing overwritten."""
    org = _organization_for(fields["organization_name"])
    person_fields = {k: v for k, v in fields.items() if k != "organization_name" and v not in ("", None)}
    try:
        person, _created = duplicates.get_or_create_person(dict(person_fields, organization_id=org.id if org else None))
    except duplicates.CustomerError as exc:
        raise VisitorError(str(exc)) from exc
    if org is not None and person.organization_id is None:
        person.organization = org
    db.session.flush()
    return person


def _new_person(fields: dict) -> Person:
    """A new Person with exactly these details (self-registration: an existing record is
    never read or changed from a public form; staff review the matches)."""
    org = _organization_for(fields["organization_name"])
    person = Person(**{k: v for k, v in fields.items() if k != "organization_name"}, organization=org)
    db.session.add(person)
    db.session.flush()
    return person


def _match_rules(typed: Person, other: Person) -> list[str]:
    """Which of the duplicate rules (crm_expo.contacts.duplicates) the two records meet."""
    rules = []
    if typed.email and typed.email == other.email:
        rules.append("email")
    if typed.phone and typed.phone == other.phone:
        rules.append("phone")
    if typed.name_key and typed.name_key == other.name_key and typed.organization_id \
            and typed.organization_id == other.organization_id:
        rules.append("name")
    return rules


def _record_match(show: Show, reg: Registration, typed: Person) -> Review | None:
    """A Review when the typed details are an existing person's (the oldest match, as
    get_or_create_person would have taken); nothing when they match nobody."""
    found = duplicates.find_duplicate_persons(email=typed.email, phone=typed.phone,
                                              name=typed.name_zh or typed.name_en,
                                              organization_id=typed.organization_id, exclude_id=typed.id)
    if not found:
        return None
    review = Review(show_id=show.id, registration_id=reg.id, matched_person_id=found[0].id,
                    matched_on=_match_rules(typed, found[0]), status="open", created_at=reg.created_at)
    db.session.add(review)
    db.session.flush()
    return review


# --- questions and answers ---------------------------------------------------------------
def questions_for(show: Show) -> list[Question]:
    return list(db.session.scalars(select(Question).where(Question.show_id == show.id)
                                   .order_by(Question.position, Question.id)))


def clean_answers(show: Show, answers: dict | None, questions: list[Question] | None = None) -> dict:
    answers = answers or {}
    questions = questions if questions is not None else questions_for(show)
    known = {q.key: q for q in questions}
    unknown = sorted(set(answers) - set(known))
    if unknown:
        raise VisitorError(_("Unknown question: %(keys)s", keys=", ".join(unknown)), field=unknown[0])
    cleaned: dict = {}
    locale = str(get_locale() or "zh")
    for q in questions:
        label = q.label(locale)
        value = answers.get(q.key)
        allowed = {c.get("value") for c in q.choices or []}
        if q.kind == "multiple":
            values = [value] if isinstance(value, str) else list(value or [])
            values = [str(v) for v in values if str(v).strip()]
            bad = [v for v in values if v not in allowed]
            if bad:
                raise VisitorError(_("Not a choice of “%(q)s”: %(v)s", q=label, v=", ".join(bad)), field=q.key)
            if values:
                cleaned[q.key] = values
        else:
            value = _clean(value, 500)
            if value and q.kind == "single" and value not in allowed:
                raise VisitorError(_("Not a choice of “%(q)s”: %(v)s", q=label, v=value), field=q.key)
            if value:
                cleaned[q.key] = value
        if q.required and q.key not in cleaned:
            raise VisitorError(_("Please answer “%(q)s”.", q=label), field=q.key)
    return cleaned


def save_question(show: Show, key: str, label_zh: str, *, label_en: str = "", kind: str = "single",
                  choices: list | None = None, required: bool = False, position: int = 0, user=None) -> Question:
    key = (key or "").strip().lower()
    if not key or not key.replace("_", "").isalnum() or len(key) > 40:
        raise VisitorError(_("A question key is 1–40 letters, digits or underscores."), field="key")
    if kind not in QUESTION_KINDS:
        raise VisitorError(_("Unknown question kind: %(kind)s", kind=kind), field="kind")
    if not (label_zh or "").strip():
        raise VisitorError(_("A question needs a Chinese label."), field="label_zh")
    choices = [dict(c) for c in (choices or [])]
    if kind != "text" and not choices:
        raise VisitorError(_("A choice question needs choices."), field="choices")
    values = [c.get("value") for c in choices]
    if any(not v for v in values) or len(set(values)) != len(values):
        raise VisitorError(_("Every choice needs a distinct value."), field="choices")
    with transaction():
        q = db.session.scalar(select(Question).where(Question.show_id == show.id, Question.key == key))
        if q is None:
            q = Question(show_id=show.id, key=key)
            db.session.add(q)
        q.label_zh, q.label_en, q.kind, q.choices = label_zh.strip(), (label_en or "").strip(), kind, choices
        q.required, q.position = required, position
        db.session.flush()
        audit("visitors.question.save", q, user=user, show_id=show.id, after={"key": key, "kind": kind})
    return q


# --- registration ------------------------------------------------------------------------
def _check_consents(consents: dict | None) -> dict:
    consents = dict(consents or {})
    missing = [p for p in REQUIRED_CONSENTS if not isinstance(consents.get(p), bool)]
    if missing:
        raise VisitorError(_("Answer yes or no to every consent question (missing: %(purposes)s).",
                             purposes=", ".join(missing)), field=missing[0])
    return consents


def _lock_identity(fields: dict) -> None:
    """PostgreSQL: hold a transaction lock per email / phone / name-at-company, so two
    parallel registrations of one person cannot both create the Person (persons has no
    unique email: one person may legitimately lack one). SQLite already serialises writers
    (BEGIN IMMEDIATE)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    keys = {f"e:{fields['email']}" if fields["email"] else "", f"p:{fields['phone']}" if fields["phone"] else "",
            f"n:{name_key(fields['name_zh'] or fields['name_en'])}:{name_key(fields['organization_name'])}"}
    for key in sorted(k for k in keys if k):   # one order everywhere: no deadlock
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "crm-expo-person:" + key})


def register_visitor(show: Show, person: dict, category: str, *, consents: dict, answers: dict | None = None,
                     source: str = "staff", concession: str = "", evidence_company: str = "",
                     user=None) -> Registration:
    """Register a person for a show: finds or creates the one Person record, records the
    consents (with timestamps), issues a badge code. A second registration of the same person
    for the same show is refused (VisitorError with ``registration`` = the existing one).

    ``source="self"`` (the public form) is different: it creates a new Person with exactly
    what was typed — never reading, filling or refusing on an existing record, so the answer
    is the same whoever the details belong to — and records a Review when the details match
    an existing person, for staff to merge or keep apart."""
    if category not in CATEGORIES:
        raise VisitorError(_("Unknown visitor category: %(category)s", category=category), field="category")
    if concession not in CONCESSIONS:
        raise VisitorError(_("Unknown concession: %(c)s", c=concession), field="concession")
    consents = _check_consents(consents)
    fields = clean_person_fields(person)
    cleaned_answers = clean_answers(show, answers)
    # A parallel request registered the same person first: UNIQUE(show_id, person_id) decides.
    twice = VisitorError(_("This person is already registered for this show."), field="email")
    self_service = source == "self"
    with transaction(constraint_errors={"uq_visitors_registration_show_person": twice}):
        if self_service:
            p = _new_person(fields)
        else:
            _lock_identity(fields)
            p = _person_for(fields)
            existing = db.session.scalar(select(Registration).where(Registration.show_id == show.id,
                                                                    Registration.person_id == p.id))
            if existing is not None:
                raise VisitorError(_("%(name)s is already registered for this show.", name=p.name_zh or p.name_en),
                                   field="email", registration=existing)
        now = utcnow()
        reg = Registration(show_id=show.id, person=p, category=category, source=source[:32],
                           verification="pending" if category == "trade" else "not_required",
                           concession=concession, answers=cleaned_answers,
                           evidence_company=_clean(evidence_company or fields["organization_name"], 200),
                           badge_code=new_badge_code(), created_at=now)
        db.session.add(reg)
        db.session.flush()
        db.session.add(BadgeCode(code=reg.badge_code, registration_id=reg.id, show_id=show.id, issued_at=now))
        for purpose, granted in consents.items():
            db.session.add(Consent(person_id=p.id, purpose=purpose, granted=bool(granted), at=now,
                                   source=f"visitors:{source}"[:64]))
        review = _record_match(show, reg, p) if self_service else None
        audit("visitors.register", reg, user=user, show_id=show.id,
              after={"person_id": p.id, "category": category, "source": source, "consents": consents,
                     **({"review_id": review.id, "matched_person_id": review.matched_person_id}
                        if review is not None else {})})
        signals.send_after_commit(signals.visitor_registered, reg, source=source)
    return reg


# --- review of self-registrations that match an existing person -----------------------------
REVIEW_FIELDS = ("name_zh", "name_en", "email", "phone", "company", "job_title", "birth_date",
                 "marketing", "share_with_exhibitors")


def open_review_count(show: Show) -> int:
    return db.session.scalar(select(func.count()).select_from(Review).where(
        Review.show_id == show.id, Review.status == "open")) or 0


def reviews(show: Show, status: str = "open", limit: int = 100) -> list[Review]:
    """The show's review items of one status, oldest open first (newest decided first)."""
    if status not in REVIEW_STATUSES:
        raise VisitorError(_("Unknown review status: %(s)s", s=status), field="status")
    order = Review.id.asc() if status == "open" else Review.decided_at.desc()
    return list(db.session.scalars(
        select(Review).where(Review.show_id == show.id, Review.status == status)
        .options(joinedload(Review.registration).joinedload(Registration.person).joinedload(Person.organization),
                 joinedload(Review.matched_person).joinedload(Person.organization))
        .order_by(order, Review.id.desc()).limit(limit)))


def _person_values(p: Person) -> dict:
    org = p.organization
    return {"name_zh": p.name_zh, "name_en": p.name_en, "email": p.email, "phone": p.phone,
            "company": (org.name_zh or org.name_en) if org else "", "job_title": p.job_title,
            "birth_date": p.birth_date.isoformat() if p.birth_date else "",
            "marketing": p.consent("marketing"), "share_with_exhibitors": p.consent("share_with_exhibitors")}


def review_comparison(review: Review) -> list[tuple[str, object, object, bool]]:
    """(field, typed on the public form, stored on the existing record, differ?) per field
    of REVIEW_FIELDS, for the side-by-side view of an open review."""
    typed, stored = _person_values(review.registration.person), _person_values(review.matched_person)
    return [(f, typed[f], stored[f], typed[f] != stored[f]) for f in REVIEW_FIELDS]


def person_registrations(person: Person) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(Registration.person_id == person.id)
                                   .options(joinedload(Registration.show)).order_by(Registration.id)))


def _open_review(show: Show, review_id) -> Review:
    """The review item, locked for the decision; refused when unknown or already decided."""
    try:
        review_id = int(review_id)
    except (TypeError, ValueError):
        review_id = None
    review = None
    if review_id is not None and 0 < review_id < 2 ** 63:
        review = db.session.scalar(select(Review).where(Review.id == review_id, Review.show_id == show.id)
                                   .with_for_update().execution_options(populate_existing=True))
    if review is None:
        raise VisitorError(_("There is no such review item for this show."), field="review")
    if review.status != "open":
        raise VisitorError(_("This review item was already decided (%(status)s); nothing was changed.",
                             status=review.status_title), field="review")
    return review


def merge_review(show: Show, review_id, user=None) -> Person:
    """Staff decide the typed person is the existing one: merge the typed Person into the
    existing record (crm_expo.contacts.merge_persons: the existing record survives, its blanks
    are filled, the typed consents become the newest answers). When both were registered for
    this show, the existing registration is kept: the new one's scans, cards and codes move
    to it (so attendance counts the person once), its badge codes revoked."""
    with transaction():
        review = _open_review(show, review_id)
        reg = review.registration
        typed_id, existing_id, reg_id = reg.person_id, review.matched_person_id, reg.id
        twin = db.session.scalar(select(Registration.id).where(Registration.show_id == reg.show_id,
                                                               Registration.person_id == existing_id))
        if twin is not None:
            db.session.execute(BadgeCode.__table__.update()
                               .where(BadgeCode.registration_id == reg_id, BadgeCode.revoked_at.is_(None))
                               .values(revoked_at=utcnow(), revoke_reason=_("Merged: registered twice")[:200]))
        try:
            survivor = merge.merge_persons(review.matched_person, reg.person, user=user)
        except DomainError as exc:
            raise VisitorError(exc.message, field="review") from exc
        review = db.session.get(Review, review.id)
        review.status, review.decided_at, review.decided_by_id = "merged", utcnow(), getattr(user, "id", None)
        audit("visitors.review.merge", review, user=user, show_id=show.id,
              before={"registration_id": reg_id, "person_id": typed_id, "matched_on": review.matched_on},
              after={"person_id": existing_id, "registration_id": twin if twin is not None else reg_id,
                     "registration_dropped": twin is not None})
    return survivor


def keep_apart(show: Show, review_id, user=None) -> Review:
    """Staff decide the typed person is someone else: both records stay as they are."""
    with transaction():
        review = _open_review(show, review_id)
        review.status, review.decided_at, review.decided_by_id = "kept_apart", utcnow(), getattr(user, "id", None)
        audit("visitors.review.keep_apart", review, user=user, show_id=show.id,
              after={"registration_id": review.registration_id, "person_id": review.registration.person_id,
                     "matched_person_id": review.matched_person_id, "matched_on": review.matched_on})
    return review


def get_registration(show: Show, registration_id: int) -> Registration | None:
    return db.session.scalar(select(Registration).where(Registration.show_id == show.id,
                                                        Registration.id == registration_id))


def registration_by_code(show: Show, code: str) -> tuple[Registration | None, BadgeCode | None]:
    """The registration a scanned code belongs to, and that code's record (check
    ``badge.revoked_at``: a replaced code is known but no longer valid). One indexed query."""
    code = normalize_code(code)
    if not BADGE_CODE_MIN <= len(code) <= BADGE_CODE_MAX:
        return None, None
    row = db.session.execute(
        select(Registration, BadgeCode).join(BadgeCode, BadgeCode.registration_id == Registration.id)
        .where(BadgeCode.code == code, BadgeCode.show_id == show.id)).first()
    return (row[0], row[1]) if row else (None, None)


def replace_badge_code(registration: Registration, reason: str, user=None) -> str:
    """Revoke the current code (kept, with why) and issue a new one; returns the new code."""
    reason = (reason or "").strip()[:200]
    if not reason:
        raise VisitorError(_("Say why the badge code is replaced (e.g. badge lost)."), field="reason")
    reg_id = registration.id
    with transaction():
        reg = db.session.get(Registration, reg_id, populate_existing=True)
        old = reg.badge_code
        now = utcnow()
        db.session.execute(BadgeCode.__table__.update()
                           .where(BadgeCode.code == old, BadgeCode.revoked_at.is_(None))
                           .values(revoked_at=now, revoke_reason=reason))
        reg.badge_code = new_badge_code()
        db.session.add(BadgeCode(code=reg.badge_code, registration_id=reg.id, show_id=reg.show_id, issued_at=now))
        audit("visitors.badge.replace", reg, user=user, show_id=reg.show_id,
              before={"badge_code": old}, after={"badge_code": reg.badge_code, "reason": reason})
        signals.send_after_commit(signals.badge_code_replaced, reg, old_code=old, reason=reason)
    return reg.badge_code


# --- admission ---------------------------------------------------------------------------
def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _rules_for(show_id: int, category: str, day: dt.date) -> list[AdmissionRule]:
    return list(db.session.scalars(select(AdmissionRule).where(
        AdmissionRule.show_id == show_id, AdmissionRule.category == category,
        or_(AdmissionRule.day.is_(None), AdmissionRule.day == day))))


def admission_decision(registration: Registration, day: dt.date, at: dt.datetime | None = None
                       ) -> tuple[bool, str, str]:
    """May this registration enter on ``day``? → (allowed, reason code, translated reason).
    Loads the day and the rules, then asks ``admission_verdict``."""
    show_day = db.session.scalar(select(ShowDay).where(ShowDay.show_id == registration.show_id,
                                                       ShowDay.date == day))
    rules = _rules_for(registration.show_id, registration.category, day)
    return admission_verdict(
        category=registration.category, verification=registration.verification,
        cancelled_at=registration.cancelled_at, birth_date=registration.person.birth_date,
        day=day, at=at, show_open=show_day is not None, trade_only=bool(show_day and show_day.trade_only),
        refused_by_rule=any(not r.admitted for r in rules),
        min_age=max((r.min_age for r in rules if r.min_age is not None), default=None))


def admission_verdict(*, category: str, verification: str, cancelled_at: dt.datetime | None,
                      birth_date: dt.date | None, day: dt.date, at: dt.datetime | None, show_open: bool,
                      trade_only: bool, refused_by_rule: bool, min_age: int | None) -> tuple[bool, str, str]:
    """The admission rules as a pure function of the facts, so the check-in hot path can
    fetch every fact in one query and still apply exactly these rules.

    Codes: ok, cancelled, not_a_show_day, category_not_admitted (by a rule, or a trade-only
    day for the public), under_minimum_age, trade_not_verified. A missing birth date passes
    the age check (the desk checks ID where a rule sets an age)."""
    at = at or utcnow()
    if cancelled_at is not None and cancelled_at <= at:
        return False, "cancelled", _("The registration was cancelled.")
    if not show_open:
        return False, "not_a_show_day", _("The show is not open on %(day)s.", day=day.isoformat())
    if refused_by_rule or (trade_only and category == "public"):
        return False, "category_not_admitted", _("%(category)s visitors are not admitted on %(day)s.",
                                                 category=str(CATEGORY_TITLES.get(category, category)),
                                                 day=day.isoformat())
    if min_age is not None and birth_date is not None and _age_on(birth_date, day) < min_age:
        return False, "under_minimum_age", _("Visitors under %(age)d are not admitted on %(day)s.",
                                             age=min_age, day=day.isoformat())
    if category == "trade" and verification != "verified":
        return False, "trade_not_verified", _("The trade visitor is not verified yet (%(state)s).",
                                              state=str(VERIFICATION_TITLES.get(verification, verification)))
    return True, "ok", _l("Admitted.")   # lazy: the check-in answers with its own welcome


def ticket_price(registration: Registration, day: dt.date) -> int | None:
    """Price (minor units) for this registration on that day from the rules: the concession
    price for a concession holder where a rule sets one (Hannover: half price for disabled
    visitors), else the lowest price set; None when no rule prices the day (free)."""
    rules = _rules_for(registration.show_id, registration.category, day)
    if registration.concession:
        concession = [r.concession_price_minor for r in rules if r.concession_price_minor is not None]
        if concession:
            return min(concession)
    prices = [r.price_minor for r in rules if r.price_minor is not None]
    return min(prices) if prices else None


def add_admission_rule(show: Show, category: str, *, day: dt.date | None = None, admitted: bool = True,
                       min_age: int | None = None, price_minor: int | None = None,
                       concession_price_minor: int | None = None, note: str = "", user=None) -> AdmissionRule:
    if category not in CATEGORIES:
        raise VisitorError(_("Unknown visitor category: %(category)s", category=category), field="category")
    if day is not None and day not in {d.date for d in show.days}:
        raise VisitorError(_("The show is not open on %(day)s.", day=day.isoformat()), field="day")
    if min_age is not None and not 0 <= min_age <= 120:
        raise VisitorError(_("The minimum age must be between 0 and 120."), field="min_age")
    for value, name in ((price_minor, "price_minor"), (concession_price_minor, "concession_price_minor")):
        if value is not None and value < 0:
            raise VisitorError(_("A price cannot be negative."), field=name)
    with transaction():
        rule = AdmissionRule(show_id=show.id, category=category, day=day, admitted=admitted, min_age=min_age,
                             price_minor=price_minor, concession_price_minor=concession_price_minor,
                             note=(note or "").strip()[:200])
        db.session.add(rule)
        db.session.flush()
        audit("visitors.rule.add", rule, user=user, show_id=show.id,
              after={"category": category, "day": day, "admitted": admitted, "min_age": min_age,
                     "price_minor": price_minor, "concession_price_minor": concession_price_minor})
    return rule


def delete_admission_rule(rule: AdmissionRule, user=None) -> None:
    with transaction():
        audit("visitors.rule.delete", rule, user=user, show_id=rule.show_id,
              before={"category": rule.category, "day": rule.day, "admitted": rule.admitted})
        db.session.delete(rule)


def admission_rules(show: Show) -> list[AdmissionRule]:
    return list(db.session.scalars(select(AdmissionRule).where(AdmissionRule.show_id == show.id)
                                   .order_by(AdmissionRule.category, AdmissionRule.day, AdmissionRule.id)))


# --- verification, edit, cancel -----------------------------------------------------------
def verify_registration(registration: Registration, decision: str, *, note: str = "", user=None) -> Registration:
    """A trade visitor's verification: pending → verified / rejected (and back to pending)."""
    if decision not in ("verified", "rejected", "pending"):
        raise VisitorError(_("Unknown verification decision: %(d)s", d=decision), field="decision")
    if registration.category != "trade":
        raise VisitorError(_("Only trade visitors are verified."), field="decision")
    if decision == "rejected" and not (note or "").strip():
        raise VisitorError(_("Say why the verification is rejected."), field="note")
    with transaction():
        before = {"verification": registration.verification}
        registration.verification = decision
        registration.verification_note = (note or "").strip()[:2000]
        registration.verified_at = utcnow() if decision != "pending" else None
        registration.verified_by_id = getattr(user, "id", None) if decision != "pending" else None
        audit("visitors.verify", registration, user=user, before=before,
              after={"verification": decision, "note": registration.verification_note})
    return registration


def update_registration(registration: Registration, person: dict, *, category: str | None = None,
                        concession: str | None = None, answers: dict | None = None,
                        consents: dict | None = None, user=None) -> Registration:
    """Edit a registration and its person's details (validated like a new one)."""
    p = registration.person
    merged = {"name_zh": p.name_zh, "name_en": p.name_en, "email": p.email, "phone": p.phone,
              "country": p.country, "job_title": p.job_title, "birth_date": p.birth_date,
              "organization_name": p.organization.name if p.organization else ""}
    merged.update({k: v for k, v in person.items() if v is not None})
    fields = clean_person_fields(merged)
    if category is not None and category not in CATEGORIES:
        raise VisitorError(_("Unknown visitor category: %(category)s", category=category), field="category")
    if concession is not None and concession not in CONCESSIONS:
        raise VisitorError(_("Unknown concession: %(c)s", c=concession), field="concession")
    show = registration.show
    cleaned_answers = clean_answers(show, answers) if answers is not None else None
    for key in ("email", "phone"):
        if fields[key] and fields[key] != getattr(p, key):
            column = getattr(Person, key)
            other = db.session.scalar(select(Person.id).where(column == fields[key], Person.id != p.id).limit(1))
            if other is not None:
                raise VisitorError(_("Another person already has %(value)s; merge the two records instead.",
                                     value=fields[key]), field=key)
    with transaction():
        before = {"category": registration.category, "name_zh": p.name_zh, "name_en": p.name_en,
                  "email": p.email, "phone": p.phone}
        for key in ("name_zh", "name_en", "email", "phone", "country", "job_title", "birth_date"):
            setattr(p, key, fields[key])
        if fields["organization_name"] and (p.organization is None or fields["organization_name"] not in
                                            (p.organization.name_zh, p.organization.name_en)):
            p.organization = _organization_for(fields["organization_name"])
        p.refresh_keys()
        if category is not None and category != registration.category:
            registration.category = category
            if category == "trade" and registration.verification == "not_required":
                registration.verification = "pending"
            elif category != "trade":
                registration.verification = "not_required"
        if concession is not None:
            registration.concession = concession
        if cleaned_answers is not None:
            registration.answers = cleaned_answers
        now = utcnow()
        for purpose, granted in (consents or {}).items():
            if p.consent(purpose) != bool(granted):
                db.session.add(Consent(person_id=p.id, purpose=purpose, granted=bool(granted), at=now,
                                       source="visitors:staff"))
        audit("visitors.update", registration, user=user, before=before,
              after={"category": registration.category, "name_zh": p.name_zh, "name_en": p.name_en,
                     "email": p.email, "phone": p.phone, "consents": consents or {}})
    return registration


def cancel_registration(registration: Registration, user=None) -> Registration:
    with transaction():
        if registration.cancelled_at is None:
            registration.cancelled_at = utcnow()
            audit("visitors.cancel", registration, user=user, after={"cancelled_at": registration.cancelled_at})
    return registration


def attach_business_card(registration: Registration, filename: str, data: bytes, *, company: str = "",
                         user=None) -> BusinessCard:
    """Store a business card as verification evidence. The type is decided by the content
    (Pillow opens and verifies it), never by the name or the browser's claim."""
    if not data:
        raise VisitorError(_("The file is empty."), field="card")
    if len(data) > CARD_MAX_BYTES:
        raise VisitorError(_("The file is larger than %(mb)d MB.", mb=CARD_MAX_BYTES // (1024 * 1024)), field="card")
    from PIL import Image, UnidentifiedImageError
    too_big = VisitorError(_("The image is too large: at most %(mp)d megapixels.", mp=CARD_MAX_PIXELS // 10 ** 6),
                           field="card")
    width = height = 0
    try:
        with Image.open(io.BytesIO(data)) as img:   # reads the header only: the size is known before decoding
            kind, (width, height) = img.format, img.size
            if width * height <= CARD_MAX_PIXELS:
                img.verify()
    except Image.DecompressionBombError:
        raise too_big from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        kind = None
    if width * height > CARD_MAX_PIXELS:
        raise too_big
    if kind not in CARD_TYPES:
        raise VisitorError(_("A business card must be a JPEG or PNG image."), field="card")
    safe_name = "".join(ch for ch in (filename or "card") if ch.isalnum() or ch in "._- ")[:150] or "card"
    with transaction():
        card = BusinessCard(registration_id=registration.id, filename=safe_name, content_type=CARD_TYPES[kind],
                            size=len(data), data=data, uploaded_by_id=getattr(user, "id", None))
        db.session.add(card)
        if company.strip():
            registration.evidence_company = company.strip()[:200]
        db.session.flush()
        audit("visitors.card.upload", registration, user=user,
              after={"card_id": card.id, "filename": safe_name, "size": len(data)})
    return card


def business_cards(registration: Registration) -> list[BusinessCard]:
    return list(db.session.scalars(select(BusinessCard).where(BusinessCard.registration_id == registration.id)
                                   .order_by(BusinessCard.id.desc())))


# --- lists, search, export ---------------------------------------------------------------
SORTS = {
    "newest": (Registration.id.desc(),),
    "oldest": (Registration.id.asc(),),
    # Ties on the name (many 张伟) are broken by the person: one registration per person and
    # show, and the persons sort_name index already holds (sort_name, id) in that order.
    "name": (Person.sort_name.asc(), Person.id.asc()),
}
# The same orders for keyset pagination (crm_expo.listing): columns, their types, direction.
ORDERS = {
    "newest": Order((Registration.id,), (int,), descending=True),
    "oldest": Order((Registration.id,), (int,)),
    "name": Order((Person.sort_name, Person.id), (str, int)),
}
SEARCH_LIMIT = 5000          # people a list search looks at (crm_expo.contacts.search ranks them)
CONSENT_COUNT_CAP = 2_000   # consent-filtered totals above this are shown as "at least"


def _consent_exists(purpose: str):
    """SQL: the registration's person currently consents to ``purpose``: the latest consent
    row per purpose is the person's answer — one seek at the end of ix_consents_person_purpose."""
    c = aliased(Consent)
    latest = (select(c.granted).where(c.person_id == Registration.person_id, c.purpose == purpose)
              .order_by(c.id.desc()).limit(1).correlate(Registration).scalar_subquery())
    return latest.is_(True)


def search_person_ids(q: str, show: Show, limit: int = SEARCH_LIMIT) -> list[int]:
    """Ids of people matching the text (characters, pinyin, initials, email, phone, company)."""
    return list(search.search_persons(q, limit, show=show))


def visitor_query(show: Show, *, category: str = "", verification: str = "", consent: str = "",
                  q: str = "", sort: str = "newest", include_cancelled: bool = True, join_person: bool = False,
                  person_ids: list[int] | None = None, walk_names: bool = False):
    """SELECT of (Registration) joined with Person, filtered and ordered (the API and exports
    page or stream it; the staff list pages it by keyset: visitor_page).

    ``walk_names``: plan for a large filtered set sorted by name — read people in name order
    and keep those registered here, instead of sorting every registration of the show."""
    show_cond = Registration.show_id == show.id
    if walk_names:
        # SQLite plans without statistics: hide the show's indexes, so the persons sort_name
        # index drives the join (a no-op on PostgreSQL, whose planner uses statistics).
        show_cond = unindexed(Registration.show_id) == show.id
    stmt = select(Registration).where(show_cond)
    if sort == "name" or join_person:   # the join costs the count dearly at 200,000 rows
        stmt = stmt.join(Person, Person.id == Registration.person_id)
    if walk_names:
        stmt = stmt.where(Person.sort_name >= "")   # always true: lets the planner seek the index
    if category:
        stmt = stmt.where((unindexed(Registration.category) if walk_names else Registration.category) == category)
    if verification:
        # With a category too, the category's index is the one to read (SQLite, without
        # statistics, might pick the far larger 'not required' range of the other).
        stmt = stmt.where((unindexed(Registration.verification) if walk_names or category
                           else Registration.verification) == verification)
    if consent:
        stmt = stmt.where(_consent_exists(consent))
    if not include_cancelled:
        stmt = stmt.where(Registration.cancelled_at.is_(None))
    if person_ids is None and q and q.strip():
        person_ids = search_person_ids(q.strip(), show)
    if person_ids is not None:
        stmt = stmt.where(Registration.person_id.in_(person_ids))
    return stmt.order_by(*SORTS.get(sort, SORTS["newest"]))


def count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def visitor_counts(show: Show) -> dict[str, tuple[int, int]]:
    """Per category: (registrations, of which cancelled). One statement of index range counts
    (ix_visitors_registration_show_counts, covering): the figures and the list totals."""
    def n(category, cancelled):
        conds = [Registration.show_id == show.id, Registration.category == category]
        if cancelled:
            conds.append(Registration.cancelled_at.is_not(None))
        return select(func.count()).where(*conds).scalar_subquery()
    row = db.session.execute(select(*[n(c, False) for c in CATEGORIES], *[n(c, True) for c in CATEGORIES])).one()
    return {c: (row[i], row[len(CATEGORIES) + i]) for i, c in enumerate(CATEGORIES)}


def visitor_page(show: Show, position: Position, *, category: str = "", verification: str = "",
                 consent: str = "", q: str = "", sort: str = "newest", per_page: int = PER_PAGE,
                 counts: dict | None = None) -> Page:
    """One page of the staff visitor list with its total, fast at any depth of any filter
    and sort (keyset pagination: crm_expo.listing). The total is exact, except with a consent
    filter above CONSENT_COUNT_CAP matches or a search that matched more people than it
    looks at: then ``total_exact`` is False and ``total`` a lower bound."""
    filters = {"category": category, "verification": verification, "consent": consent}
    person_ids = search_person_ids(q.strip(), show) if q and q.strip() else None
    # The total first: it also says how large the set is, which decides the plan below.
    if consent or person_ids is not None:
        total, exact = count_rows(visitor_query(show, person_ids=person_ids, **filters),
                                  cap=CONSENT_COUNT_CAP if consent else None)
        if person_ids is not None and len(person_ids) >= SEARCH_LIMIT:
            exact = False
    elif verification:
        total, exact = count_rows(visitor_query(show, **filters))   # an index range
    else:
        counts = counts if counts is not None else visitor_counts(show)
        total, exact = sum(n for c, (n, _x) in counts.items() if not category or c == category), True
    if total == 0:
        return Page(rows=[], total=0)
    # A small set is filtered first and sorted; a large one is read in the order of an index,
    # stopping after a page: by name the persons sort_name index (the whole show's range), by
    # date the filter's own index (the category's range, else the show's). The walk reads
    # about per_page × range / total rows, the sort about total: equal at total² = per_page × range.
    small = person_ids is not None     # at most SEARCH_LIMIT people: probe each
    if exact and not small:
        counts = counts if counts is not None else visitor_counts(show)
        scope = category if category and sort != "name" else None
        range_size = sum(n for c, (n, _x) in counts.items() if scope is None or c == scope)
        small = total * total <= per_page * range_size
    walk = sort == "name" and not small
    stmt = visitor_query(show, sort=sort, person_ids=person_ids, walk_names=walk, **filters).order_by(None)
    stmt = stmt.options(joinedload(Registration.person).joinedload(Person.organization))
    page = seek_page(stmt, ORDERS.get(sort, ORDERS["newest"]), position, per_page=per_page, small=small)
    page.total, page.total_exact = total, exact
    return page


def export_header() -> list[str]:
    """The export's column titles, in the reader's language (the columns of export_rows)."""
    from crm_expo.exports import time_header
    return [_("Id"), _("Category"), _("Verification"), _("Name (Chinese)"), _("Name (English)"), _("Company"),
            _("Job title"), _("Email"), _("Phone"), _("Consents to marketing"),
            _("Consents to sharing with exhibitors"), time_header(_("Registered at"))]


def export_rows(show: Show, *, for_exhibitors: bool = False, **filters):
    """Rows for CSV/XLSX. Contact details only of people who consented to it: marketing for
    the organizer's export, sharing with exhibitors for an exhibitor-facing export."""
    stmt = visitor_query(show, join_person=True, **filters).with_only_columns(
        Registration.id, Registration.category, Registration.verification, Person.name_zh, Person.name_en,
        Organization.name_zh, Organization.name_en, Person.job_title, Person.email, Person.phone,
        _consent_exists("marketing").label("marketing"),
        _consent_exists("share_with_exhibitors").label("share"),
        Registration.created_at).outerjoin(Organization, Organization.id == Person.organization_id)
    if for_exhibitors:
        stmt = stmt.where(_consent_exists("share_with_exhibitors"))
    from crm_expo.exports import sheet_time
    # translated once, not once per row: the reader's language
    categories = {k: str(v) for k, v in CATEGORY_TITLES.items()}
    verifications = {k: str(v) for k, v in VERIFICATION_TITLES.items()}
    yes, no = _("yes"), _("no")
    for row in db.session.execute(stmt.execution_options(yield_per=2000)):
        (rid, cat, ver, nzh, nen, ozh, oen, job, email, phone, marketing, share, created) = row
        contact_ok = share if for_exhibitors else marketing
        yield (rid, categories.get(cat, cat), verifications.get(ver, ver), nzh, nen, ozh or oen or "", job,
               email if contact_ok else "", phone if contact_ok else "", yes if marketing else no,
               yes if share else no, sheet_time(created))


def figures(show: Show, counts: dict | None = None) -> dict:
    """Registrations per category and how many count as visitors (one SQL aggregate, or the
    ``visitor_counts`` the list page already has). Cancelled registrations are left out."""
    by_category = {c: n - cancelled for c, (n, cancelled)
                   in (counts if counts is not None else visitor_counts(show)).items()}
    return {"by_category": by_category,
            "counted": sum(n for c, n in by_category.items() if c in COUNTED_CATEGORIES),
            "total": sum(by_category.values())}


def keys_for(name_zh: str, name_en: str, email: str, phone: str, company_zh: str = "", company_en: str = "") -> str:
    return search_keys(name_zh, name_en, email, (phone or "").lstrip("+"), company_zh, company_en)


__all__ = ["VisitorError", "COUNTED_CATEGORIES", "register_visitor", "registration_by_code",
           "admission_decision", "replace_badge_code", "get_registration", "verify_registration",
           "update_registration", "cancel_registration", "attach_business_card", "add_admission_rule",
           "ticket_price", "visitor_query", "visitor_page", "export_rows", "export_header", "figures", "save_question",
           "questions_for", "normalize_code", "merge_review", "keep_apart", "reviews", "open_review_count"]
