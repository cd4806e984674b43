"""Core operations: shows, users, API tokens. Plain functions, no request object; each is
one transaction and audited. Raise :class:`CoreError` with a message for the user."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import get_currency_name
from flask_babel import gettext as _
from sqlalchemy import select

from . import signals
from .contacts import normalise
from .database import transaction, utcnow
from .errors import DomainError
from .extensions import db
from .models import ApiToken, Organization, Show, ShowDay, User, audit
from .models.shows import SHOW_TRANSITIONS
from .models.users import ROLE_VALUES

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
MIN_PASSWORD = 10


class CoreError(DomainError):
    """A request the core refuses, with a message naming the problem."""

    code = "invalid"


def create_show(slug: str, name_zh: str, start: dt.date, days: int, *, name_en: str = "", venue: str = "",
                halls=None, timezone: str = "Asia/Shanghai", currency: str = "CNY",
                opens: dt.time = dt.time(9, 0), closes: dt.time = dt.time(17, 0), user=None) -> Show:
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise CoreError(_("The show code must be 2–63 lower-case letters, digits or dashes: %(slug)s", slug=slug))
    if not (name_zh or name_en):
        raise CoreError(_("A show needs a name."))
    if not 1 <= days <= 60:
        raise CoreError(_("A show lasts 1 to 60 days, not %(days)d.", days=days))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CoreError(_("Unknown timezone: %(tz)s", tz=timezone)) from exc
    try:
        get_currency_name(currency)
        if len(currency) != 3 or not currency.isupper():
            raise ValueError
    except Exception as exc:
        raise CoreError(_("Unknown currency: %(cur)s", cur=currency)) from exc
    if db.session.scalar(select(Show.id).where(Show.slug == slug)):
        raise CoreError(_("A show with the code %(slug)s exists already.", slug=slug))
    taken = CoreError(_("A show with the code %(slug)s exists already.", slug=slug), field="slug")
    with transaction(constraint_errors={"uq_shows_slug": taken}):
        show = Show(slug=slug, name_zh=name_zh or name_en, name_en=name_en, venue=venue, halls=list(halls or []),
                    timezone=timezone, currency=currency)
        show.days = [ShowDay(date=start + dt.timedelta(days=i), opens=opens, closes=closes) for i in range(days)]
        db.session.add(show)
        db.session.flush()
        audit("show.create", show, user=user, show_id=show.id,
              after={"slug": slug, "name_zh": show.name_zh, "start": start, "days": days})
        signals.send_after_commit(signals.show_created, show)
    return show


def change_show_status(show: Show, new: str, user=None) -> Show:
    old = show.status
    if new not in SHOW_TRANSITIONS.get(old, set()):
        raise CoreError(_("A show cannot go from %(old)s to %(new)s.", old=old, new=new))
    with transaction():
        show.status = new
        audit("show.status", show, user=user, show_id=show.id, before={"status": old}, after={"status": new})
        signals.send_after_commit(signals.show_status_changed, show, old=old, new=new)
    return show


def change_show_dates(show: Show, start: dt.date, days: int, user=None) -> Show:
    """Move a show to ``days`` days from ``start``. Each remaining day keeps its hours (a new
    day gets the last day's). Refused once the show is live or has ended: scans, badges and
    reports are dated by its days."""
    if show.status in ("live", "closed"):
        raise CoreError(_("The dates of a show that is live or has ended cannot change."), field="start")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
        raise CoreError(_("A show lasts 1 to 60 days, not %(days)s.", days=days), field="days")
    with transaction():
        before = {"start": show.start, "days": len(show.days)}
        template = list(show.days) or [ShowDay(opens=dt.time(9, 0), closes=dt.time(17, 0), trade_only=False)]
        hours = [(d.opens, d.closes, d.trade_only) for d in template]
        show.days.clear()
        db.session.flush()          # the old dates leave before the new ones (unique per show and date)
        for i in range(days):
            opens, closes, trade_only = hours[min(i, len(hours) - 1)]
            show.days.append(ShowDay(date=start + dt.timedelta(days=i), opens=opens, closes=closes, trade_only=trade_only))
        audit("show.dates", show, user=user, show_id=show.id, before=before, after={"start": start, "days": days})
    return show


def normalize_email(email: str) -> str:
    """A user account's email, normalised as every contact's is (crm_expo.contacts.normalise)."""
    try:
        return normalise.normalize_email(email)
    except ValueError as exc:
        raise CoreError(_("Not a valid email address: %(email)s (%(why)s)", email=email,
                          why=str(exc.__cause__ or exc))) from exc


def create_user(email: str, password: str, role: str, *, organization_id: int | None = None, name: str = "",
                locale: str = "", user=None) -> User:
    email = normalize_email(email)
    if role not in ROLE_VALUES:
        raise CoreError(_("Unknown role %(role)s; roles: %(roles)s", role=role, roles=", ".join(ROLE_VALUES)))
    portal = role in ("exhibitor", "supplier")
    if portal and organization_id is None:
        raise CoreError(_("A %(role)s portal user needs an organization (--org ID).", role=role))
    if not portal and organization_id is not None:
        raise CoreError(_("Only exhibitor and supplier portal users belong to an organization."))
    if organization_id is not None and db.session.get(Organization, organization_id) is None:
        raise CoreError(_("No organization with id %(id)s.", id=organization_id))
    if len(password or "") < MIN_PASSWORD:
        raise CoreError(_("The password must have at least %(n)d characters.", n=MIN_PASSWORD))
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise CoreError(_("A user with the email %(email)s exists already.", email=email))
    taken = CoreError(_("A user with the email %(email)s exists already.", email=email), field="email")
    with transaction(constraint_errors={"uq_users_email": taken}):
        new = User(email=email, role=role, organization_id=organization_id, name=name, locale=locale)
        new.set_password(password)
        db.session.add(new)
        db.session.flush()
        audit("user.create", new, user=user, after={"email": email, "role": role, "organization_id": organization_id})
    return new


def set_user_active(target: User, active: bool, user=None) -> User:
    with transaction():
        before = {"active": target.active}
        target.active = active
        target.rotate_session()
        audit("user.enable" if active else "user.disable", target, user=user, before=before, after={"active": active})
    return target


def create_token(show: Show, role: str, *, name: str = "", organization_id: int | None = None,
                 expires_at: dt.datetime | None = None, user=None) -> tuple[ApiToken, str]:
    """A new API token; the plain token is returned once and never stored."""
    if role not in ROLE_VALUES:
        raise CoreError(_("Unknown role %(role)s; roles: %(roles)s", role=role, roles=", ".join(ROLE_VALUES)))
    if role in ("exhibitor", "supplier") and organization_id is None:
        raise CoreError(_("A %(role)s token needs an organization.", role=role))
    with transaction():
        token, plain = ApiToken.new(show_id=show.id, role=role, name=name, organization_id=organization_id,
                                    expires_at=expires_at, created_by_id=getattr(user, "id", None))
        db.session.add(token)
        db.session.flush()
        audit("token.create", token, user=user, show_id=show.id,
              after={"prefix": token.prefix, "role": role, "name": name})
    return token, plain


def revoke_token(token: ApiToken, user=None) -> ApiToken:
    with transaction():
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit("token.revoke", token, user=user, show_id=token.show_id, after={"prefix": token.prefix})
    return token
