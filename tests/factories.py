"""Factories: each test makes its own data through the real operations (so the data obeys
the same rules as production data)."""
from __future__ import annotations

import datetime as dt
import itertools

from crm_expo.extensions import db
from crm_expo.models import Organization, Person
from crm_expo.operations import create_show, create_user

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_show(slug: str | None = None, *, days: int = 3, start: dt.date | None = None, **kw):
    n = next(_seq)
    return create_show(slug or f"show-{n}", kw.pop("name_zh", f"测试展会{n}"), start or dt.date(2027, 5, 10), days,
                       name_en=kw.pop("name_en", f"Test Show {n}"), **kw)


def make_org(name_zh: str | None = None, name_en: str = "", **kw) -> Organization:
    n = next(_seq)
    org = Organization(name_zh=name_zh if name_zh is not None else f"测试公司{n}", name_en=name_en, **kw)
    org.refresh_keys()
    db.session.add(org)
    db.session.commit()
    return org


def make_person(name_zh: str = "张伟", name_en: str = "", organization: Organization | None = None, **kw) -> Person:
    p = Person(name_zh=name_zh, name_en=name_en, **kw)
    db.session.add(p)
    p.organization = organization
    p.refresh_keys()
    db.session.commit()
    return p


def make_user(role: str = "organizer", *, email: str | None = None, org: Organization | None = None,
              password: str = PASSWORD, locale: str = ""):
    n = next(_seq)
    if role in ("exhibitor", "supplier") and org is None:
        org = make_org()
    return create_user(email or f"{role}{n}@example.com", password, role,
                       organization_id=org.id if org else None, name=f"{role} {n}", locale=locale)
