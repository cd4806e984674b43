"""The qualification review by hand, in a real Chromium: register an exhibitor, see the
approval refused for the missing licence, upload it, accept it, approve."""
import pytest

from plugins.exhibitors import operations as ops
from tests.factories import PASSWORD, make_show, make_user

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_register_review_documents_and_approve(page, live_server, tmp_path):
    show = make_show("wine-2027", name_en="Wine Fair 2027")
    user = make_user("organizer", email="org@example.com")
    page.goto(live_server + "/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#logout")

    page.goto(f"{live_server}/shows/{show.slug}/exhibitors/new")
    page.fill("#name_zh", "贺兰山酒庄")
    page.fill("#name_en", "Helan Winery")
    page.fill("#licence_no", "91350100M000100Y43")
    page.click("#exhibitor-form input[type=submit]")
    page.wait_for_selector("#exhibitor-name")
    assert "Helan Winery" in page.inner_text("#exhibitor-name")

    page.select_option("#status-form select[name=status]", "under_review")
    page.click("#status-form input[type=submit]")
    page.wait_for_selector("#status:has-text('Under review')")
    page.select_option("#status-form select[name=status]", "approved")
    page.click("#status-form input[type=submit]")
    page.wait_for_selector(".flash-error")
    assert "Business licence is missing" in page.inner_text(".flash-error")

    licence = tmp_path / "licence.pdf"
    licence.write_bytes(PDF)
    page.set_input_files("#upload-form input[type=file]", str(licence))
    page.click("#upload-form input[type=submit]")
    page.wait_for_selector("#documents td:has-text('licence.pdf')")
    page.select_option("#documents select[name=decision]", "accepted")
    page.click("#documents input[type=submit]")
    page.wait_for_selector("#documents td:has-text('Accepted')")

    page.select_option("#status-form select[name=status]", "approved")
    page.click("#status-form input[type=submit]")
    page.wait_for_selector("#status:has-text('Approved')")
    from crm_expo.extensions import db
    db.session.remove()
    assert [e.status for e in db.session.scalars(ops.exhibitor_query(show))] == ["approved"]
