"""The public registration form never reveals or changes an existing record (issue 19,
finding 1): it registers what was typed, answers the same whoever the details belong to, and
leaves the match to staff, who merge or keep apart on the review page. Real HTTP throughout."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import AuditEntry, Person, Show
from plugins.visitors import operations as ops
from plugins.visitors.models import BadgeCode, Registration, Review
from tests.factories import make_show, make_user

from .test_pages import CSRF

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

URL = "/shows/food-2027/visitors/register"
STORED = {"name_zh": "朱娜", "name_en": "Zhu Na", "organization_name": "杭州鑫达贸易有限公司"}
NO_CONSENT = {"marketing": False, "share_with_exhibitors": False}


@pytest.fixture
def shows(app):
    """food-2026 (last edition) and food-2027; 朱娜 registered for both, 钱磊 only for 2026.
    Neither has a phone or a job title; neither consented to anything."""
    old, new = make_show("food-2026"), make_show("food-2027")
    with app.test_request_context():
        zhu = ops.register_visitor(old, dict(STORED, email="zhu.na@example.com"), "trade",
                                   consents=NO_CONSENT, source="staff")
        ops.register_visitor(new, dict(STORED, email="zhu.na@example.com"), "trade",
                             consents=NO_CONSENT, source="staff")
        qian = ops.register_visitor(old, {"name_zh": "钱磊", "name_en": "Qian Lei", "email": "qian.lei@example.com"},
                                    "trade", consents=NO_CONSENT, source="staff")
    return {"new_id": new.id, "zhu": zhu.person_id, "qian": qian.person_id}


def _show(slug):
    return db.session.scalar(select(Show).where(Show.slug == slug))


PHONES = {"zhu.na@example.com": "13912345678", "qian.lei@example.com": "13912345679",
          "nobody@example.com": "13912345670"}


def _typed(email: str) -> dict:
    """What the anonymous sender types: another name, a phone, a job title, share = yes."""
    return {"category": "trade", "name_zh": "无名", "name_en": "Anon", "email": email, "phone": PHONES[email],
            "company": "", "job_title": "采购经理", "concession": "", "consent_marketing": "yes",
            "consent_share": "yes", "website": ""}


def _post(app, email: str, lang: str = "en"):
    """A fresh browser posts the form; returns (POST response, done page response)."""
    browser, headers = app.test_client(), {"Accept-Language": lang}
    page = browser.get(URL, headers=headers).get_data(as_text=True)
    resp = browser.post(URL, data=dict(_typed(email), csrf_token=CSRF.search(page).group(1)), headers=headers)
    done = browser.get(resp.headers["Location"], headers=headers) if resp.status_code == 302 else None
    return resp, done


def _scrubbed(html: str, email: str) -> str:
    """The done page with what differs by design removed: the badge code (and its QR
    image), the typed email, the page's CSRF token."""
    code = re.search(r'<code id="badge-code">([0-9A-Z]{12})</code>', html).group(1)
    html = html.replace(code, "CODE").replace(email, "EMAIL")
    html = re.sub(r'src="data:image/png;base64,[^"]+"', 'src="QR"', html)
    return re.sub(r'(csrf-token" content=|name="csrf_token"( type="hidden")? value=)"[^"]+"', r'\1"TOKEN"', html)


def _person(pid):
    db.session.remove()
    p = db.session.get(Person, pid)
    return {"name_zh": p.name_zh, "name_en": p.name_en, "email": p.email, "phone": p.phone,
            "job_title": p.job_title, "marketing": p.consent("marketing"),
            "share": p.consent("share_with_exhibitors")}


def _audits(action):
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


@pytest.mark.parametrize("lang, typed_name", [("en", "Anon"), ("zh-CN", "无名")])
def test_existing_same_show_earlier_edition_and_unknown_emails_get_the_same_answer(app, shows, smtp_server,
                                                                                   lang, typed_name):
    before = {pid: _person(pid) for pid in (shows["zhu"], shows["qian"])}
    cases = {"same show": "zhu.na@example.com", "earlier edition": "qian.lei@example.com",
             "unknown": "nobody@example.com"}
    answers = {name: _post(app, email, lang) for name, email in cases.items()}
    posts = {name: (r.status_code, r.headers.get("Location")) for name, (r, _d) in answers.items()}
    assert set(posts.values()) == {(302, "/shows/food-2027/visitors/register/done")}, posts
    pages = {name: _scrubbed(d.get_data(as_text=True), cases[name]) for name, (_r, d) in answers.items()}
    assert {d.status_code for _r, d in answers.values()} == {200}
    assert pages["same show"] == pages["earlier edition"] == pages["unknown"]
    page = pages["unknown"]
    # Only what was typed: the typed name, never the stored one, and a badge code.
    assert typed_name in page and "CODE" in page and 'src="QR"' in page
    for stored in ("朱娜", "Zhu Na", "钱磊", "Qian Lei", "already registered"):
        assert all(stored not in d.get_data(as_text=True) for _r, d in answers.values()), stored
    # The existing people are exactly as they were: no name, phone, job title or consent taken.
    assert {pid: _person(pid) for pid in before} == before
    # Each post is a registration of its own new person, with the typed consents and a working code.
    db.session.remove()
    regs = db.session.scalars(select(Registration).where(Registration.show_id == shows["new_id"],
                                                         Registration.source == "self")).all()
    assert len(regs) == 3 and {r.person_id for r in regs}.isdisjoint({shows["zhu"], shows["qian"]})
    for reg in regs:
        assert reg.person.name_zh == "无名" and reg.person.phone == "+86" + PHONES[reg.person.email]
        assert reg.person.consent("share_with_exhibitors") and reg.person.consent("marketing")
        found, badge = ops.registration_by_code(_show("food-2027"), reg.badge_code)
        assert found.id == reg.id and badge.revoked_at is None
    # The confirmation goes to the typed address, greeting the typed name.
    mails = smtp_server.wait(3)
    assert sorted(m["To"] for m in mails) == sorted(cases.values())
    bodies = [m.get_body(("plain",)).get_content() for m in mails]
    assert all(typed_name in b and not any(n in b for n in ("朱娜", "Zhu Na", "钱磊", "Qian Lei"))
               for b in bodies)


