"""The README's demo: every login lands on working pages, and the exhibitor and supplier
portals show the demo's own company (its exhibition, its catalogue and an order)."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm_expo.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from crm_expo.extensions import db
from crm_expo.models import Show
from plugins.onsite import operations as onsite_ops
from plugins.onsite.models import Scan
from plugins.visitors.models import Registration


def _login(client, email):
    token = client.csrf_token()
    resp = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, email


def test_every_demo_login_reaches_every_page_of_its_menu(app, client):
    assert load_demo(app) is True
    for email, role in DEMO_USERS:
        _login(client, email)
        home = client.get("/").get_data(as_text=True)
        links = sorted(set(re.findall(r'<a href="(/[a-z][^"#?]*)"', home)) - {"/auth/logout"})
        assert links, role
        for link in links:
            assert client.get(link, follow_redirects=True).status_code == 200, (role, link)
        client.post("/auth/logout", data={"csrf_token": client.csrf_token()})


def test_the_demo_portals_show_the_ordering_loop(app, client):
    load_demo(app)
    _login(client, "exhibitor@demo.crm-expo.org")
    orders = client.get("/suppliers/services/", follow_redirects=True).get_data(as_text=True)
    assert "Meeting table (round)" in orders or "洽谈桌（圆桌）" in orders
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    _login(client, "supplier@demo.crm-expo.org")
    page = client.get(f"/shows/{_live_show().slug}/suppliers/portal/orders").get_data(as_text=True)
    assert "上海美味食品有限公司" in page or "Shanghai Meiwei Foods" in page
    # the show is on: the demo exhibitor can still order the stand builder's items today
    # (a late order, with the surcharge)
    row = re.search(r'<tr data-item="\d+"><td>Meeting table \(round\).*?</tr>', orders, re.S).group(0)
    assert 'name="qty-' in row and "late surcharge of 30%" in row


def _live_show():
    return db.session.scalar(select(Show).where(Show.status == "live"))


def _fresh_badge(show, today):
    """A demo visitor's badge that may enter today and has not yet: public, not cancelled."""
    entered = select(Scan.registration_id).where(Scan.show_id == show.id, Scan.day == today,
                                                 Scan.first_entry.is_(True), Scan.registration_id.is_not(None))
    return db.session.scalar(select(Registration.badge_code).where(
        Registration.show_id == show.id, Registration.category == "public", Registration.cancelled_at.is_(None),
        Registration.id.not_in(entered)).order_by(Registration.id))


def test_the_demo_show_is_live_today_with_last_years_edition_closed(app, client):
    load_demo(app)
    today = dt.datetime.now(ZoneInfo(app.config["TIMEZONE"])).date()
    live = _live_show()
    past = db.session.scalar(select(Show).where(Show.status == "closed"))
    assert today in [d.date for d in live.days] and live.start < today <= live.end
    assert live.slug == f"food-expo-{live.start.year}" and str(live.start.year) in live.name_zh
    assert past.slug == f"food-expo-{live.start.year - 1}" and past.end < today
    assert 360 <= (live.start - past.start).days <= 366
    # the service centre is busy: open requests, some past their target
    kpis = onsite_ops.service_kpis(live)
    assert kpis["overdue"] > 0 and kpis["total"] > kpis["closed"]
    _login(client, "service@demo.crm-expo.org")
    page = client.get(f"/shows/{live.slug}/onsite/service").get_data(as_text=True)
    assert "Overdue</strong>" in page
    # nothing on the live show happened after now
    assert max(db.session.scalars(select(Scan.at).where(Scan.show_id == live.id))) <= dt.datetime.now(dt.UTC) \
        .replace(tzinfo=None)


def test_the_demo_desk_admits_a_badge_today_then_says_already_in(app, client):
    load_demo(app)
    show = _live_show()
    today = dt.datetime.now(ZoneInfo(show.timezone)).date()
    slug, code = show.slug, _fresh_badge(show, today)
    assert code
    _login(client, "desk@demo.crm-expo.org")
    desk = client.get(f"/shows/{slug}/onsite/desk?gate=North")
    assert desk.status_code == 200
    token = client.csrf_token()

    def scan():
        return client.post(f"/api/v1/shows/{slug}/checkins", headers={"X-CSRFToken": token},
                           json={"code": code, "gate": "North", "nonce": uuid.uuid4().hex}).get_json()
    first = scan()
    assert first["result"] == "ok" and first["reason"] == "Welcome", first
    again = scan()
    assert again["result"] == "already_in" and "Already checked in today at" in again["reason"], again
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    # the demo exhibitor scans the same visitor at its stand
    _login(client, "exhibitor@demo.crm-expo.org")
    saved = client.post(f"/shows/{slug}/onsite/leads", data={"code": code, "rating": "4", "notes": "",
                                                             "tags": "", "csrf_token": client.csrf_token()},
                        follow_redirects=True).get_data(as_text=True)
    assert "Lead saved." in saved
