"""crm-expo shows copy: a new edition set up from the last one, then sold."""
import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from crm_expo.config import ALL_PLUGINS
from crm_expo.demo import load_demo
from crm_expo.extensions import db
from crm_expo.models import Setting, Show
from crm_expo.operations import previous_edition
from plugins.booths import operations as booth_ops
from plugins.booths.models import Booth, DiscountRule, Hall, PriceList
from plugins.booths.tests.helpers import make_exhibitor
from plugins.exhibitors.models import ExhibitorCategory
from plugins.suppliers.models import Appointment
from plugins.visitors.models import AdmissionRule, Question


@pytest.fixture
def cli(database, tmp_path):
    url, _reset = database

    def run(*args):
        env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_INSTANCE_PATH=str(tmp_path),
                   CRM_EXPO_SECRET_KEY="x", CRM_EXPO_PLUGINS=",".join(ALL_PLUGINS), CRM_EXPO_DEFAULT_LOCALE="en")
        db.session.commit()       # end the test's read transaction before another process writes
        return subprocess.run([sys.executable, "-m", "crm_expo", *args], env=env, capture_output=True, text=True,
                              timeout=300)
    return run


def _count(model, show):
    return db.session.scalar(select(func.count()).select_from(model).where(model.show_id == show.id))


def _show(slug):
    db.session.expire_all()
    return db.session.scalar(select(Show).where(Show.slug == slug))


def test_copy_the_demos_closed_edition_then_book_a_booth(app, cli):
    assert load_demo(app)
    past = db.session.scalar(select(Show).where(Show.status == "closed"))
    live = db.session.scalar(select(Show).where(Show.status == "live"))
    assert past.slug == f"food-expo-{past.start.year}" and past.start.year == live.start.year - 1
    assert _count(Booth, past) > 0
    year = live.start.year + 1
    source, target, start = past.slug, f"food-expo-{year}", dt.date(year, 5, 10)
    r = cli("shows", "copy", source, target, "--start", start.isoformat(), "--name", f"{year}食品博览会")
    assert r.returncode == 0, r.stderr
    new = _show(target)
    assert (new.status, new.start, len(new.days), new.name_zh) == ("draft", start, 3, f"{year}食品博览会")
    assert _count(ExhibitorCategory, past) > 0
    for model in (Hall, Booth, PriceList, DiscountRule, Question, AdmissionRule, Appointment, ExhibitorCategory):
        assert _count(model, new) == _count(model, past), model
    assert f"Product categories: {_count(ExhibitorCategory, past)}" in r.stdout
    assert f"Booths: {_count(Booth, past)}" in r.stdout and "Supplier appointments" in r.stdout
    # the new edition joins the source's series, and so the source is its previous edition
    assert new.series_id == past.series_id and new.series.slug == "food-expo"
    earlier = [s for s in db.session.scalars(select(Show).where(Show.series_id == past.series_id))
               if s.start < new.start]
    assert previous_edition(new) == max(earlier, key=lambda s: s.start)
    past_settings = {k for k in db.session.scalars(select(Setting.key).where(Setting.show_id == past.id))}
    assert past_settings <= {k for k in db.session.scalars(select(Setting.key).where(Setting.show_id == new.id))}
    # the new edition sells: a booth is held and reserved at the copied price list
    code = db.session.scalar(select(Booth.code).where(Booth.show_id == new.id, Booth.blocked.is_(False))
                             .order_by(Booth.code))
    booking = booth_ops.hold_booth(new, code, make_exhibitor(new, "新届展商").id)
    booth_ops.reserve(booking)
    assert booking.status == "reserved" and booking.price_minor > 0

    # a second copy onto the new show (it has booths now) is refused without --replace …
    r = cli("shows", "copy", source, target, "--start", start.isoformat())
    assert r.returncode == 2 and "has booths already" in r.stderr and "--replace" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    # … and with --replace too while it has a booking
    r = cli("shows", "copy", source, target, "--start", start.isoformat(), "--replace")
    assert r.returncode == 2 and "bookings" in r.stderr
    assert _count(Booth, _show(target)) == _count(Booth, past)


def test_replace_copies_again_and_bad_input_is_one_line(app, cli):
    from plugins.booths.tests.helpers import booth_show
    from tests.factories import make_show
    source = booth_show(n_booths=4)
    target = make_show("empty-2028", start=dt.date(2028, 1, 5))
    db.session.commit()
    assert cli("shows", "copy", source.slug, target.slug, "--start", "2028-01-05").returncode == 0
    r = cli("shows", "copy", source.slug, target.slug, "--start", "2028-01-05", "--replace")
    assert r.returncode == 0, r.stderr
    assert _count(Booth, _show("empty-2028")) == 4
    for args, message in ((("nosuch", "x-2028", "--start", "2028-01-01"), "No show with the code nosuch"),
                          ((source.slug, "x-2028", "--start", "soon"), "--start must be a date"),
                          ((source.slug, source.slug, "--start", "2028-01-01"), "onto itself")):
        r = cli("shows", "copy", *args)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert _show("x-2028") is None


def test_a_copy_that_fails_in_a_plugin_leaves_no_new_show(app, monkeypatch):
    from crm_expo.copying import copy_show
    from crm_expo.errors import DomainError
    from plugins.booths.tests.helpers import booth_show
    from plugins.visitors import copying as visitor_copying
    source = booth_show(n_booths=3)
    db.session.commit()

    def refuse(**_kw):
        raise DomainError("a plugin refused")
    monkeypatch.setattr(visitor_copying, "copy_show", refuse)
    with pytest.raises(DomainError, match="a plugin refused"):
        copy_show(source.slug, "half-2029", dt.date(2029, 3, 1))
    db.session.remove()
    assert _show("half-2029") is None
    assert db.session.scalar(select(func.count()).select_from(Booth)) == 3    # the source's only
