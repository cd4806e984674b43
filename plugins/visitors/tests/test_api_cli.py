"""The visitors JSON API, the CLI import and the data generator."""
from __future__ import annotations

import random

from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import Person
from crm_expo.operations import create_token
from plugins.visitors import bulk
from plugins.visitors.models import BadgeCode, Registration
from tests.factories import make_show

BODY = {"category": "trade", "person": {"name_zh": "陈静", "email": "chen.jing@example.com", "phone": "13700001111",
                                        "company": "广州宏源食品有限公司"},
        "consents": {"marketing": True, "share_with_exhibitors": True}}


def test_api_create_list_get_patch_and_badge_code_visibility(client, app):
    show = make_show("food-2027")
    _t, desk = create_token(show, "desk")
    _t, sales = create_token(show, "account_manager")
    resp = client.api("POST", "/api/v1/shows/food-2027/visitors", desk, json=BODY)
    assert resp.status_code == 201, resp.json
    rid = resp.json["id"]
    assert len(resp.json["badge_code"]) == 12
    assert resp.json["person"]["consents"] == {"marketing": True, "share_with_exhibitors": True}
    dup = client.api("POST", "/api/v1/shows/food-2027/visitors", desk, json=BODY)
    assert dup.status_code == 409 and dup.json["error"]["code"] == "duplicate"
    listing = client.api("GET", "/api/v1/shows/food-2027/visitors?q=chenjing", sales).json
    assert listing["total"] == 1 and "badge_code" not in listing["items"][0]
    one = client.api("GET", f"/api/v1/shows/food-2027/visitors/{rid}", desk).json
    assert one["badge_code"] == resp.json["badge_code"]
    patched = client.api("PATCH", f"/api/v1/shows/food-2027/visitors/{rid}", desk,
                         json={"category": "vip", "person": {"job_title": "总经理"}})
    assert patched.status_code == 200 and patched.json["category"] == "vip"
    assert patched.json["person"]["job_title"] == "总经理" and patched.json["verification"] == "not_required"


def test_api_bad_input(client, app):
    show = make_show("food-2027")
    _t, desk = create_token(show, "desk")
    _t, exhibitor = create_token(make_show(), "desk")
    url = "/api/v1/shows/food-2027/visitors"
    bad_email = dict(BODY, person=dict(BODY["person"], email="nope"))
    resp = client.api("POST", url, desk, json=bad_email)
    assert resp.status_code == 422 and "email" in resp.json["error"]["message"]
    resp = client.api("POST", url, desk, json={k: v for k, v in BODY.items() if k != "consents"})
    assert resp.status_code == 422 and "consents" in resp.json["error"]["message"]
    resp = client.api("POST", url, desk, json=dict(BODY, category="alien"))
    assert resp.status_code == 422 and "category" in resp.json["error"]["message"]
    assert client.api("POST", url, exhibitor, json=BODY).status_code == 403     # token of another show
    assert client.api("GET", url).status_code == 401
    assert client.api("GET", url + "/999", desk).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_cli_import_reports_rows_and_exit_codes(app, tmp_path):
    make_show("food-2027")
    path = tmp_path / "visitors.csv"
    path.write_text("姓名,英文姓名,邮箱,手机,公司,类别,同意营销,同意分享给参展商\n"
                    "李雷,Li Lei,lilei@example.com,13800000001,上海食品有限公司,专业观众,是,否\n"
                    "韩梅梅,,hmm@example.com,13800000002,,公众,否,否\n"
                    "坏人,,bad-email,,,,,\n", encoding="utf-8-sig")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "visitors", str(path), "--show", "food-2027"])
    assert result.exit_code == 1, result.output
    assert "2 imported" in result.output and "row 4" in result.output
    again = runner.invoke(args=["import", "visitors", str(path), "--show", "food-2027"])
    assert "0 imported" in again.output and "2 already there" in again.output
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 2
    assert db.session.scalar(select(func.count()).select_from(BadgeCode)) == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert runner.invoke(args=["import", "visitors", str(empty), "--show", "food-2027"]).exit_code == 2


def test_generate_is_deterministic_bilingual_and_counts(app):
    a, b = make_show("gen-a"), make_show("gen-b")
    bulk.generate(a, {"visitors": 300}, random.Random("7:visitors"))
    bulk.generate(b, {"visitors": 300}, random.Random("7:visitors"))
    rows = lambda show: db.session.execute(  # noqa: E731
        select(Person.name_zh, Person.name_en, Registration.category).join(Registration)
        .where(Registration.show_id == show.id).order_by(Registration.id)).all()
    ra, rb = rows(a), rows(b)
    assert len(ra) == 300 and [r[0] for r in ra] == [r[0] for r in rb]
    assert all(r[0] and r[1] for r in ra)
    cats = {r[2] for r in ra}
    assert {"trade", "public"} <= cats
    # Running it again adds nobody: the people are already registered.
    bulk.generate(a, {"visitors": 300}, random.Random("7:visitors"))
    assert db.session.scalar(select(func.count()).select_from(Registration)
                             .where(Registration.show_id == a.id)) == 300


def test_parallel_registrations_of_one_person_make_one_registration(app, live_server):
    """Eight simultaneous API requests for the same person: one 201, the rest 409, one row."""
    from concurrent.futures import ThreadPoolExecutor

    import requests
    show = make_show("food-2027")
    _t, desk = create_token(show, "desk")
    db.session.remove()

    def post(_i):
        return requests.post(f"{live_server}/api/v1/shows/food-2027/visitors", json=BODY, timeout=60,
                             headers={"Authorization": f"Bearer {desk}"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(post, range(8)))
    assert codes == [201] + [409] * 7, codes
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1
