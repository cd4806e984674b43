"""Setting a show up by API: its dates, its status, its price list."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import AuditEntry
from crm_expo.operations import create_token
from plugins.booths.models import PriceList
from tests.factories import make_show

RATES = {"shell": 150000, "raw": 120000}


@pytest.fixture
def organizer(app):
    show = make_show("setup-2027", start=dt.date(2027, 5, 10), days=3)
    _, token = create_token(show, "organizer")
    db.session.commit()
    return show, token


def test_put_price_list_publishes_it(client, organizer):
    show, token = organizer
    resp = client.api("PUT", f"/api/v1/shows/{show.slug}/price-list", token,
                      json={"rates": RATES, "corner_surcharge_pct": 10, "deposit_pct": 40, "balance_due": "2027-04-01"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["rates"] == RATES and body["corner_surcharge_pct"] == 10 and body["balance_due"] == "2027-04-01"
    pl = db.session.scalar(select(PriceList).where(PriceList.show_id == show.id))
    assert pl.rates == RATES and pl.deposit_pct == 40
    resp = client.api("GET", f"/api/v1/shows/{show.slug}/booths", token)
    assert resp.status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"rates": {"shell": -1}}, "rates.shell"),
    ({"rates": {"shell": 12.5}}, "rates.shell"),
    ({"rates": {"shell": "100"}}, "rates.shell"),
    ({"rates": {"palace": 100}}, "rates.palace"),
    ({}, "rates"),
    ({"rates": {"shell": 100}, "deposit_pct": 101}, "deposit_pct"),
    ({"rates": {"shell": 100}, "corner_surcharge_pct": "10"}, "corner_surcharge_pct"),
    ({"rates": {"shell": 100}, "early_bird_until": "next week"}, "early_bird_until"),
])
def test_bad_price_list_is_400_naming_the_field_and_writes_nothing(client, organizer, body, field):
    show, token = organizer
    resp = client.api("PUT", f"/api/v1/shows/{show.slug}/price-list", token, json=body)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["field"] == field and field.split(".")[-1] in error["message"]
    assert db.session.scalar(select(func.count()).select_from(PriceList)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "price_list.publish")) == 0


def test_patch_dates_and_status(client, organizer):
    show, token = organizer
    url = f"/api/v1/shows/{show.slug}"
    resp = client.api("PATCH", url, token, json={"start": "2027-06-01", "end": "2027-06-04"})
    assert resp.status_code == 200, resp.get_json()
    assert [d["date"] for d in resp.get_json()["days"]] == ["2027-06-01", "2027-06-02", "2027-06-03", "2027-06-04"]
    resp = client.api("PATCH", url, token, json={"days": 2, "status": "open"})
    body = resp.get_json()
    assert resp.status_code == 200 and len(body["days"]) == 2 and body["status"] == "open"
    db.session.expire_all()
    assert (show.start, show.end, show.status) == (dt.date(2027, 6, 1), dt.date(2027, 6, 2), "open")
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "show.dates")) is not None
    assert "/shows/{slug}/price-list" in str(client.get("/api/v1/openapi.json").get_json()["paths"])
    assert "patch" in client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/shows/{slug}"]


@pytest.mark.parametrize("body,status,field", [
    ({"start": "2027-06-05", "end": "2027-06-01"}, 400, "end"),
    ({"start": "June"}, 400, "start"),
    ({"days": 0}, 400, "days"),
    ({"status": "finished"}, 400, "status"),
    ({"start": "2027-07-01", "status": "closed"}, 422, "status"),      # draft → closed is not one step
    ({"venue": "elsewhere"}, 400, "venue"),
])
def test_patch_bad_input_changes_nothing(client, organizer, body, status, field):
    show, token = organizer
    resp = client.api("PATCH", f"/api/v1/shows/{show.slug}", token, json=body)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["field"] == field
    db.session.expire_all()
    assert (show.start, len(show.days), show.status) == (dt.date(2027, 5, 10), 3, "draft")


def test_desk_token_cannot_set_up_a_show(client, organizer):
    show, _ = organizer
    _, desk = create_token(show, "desk")
    db.session.commit()
    assert client.api("PATCH", f"/api/v1/shows/{show.slug}", desk, json={"days": 2}).status_code == 403
    assert client.api("PUT", f"/api/v1/shows/{show.slug}/price-list", desk, json={"rates": RATES}).status_code == 403


def test_admin_page_changes_a_shows_dates(client, app):
    from tests.factories import make_user
    show = make_show(start=dt.date(2027, 5, 10), days=3)
    client.login(make_user("organizer"))
    assert 'value="2027-05-10"' in client.get(f"/admin/shows/{show.id}/dates").get_data(as_text=True)
    resp = client.form_post(f"/admin/shows/{show.id}/dates", {"start": "2027-09-01", "days": "4"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert (show.start, show.end) == (dt.date(2027, 9, 1), dt.date(2027, 9, 4))
    resp = client.form_post(f"/admin/shows/{show.id}/dates", {"start": "2027-09-01", "days": "99"})
    assert resp.status_code == 200 and "between 1 and 60" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert len(show.days) == 4
