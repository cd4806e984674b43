"""A visitor answers a survey from its personal link, in Chinese, in a real Chromium; the
organizer's results page then shows the answer."""
from __future__ import annotations

import datetime as dt

import pytest

from crm_expo.database import utcnow
from crm_expo.extensions import db
from plugins.surveys import operations as ops
from tests.factories import PASSWORD, make_show, make_user

from .helpers import visitor

pytestmark = pytest.mark.browser


def test_a_visitor_answers_in_chinese_and_the_results_page_shows_it(browser, live_server, app):
    with app.test_request_context():
        show = make_show("survey-browser")
        visitor(show, name_zh="王芳")
        survey = ops.open_survey(ops.create_survey(show, "visitor", {}), utcnow() + dt.timedelta(days=7))
        ops.send_invitations(survey)
        recipient = ops.non_respondents(survey)[0][0]
        url = f"{live_server}/shows/{show.slug}/surveys/{survey.id}/answer/{recipient.token}"
        nps, csat, comments = (next(q.id for q in survey.questions if q.key == k) for k in ("nps", "csat", "comments"))
        email = make_user("organizer").email
        slug, survey_id = show.slug, survey.id
    db.session.remove()
    page = browser.new_page(locale="zh-CN")
    page.goto(url)
    assert page.locator("h1").inner_text().endswith("展后调查")
    page.get_by_text("提交回答").click()                       # nothing chosen: the required ones are named
    page.wait_for_load_state()
    assert page.locator(f"#field-q{nps} .error").inner_text().endswith("请回答此问题。")
    page.check(f"input[name=q{nps}][value='9']")
    page.check(f"input[name=q{csat}][value='4']")
    page.fill(f"textarea[name=q{comments}]", "展馆很大，指示牌<b>不够</b>")
    page.get_by_text("提交回答").click()
    page.wait_for_selector("#saved")
    assert "您的回答已保存" in page.locator("#saved").inner_text()
    page.context.clear_cookies()
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda u: "/auth/login" not in u)
    page.goto(f"{live_server}/shows/{slug}/surveys/{survey_id}/results")
    assert page.locator("#answered").inner_text() == "1"
    assert page.locator("#nps").inner_text().startswith("100")
    assert page.get_by_text("展馆很大，指示牌<b>不够</b>").is_visible()     # the text as typed, not as markup
    page.close()
