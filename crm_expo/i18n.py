"""Languages: Simplified Chinese and English. The locale is the user's preference, else
the one chosen with the switcher (kept in the session), else the browser's
Accept-Language, else CRM_EXPO_DEFAULT_LOCALE."""
from __future__ import annotations

import datetime as dt
import functools

from babel import Locale
from babel.numbers import get_currency_precision
from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .access import bearer_token

LOCALES = ("zh", "en")
LOCALE_NAMES = {"zh": "中文", "en": "English"}


def select_locale() -> str:
    if not has_request_context():   # CLI, background work: the configured default
        return current_app.config.get("DEFAULT_LOCALE", "zh")
    if bearer_token(request.headers.get("Authorization")) is not None:
        # A script or desk device: no user session to look at; its Accept-Language decides.
        return accepted_language(request.headers.get("Accept-Language"))
    user_locale = getattr(current_user, "locale", "") if current_user else ""
    if user_locale in LOCALES:
        return user_locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return accepted_language(request.headers.get("Accept-Language"))


def accepted_language(header: str | None) -> str:
    """The best of our languages for an Accept-Language header, else the configured default."""
    return _best_match(header or "") or current_app.config.get("DEFAULT_LOCALE", "zh")


@functools.lru_cache(maxsize=256)   # a venue's devices send a handful of distinct headers
def _best_match(header: str) -> str | None:
    return parse_accept_header(header, LanguageAccept).best_match(LOCALES)


_parsed: dict[str, Locale] = {}


def parsed_locale(name: str) -> Locale:
    """A babel Locale, parsed once per process (Locale.parse costs some 40 µs)."""
    locale = _parsed.get(name)
    if locale is None:
        locale = _parsed[name] = Locale.parse(name)
    return locale


def request_locale() -> Locale:
    """Flask-Babel's locale selector: select_locale() as a parsed Locale — Flask-Babel parses
    a returned string again on every request, which the gate's check-in would pay on every
    scan."""
    return parsed_locale(select_locale())


def _babel_locale() -> str:
    return "zh_Hans_CN" if str(get_locale() or "zh").startswith("zh") else "en"


def local_name(name_zh: str | None, name_en: str | None) -> str:
    """The name in the reader's language, the other one when that is blank (as Show.name)."""
    if str(get_locale() or "zh").startswith("en"):
        return name_en or name_zh or ""
    return name_zh or name_en or ""


def minor_units(currency: str) -> int:
    return get_currency_precision(currency)


def money(amount_minor: int | None, currency: str = "CNY") -> str:
    """Format integer minor units (fen, cents) as money in the current locale: ¥13,800.00."""
    if amount_minor is None:
        return ""
    value = amount_minor / (10 ** minor_units(currency))
    locale, pattern = _currency_format(_babel_locale())
    return pattern.apply(value, locale, currency=currency)


def number(value) -> str:
    """A number in the reader's locale (1,234.5), the locale's pattern parsed once."""
    locale, _currency = _currency_format(_babel_locale())
    return _decimal_format(_babel_locale()).apply(value if value is not None else 0, locale)


@functools.cache
def _decimal_format(locale: str):
    return Locale.parse(locale).decimal_formats[None]


@functools.cache
def _currency_format(locale: str):
    # What babel's format_currency does, with the locale parsed once: a list of a few hundred
    # amounts spent most of its time parsing the same locale again.
    parsed = Locale.parse(locale)
    return parsed, parsed.currency_formats["standard"]


def parse_money(text: str, currency: str = "CNY", field: str | None = None) -> int:
    """'13,800.50' → 1380050 (minor units), exact: no float on the way. A text that is not an
    amount of ``currency`` is a DomainError naming the value (and ``field``, for the form)."""
    from decimal import Decimal, InvalidOperation

    from flask_babel import gettext as _

    from .errors import DomainError
    cleaned = (text or "").replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise DomainError(_("Not an amount: %(value)s", value=text), "invalid_amount", field=field) from None
    if not value.is_finite():
        raise DomainError(_("Not an amount: %(value)s", value=text), "invalid_amount", field=field)
    scaled = value * (10 ** minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise DomainError(_("%(value)s has more decimals than %(currency)s allows.", value=text, currency=currency),
                          "invalid_amount", field=field)
    return int(scaled)


def show_timezone() -> str:
    """The one time-zone rule: times are shown in the zone of the show the page is about
    (``g.show``), else of the current show (the switcher's), else CRM_EXPO_TIMEZONE. It is
    Flask-Babel's timezone selector, so every format_datetime follows it."""
    from flask import g, has_app_context
    if not has_app_context():
        return "Asia/Shanghai"
    show = g.get("show") if has_request_context() else None
    if show is None and has_request_context():
        try:
            from .web import current_show
            show = current_show()
        except Exception:   # no database yet (the schema check's own error page)
            show = None
    return getattr(show, "timezone", None) or current_app.config.get("TIMEZONE", "Asia/Shanghai")


def time_zone_label() -> str:
    """The zone times are shown in, as a reader says it: "China (Shanghai) Time GMT+08:00"."""
    from babel.dates import get_timezone, get_timezone_gmt, get_timezone_location
    zone = get_timezone(show_timezone())
    locale = get_locale() or "zh"
    return f"{get_timezone_location(zone, locale=locale)} {get_timezone_gmt(dt.datetime.now(zone), locale=locale)}"


def local_datetime(value: dt.datetime | None, fmt: str = "medium") -> str:
    """A stored (naive UTC) timestamp shown in the show's zone (show_timezone, Flask-Babel's
    timezone selector) in the reader's locale: one format per locale on every page."""
    return format_datetime(value, fmt) if value else ""


def local_date(value, fmt: str = "medium") -> str:
    return format_date(value, fmt) if value else ""


def str_anywhere(value) -> str:
    """``str(value)`` of a lazy string the way :func:`gettext_anywhere` translates: outside a
    request in DEFAULT_LOCALE (the app context may have cached another locale already)."""
    from flask import has_app_context
    from flask_babel import force_locale
    if has_app_context() and not has_request_context():
        with force_locale(current_app.config.get("DEFAULT_LOCALE") or "zh"):
            return str(value)
    return str(value)


def gettext_anywhere(text: str, **kw) -> str:
    """gettext that also works outside a request (the CLI): there the core's locale selector
    has no session to read, so the message is translated to DEFAULT_LOCALE (temporarily, so
    that later requests in the same app context still choose their own locale)."""
    from flask import has_app_context
    from flask_babel import force_locale, gettext
    if has_app_context() and not has_request_context():
        with force_locale(current_app.config.get("DEFAULT_LOCALE") or "zh"):
            return gettext(text, **kw)
    return gettext(text, **kw)


def in_locale(text, locale: str) -> str:
    """A lazy string (a code's title) in the given locale, whatever the reader's."""
    from flask_babel import force_locale
    with force_locale(locale):
        return str(text)


def bilingual(text) -> str:
    """"中文 English" of a lazy title, for the documents printed in both languages."""
    zh, en = in_locale(text, "zh"), in_locale(text, "en")
    return zh if zh == en else f"{zh} {en}"
