"""Supplier pages, the supplier portal, import/export, the API and generate."""
import datetime as dt
import random

from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.operations import create_token
from plugins.suppliers import operations as ops
from plugins.suppliers.generate import generate
from plugins.suppliers.importing import importer
from plugins.suppliers.models import Appointment, CatalogueItem, Supplier
from tests.factories import make_show, make_user


def _supplier_with_item(show, name="上海展览工程有限公司", price=45000):
    sup = ops.create_supplier(name_zh=name, categories="design")
    ops.appoint(show, sup, "design")
    item = ops.add_item(show, sup, name_zh="标准展台", name_en="Shell scheme", category="design", unit="m²",
                        price_minor=price)
    return sup, item


def test_staff_create_supplier_add_priced_item_and_html_is_escaped(client, app):
    show = make_show()
    client.login(make_user("organizer"))
    resp = client.form_post(f"/shows/{show.slug}/suppliers/new", {"name_en": "<b>Bold</b> Rentals", "categories": ["rental"]})
    assert resp.status_code == 302
    sup = db.session.scalar(select(Supplier))
    url = f"/shows/{show.slug}/suppliers/{sup.id}?show="
    page = client.get(url).get_data(as_text=True)
    assert "&lt;b&gt;Bold&lt;/b&gt; Rentals" in page and "<b>Bold</b>" not in page
    client.form_post(f"/shows/{show.slug}/suppliers/{sup.id}/appoint?show=", {"categories": ["rental"]})
    resp = client.form_post(f"/shows/{show.slug}/suppliers/{sup.id}/items?show=",
                            {"name_zh": "折叠椅", "category": "rental", "unit": "把", "price": "30.50",
                             "currency": "CNY", "late_surcharge_pct": "20", "active": "y",
                             "early_order_deadline": "2027-04-01", "final_order_deadline": "2027-05-01"})
    assert resp.status_code == 302
    item = db.session.scalar(select(CatalogueItem))
    assert item.price_minor == 3050 and item.late_surcharge_pct == 20
    page = client.get(url).get_data(as_text=True)
    assert "30.50" in page and "折叠椅" in page
    page = client.form_post(f"/shows/{show.slug}/suppliers/{sup.id}/items?show=",
                            {"name_zh": "负价", "category": "rental", "price": "-5", "currency": "CNY",
                             "late_surcharge_pct": "0"}, follow_redirects=True).get_data(as_text=True)
    assert "The price cannot be negative" in page
    assert db.session.scalar(select(db.func.count()).select_from(CatalogueItem)) == 1


def test_supplier_portal_sees_only_its_own_catalogue(client, app):
    show = make_show()
    mine, _item = _supplier_with_item(show, "我的搭建公司", 11100)
    other, _ = _supplier_with_item(show, "别家搭建公司", 22200)
    user = make_user("supplier", org=mine.organization)
    client.login(user)
    page = client.get("/suppliers/portal/").get_data(as_text=True)
    assert "111.00" in page and "222.00" not in page
    assert client.get(f"/shows/{show.slug}/suppliers/{other.id}").status_code == 403
    assert client.get(f"/shows/{show.slug}/suppliers/").status_code == 403
    _t, plain = create_token(show, "supplier", organization_id=mine.organization_id)
    listing = client.api("GET", f"/api/v1/shows/{show.slug}/suppliers", plain).get_json()
    assert [s["id"] for s in listing["items"]] == [mine.id]
    assert client.api("GET", f"/api/v1/shows/{show.slug}/suppliers/{other.id}", plain).status_code == 404
    got = client.api("GET", f"/api/v1/shows/{show.slug}/suppliers/{mine.id}", plain).get_json()
    assert got["catalogue"][0]["price_minor"] == 11100


def test_api_create_update_and_errors(client, app):
    show = make_show()
    _t, plain = create_token(show, "organizer")
    resp = client.api("POST", f"/api/v1/shows/{show.slug}/suppliers", plain,
                      json={"name": "北京保安服务公司", "categories": ["security"]})
    assert resp.status_code == 201
    sid = resp.get_json()["id"]
    bad = client.api("POST", f"/api/v1/shows/{show.slug}/suppliers", plain, json={"name": "X", "categories": ["magic"]})
    assert bad.status_code == 422 and "magic" in bad.get_json()["error"]["message"]
    resp = client.api("PATCH", f"/api/v1/shows/{show.slug}/suppliers/{sid}", plain, json={"notes": "24h"})
    assert resp.status_code == 200 and resp.get_json()["notes"] == "24h"
    listing = client.api("GET", f"/api/v1/shows/{show.slug}/suppliers?category=security", plain).get_json()
    assert listing["total"] == 1 and listing["items"][0]["appointed_categories"] == ["security"]


def test_export_and_import(client, app, tmp_path):
    show = make_show()
    ops.create_supplier(name_en="=cmd|' /C calc'!A0", categories="printing")
    client.login(make_user("organizer"))
    text = client.get(f"/shows/{show.slug}/suppliers/export.csv").get_data().decode("utf-8-sig")
    assert "'=cmd" in text
    path = tmp_path / "s.csv"
    path.write_text("公司名称,服务类别,指定服务商\n上海保洁公司,清洁,是\n某公司,烟花,是\n上海保洁公司,清洁,是\n",
                    encoding="utf-8")
    lines = []
    code = importer(show, str(path), False, lambda *a, **k: lines.append(a[0]))
    assert code == 1 and any("烟花" in line for line in lines)
    sup = db.session.scalar(select(Supplier).where(Supplier.categories == "cleaning"))
    assert sup is not None and ops.appointment_for(show, sup) is not None
    lines.clear()
    path.write_text("公司名称,服务类别,指定服务商\n上海保洁公司,清洁,是\n", encoding="utf-8")
    assert importer(show, str(path), False, lambda *a, **k: lines.append(a[0])) == 0
    assert "0 imported, 1 already there" in lines[0]


def test_generate_is_deterministic(app):
    a, b = make_show(), make_show()
    generate(a, {"suppliers": 20}, random.Random("3:suppliers"))
    generate(b, {"suppliers": 20}, random.Random("3:suppliers"))

    def prices(show):
        return list(db.session.scalars(select(CatalogueItem.late_surcharge_pct).where(CatalogueItem.show_id == show.id)
                                       .order_by(CatalogueItem.id)))
    assert prices(a) == prices(b) and len(prices(a)) >= 20
    assert db.session.scalar(select(db.func.count()).select_from(Appointment).where(Appointment.show_id == a.id)) == 20
    item = db.session.scalar(select(CatalogueItem).where(CatalogueItem.show_id == a.id))
    assert ops.item_price(item, a.start - dt.timedelta(days=40))[1] is False
