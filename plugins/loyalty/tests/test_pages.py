"""The loyalty pages, the organization page section, the export and the API; who sees what."""
from __future__ import annotations

import pytest

from crm_expo.database import transaction
from crm_expo.extensions import db
from crm_expo.operations import create_token
from plugins.loyalty import operations as ops
from tests.factories import make_user

from .helpers import orgs, series, took_part


@pytest.fixture
def computed(app):
    closed, now = series()
    a, b = orgs(2)
    for show in closed:
        took_part(a, show, paid=50_000_00, recommend=9)
    took_part(b, closed[0], paid=1_000_00)
    ops.recompute(now)
    return now, a, b


def test_segment_list_filters_and_counts(app, client, computed):
    now, a, b = computed
    client.login(make_user("account_manager"))
    page = client.get(f"/shows/{now.slug}/loyalty/").get_data(as_text=True)
    assert "客户0" in page and "客户1" in page
    assert "Lost: 1" in page and "Loyal customer: 1" in page
    page = client.get(f"/shows/{now.slug}/loyalty/?status=lost").get_data(as_text=True)
    assert "客户1" in page and "客户0" not in page


def test_series_without_closed_edition_says_what_is_missing(app, client):
    _c, now = series(n_closed=0, code="nx")
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{now.slug}/loyalty/").get_data(as_text=True)
    assert "has no closed edition yet" in page and 'id="segments"' not in page


def test_exhibitor_sees_nothing(app, client, computed):
    now, a, _b = computed
    client.login(make_user("exhibitor", org=a))
    assert client.get(f"/shows/{now.slug}/loyalty/").status_code in (403, 404)
    assert client.get(f"/shows/{now.slug}/loyalty/export.csv").status_code in (403, 404)
    assert client.get(f"/api/v1/shows/{now.slug}/loyalty/customers").status_code in (403, 404)
    assert client.get(f"/organizations/{a.id}").status_code in (403, 404)


def test_organization_page_section_every_plugin(app, client, computed):
    now, a, _b = computed
    client.login(make_user("account_manager"))
    client.get(f"/shows/{now.slug}/loyalty/")        # the current show
    page = client.get(f"/organizations/{a.id}").get_data(as_text=True)
    assert 'id="loyalty-reasons"' in page and "took part in 3 of 3 editions" in page
    assert "Track its changing needs" in page            # trust's recommended action
    assert "¥50,000.00" in page


def test_organization_page_with_loyalty_minimum_subset(make_app):
    from tests.fixtures import Client
    app = make_app(plugins=("exhibitors", "loyalty"))
    app.test_client_class = Client
    with app.app_context(), app.test_request_context():
        closed, now = series(code="mx")
        (a,) = orgs(1)
        took_part(a, closed[-1], paid=100)
        ops.recompute(now)
        user = make_user("organizer")
        client = app.test_client()
        client.login(user)
        client.get(f"/shows/{now.slug}/loyalty/")
        page = client.get(f"/organizations/{a.id}").get_data(as_text=True)
        assert 'id="loyalty-reasons"' in page and "¥1.00" in page


def test_export_is_formula_safe(app, client, computed):
    now, a, _b = computed
    with transaction():
        a.name_zh = "=HYPERLINK(1)"
    client.login(make_user("organizer"))
    body = client.get(f"/shows/{now.slug}/loyalty/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in body and "Dick & Basu" in body
    assert client.get(f"/shows/{now.slug}/loyalty/export.xlsx").status_code == 200


def test_api_customers(app, client, computed):
    now, a, b = computed
    _t, token = create_token(now, "account_manager")
    resp = client.api("GET", f"/api/v1/shows/{now.slug}/loyalty/customers?per_page=1", token=token)
    body = resp.get_json()
    assert resp.status_code == 200 and body["total"] == 2 and len(body["items"]) == 1
    item = body["items"][0]
    assert set(item) >= {"organization", "abc", "value_matrix", "dick_basu", "reinartz_kumar", "status", "stage",
                         "score", "reasons"}
    assert item["organization"] == {"id": a.id, "name": "客户0"}
    assert item["reasons"]["abc"]["amount_minor"] == 150_000_00 and item["reasons"]["abc"]["text"]
    one = client.api("GET", f"/api/v1/shows/{now.slug}/loyalty/customers/{b.id}", token=token).get_json()
    assert one["status"] == "lost" and [e["show"] for e in one["editions"]] == ["fx-2020"]
    assert client.api("GET", f"/api/v1/shows/{now.slug}/loyalty/customers/999999", token=token).status_code == 404
    _t, ex_token = create_token(now, "exhibitor", organization_id=a.id)
    assert client.api("GET", f"/api/v1/shows/{now.slug}/loyalty/customers", token=ex_token).status_code == 403
    db.session.commit()