def test_matches_are_recorded_for_review_and_never_shown_to_the_public(app, shows, client, smtp_server):
    for email in ("zhu.na@example.com", "qian.lei@example.com", "nobody@example.com"):
        assert _post(app, email)[0].status_code == 302
    db.session.remove()
    items = db.session.scalars(select(Review).order_by(Review.id)).all()
    assert [(r.matched_person_id, r.matched_on, r.status) for r in items] == [
        (shows["zhu"], ["email"], "open"), (shows["qian"], ["email"], "open")]
    # Anonymous and desk users cannot open the review list; an organizer can.
    assert client.get("/shows/food-2027/visitors/reviews").status_code == 302   # to sign-in
    client.login(make_user("desk"))
    assert client.get("/shows/food-2027/visitors/reviews").status_code == 403
    client.form_post("/auth/logout")
    client.login(make_user("organizer"))
    index = client.get("/shows/food-2027/visitors/").get_data(as_text=True)
    assert "Registrations to review (2)" in index
    page = client.get("/shows/food-2027/visitors/reviews").get_data(as_text=True)
    assert page.count('class="review"') == 2
    zhu = page[page.index(f'id="review-{items[0].id}"'):page.index(f'id="review-{items[1].id}"')]
    assert "无名" in zhu and "朱娜" in zhu and "matched by same email" in zhu
    # The fields that differ are marked; the email, the same on both sides, is not.
    assert re.search(r'<tr class="differs" data-field="name_zh">', zhu)
    assert re.search(r'<tr class="differs" data-field="phone">', zhu)
    assert re.search(r'<tr class="differs" data-field="share_with_exhibitors">', zhu)
    assert re.search(r'<tr class="" data-field="email">', zhu)
    assert "Both are registered for this show" in zhu
    qian = page[page.index(f'id="review-{items[1].id}"'):]
    assert "钱磊" in qian and "Both are registered for this show" not in qian


def _review_for(person_id) -> int:
    db.session.remove()
    return db.session.scalar(select(Review.id).where(Review.matched_person_id == person_id))


def _decide(client, review_id, action):
    page = client.get("/shows/food-2027/visitors/reviews").get_data(as_text=True)
    return client.post(f"/shows/food-2027/visitors/reviews/{review_id}/{action}",
                       data={"csrf_token": META_CSRF.search(page).group(1)}, follow_redirects=True)


def test_merge_into_the_existing_person_is_audited_and_refused_a_second_time(app, shows, client, smtp_server):
    sender = app.test_client()
    form = sender.get(URL).get_data(as_text=True)
    assert sender.post(URL, data=dict(_typed("qian.lei@example.com"),
                                      csrf_token=CSRF.search(form).group(1))).status_code == 302
    review_id = _review_for(shows["qian"])
    db.session.remove()
    reg = db.session.scalar(select(Registration).join(Review).where(Review.id == review_id))
    typed_id, reg_id, code = reg.person_id, reg.id, reg.badge_code
    client.login(make_user("organizer"))
    page = _decide(client, review_id, "merge").get_data(as_text=True)
    assert "Merged into the existing record of Qian Lei" in page
    db.session.remove()
    # The existing person survives, now registered for 2027 with the new badge, which admits;
    # its blanks are filled from the typed details, its name stays.
    assert db.session.get(Person, typed_id) is None
    reg = db.session.get(Registration, reg_id)
    assert reg.person_id == shows["qian"] and reg.person.name_zh == "钱磊" and reg.person.phone == "+8613912345679"
    found, badge = ops.registration_by_code(_show("food-2027"), code)
    assert found.id == reg_id and badge.revoked_at is None
    assert db.session.get(Review, review_id).status == "merged"
    assert _audits("visitors.review.merge") == 1 and _audits("person.merge") == 1
    # The same item again: refused with a message, nothing changed.
    persons = db.session.scalar(select(func.count()).select_from(Person))
    again = _decide(client, review_id, "merge").get_data(as_text=True)
    assert "already decided" in again
    assert _audits("visitors.review.merge") == 1 and _audits("person.merge") == 1
    assert db.session.scalar(select(func.count()).select_from(Person)) == persons
    assert "Nothing to review." in again and "Recently decided" in again
    # The sender's confirmation page still shows only what was typed, after the merge too.
    done = sender.get("/shows/food-2027/visitors/register/done").get_data(as_text=True)
    assert "Anon" in done and code in done and "Qian Lei" not in done and "钱磊" not in done


