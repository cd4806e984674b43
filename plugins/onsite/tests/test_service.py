"""The one-stop service centre: the closed loop until the customer is satisfied, SLA, KPIs,
portals."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm_expo import hooks, signals
from crm_expo.extensions import db
from plugins.exhibitors.operations import create_exhibitor
from plugins.onsite import operations as ops
from plugins.onsite.models import ServiceEvent, ServiceRequest
from tests.factories import make_org, make_show, make_user


def test_loop_reopens_until_satisfied_and_keeps_every_timestamp(app, request_ctx):
    show = make_show()
    agent = make_user("service_agent")
    heard = []
    for sig in (signals.service_request_opened, signals.service_request_resolved,
                signals.service_request_reopened, signals.service_request_closed):
        sig.connect(lambda sender, _n=sig.name: heard.append(_n), weak=False)
    req = ops.open_request(show, category="power_internet", description="展台没有电", kind="complaint",
                           priority="high", location="A-101", user=agent)
    assert req.owner_id == agent.id and req.status == "new"
    ops.assign_request(req, department="engineering", note="电工", user=agent)
    assert req.status == "assigned" and req.first_response_at is not None
    ops.start_request(req, user=agent)
    ops.resolve_request(req, "Breaker reset", user=agent)
    ops.give_feedback(req, "Told the exhibitor", 2, user=agent)       # not satisfied: again
    assert (req.status, req.reopen_count, req.resolved_at) == ("assigned", 1, None)
    ops.resolve_request(req, "New cable laid", user=agent)
    ops.give_feedback(req, "Called back", 5, user=agent)
    assert req.status == "closed" and req.satisfaction == 5 and req.closed_at is not None
    actions = db.session.scalars(select(ServiceEvent.action).where(ServiceEvent.request_id == req.id)
                                 .order_by(ServiceEvent.id)).all()
    assert actions == ["open", "assign", "start", "resolve", "feedback", "reopen", "resolve", "feedback", "close"]
    assert heard.count("service-request-reopened") == 1 and heard.count("service-request-closed") == 1
    k = ops.service_kpis(show)
    assert k["total"] == 1 and k["closed"] == 1 and k["reopens"] == 1 and k["avg_satisfaction"] == 5
    assert k["avg_first_response_min"] is not None and k["avg_resolution_min"] is not None


def test_feedback_on_unresolved_request_refused(app, request_ctx):
    show = make_show()
    req = ops.open_request(show, category="cleaning", description="Bin full")
    with pytest.raises(ops.OnsiteError, match="resolved request"):
        ops.give_feedback(req, "done", 5)
    with pytest.raises(ops.OnsiteError, match="1 to 5"):
        ops.give_feedback(req, "done", 9)
    db.session.refresh(req)
    assert req.status == "new" and req.satisfaction is None


def test_request_without_category_or_text_refused_and_not_stored(app, request_ctx):
    show = make_show()
    with pytest.raises(ops.OnsiteError, match="category"):
        ops.open_request(show, category="", description="Something")
    with pytest.raises(ops.OnsiteError, match="Describe"):
        ops.open_request(show, category="security", description="  ")
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 0


def test_database_refuses_an_unknown_status_and_closing_unsatisfied(app, request_ctx):
    from sqlalchemy.exc import IntegrityError
    show = make_show()
    req = ops.open_request(show, category="security", description="Door")
    req.status = "forgotten"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    req.status, req.satisfaction = "closed", 2
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_sla_overdue_highlighted_and_chase_logged(client, app):
    show = make_show()
    agent = make_user("service_agent")
    with app.test_request_context():
        req = ops.open_request(show, category="rental", description="Chairs missing", priority="urgent",
                               user=agent)
    req.created_at -= dt.timedelta(hours=2)
    req.due_at -= dt.timedelta(hours=2)   # logged two hours ago, 30-minute target
    db.session.commit()
    assert ops.is_overdue(req) and ops.service_kpis(show)["overdue"] == 1
    client.login(agent)
    page = client.get(f"/shows/{show.slug}/onsite/service").get_data(as_text=True)
    assert 'class="overdue"' in page and "Chairs missing" not in page  # list shows category, not text
    resp = client.form_post(f"/shows/{show.slug}/onsite/service/{req.id}/chase", {"note": "called engineering twice"})
    assert resp.status_code == 302
    detail = client.get(f"/shows/{show.slug}/onsite/service/{req.id}").get_data(as_text=True)
    assert "chased" in detail and "called engineering twice" in detail and "Overdue" in detail


def test_new_request_form_requires_category(client, app):
    show = make_show()
    client.login(make_user("service_agent"))
    resp = client.form_post(f"/shows/{show.slug}/onsite/service/new", {"kind": "complaint", "channel": "phone", "category": "",
                                                    "priority": "normal", "description": "Noise"})
    assert resp.status_code == 200 and "Choose the category of the request." in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 0
    ok = client.form_post(f"/shows/{show.slug}/onsite/service/new", {"kind": "complaint", "channel": "phone", "category": "security",
                                                  "priority": "normal", "description": "Noise"})
    assert ok.status_code == 302


def test_supplier_portal_sees_and_updates_only_its_own(client, app):
    show = make_show()
    supplier_org, other_org = make_org("电力服务公司"), make_org("别的公司")
    supplier = make_user("supplier", org=supplier_org)
    with app.test_request_context():
        mine = ops.open_request(show, category="power_internet", description="Socket dead at B-2")
        theirs = ops.open_request(show, category="power_internet", description="Wifi down at C-9")
        ops.assign_request(mine, supplier_organization_id=supplier_org.id)
        ops.assign_request(theirs, supplier_organization_id=other_org.id)
    client.login(supplier)
    page = client.get(f"/shows/{show.slug}/onsite/supplier").get_data(as_text=True)
    assert "Socket dead at B-2" in page and "Wifi down at C-9" not in page
    assert client.form_post(f"/shows/{show.slug}/onsite/supplier?id={theirs.id}&action=resolve", {"note": "x"}).status_code == 404
    assert client.form_post(f"/shows/{show.slug}/onsite/supplier?id={mine.id}&action=resolve",
                            {"note": "Replaced socket"}).status_code == 302
    db.session.refresh(mine), db.session.refresh(theirs)
    assert mine.status == "resolved" and theirs.status == "assigned"
    assert client.get(f"/shows/{show.slug}/onsite/service").status_code == 403


def test_exhibitor_complaint_book_and_customer_history(client, app):
    show = make_show()
    org = make_org("展商甲")
    with app.test_request_context():
        create_exhibitor(show, organization=org)   # only a company taking part sees the show's pages
    client.login(make_user("exhibitor", org=org))
    resp = client.form_post(f"/shows/{show.slug}/onsite/portal", {"kind": "complaint", "category": "cleaning", "location": "A-1",
                                                "description": "Aisle not cleaned"})
    assert resp.status_code == 302
    req = db.session.scalar(select(ServiceRequest))
    assert (req.channel, req.organization_id, req.owner_id) == ("portal", org.id, None)
    assert "Aisle not cleaned" in client.get(f"/shows/{show.slug}/onsite/portal").get_data(as_text=True)
    with app.test_request_context():
        entries = [e for piece in hooks.values("customer.history", organization=org) for e in piece]
    assert any(e["kind"] == "onsite" and e["label"] == "Complaint" and e["value"].startswith("1") for e in entries)


def test_recurring_problems_found_and_promoted_to_a_portal_notice(client, app):
    show = make_show()
    agent = make_user("service_agent")
    with app.test_request_context():
        for text, place in (("展台断电了", "A-101"), ("A-101 no power again", "A-101"),
                            ("Internet very slow in hall 2", "B-7"), ("internet slow near hall 2 entrance", "C-3"),
                            ("Lost my bag", "Hall 1")):
            ops.open_request(show, category="lost_found" if "bag" in text else "power_internet",
                             description=text, kind="complaint", location=place)
        groups = ops.recurring_problems(show)
    assert [(g["category"], g["count"]) for g in groups] == [("power_internet", 2), ("power_internet", 2)]
    assert {g["location"] for g in groups} == {"A-101", "C-3"}
    client.login(agent)
    page = client.get(f"/shows/{show.slug}/onsite/service/recurring").get_data(as_text=True)
    assert page.count('class="recurring"') == 2
    bad = client.form_post(f"/shows/{show.slug}/onsite/service/recurring", {"category": "power_internet", "title": "", "body": ""})
    assert bad.status_code == 200 and ops.notices(show) == []
    resp = client.form_post(f"/shows/{show.slug}/onsite/service/recurring", {
        "category": "power_internet", "title": "Slow internet in hall 2",
        "body": "Use the wired sockets at each booth; Wi-Fi is shared by visitors.", "requests_seen": "2"})
    assert resp.status_code == 302
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    exhibitor = make_org("展商乙")
    with app.test_request_context():
        create_exhibitor(show, organization=exhibitor)
    client.login(make_user("exhibitor", org=exhibitor))
    assert "Use the wired sockets at each booth" in client.get(f"/shows/{show.slug}/onsite/portal").get_data(as_text=True)
