"""The service-order API: /api/v1/shows/<slug>/service-orders (issue #5)."""
import datetime as dt

from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.operations import create_token
from plugins.suppliers.models import ServiceOrder

from .helpers import approved_exhibitor, item, official_supplier, service_show

DAY = dt.timedelta(days=1)


def test_exhibitor_orders_supplier_confirms_organizer_lists(client, app):
    show, today = service_show()
    ex = approved_exhibitor(show)
    other_ex = approved_exhibitor(show, "别家参展公司")
    sup = official_supplier(show)
    other_sup = official_supplier(show, "别家服务商")
    chair = item(show, sup, price=3000, surcharge=30, early=today - DAY, final=today + DAY)
    closed = item(show, sup, name_zh="地毯", name_en="Carpet", price=2000, early=today - 9 * DAY, final=today - DAY)
    socket = item(show, other_sup, name_zh="电源", category="utilities", price=50000)
    base = f"/api/v1/shows/{show.slug}/service-orders"
    _t, ex_token = create_token(show, "exhibitor", organization_id=ex.organization_id)
    _t, other_ex_token = create_token(show, "exhibitor", organization_id=other_ex.organization_id)
    _t, sup_token = create_token(show, "supplier", organization_id=sup.organization_id)
    _t, org_token = create_token(show, "organizer")

    resp = client.api("POST", base, ex_token, json={"lines": [{"item_id": chair.id, "quantity": 2},
                                                              {"item_id": socket.id, "quantity": 1}],
                                                    "notes": "A1-01"})
    assert resp.status_code == 201
    orders = resp.get_json()["orders"]
    assert sorted(o["total_minor"] for o in orders) == [7800, 50000]               # 2 × 3900 (late), 500.00
    chair_order = next(o for o in orders if o["supplier_id"] == sup.id)
    assert chair_order["lines"][0]["late"] is True and chair_order["lines"][0]["unit_price_minor"] == 3900
    assert chair_order["lines"][0]["surcharge_pct"] == 30 and chair_order["status"] == "placed"

    for body, message in (({"lines": [{"item_id": closed.id, "quantity": 1}]}, "final order deadline"),
                          ({"lines": [{"item_id": chair.id, "quantity": 0}]}, "greater than 0"),
                          ({"lines": [{"item_id": chair.id, "quantity": -3}]}, "greater than 0"),
                          ({"lines": "chair"}, "lines must be a list")):
        bad = client.api("POST", base, ex_token, json=body)
        assert bad.status_code == 422 and message in bad.get_json()["error"]["message"], body
    assert db.session.scalar(select(func.count()).select_from(ServiceOrder)) == 2

    # the supplier sees only orders routed to it; confirms, delivers
    listing = client.api("GET", base, sup_token).get_json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == chair_order["id"]
    socket_order = next(o for o in orders if o["supplier_id"] == other_sup.id)
    assert client.api("GET", f"{base}/{socket_order['id']}", sup_token).status_code == 404
    assert client.api("POST", f"{base}/{socket_order['id']}/confirm", sup_token).status_code == 404
    done = client.api("POST", f"{base}/{chair_order['id']}/confirm", sup_token).get_json()
    assert done["status"] == "confirmed" and done["confirmed_at"].endswith("Z")
    assert client.api("POST", f"{base}/{chair_order['id']}/cancel", sup_token, json={"reason": "x"}).status_code == 403
    # the exhibitor can no longer cancel a confirmed order; it can cancel the other one with a reason
    resp = client.api("POST", f"{base}/{chair_order['id']}/cancel", ex_token, json={"reason": "不要了"})
    assert resp.status_code == 409 and "ask the organizer" in resp.get_json()["error"]["message"]
    assert client.api("POST", f"{base}/{socket_order['id']}/cancel", ex_token, json={}).status_code == 422
    resp = client.api("POST", f"{base}/{socket_order['id']}/cancel", ex_token, json={"reason": "展位调整"})
    assert resp.get_json()["status"] == "cancelled"
    # confirming a cancelled order: refused, nothing written
    _t, other_sup_token = create_token(show, "supplier", organization_id=other_sup.organization_id)
    resp = client.api("POST", f"{base}/{socket_order['id']}/confirm", other_sup_token)
    assert resp.status_code == 409 and "cannot become" in resp.get_json()["error"]["message"]
    db.session.expire_all()
    assert db.session.get(ServiceOrder, socket_order["id"]).confirmed_at is None
    # another exhibitor sees none of it
    assert client.api("GET", base, other_ex_token).get_json()["total"] == 0
    assert client.api("GET", f"{base}/{chair_order['id']}", other_ex_token).status_code == 404
    # the organizer lists all, filters, orders for an exhibitor by id
    assert client.api("GET", base, org_token).get_json()["total"] == 2
    assert client.api("GET", f"{base}?status=cancelled", org_token).get_json()["total"] == 1
    assert client.api("GET", f"{base}?status=lost", org_token).status_code == 400
    assert client.api("GET", f"{base}?supplier_id={sup.id}", org_token).get_json()["total"] == 1
    resp = client.api("POST", base, org_token, json={"exhibitor_id": other_ex.id,
                                                     "lines": [{"item_id": chair.id, "quantity": 1}]})
    assert resp.status_code == 201
    assert client.api("POST", base, org_token, json={"exhibitor_id": 99999, "lines": []}).status_code == 404
    assert client.api("POST", base, sup_token, json={"lines": []}).status_code == 403
    assert client.api("POST", f"{base}/{chair_order['id']}/explode", org_token).status_code == 404
    delivered = client.api("POST", f"{base}/{chair_order['id']}/deliver", org_token).get_json()
    assert delivered["status"] == "delivered"
    # a token of another show
    other_show, _ = service_show()
    _t, foreign = create_token(other_show, "organizer")
    assert client.api("GET", base, foreign).status_code == 403
    assert client.api("GET", base).status_code == 401
