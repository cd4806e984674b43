"""A small hand-made series: editions e1..e3 closed, e4 the current one (open)."""
from __future__ import annotations

import datetime as dt

from crm_expo.database import transaction
from crm_expo.extensions import db
from plugins.loyalty.models import Participation
from tests.factories import make_org, make_show


def series(n_closed: int = 3, current: bool = True, code: str = "fx"):
    shows = []
    for i in range(n_closed):
        s = make_show(f"{code}-{2020 + i}", start=dt.date(2020 + i, 5, 10), series=code)
        s.status = "closed"
        shows.append(s)
    db.session.commit()
    now = None
    if current:
        now = make_show(f"{code}-{2020 + n_closed}", start=dt.date(2020 + n_closed, 5, 10), series=code)
        now.status = "open"
        db.session.commit()
    return shows, now


def took_part(org, show, m2=9.0, paid=10_000_00, on_time=True, satisfaction=None, recommend=None):
    with transaction():
        db.session.add(Participation(organization_id=org.id, show_id=show.id, booth_m2=m2, amount_paid_minor=paid,
                                     paid_on_time=on_time, satisfaction=satisfaction, would_recommend=recommend,
                                     source="import"))


def orgs(n):
    return [make_org(f"客户{i}") for i in range(n)]
