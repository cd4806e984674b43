"""Pages: booking a booth by clicking it on the floor plan (real Chromium), the portal."""
import pytest

from plugins.booths import operations as ops
from tests.factories import PASSWORD, make_user

from .helpers import booth_show, make_exhibitor


@pytest.mark.browser
def test_book_a_booth_by_clicking_it_on_the_floor_plan(page, live_server):
    show = booth_show(3)
    make_exhibitor(show, "深圳电子有限公司")
    user = make_user("account_manager")
    page.goto(live_server + "/auth/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#logout")
    page.goto(live_server + f"/shows/{show.slug}/booths/")
    assert page.locator('svg.floorplan a[data-code="A102"]').get_attribute("data-status") == "available"
    page.click('svg.floorplan a[data-code="A102"] rect')
    page.wait_for_selector("#hold-form")
    assert "9,000.00" in page.inner_text("#list-price")
    page.select_option("#hold-form select[name=exhibitor]", label="深圳电子有限公司")
    page.click("#hold-form input[type=submit]")
    page.wait_for_selector("#booking-status")
    assert page.inner_text("#booking-status").startswith("Held")
    page.click("#reserve")
    page.wait_for_selector("text=C-00001")
    page.goto(live_server + f"/shows/{show.slug}/booths/")
    booth = page.locator('svg.floorplan a[data-code="A102"]')
    assert booth.get_attribute("data-status") == "reserved"
    assert "深圳电子有限公司" in booth.text_content()


def test_floor_plan_page_shows_statuses_legend_and_names(client):
    show = booth_show(3)
    ex = make_exhibitor(show, "广州灯具公司")
    ops.set_blocked(ops.booth_by_code(show, "A103"), True, "fire exit")
    ops.hold_booth(show, "A101", ex.id)
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/booths/").get_data(as_text=True)
    assert 'data-code="A101" data-status="held"' in page and "广州灯具公司" in page
    assert 'data-code="A103" data-status="blocked"' in page and 'data-code="A102" data-status="available"' in page
    for word in ("Available", "Held", "Reserved", "Sold", "Blocked"):
        assert word in page


def test_portal_shows_only_own_bookings_and_holds_within_rules(client):
    show = booth_show(3)
    mine, theirs = make_exhibitor(show, "我的公司"), make_exhibitor(show, "别人的公司")
    other = ops.hold_booth(show, "A103", theirs.id)
    ops.reserve(other)
    from crm_expo.extensions import db
    from crm_expo.models import Organization
    user = make_user("exhibitor", org=db.session.get(Organization, mine.organization_id))
    client.login(user)
    resp = client.form_post(f"/shows/{show.slug}/booths/booth/A101", {})
    assert resp.status_code == 302
    page = client.get(f"/shows/{show.slug}/booths/portal").get_data(as_text=True)
    assert "A101" in page and "A103" not in page
    # One hold at a time for a portal user.
    refused = client.form_post(f"/shows/{show.slug}/booths/booth/A102", {}).get_data(as_text=True)
    assert "You already hold a booth" in refused
    assert [b.booth.code for b in ops.bookings_for_organization(show, mine.organization_id)] == ["A101"]
    assert client.get(f"/shows/{show.slug}/booths/booking/{other.id}/contract.pdf").status_code == 404
    assert client.get(f"/shows/{show.slug}/booths/deviations").status_code == 403
