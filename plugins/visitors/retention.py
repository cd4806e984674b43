"""Per-show retention of the visitors' personal data (PIPL, GDPR; as pretix's shredders do):
the setting ``visitors.erase_after_days`` (0: kept) erases, that many days after a closed
show's last day, the personal data of its visitors (crm_expo.privacy). A person who is also
registered for a show whose period has not ended yet is kept until that one's ends.

Before the date, staff download what will be erased (``export_show_zip``, the visitors page's
"Data to be erased" link); the daily job then erases it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.jobs import crontab, job
from crm_expo.models import Person, Show
from crm_expo.models.settings import get_setting

from .models import Registration

SETTING = "visitors.erase_after_days"


def erase_on(show: Show) -> dt.date | None:
    """The day the show's visitors' data is erased, or None (retention off, or the show not closed)."""
    days = get_setting(SETTING, show)
    if not days or show.status != "closed" or show.end is None:
        return None
    return show.end + dt.timedelta(days=days)


def _held_elsewhere(today: dt.date) -> set[int]:
    """People registered for a show whose retention has not run out (or has none)."""
    held = set()
    for show in db.session.scalars(select(Show)):
        on = erase_on(show)
        if on is None or on > today:
            held.update(db.session.scalars(select(Registration.person_id).where(Registration.show_id == show.id)))
    return held


def people_to_erase(show: Show, today: dt.date | None = None) -> list[Person]:
    today = today or utcnow().date()
    held = _held_elsewhere(today) if erase_on(show) and erase_on(show) <= today else None
    if held is None:
        return []
    return [p for p in db.session.scalars(
        select(Person).join(Registration, Registration.person_id == Person.id)
        .where(Registration.show_id == show.id, Person.erased_at.is_(None)).order_by(Person.id))
        if p.id not in held]


def visitors_of(show: Show) -> list[Person]:
    return list(db.session.scalars(
        select(Person).join(Registration, Registration.person_id == Person.id)
        .where(Registration.show_id == show.id, Person.erased_at.is_(None)).order_by(Person.id)))


def export_show_zip(show: Show) -> bytes:
    """The data of the show's visitors not yet erased, one zip (crm_expo.privacy's layout)."""
    from crm_expo.privacy import export_zip_people
    return export_zip_people(visitors_of(show))


def run_retention(today: dt.date | None = None) -> dict[str, int]:
    """Erase what is due today; returns the number of people erased per show."""
    from crm_expo.privacy import erase_people
    today = today or utcnow().date()
    done = {}
    for show in db.session.scalars(select(Show).order_by(Show.id)).all():
        people = people_to_erase(show, today)
        if people:
            erase_people(people, f"retention: {SETTING} of show {show.slug}", actor="system")
            done[show.slug] = len(people)
    return done


@job(periodic=crontab(hour="3", minute="17"))
def erase_expired_visitors():
    run_retention()
