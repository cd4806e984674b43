"""The gate's check-in: rules, results, nonce replay, single entry, bad input."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import set_setting
from plugins.onsite import operations as ops
from plugins.onsite.models import Scan
from plugins.visitors import operations as visitor_ops

from .helpers import desk_token, register, today_show


def scan(client, show, token, code, gate="A", nonce=None, **extra):
    return client.api("POST", f"/api/v1/shows/{show.slug}/checkins", token,
                      json={"code": code, "gate": gate, "nonce": nonce or uuid.uuid4().hex, **extra})


def scans():
    return db.session.scalar(select(func.count()).select_from(Scan))


def test_first_scan_admits_second_says_already_in(client, app):
    show = today_show()
    token = desk_token(show)
    reg = register(show, "public", name_zh="李娜", name_en="Li Na", company="上海食品有限公司")
    first = scan(client, show, token, reg.badge_code)
    assert first.status_code == 200
    body = first.get_json()
    assert body["result"] == "ok"
    assert body["person"]["name_zh"] == "李娜" and body["person"]["company"] == "上海食品有限公司"
    again = scan(client, show, token, reg.badge_code.lower(), gate="B").get_json()
    assert again["result"] == "already_in"
    assert "Already checked in today" in again["reason"]
    rows = db.session.execute(select(Scan.result, Scan.gate, Scan.first_entry).order_by(Scan.id)).all()
    assert rows == [("ok", "A", True), ("already_in", "B", None)]   # TRUE or NULL, never FALSE


def test_reentry_setting_admits_again_but_counts_one_person(client, app):
    show = today_show()
    set_setting("onsite.reentry", True, show)
    db.session.commit()
    token = desk_token(show)
    reg = register(show)
    assert [scan(client, show, token, reg.badge_code).get_json()["result"] for _ in range(3)] == ["ok"] * 3
    figures = ops.attendance(show)
    assert figures["unique_visitors"] == 1 and figures["entries"] == 3


def test_nonce_replay_returns_first_answer_and_records_nothing(client, app):
    show = today_show()
    token = desk_token(show)
    reg = register(show)
    first = scan(client, show, token, reg.badge_code, nonce="n-1").get_json()
    replay = scan(client, show, token, reg.badge_code, nonce="n-1").get_json()
    assert first["result"] == "ok" and replay == first
    assert scans() == 1
    # the same nonce with another code is still the first answer: a retry, not a new scan
    assert scan(client, show, token, "ZZZZZZZZZZZZ", nonce="n-1").get_json() == first
    assert scans() == 1


def test_rules_trade_unverified_cancelled_category_day(client, app):
    show = today_show()
    token = desk_token(show)
    pending = register(show, "trade", verified=False)
    body = scan(client, show, token, pending.badge_code).get_json()
    assert body["result"] == "not_allowed" and body["reason_code"] == "trade_not_verified"
    cancelled = register(show)
    visitor_ops.cancel_registration(cancelled)
    assert scan(client, show, token, cancelled.badge_code).get_json()["reason_code"] == "cancelled"
    today = ops.local_day(show, ops.utcnow())
    visitor_ops.add_admission_rule(show, "public", day=today, admitted=False)
    public = register(show)
    body = scan(client, show, token, public.badge_code).get_json()
    assert body["result"] == "not_allowed" and body["reason_code"] == "category_not_admitted"
    young = register(show, "vip", birth_date=(today - dt.timedelta(days=365 * 10)).isoformat())
    visitor_ops.add_admission_rule(show, "vip", min_age=15)
    assert scan(client, show, token, young.badge_code).get_json()["reason_code"] == "under_minimum_age"
    # refused scans are recorded too, with their reason (the audit trail)
    assert db.session.scalars(select(Scan.reason).order_by(Scan.id)).all() == [
        "trade_not_verified", "cancelled", "category_not_admitted", "under_minimum_age"]
    assert ops.attendance(show)["unique_visitors"] == 0


def test_revoked_badge_refused_new_code_admitted(client, app):
    show = today_show()
    token = desk_token(show)
    reg = register(show)
    old = reg.badge_code
    new = visitor_ops.replace_badge_code(reg, "badge lost")
    body = scan(client, show, token, old).get_json()
    assert body["result"] == "not_allowed" and body["reason_code"] == "revoked"
    assert scan(client, show, token, new).get_json()["result"] == "ok"


def test_unknown_malformed_and_other_show_codes(client, app):
    show, other = today_show(), today_show()
    token = desk_token(show)
    foreign = register(other)
    assert scan(client, show, token, "<script>").get_json()["reason_code"] == "malformed"
    assert scan(client, show, token, "ABCDEFGHJK12").get_json()["reason_code"] == "unknown_code"
    body = scan(client, show, token, foreign.badge_code).get_json()
    assert body["result"] == "unknown" and body["reason_code"] == "other_show" and body["person"] is None
    # nothing about the other show's visitor leaks, and her day stays unscanned
    assert db.session.scalar(select(func.count()).select_from(Scan).where(Scan.registration_id.is_not(None))) == 0


def test_bad_requests_record_nothing(client, app):
    show, other = today_show(), today_show()
    token, other_token = desk_token(show), desk_token(other)
    reg = register(show)
    url = f"/api/v1/shows/{show.slug}/checkins"
    no_token = client.post(url, json={"code": reg.badge_code, "gate": "A", "nonce": "x"})
    assert no_token.status_code == 401
    wrong_show = client.api("POST", url, other_token, json={"code": reg.badge_code, "gate": "A", "nonce": "x"})
    assert wrong_show.status_code == 403 and wrong_show.get_json()["error"]["code"] == "wrong_show"
    from crm_expo.operations import create_token
    from tests.factories import make_org
    exhibitor_token = create_token(show, "exhibitor", organization_id=make_org().id)[1]
    exhibitor = client.api("POST", url, exhibitor_token, json={"code": reg.badge_code, "gate": "A"})
    assert exhibitor.status_code == 403
    missing_gate = client.api("POST", url, token, json={"code": reg.badge_code, "nonce": "x"})
    assert missing_gate.status_code == 400 and missing_gate.get_json()["error"]["code"] == "missing_gate"
    missing_code = client.api("POST", url, token, json={"gate": "A"})
    assert missing_code.status_code == 400 and "code" in missing_code.get_json()["error"]["message"]
    long_nonce = client.api("POST", url, token, json={"code": reg.badge_code, "gate": "A", "nonce": "n" * 65})
    assert long_nonce.status_code == 400 and "nonce" in long_nonce.get_json()["error"]["message"]
    not_json = client.api("POST", url, token, data="code=1", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400
    assert scans() == 0


def test_session_user_needs_csrf_header(client, app):
    from tests.factories import make_user
    show = today_show()
    reg = register(show)
    client.login(make_user("desk"))
    url = f"/api/v1/shows/{show.slug}/checkins"
    refused = client.post(url, json={"code": reg.badge_code, "gate": "A", "nonce": "a"})
    assert refused.status_code == 400 and scans() == 0
    ok = client.post(url, json={"code": reg.badge_code, "gate": "A", "nonce": "b"},
                     headers={"X-CSRFToken": client.csrf_token()})
    assert ok.get_json()["result"] == "ok"


def test_exit_scans_follow_the_setting(client, app):
    show = today_show()
    token = desk_token(show)
    reg = register(show)
    assert scan(client, show, token, reg.badge_code, direction="out").get_json()["reason_code"] == "exit_scans_off"
    set_setting("onsite.exit_scans", True, show)
    db.session.commit()
    assert scan(client, show, token, reg.badge_code).get_json()["result"] == "ok"
    assert scan(client, show, token, reg.badge_code, direction="out").get_json()["reason_code"] == "exit"
    assert ops.attendance(show)["entries"] == 1


def test_attendance_counts_unique_people_per_day_and_excludes_staff_and_media(app, request_ctx):
    show = today_show()
    days = [d.date for d in show.days]
    set_setting("onsite.reentry", True, show)
    db.session.commit()
    trade = register(show, "trade")
    public = register(show, "public")
    media = register(show, "media")
    staff = register(show, "exhibitor_staff")
    at = lambda day: dt.datetime.combine(day, dt.time(3, 0))   # 11:00 in Shanghai
    for reg in (trade, public, media, staff):
        ops.check_in(show, reg.badge_code, "A", at=at(days[0]))
    ops.check_in(show, public.badge_code, "B", at=at(days[0]))      # re-entry
    ops.check_in(show, trade.badge_code, "A", at=at(days[1]))
    f = ops.attendance(show)
    assert (f["unique_visitors"], f["entries"], f["unique_trade"], f["unique_public"]) == (2, 4, 1, 1)
    assert f["not_counted_people"] == 2
    assert [(d["day"], d["unique"], d["entries"], d["trade"]) for d in f["days"]] == [
        (days[0], 2, 3, 1), (days[1], 1, 1, 1)]


def test_attendance_report_pdf_states_how_figures_were_counted(app, request_ctx):
    import io

    from pypdf import PdfReader

    from crm_expo.reports import available_reports
    show = today_show()
    reg = register(show)
    ops.check_in(show, reg.badge_code, "A")
    pdf = available_reports(app)["attendance"](show)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Unique visitors" in text and "the number of distinct visitors admitted at least once" in text
    assert "never counted as visitors" in text


def test_desk_in_chinese_answers_in_chinese(client, app):
    from tests.factories import make_user
    show = today_show()
    reg = register(show)
    client.login(make_user("desk", locale="zh"))
    page = client.get(f"/shows/{show.slug}/onsite/desk").get_data(as_text=True)
    assert "登记台" in page and "请扫描证件…" in page
    url = f"/api/v1/shows/{show.slug}/checkins"
    headers = {"X-CSRFToken": client.csrf_token()}
    assert client.post(url, json={"code": reg.badge_code, "gate": "A"}, headers=headers).get_json()["reason"] == "欢迎"
    again = client.post(url, json={"code": reg.badge_code, "gate": "A"}, headers=headers).get_json()
    assert again["reason"].startswith("今天") and again["reason"].endswith("已签到")


def test_a_desk_device_gets_answers_in_its_accept_language(client, app):
    """Token calls have no user session: the device's Accept-Language picks the language."""
    show = today_show()
    token = desk_token(show)
    reg = register(show)
    url = f"/api/v1/shows/{show.slug}/checkins"
    zh = client.api("POST", url, token, json={"code": reg.badge_code, "gate": "A"},
                    headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()
    assert zh["reason"] == "欢迎" and zh["person"]["category_title"] == "公众"
    en = client.api("POST", url, token, json={"code": reg.badge_code, "gate": "A"},
                    headers={"Accept-Language": "en-US,en;q=0.8"}).get_json()
    assert en["result"] == "already_in" and en["reason"].startswith("Already checked in today")
    # and no session cookie is set for a device
    resp = client.api("POST", url, token, json={"code": "NOTACODE", "gate": "A"})
    assert "Set-Cookie" not in resp.headers


# --- the fast lane (crm_expo/api/fast_lane.py) ----------------------------------------------
class FlaskRequests:
    """Counts the requests that went through Flask's request handling (its request_started
    signal), as opposed to the API's fast lane, which answers before Flask."""

    def __init__(self, app):
        self.app, self.count = app, 0

    def __enter__(self):
        from flask import request_started
        request_started.connect(self._seen, self.app)
        return self

    def __exit__(self, *exc):
        from flask import request_started
        request_started.disconnect(self._seen, self.app)

    def _seen(self, sender, **extra):
        self.count += 1


def _comparable(resp):
    import re
    body = resp.get_json()
    if body.get("person"):   # two visitors of the same company and category, one for each run
        body["person"].update(registration_id="…", name_zh="…", name_en="…")
    if "reason" in body:
        body["reason"] = re.sub(r"\d\d:\d\d", "HH:MM", body["reason"])   # the time of the first entry
    headers = {k: v for k, v in resp.headers.items() if k != "Content-Length"}
    return resp.status_code, headers, body


def test_a_desk_devices_scans_take_the_fast_lane_and_get_the_answers_flask_gives(client, app, monkeypatch):
    """The same scans, once in the fast lane and once through Flask (the lane taken out):
    the same statuses, headers (security headers included), answers and records."""
    from crm_expo.operations import create_token
    from tests.factories import make_org
    show, other = today_show(), today_show()
    token, other_token = desk_token(show), desk_token(other)
    exhibitor_token = create_token(show, "exhibitor", organization_id=make_org().id)[1]
    url = f"/api/v1/shows/{show.slug}/checkins"

    def scans_of(reg):
        code = reg.badge_code
        return [(url, token, {"code": code, "gate": "A"}, "zh-CN,zh;q=0.9"),      # ok, in Chinese
                (url, token, {"code": code.lower(), "gate": "B"}, "en-US"),        # already in, at HH:MM
                (url, token, {"code": "<script>", "gate": "A"}, "en"),             # malformed
                (url, token, {"code": "ABCDEFGHJK12", "gate": "A"}, "zh"),         # unknown
                (url, token, {"gate": "A"}, "zh"),                                  # 400 missing code
                (url, token, {"code": code, "gate": "A", "nonce": "n" * 65}, "en"),  # 400 bad nonce
                (url, "ce_not_a_token", {"code": code, "gate": "A"}, "zh"),          # 401
                (url, other_token, {"code": code, "gate": "A"}, "en"),               # 403 wrong show
                (url, exhibitor_token, {"code": code, "gate": "A"}, "zh"),           # 403 role
                ("/api/v1/shows/no-such-show/checkins", token, {"code": code, "gate": "A"}, "en")]  # 404

    def run(reg):
        return [_comparable(client.api("POST", u, t, json=body, headers={"Accept-Language": lang}))
                for u, t, body, lang in scans_of(reg)]

    client.get("/")   # a process's first request checks the schema, in Flask (`serve` does it before)
    with FlaskRequests(app) as flask_requests:
        fast = run(register(show, "public", name_zh="李娜", name_en="Li Na", company="上海食品有限公司"))
    assert flask_requests.count == 0   # every one of them answered in the fast lane
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app.wsgi_app)
    with FlaskRequests(app) as flask_requests:
        slow = run(register(show, "public", name_zh="王芳", name_en="Wang Fang", company="上海食品有限公司"))
    assert flask_requests.count == len(slow)
    assert fast == slow
    statuses = [status for status, _, _ in fast]
    assert statuses == [200, 200, 200, 200, 400, 400, 401, 403, 403, 404]
    assert fast[0][2]["reason"] == "欢迎" and fast[1][2]["reason"].startswith("Already checked in today at")
    assert fast[0][1]["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in fast[6][1]
    rows = db.session.execute(select(Scan.result, func.count()).group_by(Scan.result).order_by(Scan.result)).all()
    assert rows == [("already_in", 2), ("ok", 2), ("unknown", 4)]


def test_calls_the_fast_lane_does_not_take_are_answered_by_flask(client, app):
    show = today_show()
    token = desk_token(show)
    reg = register(show)
    url = f"/api/v1/shows/{show.slug}/checkins"
    client.get("/")
    with FlaskRequests(app) as flask_requests:
        broken = client.api("POST", url, token, data=b'{"code": ', headers={"Content-Type": "application/json"})
        assert broken.status_code == 400 and broken.get_json()["error"]["code"] == "bad_json"
        a_list = client.api("POST", url, token, json=[reg.badge_code])
        assert a_list.status_code == 400 and a_list.get_json()["error"]["code"] == "bad_json"
        form = client.api("POST", url, token, data={"code": reg.badge_code, "gate": "A"})
        assert form.status_code == 400 and form.get_json()["error"]["code"] == "bad_json"
        assert flask_requests.count == 3 and scans() == 0
        # the lane does take JSON with a charset
        ok = client.api("POST", url, token, data=f'{{"code": "{reg.badge_code}", "gate": "A"}}'.encode(),
                        headers={"Content-Type": "application/json; charset=utf-8"})
        assert ok.get_json()["result"] == "ok" and flask_requests.count == 3


def test_an_unexpected_error_in_the_fast_lane_is_logged_and_answered_in_json(client, app, caplog):
    from sqlalchemy import text
    show = today_show()
    token = desk_token(show)
    reg = register(show)
    db.session.execute(text("ALTER TABLE onsite_scan RENAME TO onsite_scan_away"))
    db.session.commit()
    client.get("/")
    try:
        with FlaskRequests(app) as flask_requests:
            resp = scan(client, show, token, reg.badge_code)
        assert flask_requests.count == 0
        assert resp.status_code == 500 and resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.get_json() == {"error": {"code": "server_error", "message": "Internal error; it has been logged."}}
        assert "unhandled error" in caplog.text and "onsite_scan" in caplog.text
    finally:
        db.session.rollback()
        db.session.execute(text("ALTER TABLE onsite_scan_away RENAME TO onsite_scan"))
        db.session.commit()
    assert scan(client, show, token, reg.badge_code).get_json()["result"] == "ok"
