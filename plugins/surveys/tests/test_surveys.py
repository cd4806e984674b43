"""Surveys: audiences, personal links, answers, results (NPS, CSAT), sending and reminders."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.models import OutboxMail
from plugins.onsite.tests.helpers import today_show
from plugins.surveys import operations as ops
from plugins.surveys.models import Recipient, SurveyAnswer
from tests.factories import make_show, make_user

from .helpers import auth, token, visitor

pytestmark = pytest.mark.usefixtures("request_ctx")


def _open(show, template="visitor", audience=None):
    survey = ops.create_survey(show, template, audience or {})
    return ops.open_survey(survey, utcnow() + dt.timedelta(days=7))


def _q(survey, key):
    return next(q for q in survey.questions if q.key == key)


def _answer(survey, recipient, **by_key):
    form = {f"q{_q(survey, k).id}": (v if isinstance(v, list) else [str(v)]) for k, v in by_key.items()}
    return ops.submit_answers(survey, recipient, form)


def _recipients(survey):
    return db.session.scalars(select(Recipient).where(Recipient.survey_id == survey.id).order_by(Recipient.id)).all()


def test_nps_and_csat_on_a_hand_computed_set(app, client):
    show = make_show()
    for _ in range(12):
        visitor(show)
    survey = _open(show)
    assert ops.send_invitations(survey)["queued"] == 12
    nps = [10, 9, 9, 9, 8, 7, 6, 2, 10, 10]      # promoters 6, detractors 2 of 10 → +40
    csat = [5, 4, 4, 3, 2, 5, 5, 1, 4, 3]        # 4 or 5: 6 of 10 → 60 %
    for r, n, c in zip(_recipients(survey), nps, csat, strict=False):
        _answer(survey, r, nps=n, csat=c)
    data = client.get(f"/api/v1/shows/{show.slug}/surveys/{survey.id}", headers=auth(token(show))).get_json()
    assert (data["invited"], data["answered"], data["response_rate"]) == (12, 10, 83.3)
    assert (data["nps"], data["csat"]) == (40, 60)
    nps_q = next(q for q in data["questions"] if q["key"] == "nps")
    assert nps_q["distribution"][10] == [10, 3] and nps_q["small_sample"] is True
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/surveys/{survey.id}/results").get_data(as_text=True)
    assert 'id="nps">40' in page and "60%" in page
    assert "only 10 answers: not reliable" in page          # fewer than 30 behind the figure
    assert "<svg" in page and "83.3%" in page


def test_audience_by_category_and_attendance_and_consent(app):
    show = today_show()
    came = [visitor(show, "trade", came=True) for _ in range(2)]
    never = [visitor(show, "trade") for _ in range(3)]
    visitor(show, "public", came=True)
    visitor(show, "trade", came=True, consent=False)
    attended = ops.create_survey(show, "visitor", {"category": ["trade"], "attended": True})
    assert ops.audience_counts(attended) == {"matched": 3, "without_consent": 1, "eligible": 2, "not_invited": 2}
    no_show = ops.create_survey(show, "visitor", {"category": ["trade"], "attended": False})
    ops.open_survey(no_show, utcnow() + dt.timedelta(days=3))
    assert ops.send_invitations(no_show) == {"queued": 3, "skipped_no_consent": 0}
    assert {r.person_id for r in _recipients(no_show)} == {r.person_id for r in never}
    day = ops.create_survey(show, "visitor", {"day": dt.date.today().isoformat(), "category": ["trade"]})
    assert ops.audience_counts(day)["eligible"] in (0, 2)    # show-local day vs. the machine's
    assert {r.person_id for r in came} <= {row.person_id for row in db.session.execute(ops.audience_select(attended))}


def test_send_twice_queues_only_newcomers_and_skips_without_consent(app, client):
    show = make_show()
    for _ in range(3):
        visitor(show)
    visitor(show, consent=False)
    tok = token(show)
    created = client.post(f"/api/v1/shows/{show.slug}/surveys", headers=auth(tok),
                          json={"template": "visitor", "audience": {"category": ["trade"]}})
    assert created.status_code == 201
    sid = created.get_json()["id"]
    assert client.post(f"/api/v1/shows/{show.slug}/surveys/{sid}/open", headers=auth(tok)).status_code == 200
    first = client.post(f"/api/v1/shows/{show.slug}/surveys/{sid}/send", headers=auth(tok)).get_json()
    assert first == {"queued": 3, "skipped_no_consent": 1}
    assert client.post(f"/api/v1/shows/{show.slug}/surveys/{sid}/send", headers=auth(tok)).get_json()["queued"] == 0
    visitor(show)
    assert client.post(f"/api/v1/shows/{show.slug}/surveys/{sid}/send", headers=auth(tok)).get_json()["queued"] == 1
    mails = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
    invitations = [m for m in mails if m.purpose == "marketing"]
    assert len(invitations) == 4 and len({m.recipient for m in invitations}) == 4
    tokens = {r.token for r in _recipients(ops.get_survey(show, sid))}
    assert all(any(t in m.text for t in tokens) for m in invitations)
    assert all("List-Unsubscribe" in m.headers for m in invitations)
    assert "感谢您参加" in invitations[0].text          # a Chinese name and country: the mail is in Chinese


def test_an_english_recipient_gets_english_mail(app):
    show = make_show()
    visitor(show, name_zh="", name_en="Anna Smith", country="DE")
    survey = _open(show)
    ops.send_invitations(survey)
    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.purpose == "marketing")).one()
    assert "Dear Anna Smith" in mail.text and "Your personal link works until" in mail.text


def test_an_audience_of_zero_is_refused_before_anything_is_queued(app, client):
    show = make_show()
    visitor(show, "public")
    tok = token(show)
    sid = client.post(f"/api/v1/shows/{show.slug}/surveys", headers=auth(tok),
                      json={"template": "visitor", "audience": {"category": ["media"]}}).get_json()["id"]
    client.post(f"/api/v1/shows/{show.slug}/surveys/{sid}/open", headers=auth(tok))
    answer = client.post(f"/api/v1/shows/{show.slug}/surveys/{sid}/send", headers=auth(tok))
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "empty_audience"
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0
    assert db.session.scalar(select(func.count()).select_from(Recipient)) == 0


def test_bad_audience_and_template_are_refused(app, client):
    show = make_show()
    tok = token(show)
    url = f"/api/v1/shows/{show.slug}/surveys"
    bad = client.post(url, headers=auth(tok), json={"template": "visitor", "audience": {"colour": "red"}})
    assert bad.status_code == 422 and "colour" in bad.get_json()["error"]["message"]
    bad = client.post(url, headers=auth(tok), json={"template": "visitor", "audience": {"category": ["alien"]}})
    assert bad.status_code == 422 and "alien" in bad.get_json()["error"]["message"]
    assert client.post(url, headers=auth(tok), json={"template": "party"}).status_code == 422
    assert client.post(url, headers=auth(token(show, "desk")), json={"template": "visitor"}).status_code == 403


def _one(show, **kw):
    visitor(show, **kw)
    survey = _open(show)
    ops.send_invitations(survey)
    return survey, _recipients(survey)[0]


def test_bad_links_show_a_clear_page_and_store_nothing(app, client):
    show = make_show()
    survey, r = _one(show)
    other = _open(show)
    base = f"/shows/{show.slug}/surveys"
    forged = client.get(f"{base}/{survey.id}/answer/{'x' * 32}")
    assert forged.status_code == 404 and "This survey link is not valid." in forged.get_data(as_text=True)
    assert client.get(f"{base}/{other.id}/answer/{r.token}").status_code == 404     # another survey's link
    nps = _q(survey, "nps").id
    posted = client.form_post(f"{base}/{other.id}/answer/{r.token}", {f"q{nps}": "9"})
    assert posted.status_code == 404
    survey.deadline = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    late = client.form_post(f"{base}/{survey.id}/answer/{r.token}", {f"q{nps}": "9", f"q{_q(survey, 'csat').id}": "4"})
    assert late.status_code == 410 and "answers are no longer taken" in late.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 0


def test_answers_out_of_range_or_missing_are_named_and_nothing_is_stored(app, client):
    show = make_show()
    survey, r = _one(show, name_zh="", name_en="Anna", country="DE")
    url = f"/shows/{show.slug}/surveys/{survey.id}/answer/{r.token}"
    page = client.get(url)
    assert page.status_code == 200 and "How likely are you to recommend" in page.get_data(as_text=True)
    answer = client.form_post(url, {f"q{_q(survey, 'nps').id}": "11"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "How likely are you to recommend this show to a colleague or friend?: Please choose a value from 0 to 10." \
        in text
    assert "How satisfied are you with the show overall?: Please answer this question." in text
    assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 0
    assert _recipients(survey)[0].answered_at is None


def test_answer_once_and_change_until_the_deadline(app, client):
    show = make_show()
    survey, r = _one(show)
    url = f"/shows/{show.slug}/surveys/{survey.id}/answer/{r.token}"
    nps, csat, shows = _q(survey, "nps").id, _q(survey, "csat").id, _q(survey, "other_shows").id
    acts = _q(survey, "activities")
    first = client.form_post(url, {f"q{nps}": "3", f"q{csat}": "2", f"q{shows}": "广交会，SIAL China、sial china",
                                   f"q{acts.id}": ["forums", "awards"]})
    assert first.status_code == 200 and "您的回答已保存" in first.get_data(as_text=True)
    client.form_post(url, {f"q{nps}": "10", f"q{csat}": "5"})
    data = ops.results(survey)
    assert (data["answered"], data["nps"], data["csat"]) == (1, 100, 100)
    assert ops.answers_of(r)[nps] == [10] and shows not in ops.answers_of(r)
    again = client.get(url).get_data(as_text=True)
    assert 'value="10" checked' in again


def test_free_text_is_escaped_on_the_results_page_and_in_exports(app, client):
    show = make_show()
    survey, r = _one(show)
    _answer(survey, r, nps=9, csat=5, comments='<script>alert("x")</script>=HYPERLINK("http://evil")')
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/surveys/{survey.id}/results").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    csv = client.get(f"/shows/{show.slug}/surveys/{survey.id}/export.csv").get_data(as_text=True)
    assert "'<script>" in csv or '"<script>' in csv or "<script>" in csv
    assert ",=HYPERLINK" not in csv
    xlsx = client.get(f"/shows/{show.slug}/surveys/{survey.id}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_answered_questions_are_frozen(app):
    show = make_show()
    survey, r = _one(show)
    _answer(survey, r, nps=9, csat=4)
    with pytest.raises(ops.SurveyError) as exc:
        ops.update_question(_q(survey, "nps"), label_en="Would you come back?")
    assert exc.value.code == "frozen"
    with pytest.raises(ops.SurveyError):
        ops.delete_question(_q(survey, "csat"))
    ops.update_question(_q(survey, "comments"), label_en="Tell us more")     # not answered: may change
    with pytest.raises(ops.SurveyError) as exc:
        ops.add_question(survey, kind="text", label_zh="新问题", required=True)
    assert exc.value.code == "required"
    added = ops.add_question(survey, kind="single", label_zh="餐饮", choices=["好|Good", "差|Poor"])
    assert [c["en"] for c in added.choices] == ["Good", "Poor"]


def test_non_respondents_and_reminders(app, client):
    show = make_show()
    for _ in range(3):
        visitor(show)
    survey = _open(show)
    ops.send_invitations(survey)
    first = _recipients(survey)[0]
    _answer(survey, first, nps=8, csat=4)
    tok = token(show)
    listed = client.get(f"/api/v1/shows/{show.slug}/surveys/{survey.id}/non-respondents", headers=auth(tok))
    assert listed.get_json()["total"] == 2
    assert client.post(f"/api/v1/shows/{show.slug}/surveys/{survey.id}/remind",
                       headers=auth(tok)).get_json() == {"queued": 2}
    reminders = db.session.scalars(select(OutboxMail).where(OutboxMail.subject.like("%提醒%"))).all()
    assert len(reminders) == 2 and first.person_id not in {m.person_id for m in reminders}
    # Automatic reminders: spaced by surveys.reminder_days, at most surveys.reminders_max.
    assert ops.scheduled_sends() == 0            # the last mail was just now
    for _ in range(3):
        db.session.execute(Recipient.__table__.update().values(last_mailed_at=utcnow() - dt.timedelta(days=4)))
        db.session.commit()
        ops.scheduled_sends()
    assert {r.reminders for r in _recipients(survey) if r.answered_at is None} == {2}
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/surveys/{survey.id}/non-respondents").get_data(as_text=True)
    assert "Remind them all now" in page


def test_scheduled_send_after_the_show(app):
    show = make_show(start=dt.date(2027, 5, 10), days=3)
    visitor(show)
    survey = ops.create_survey(show, "visitor", {}, auto_send=True)
    ops.open_survey(survey, utcnow() + dt.timedelta(days=30))
    assert ops.scheduled_sends(today=dt.date(2027, 5, 12)) == 0       # the show is on
    assert ops.scheduled_sends(today=dt.date(2027, 5, 13)) == 1       # a day after its last day
    assert ops.scheduled_sends(today=dt.date(2027, 5, 14)) == 0       # sent once


def test_comparison_with_the_previous_edition_and_attitude(app, client):
    from plugins.exhibitors.models import ExhibitorStaff
    from plugins.exhibitors.operations import create_exhibitor
    from tests.factories import make_person
    old = make_show(start=dt.date(2026, 5, 10), series="food")
    new = make_show(start=dt.date(2027, 5, 10), series="food")
    results = {}
    for show, score in ((old, 6), (new, 10)):
        ex = create_exhibitor(show, name_zh="好食品公司")
        person = make_person("李娜", email=f"li{show.id}@example.com", organization=ex.organization)
        from crm_expo.models import Consent
        db.session.add(Consent(person_id=person.id, purpose="marketing", granted=True, source="test"))
        db.session.add(ExhibitorStaff(exhibitor_id=ex.id, person_id=person.id))
        db.session.commit()
        survey = _open(show, "exhibitor", {"status": ["applied"]})
        assert ops.send_invitations(survey)["queued"] == 1
        _answer(survey, _recipients(survey)[0], nps=score, csat=4, other_shows="SIAL, FHC")
        results[show.id] = (survey, ex)
    survey, ex = results[new.id]
    data = ops.results(survey)
    assert data["nps"] == 100 and data["previous"]["nps"] == -100
    assert ops.attitude(new, ex.organization_id) == {"answers": 1, "recommend": 10.0, "satisfaction": 4.0,
                                                     "other_shows": 2}
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{new.slug}/surveys/{survey.id}/results").get_data(as_text=True)
    assert "Previous edition" in page and "-100" in page


def test_pages_for_organizers_only(app, client):
    show = make_show()
    survey = ops.create_survey(show, "visitor", {})
    client.login(make_user("exhibitor"))
    assert client.get(f"/shows/{show.slug}/surveys/{survey.id}/results").status_code in (403, 404)
    client = app.test_client()
    client.login(make_user("organizer"))
    assert client.get(f"/shows/{show.slug}/surveys/").status_code == 200
    created = client.form_post(f"/shows/{show.slug}/surveys/", {"template": "exhibitor", "status": ["approved"]})
    assert created.status_code == 302
    detail = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Open the survey" in detail and "How likely are you to recommend exhibiting" in detail


def test_a_persons_answers_are_exported_and_their_own_words_erased_while_scores_stay(app):
    from crm_expo.models import Person
    from crm_expo.privacy import erase, export_data
    show = make_show()
    survey, r = _one(show)
    _answer(survey, r, nps=3, csat=2, comments="Call me on 13912345678, the aisle was blocked")
    person = db.session.get(Person, db.session.get(Recipient, r.id).person_id)
    data = export_data(person.email)
    assert any("aisle was blocked" in str(a["value_text"]) for a in data["survey_answers"])
    before = ops.results(survey)
    erase(person.email, "asked")
    texts = db.session.scalars(select(SurveyAnswer.value_text).where(SurveyAnswer.recipient_id == r.id)).all()
    assert not any("13912345678" in t or "aisle" in t for t in texts)
    assert sorted(v for v in db.session.scalars(select(SurveyAnswer.value_int).where(
        SurveyAnswer.recipient_id == r.id)) if v is not None) == [2, 3]     # the scores stay
    after = ops.results(survey)
    assert (after["nps"], after["csat"]) == (before["nps"], before["csat"])
