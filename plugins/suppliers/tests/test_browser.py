"""An exhibitor orders services in a real Chromium: the official catalogue with today's price,
quantities, the order placed, listed with its status; the supplier then confirms it."""
import datetime as dt

import pytest

from tests.factories import PASSWORD, make_user

from .helpers import approved_exhibitor, item, official_supplier, service_show

pytestmark = pytest.mark.browser
DAY = dt.timedelta(days=1)


def _login(page, live_server, user):
    page.goto(live_server + "/auth/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#logout")


def test_exhibitor_orders_an_item_and_sees_it_listed(page, live_server):
    show, today = service_show()
    ex = approved_exhibitor(show, "宁波家电有限公司", name_en="Ningbo Appliances")
    sup = official_supplier(show, "上海会展服务有限公司")
    chair = item(show, sup, name_zh="折叠椅", name_en="Folding chair", price=3000, surcharge=30,
                 early=today - DAY, final=today + 10 * DAY)
    exhibitor = make_user("exhibitor", org=ex.organization)
    supplier = make_user("supplier", org=sup.organization)
    _login(page, live_server, exhibitor)
    page.click("nav.mainnav >> text=Order services")
    page.wait_for_selector("#service-catalogue")
    row = page.locator(f'#service-catalogue tr[data-item="{chair.id}"]')
    assert "¥39.00" in row.inner_text() and "late surcharge of 30%" in row.inner_text()
    row.locator("input.qty").fill("4")
    page.fill("#notes", "展位 A1-01，上午送达")
    page.click("#order-form input[type=submit]")
    page.wait_for_selector("#orders tr[data-order]")
    listed = page.inner_text("#orders")
    assert "Folding chair × 4" in listed and "¥156.00" in listed and "Placed" in listed
    assert "Order placed" in page.inner_text(".flash-success")

    page.click("#logout")
    _login(page, live_server, supplier)
    page.goto(live_server + f"/shows/{show.slug}/suppliers/portal/orders")
    page.click("#orders tr[data-order] a")
    page.click("#confirm-form button")
    page.wait_for_selector("#order-status:has-text('Confirmed by the supplier')")
