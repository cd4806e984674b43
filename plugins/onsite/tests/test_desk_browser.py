"""The registration desk in a real Chromium: scan → green, rescan → already in, search,
walk-in with an immediate badge."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import set_setting
from plugins.onsite.models import Scan
from tests.factories import PASSWORD, make_user

from .helpers import register, today_show

pytestmark = pytest.mark.browser


def _login(page, base, email):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) [type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)


def test_desk_scan_ok_then_already_in(page, live_server, app):
    show = today_show()
    slug = show.slug   # the page's URL; the object is detached once the server has run
    desk = make_user("desk", locale="en")
    with app.test_request_context():
        reg = register(show, name_zh="陈静", name_en="Chen Jing", company="深圳贸易公司")
        register(show, name_zh="张伟", name_en="Zhang Wei")
    code, email = reg.badge_code, desk.email
    db.session.remove()
    _login(page, live_server, email)
    page.goto(f"{live_server}/shows/{slug}/onsite/desk?gate=North")
    scan = page.locator("#scan")
    assert page.evaluate("document.activeElement.id") == "scan"
    scan.type(code)
    scan.press("Enter")      # what a keyboard-wedge scanner sends
    page.wait_for_selector("#result.result-ok")
    assert "陈静" in page.text_content("#result-person") and "深圳贸易公司" in page.text_content("#result-person")
    assert page.text_content("#result-title").strip() == "Welcome"
    page.wait_for_function("document.getElementById('gate-count').textContent.trim() === '1'")
    assert page.evaluate("document.activeElement.id") == "scan" and scan.input_value() == ""
    scan.type(code)
    scan.press("Enter")
    page.wait_for_selector("#result.result-already_in")
    assert "Already checked in today" in page.text_content("#result-reason")
    scan.type("NOTACODE")
    scan.press("Enter")
    page.wait_for_selector("#result.result-unknown")
    # search by pinyin initials for a visitor without the badge, check in from the result
    page.click("text=Find a visitor without a badge")
    page.fill("#search", "zw")
    page.wait_for_selector("#search-results li")
    assert "张伟" in page.text_content("#search-results")
    page.click("#search-results li button.checkin")
    page.wait_for_selector("#result.result-ok")
    assert "张伟" in page.text_content("#result-person")
    assert db.session.scalar(select(func.count()).select_from(Scan).where(Scan.gate == "North")) == 4


def test_desk_walk_in_registers_checks_in_and_prints(page, live_server, app):
    show = today_show()
    slug = show.slug   # the page's URL; the object is detached once the server has run
    email = make_user("desk", locale="en").email
    db.session.remove()
    _login(page, live_server, email)
    page.goto(f"{live_server}/shows/{slug}/onsite/desk?gate=South")
    page.click("text=Walk-in registration")
    page.fill("#name_zh", "刘洋")
    page.fill("#phone", "13800138000")
    page.fill("#company", "杭州茶业")
    page.click("text=Register and print badge")
    page.wait_for_selector(".flash-success")
    assert "刘洋" in page.text_content(".flash-success") and "Welcome" in page.text_content(".flash-success")
    assert page.text_content("#gate-count").strip() == "1"
    with page.context.expect_page() as opened:        # the badge opens in a new tab, by a POST
        page.click("#walkin-badge")
    badge = opened.value
    badge.wait_for_load_state()
    assert "/onsite/desk/badge/" in badge.url


def test_desk_prints_the_badge_on_check_in(page, live_server, app):
    """Print on check-in (a show setting): the first admitted scan of a visitor prints the
    badge once; a visitor whose badge was printed before gets no reprint, only the link to
    reprint with a reason."""
    from plugins.onsite import operations as ops
    from plugins.onsite.models import BadgePrint
    show = today_show()
    slug = show.slug   # the page's URL; the object is detached once the server has run
    set_setting("onsite.print_on_checkin", True, show)
    db.session.commit()
    desk = make_user("desk", locale="en")
    with app.test_request_context():
        new = register(show, name_zh="王芳", name_en="Wang Fang")
        printed = register(show, name_zh="赵磊", name_en="Zhao Lei")
        ops.print_badges(show, [printed], "a6")
    new_id, new_code, printed_code, email = new.id, new.badge_code, printed.badge_code, desk.email
    db.session.remove()
    # No printer here, and headless Chromium's PDF viewer crashes when asked to print: every
    # frame's print() only counts the request (on the desk page's print frame).
    page.add_init_script("""window.print = function () {
        var f = window.top.document.getElementById('print-frame');
        f.dataset.printCalls = String(Number(f.dataset.printCalls || 0) + 1);
    };""")
    _login(page, live_server, email)
    page.goto(f"{live_server}/shows/{slug}/onsite/desk?gate=East")
    scan = page.locator("#scan")
    scan.type(new_code)
    scan.press("Enter")
    page.wait_for_selector("#result.result-ok")
    page.wait_for_selector(f"#print-status[data-printed='{new_id}']")
    assert page.text_content("#print-status").strip() == "Badge sent to the printer."
    assert page.evaluate("document.getElementById('print-frame').src").startswith("blob:")
    assert page.get_attribute("#print-frame", "data-print-calls") == "1"
    scan.type(new_code)                     # already in: nothing printed again
    scan.press("Enter")
    page.wait_for_selector("#result.result-already_in")
    scan.type(printed_code)
    scan.press("Enter")
    page.wait_for_selector("#print-status a")
    assert "printed before" in page.text_content("#print-status")
    assert page.get_attribute("#print-status a", "href").endswith(f"/reprint/{new_id + 1}")
    prints = db.session.execute(select(BadgePrint.registration_id, BadgePrint.reprint)
                                .order_by(BadgePrint.id)).all()
    assert prints == [(new_id + 1, False), (new_id, False)]
    # a walk-in registered at the desk gets the badge printed as the desk page comes back
    page.click("text=Walk-in registration")
    page.fill("#name_zh", "孙丽")
    page.fill("#phone", "13900139000")
    page.click("text=Register and print badge")
    page.wait_for_selector(".flash-success")
    walkin_id = int(page.get_attribute("#walkin-badge", "data-registration"))
    page.wait_for_selector(f"#print-status[data-printed='{walkin_id}']")
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(BadgePrint)
                             .where(BadgePrint.registration_id == walkin_id)) == 1


def test_the_demo_desk_admits_then_says_already_in(page, live_server, app):
    """The README's demo, as desk staff try it first: the live show's desk in Chromium."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from crm_expo.demo import DEMO_PASSWORD, load_demo
    from crm_expo.models import Show
    from plugins.visitors.models import Registration
    assert load_demo(app)
    show = db.session.scalar(select(Show).where(Show.status == "live"))
    today = dt.datetime.now(ZoneInfo(show.timezone)).date()
    entered = select(Scan.registration_id).where(Scan.show_id == show.id, Scan.day == today,
                                                 Scan.first_entry.is_(True), Scan.registration_id.is_not(None))
    code = db.session.scalar(select(Registration.badge_code).where(
        Registration.show_id == show.id, Registration.category == "public", Registration.cancelled_at.is_(None),
        Registration.id.not_in(entered)).order_by(Registration.id))
    slug = show.slug
    db.session.remove()
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=email]", "desk@demo.crm-expo.org")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
    page.goto(f"{live_server}/shows/{slug}/onsite/desk?gate=North")
    before = int(page.text_content("#gate-count").strip())
    scan = page.locator("#scan")
    scan.type(code)
    scan.press("Enter")
    page.wait_for_selector("#result.result-ok")
    assert page.text_content("#result-title").strip() == "Welcome"
    page.wait_for_function(f"document.getElementById('gate-count').textContent.trim() === '{before + 1}'")
    scan.type(code)
    scan.press("Enter")
    page.wait_for_selector("#result.result-already_in")
    assert "Already checked in today at" in page.text_content("#result-reason")
    assert page.text_content("#gate-count").strip() == str(before + 1)
