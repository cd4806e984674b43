"""The one normaliser of contact details: every email and phone number stored or looked up
goes through :func:`normalize_email` / :func:`normalize_phone` (forms, API, imports,
generators, user accounts), so that the same address or number is always the same string."""
from __future__ import annotations

import functools
import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from ..errors import DomainError
from ..i18n import gettext_anywhere as _

_PHONE_NOISE = re.compile(r"[\s\-().]")
_CN_MOBILE = re.compile(r"^(?:\+86|0086|86)?(1[3-9]\d{9})$")
_EMAIL_FAST = re.compile(r"^[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
                         r"([a-z]{2,63})$")


class InvalidContact(DomainError):
    """An email or phone number that is not one; ``field`` says which."""

    code = "invalid"


_SPECIAL_TLDS = {"arpa", "invalid", "local", "localhost", "onion", "test"}


@functools.cache
def _cn_mobile_block_valid(prefix: str) -> bool:
    """Whether phonenumbers accepts mobile numbers of this 4-digit block (138x, 199x …)."""
    return phonenumbers.is_valid_number(phonenumbers.parse("+86" + prefix + "1234567"))


def normalize_phone(raw: str, region: str = "CN") -> str:
    """A phone number in E.164 (+8613800138000); numbers without a country code are read in
    ``region``. Raises ValueError naming the number when it cannot be a real one.
    Chinese mobile numbers take a fast path (an import of 100,000 rows would otherwise spend
    most of its time in the phonenumbers parser)."""
    text = (raw or "").strip()
    if not text:
        raise InvalidContact(_("no phone number given"), field="phone")
    compact = _PHONE_NOISE.sub("", text)
    m = _CN_MOBILE.match(compact)
    if m and (region == "CN" or compact.startswith(("+86", "0086"))) and _cn_mobile_block_valid(m.group(1)[:4]):
        return "+86" + m.group(1)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(_("not a phone number: %(phone)s", phone=raw), field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact(_("not a valid phone number: %(phone)s", phone=raw), field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """A syntactically valid email address, lower case (no DNS lookup: venues are offline).
    Plain ASCII addresses are checked by a strict pattern; anything else by email-validator."""
    text = (raw or "").strip()
    if not text:
        raise InvalidContact(_("no email address given"), field="email")
    lower = text.lower()
    m = _EMAIL_FAST.match(lower)
    if m and len(lower) <= 254 and lower.index("@") <= 64 and m.group(1) not in _SPECIAL_TLDS:
        return lower
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidContact(_("not a valid email address: %(email)s (%(why)s)", email=raw, why=str(exc)), field="email") from exc


def email_lookup_key(raw: str) -> str:
    """The form an email typed to look something up (a login) is compared in: what
    :func:`normalize_email` stores for a valid address, and never an error (a mistyped
    address simply matches nothing)."""
    try:
        return normalize_email(raw)
    except ValueError:
        return (raw or "").strip().lower()


def optional(normalise, value) -> str:
    """``normalise(value)`` for a given value, "" for a blank one."""
    return normalise(value) if (value or "").strip() else ""
