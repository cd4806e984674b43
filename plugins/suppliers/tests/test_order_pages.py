"""Service-order pages for each role: the exhibitor portal, the supplier portal, the organizer
list with totals and export, and the cross-organization 404s (issue #5)."""
import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from crm_expo.extensions import db
from plugins.suppliers import operations as ops
from plugins.suppliers.models import ServiceOrder
from tests.factories import make_user

from .helpers import approved_exhibitor, item, official_supplier, portal_users, service_show

DAY = dt.timedelta(days=1)


def _orders():
    return db.session.scalar(select(func.count()).select_from(ServiceOrder))


def _world():
    show, today = service_show()
    ex = approved_exhibitor(show, "宁波家电有限公司")
    sup = official_supplier(show, "上海会展服务有限公司")
    early = item(show, sup, name_zh="折叠椅", name_en="Folding chair", price=3000, surcharge=30,
                 early=today + 10 * DAY, final=today + 30 * DAY)
    late = item(show, sup, name_zh="洽谈桌", name_en="Meeting table", price=10000, surcharge=50,
                early=today - DAY, final=today + 5 * DAY)
    closed = item(show, sup, name_zh="地毯", name_en="Carpet", price=2000, surcharge=0,
                  early=today - 10 * DAY, final=today - DAY)
    return show, today, ex, sup, early, late, closed


