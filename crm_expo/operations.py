"""Core operations: shows and their series, users, API tokens. Plain functions, no request object; each is
one transaction and audited. Raise :class:`CoreError` with a message for the user."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import get_currency_name
from flask_babel import gettext as _
from sqlalchemy import false, func, select

from . import signals
from .contacts import normalise
from .database import transaction, utcnow
from .errors import DomainError
from .extensions import db
from .models import ApiToken, Organization, Show, ShowDay, ShowSeries, User, audit
from .models.shows import SHOW_TRANSITIONS
from .models.users import ROLE_VALUES

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
MIN_PASSWORD = 10


class CoreError(DomainError):
    """A request the core refuses, with a message naming the problem."""

    code = "invalid"


_YEAR_IN_NAME = re.compile(r"\s*(19|20)\d{2}\s*年?\s*")
_YEAR_IN_SLUG = (re.compile(r"[-_]?(19|20)\d{2}$"), re.compile(r"^(19|20)\d{2}[-_]?"))


def series_name_of(name: str) -> str:
    """A series' name from an edition's: the year taken out ("2027中国国际食品博览会" →
    "中国国际食品博览会"); the name itself when nothing else is left."""
    base = _YEAR_IN_NAME.sub(" ", name or "").strip(" -–·")
    return base or (name or "")


def series_slug_of(slug: str) -> str:
    """A series' code from an edition's: its code without the year (food-expo-2027 → food-expo)."""
    base = _YEAR_IN_SLUG[1].sub("", _YEAR_IN_SLUG[0].sub("", slug)).strip("-_")
    return base if SLUG.match(base) else slug


def series_by_slug(slug: str) -> ShowSeries | None:
    return db.session.scalar(select(ShowSeries).where(ShowSeries.slug == (slug or "").strip().lower()))


def check_series_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise CoreError(_("The series code must be 2–63 lower-case letters, digits or dashes: %(slug)s", slug=slug),
                        field="series")
    return slug


def series_for(slug: str, *, name_zh: str = "", name_en: str = "", user=None) -> ShowSeries:
    """The series with this code, created (with this name) when it does not exist yet; in the
    caller's transaction when there is one."""
    slug = check_series_slug(slug)
    found = series_by_slug(slug)
    if found is not None:
        return found
    if not (name_zh or name_en):
        raise CoreError(_("A new series needs a name."), field="series_name")
    taken = CoreError(_("A series with the code %(slug)s exists already.", slug=slug), field="series")
    with transaction(constraint_errors={"uq_show_series_slug": taken}):
        series = ShowSeries(slug=slug, name_zh=name_zh or name_en, name_en=name_en)
        db.session.add(series)
        db.session.flush()
        audit("series.create", series, user=user, after={"slug": slug, "name_zh": series.name_zh,
                                                        "name_en": series.name_en})
    return series


def set_show_series(show: Show, series: ShowSeries | None, user=None) -> Show:
    """Put a show in a series (None: take it out of its series)."""
    with transaction():
        before = show.series.slug if show.series else None
        show.series = series
        audit("show.series", show, user=user, show_id=show.id, before={"series": before},
              after={"series": series.slug if series else None})
    return show


def _editions_before(show: Show):
    """(SELECT of the shows of ``show``'s series that started before it, their first day)."""
    first_day = (select(ShowDay.show_id, func.min(ShowDay.date).label("first"))
                 .group_by(ShowDay.show_id).subquery())
    stmt = (select(Show).join(first_day, first_day.c.show_id == Show.id)
            .where(Show.series_id == show.series_id, Show.id != show.id))
    if show.series_id is None or show.start is None:
        return stmt.where(false()), first_day.c.first
    return stmt.where(first_day.c.first < show.start), first_day.c.first


def earlier_editions(show: Show):
    """A SELECT of the ids of the shows of ``show``'s series whose first day is before this
    one's (none when the show has no series or no days)."""
    stmt, _first = _editions_before(show)
    return stmt.with_only_columns(Show.id)


def previous_edition(show: Show) -> Show | None:
    """The latest show of the same series whose first day is before this one's; None when
    there is none (no series, no days, the first edition). The edition every comparison with
    "last year" and the booths' rebooking window use."""
    stmt, first = _editions_before(show)
    return db.session.scalar(stmt.order_by(first.desc(), Show.id.desc()).limit(1))


def create_show(slug: str, name_zh: str, start: dt.date, days: int, *, name_en: str = "", venue: str = "",
                halls=None, timezone: str = "Asia/Shanghai", currency: str = "CNY",
                opens: dt.time = dt.time(9, 0), closes: dt.time = dt.time(17, 0),
                series: str | ShowSeries | None = None, series_name_zh: str = "", series_name_en: str = "",
                user=None) -> Show:
    """A new show (edition). ``series``: a series or its code; a code not seen before makes a
    new series, named ``series_name_zh``/``series_name_en`` or after the show without its year."""
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise CoreError(_("The show code must be 2–63 lower-case letters, digits or dashes: %(slug)s", slug=slug))
    if isinstance(series, str):
        series = check_series_slug(series)
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
        if isinstance(series, str):
            series = series_for(series, name_zh=series_name_zh or series_name_of(name_zh or name_en),
                                name_en=series_name_en or series_name_of(name_en), user=user)
        show = Show(slug=slug, name_zh=name_zh or name_en, name_en=name_en, venue=venue, halls=list(halls or []),
                    timezone=timezone, currency=currency, series=series)
        show.days = [ShowDay(date=start + dt.timedelta(days=i), opens=opens, closes=closes) for i in range(days)]
        db.session.add(show)
        db.session.flush()
        audit("show.create", show, user=user, show_id=show.id,
              after={"slug": slug, "name_zh": show.name_zh, "start": start, "days": days,
                     "series": series.slug if series else None})
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