def test_merge_when_both_are_registered_for_the_show_keeps_the_existing_registration(app, shows, client,
                                                                                     smtp_server):
    _post(app, "zhu.na@example.com")
    review_id = _review_for(shows["zhu"])
    db.session.remove()
    new_reg = db.session.scalar(select(Registration).join(Review).where(Review.id == review_id))
    new_id, new_code = new_reg.id, new_reg.badge_code
    kept = db.session.scalar(select(Registration).where(Registration.show_id == shows["new_id"],
                                                        Registration.person_id == shows["zhu"]))
    kept_id, kept_code = kept.id, kept.badge_code
    client.login(make_user("organizer"))
    assert "Merged into the existing record of Zhu Na" in _decide(client, review_id, "merge").get_data(as_text=True)
    db.session.remove()
    assert db.session.get(Registration, new_id) is None
    assert db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.show_id == shows["new_id"], Registration.person_id == shows["zhu"])) == 1
    # The kept registration admits with its code; the code the form issued is known and revoked.
    assert ops.registration_by_code(_show("food-2027"), kept_code)[1].revoked_at is None
    found, badge = ops.registration_by_code(_show("food-2027"), new_code)
    assert found.id == kept_id and badge.revoked_at is not None
    assert db.session.get(BadgeCode, badge.id).revoke_reason == "Merged: registered twice"
    assert _person(shows["zhu"])["name_zh"] == "朱娜"


def test_keep_apart_leaves_both_people_and_is_audited(app, shows, client, smtp_server):
    _post(app, "zhu.na@example.com")
    review_id = _review_for(shows["zhu"])
    before = _person(shows["zhu"])
    persons = db.session.scalar(select(func.count()).select_from(Person))
    client.login(make_user("organizer"))
    page = _decide(client, review_id, "keep-apart").get_data(as_text=True)
    assert "Kept apart" in page
    assert _person(shows["zhu"]) == before
    assert db.session.scalar(select(func.count()).select_from(Person)) == persons
    assert db.session.get(Review, review_id).status == "kept_apart"
    assert _audits("visitors.review.keep_apart") == 1
    # Decided: a merge afterwards is refused, nothing changes.
    assert "already decided" in _decide(client, review_id, "merge").get_data(as_text=True)
    assert _audits("person.merge") == 0 and _person(shows["zhu"]) == before


def test_unknown_review_item_is_refused_with_a_message(app, shows, client):
    client.login(make_user("organizer"))
    page = _decide(client, "999999", "merge").get_data(as_text=True)
    assert "There is no such review item for this show." in page
    assert "There is no such review item for this show." in _decide(client, "999999", "keep-apart").get_data(
        as_text=True)
    # an id no database column holds is not found, like any unknown id (crm_expo.IdConverter)
    assert _decide(client, "99999999999999999999", "merge").status_code == 404
    assert _audits("person.merge") == 0 and _audits("visitors.review.keep_apart") == 0


def test_review_item_of_another_show_is_unknown_here(app, shows, client, smtp_server):
    _post(app, "zhu.na@example.com")
    review_id = _review_for(shows["zhu"])
    client.login(make_user("organizer"))
    page = client.get("/shows/food-2026/visitors/reviews").get_data(as_text=True)
    resp = client.post(f"/shows/food-2026/visitors/reviews/{review_id}/merge",
                       data={"csrf_token": META_CSRF.search(page).group(1)}, follow_redirects=True)
    assert "There is no such review item for this show." in resp.get_data(as_text=True)
    assert db.session.get(Review, review_id).status == "open"


def test_staff_registration_page_still_finds_the_existing_person(app, shows, client):
    client.login(make_user("organizer"))
    url = "/shows/food-2027/visitors/new"
    page = client.get(url).get_data(as_text=True)
    resp = client.post(url, data={"csrf_token": CSRF.search(page).group(1), "category": "trade",
                                  "name_zh": "钱磊", "email": "QIAN.LEI@example.com", "concession": "",
                                  "consent_marketing": "no", "consent_share": "no"})
    assert resp.status_code == 302
    db.session.remove()
    reg = db.session.get(Registration, int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert reg.person_id == shows["qian"] and reg.source == "staff"
    again = client.post(url, data={"csrf_token": CSRF.search(page).group(1), "category": "trade",
                                   "name_zh": "钱磊", "email": "qian.lei@example.com", "concession": "",
                                   "consent_marketing": "no", "consent_share": "no"})
    assert "钱磊 is already registered for this show." in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Review)) == 0