def test_exhibitor_sees_todays_prices_orders_and_sees_the_order(client, app):
    show, today, ex, sup, early, late, closed = _world()
    outsider = official_supplier(show, "未指定公司", appoint=False)
    item(show, outsider, name_zh="私下报价", name_en="Side deal")
    exhibitor, _supplier = portal_users(ex, sup)
    client.login(exhibitor)
    page = client.get(f"/shows/{show.slug}/suppliers/services").get_data(as_text=True)
    assert "Folding chair" in page and "¥30.00" in page
    assert "¥150.00" in page and "late surcharge of 50%" in page          # late: 100 × 1.5, and why
    assert (today + 5 * DAY).isoformat() in page                          # the deadline is shown
    assert "Carpet" in page and "final order deadline was" in page and f'name="qty-{closed.id}"' not in page
    assert "Side deal" not in page                                        # not an official contractor
    resp = client.form_post(f"/shows/{show.slug}/suppliers/services",
                            {f"qty-{early.id}": "3", f"qty-{late.id}": "1", "notes": "A1-01"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/shows/{show.slug}/suppliers/services/orders")
    order = db.session.scalar(select(ServiceOrder))
    assert order.total_minor == 3 * 3000 + 15000 and order.placed_by_id == exhibitor.id
    listing = client.get(f"/shows/{show.slug}/suppliers/services/orders").get_data(as_text=True)
    assert f"#{order.id}" in listing and "¥240.00" in listing and "Placed" in listing
    # the category filter
    page = client.get(f"/shows/{show.slug}/suppliers/services?category=utilities").get_data(as_text=True)
    assert "Folding chair" not in page


def test_exhibitor_bad_input_is_refused_with_a_message_and_nothing_written(client, app):
    show, today, ex, sup, early, late, closed = _world()
    exhibitor, _ = portal_users(ex, sup)
    client.login(exhibitor)
    for data, message in (({f"qty-{early.id}": "-1"}, "greater than 0"),
                          ({f"qty-{early.id}": "x"}, "greater than 0"),
                          ({f"qty-{closed.id}": "1"}, "final order deadline was"),
                          ({}, "Choose at least one item")):
        page = client.form_post(f"/shows/{show.slug}/suppliers/services", data,
                                follow_redirects=True).get_data(as_text=True)
        assert message in page, message
    assert _orders() == 0
    # no CSRF token: refused with a message
    page = client.post(f"/shows/{show.slug}/suppliers/services", data={f"qty-{early.id}": "1"}).get_data(as_text=True)
    assert "CSRF" in page
    assert _orders() == 0


def test_portal_users_never_reach_another_organizations_order(client, app):
    show, today, ex, sup, early, late, closed = _world()
    other_ex = approved_exhibitor(show, "别家参展公司")
    other_sup = official_supplier(show, "别家服务商")
    other_item = item(show, other_sup, name_zh="别家椅子", name_en="Their chair")
    [mine] = ops.place_order(show, ex, [(early.id, 1)])
    [theirs] = ops.place_order(show, other_ex, [(other_item.id, 1)])
    exhibitor, supplier = portal_users(ex, sup)
    client.login(exhibitor)
    assert client.get(f"/shows/{show.slug}/suppliers/orders/{mine.id}").status_code == 200
    assert client.get(f"/shows/{show.slug}/suppliers/orders/{theirs.id}").status_code == 404
    assert client.form_post(f"/shows/{show.slug}/suppliers/orders/{theirs.id}/cancel", {"reason": "x"}).status_code == 404
    listing = client.get(f"/shows/{show.slug}/suppliers/services/orders").get_data(as_text=True)
    assert f"#{mine.id}" in listing and f"#{theirs.id}" not in listing
    assert client.get(f"/shows/{show.slug}/suppliers/orders").status_code == 403          # the organizer's list
    client.form_post("/auth/logout")
    client.login(supplier)
    assert client.get(f"/shows/{show.slug}/suppliers/orders/{theirs.id}").status_code == 404
    assert client.form_post(f"/shows/{show.slug}/suppliers/orders/{theirs.id}/confirm").status_code == 404
    listing = client.get(f"/shows/{show.slug}/suppliers/portal/orders").get_data(as_text=True)
    assert f"#{mine.id}" in listing and f"#{theirs.id}" not in listing
    db.session.expire_all()
    assert db.session.get(ServiceOrder, theirs.id).status == "placed"
    # an exhibitor still under review sees why it cannot order yet
    from plugins.exhibitors import operations as exhibitor_ops
    pending = exhibitor_ops.create_exhibitor(show, name_zh="待审公司")
    client.form_post("/auth/logout")
    client.login(make_user("exhibitor", org=pending.organization))
    page = client.get(f"/shows/{show.slug}/suppliers/services").get_data(as_text=True)
    assert "not an approved exhibitor of this show yet" in page
    client.form_post(f"/shows/{show.slug}/suppliers/services", {f"qty-{early.id}": "1"})
    assert db.session.scalar(select(func.count()).select_from(ServiceOrder)
                             .where(ServiceOrder.exhibitor_id == pending.id)) == 0
    # an exhibitor of no record at a show: 404, not an empty page
    stranger = make_user("exhibitor")
    client.form_post("/auth/logout")
    client.login(stranger)
    assert client.get(f"/shows/{show.slug}/suppliers/services").status_code == 404


def test_supplier_confirms_and_delivers_exhibitor_cancels_and_the_organizer_overrides(client, app):
    show, today, ex, sup, early, late, closed = _world()
    [first] = ops.place_order(show, ex, [(early.id, 2)])
    [second] = ops.place_order(show, ex, [(late.id, 1)])
    exhibitor, supplier = portal_users(ex, sup)
    client.login(supplier)
    page = client.get(f"/shows/{show.slug}/suppliers/orders/{first.id}").get_data(as_text=True)
    assert "Confirm the order" in page and "Cancel the order" not in page
    # confirmed from the list, back on the list
    resp = client.form_post(f"/shows/{show.slug}/suppliers/orders/{first.id}/confirm", {"back": "list"})
    assert resp.headers["Location"].endswith(f"/shows/{show.slug}/suppliers/portal/orders")
    listing = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Confirmed by the supplier" in listing and "Mark as delivered" in listing
    page = client.form_post(f"/shows/{show.slug}/suppliers/orders/{first.id}/deliver",
                            follow_redirects=True).get_data(as_text=True)
    assert "Delivered" in page
    assert client.form_post(f"/shows/{show.slug}/suppliers/orders/{second.id}/cancel", {"reason": "x"}).status_code == 403
    client.form_post("/auth/logout")
    client.login(exhibitor)
    page = client.form_post(f"/shows/{show.slug}/suppliers/orders/{first.id}/cancel", {"reason": "不要了"},
                            follow_redirects=True).get_data(as_text=True)
    assert "cannot become Cancelled" in page
    assert client.form_post(f"/shows/{show.slug}/suppliers/orders/{second.id}/confirm").status_code == 403
    page = client.form_post(f"/shows/{show.slug}/suppliers/orders/{second.id}/cancel", {"reason": ""},
                            follow_redirects=True).get_data(as_text=True)
    assert "Give a reason" in page
    page = client.form_post(f"/shows/{show.slug}/suppliers/orders/{second.id}/cancel", {"reason": "展位调整"},
                            follow_redirects=True).get_data(as_text=True)
    assert "Cancelled" in page and "展位调整" in page
    client.form_post("/auth/logout")
    client.login(supplier)
    page = client.form_post(f"/shows/{show.slug}/suppliers/orders/{second.id}/confirm",
                            follow_redirects=True).get_data(as_text=True)
    assert "is Cancelled; it cannot become Confirmed" in page
    db.session.expire_all()
    assert [db.session.get(ServiceOrder, o.id).status for o in (first, second)] == ["delivered", "cancelled"]
    # the organizer may cancel a confirmed order
    [third] = ops.place_order(show, ex, [(early.id, 1)])
    ops.confirm_order(third)
    client.form_post("/auth/logout")
    client.login(make_user("organizer"))
    page = client.form_post(f"/shows/{show.slug}/suppliers/orders/{third.id}/cancel", {"reason": "展商退展"},
                            follow_redirects=True).get_data(as_text=True)
    assert "展商退展" in page
    # read-only staff see orders but cannot move them
    client.form_post("/auth/logout")
    client.login(make_user("service_agent"))
    assert client.get(f"/shows/{show.slug}/suppliers/orders/{third.id}").status_code == 200
    assert client.form_post(f"/shows/{show.slug}/suppliers/orders/{first.id}/confirm").status_code == 403


def test_organizer_list_filters_totals_and_formula_safe_exports(client, app):
    show, today, ex, sup, early, late, closed = _world()
    sly = approved_exhibitor(show, "", name_en="=HYPERLINK(\"http://x\",\"y\")")
    power = official_supplier(show, "展馆电力公司", categories="utilities")
    socket = item(show, power, name_zh="16A 电源", name_en="16A socket", category="utilities", price=120000,
                  surcharge=0)
    ops.place_order(show, ex, [(early.id, 10), (socket.id, 1)])
    [cancelled] = ops.place_order(show, sly, [(early.id, 1)], notes="@SUM(1+1)")
    ops.cancel_order(cancelled, "=1+1", by_organizer=True)
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/suppliers/orders").get_data(as_text=True)
    assert "展馆电力公司" in page and "¥1,200.00" in page and "¥300.00" in page   # totals, cancelled left out
    page = client.get(f"/shows/{show.slug}/suppliers/orders?status=cancelled").get_data(as_text=True)
    assert f"#{cancelled.id}" in page and page.count('data-order="') == 1
    page = client.get(f"/shows/{show.slug}/suppliers/orders?supplier_id={power.id}").get_data(as_text=True)
    assert page.count('data-order="') == 1
    page = client.get(f"/shows/{show.slug}/suppliers/orders?q=ningbo").get_data(as_text=True)   # pinyin of 宁波
    assert page.count('data-order="') == 2
    text = client.get(f"/shows/{show.slug}/suppliers/orders/export.csv").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM(1+1)" in text and "'=1+1" in text
    assert "\n=" not in text and ",=" not in text
    assert "300.00" in text and "1200.00" in text
    resp = client.get(f"/shows/{show.slug}/suppliers/orders/export.xlsx?status=cancelled")
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][3].startswith("'=HYPERLINK") and rows[1][13] == "'@SUM(1+1)"
    assert client.get(f"/shows/{show.slug}/suppliers/orders/export.pdf").status_code == 404
    client.form_post("/auth/logout")
    client.login(make_user("supplier", org=sup.organization))
    assert client.get(f"/shows/{show.slug}/suppliers/orders/export.csv").status_code == 403


def test_the_catalogue_and_an_order_read_in_chinese(client, app):
    show, today, ex, sup, early, late, closed = _world()
    [order] = ops.place_order(show, ex, [(late.id, 2)])
    exhibitor, _ = portal_users(ex, sup)
    client.login(exhibitor)
    client.form_post("/locale/zh")
    page = client.get(f"/shows/{show.slug}/suppliers/services").get_data(as_text=True)
    assert "订购服务" in page and "含 50% 逾期附加费" in page and "今日价格" in page
    page = client.get(f"/shows/{show.slug}/suppliers/orders/{order.id}").get_data(as_text=True)
    assert "已下单" in page and "加收 50% 逾期附加费" in page and "合计" in page
