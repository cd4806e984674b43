"""Audited attendance on a hand-made show whose every figure is known, from the desk's scans
and a gate system's export: unique people vs entries vs total attendance, a replaced badge, a
merged duplicate, exits and refused scans, media and staff apart, never admitted — the same
figures in the JSON, the PDF (zh and en) and the XLSX; the scan import's bad rows; re-import."""
from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import Organization, set_setting
from plugins.onsite import operations as ops
from plugins.onsite.models import Scan
from plugins.visitors import operations as visitor_ops
from plugins.visitors.models import Review
from tests.factories import make_show, make_user

from .helpers import register

D1, D2, D3 = dt.date(2027, 5, 10), dt.date(2027, 5, 11), dt.date(2027, 5, 12)
EVIL_REGION = "=cmd|' /C calc'!A0"


def _at(day, hour=11, minute=0):
    """A naive UTC time that is ``hour:minute`` in Shanghai on ``day``."""
    return dt.datetime.combine(day, dt.time(hour, minute)) - dt.timedelta(hours=8)


def _scan(show, code, day, hour=11, minute=0, direction="in"):
    return ops.check_in(show, code, "A", direction=direction, at=_at(day, hour, minute))


def _text(pdf: bytes) -> str:
    assert pdf[:4] == b"%PDF"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def known(app, tmp_path):
    """The hand-made show; returns (show slug, people's codes, the import's exit code and output)."""
    with app.test_request_context():
        show = make_show(start=D1, days=3, name_en="<script>alert(1)</script> Expo")
        other = make_show(start=D1, days=3)
        set_setting("onsite.reentry", True, show)
        set_setting("onsite.exit_scans", True, show)
        db.session.commit()
        visitor_ops.save_question(show, "industry", "行业", label_en="Industry",
                                  choices=[{"value": "wine", "zh": "酒类", "en": "Wine"},
                                           {"value": "cars", "zh": "汽车", "en": "Cars"}])
        t1 = register(show, "trade", company="广州酒业")
        t2 = register(show, "trade", country="DE")
        t1.answers, t2.answers = {"industry": "wine"}, {"industry": "cars"}
        p1 = register(show, "public")
        p2 = register(show, "public", name_zh="朱娜", email="zhu.na@example.com")
        typed = visitor_ops.register_visitor(show, {"name_zh": "无名", "email": "zhu.na@example.com"}, "public",
                                             consents={"marketing": True, "share_with_exhibitors": True},
                                             source="self")
        v1 = register(show, "vip")
        m1, s1 = register(show, "media"), register(show, "exhibitor_staff")
        register(show, "trade")                                  # registered, never admitted
        register(show, "public")                                 # registered, never admitted
        visitor_ops.cancel_registration(register(show, "public"))    # cancelled: not "never admitted"
        stranger = register(other, "public")
        org = db.session.get(Organization, t1.person.organization_id)
        org.region = EVIL_REGION
        db.session.commit()

        # day 1: T1 in, out, in again; T2 in; P1 in; P2 in with both of her badges; media, staff in
        for code, hour in ((t1.badge_code, 10), (t2.badge_code, 10), (p1.badge_code, 10), (p2.badge_code, 10),
                           (typed.badge_code, 12), (m1.badge_code, 10), (s1.badge_code, 10)):
            assert _scan(show, code, D1, hour)["result"] == "ok"
        assert _scan(show, t1.badge_code, D1, 12, direction="out")["reason_code"] == "exit"
        assert _scan(show, t1.badge_code, D1, 13)["reason_code"] == "reentry"
        assert _scan(show, "ZZZZZZZZZZZZ", D1)["reason_code"] == "unknown_code"
        review_id = db.session.scalar(select(Review.id).where(Review.registration_id == typed.id))
        visitor_ops.merge_review(show, review_id)                # the duplicate is the same person
        # T2 lost the badge: a new one; the old one is refused on day 2
        old_code = t2.badge_code
        new_code = visitor_ops.replace_badge_code(t2, "badge lost")
        assert _scan(show, old_code, D2)["reason_code"] == "revoked"
        assert _scan(show, new_code, D2)["result"] == "ok"
        for code in (t1.badge_code, v1.badge_code, s1.badge_code):
            assert _scan(show, code, D2)["result"] == "ok"
        assert _scan(show, p1.badge_code, D3)["result"] == "ok"
        codes = {"t1": t1.badge_code, "p2": p2.badge_code, "v1": v1.badge_code, "stranger": stranger.badge_code}
        slug = show.slug

    # the gate system's export: P2 in and out on day 2, T1 again on day 2, V1 refused on day 3
    good = [f"{codes['p2']},2027-05-11 09:30:00,E1,in,ok",
            f"{codes['p2']},2027-05-11T17:05:00+08:00,E1,out,ok",
            f"{codes['t1']},2027-05-11 15:00:00,E2,,",
            f"{codes['v1']},2027-05-12 09:00:00,E1,in,refused"]
    bad = [f"{codes['p2']},2027-05-13 09:00:00,E1,in,ok",          # 6: not a show day
           "QQQQQQQQQQQQ,2027-05-11 09:00:00,E1,in,ok",             # 7: unknown code
           f"{codes['stranger']},2027-05-11 09:00:00,E1,in,ok",     # 8: another show's badge
           f"{codes['p2']},11/05/2027 09:00,E1,in,ok",              # 9: another time format
           f"{codes['p2']},2027-05-11 10:00:00,E1,sideways,ok",     # 10: direction
           f"{codes['p2']},2027-05-11 09:30:00,E1,in,ok"]           # 11: duplicate of row 2
    path = _write(tmp_path, "gates.csv", ["code,time,gate,direction,result"] + good + bad)
    result = app.test_cli_runner().invoke(args=["import", "scans", path, "--show", slug])
    return slug, codes, result, path


def _figures(app, slug, lang="en"):
    from flask_babel import force_locale

    from crm_expo.models import Show
    with app.test_request_context(), force_locale(lang):
        show = db.session.scalar(select(Show).where(Show.slug == slug))
        return ops.attendance(show)


def test_every_figure_of_the_hand_made_show(app, known):
    slug, _codes, result, _path = known
    f = _figures(app, slug)
    assert f["unique_visitors"] == 5                       # T1, T2 (two badges), P1, P2 (merged), V1
    assert f["total_attendance"] == 9                      # day 1: 4, day 2: 4, day 3: 1
    # 5 + 5 + 1 admitted entry scans: merging P2's duplicate dropped its day-1 first entry,
    # which collided with hers (crm_expo.contacts.merge; the audit entry keeps the row)
    assert f["entries"] == 11
    assert [(d["date"], d["unique"], d["entries"]) for d in f["by_day"]] == [(D1, 4, 5), (D2, 4, 5), (D3, 1, 1)]
    assert f["unique_by_category"] == {"trade": 2, "public": 2, "vip": 1}
    assert f["not_counted"] == {"media": 1, "exhibitor_staff": 1}
    assert f["registered_never_admitted"] == 2
    assert f["exit_scans"] == 2
    assert f["refused"] == {"unknown_code": 1, "revoked": 1, "gate_refused": 1}
    countries = {r["key"]: (r["count"], r["percent"]) for r in f["by_country"]}
    assert countries == {"CN": (4, 80.0), "DE": (1, 20.0)}
    assert {r["title"] for r in f["by_country"]} == {"China", "Germany"}
    industry = {r["title"]: (r["count"], r["percent"]) for r in f["by_question"][0]["items"]}
    assert industry == {"Wine": (1, 20.0), "Cars": (1, 20.0), "Not stated": (3, 60.0)}
    provinces = {r["title"]: r["count"] for r in f["by_province"]}
    assert provinces[EVIL_REGION] == 1 and provinces["Not stated"] == 4
    assert [r["key"] for r in f["rules"]][:3] == ["person", "visitors", "not_counted"]


def test_the_scan_import_reports_bad_rows_and_a_reimport_adds_nothing(app, known):
    slug, _codes, result, path = known
    assert result.exit_code == 1, result.output
    out = result.output
    assert "6 rows" not in out and "10 rows, 4 imported, 0 already there, 6 rejected" in out
    assert re.search(r"row 6, time: 2027-05-13 is not a day of this show", out)
    assert re.search(r"row 7, code: unknown badge code QQQQQQQQQQQQ", out)
    assert re.search(r"row 8, code: \w+ is a badge of another show", out)
    assert re.search(r"row 9, time: not a time in the form YYYY-MM-DD HH:MM:SS", out)
    assert re.search(r"row 10, direction: sideways is not one of", out)
    assert re.search(r"row 11: duplicate of row 2", out)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Scan))
        gates = set(db.session.scalars(select(Scan.gate).where(Scan.device == "import")))
        assert gates == {"E1", "E2"}
    again = app.test_cli_runner().invoke(args=["import", "scans", path, "--show", slug])
    assert "0 imported, 4 already there, 6 rejected" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Scan)) == before
    assert _figures(app, slug)["total_attendance"] == 9


def test_the_json_api_answers_the_same_figures(app, client, known):
    slug = known[0]
    client.login(make_user("organizer", locale="en"))
    data = client.get(f"/api/v1/shows/{slug}/reports/attendance").get_json()
    assert (data["unique_visitors"], data["total_attendance"], data["registered_never_admitted"]) == (5, 9, 2)
    assert data["by_day"][0] == {**data["by_day"][0], "date": "2027-05-10", "unique": 4, "entries": 5}
    assert data["unique_by_category"] == {"trade": 2, "public": 2, "vip": 1}
    assert data["not_counted"] == {"media": 1, "exhibitor_staff": 1}
    assert data["refused"]["revoked"] == 1 and len(data["rules"]) >= 10
    other = app.test_client()
    other.login(make_user("exhibitor"))
    assert other.get(f"/api/v1/shows/{slug}/reports/attendance").status_code == 403


@pytest.mark.parametrize("lang, words", [
    ("en", ["Unique visitors", "Total attendance (sum of daily unique visitors)", "Registered but never admitted",
            "Refused by the gate system (imported)", "Methods", "never twice in a day"]),
    ("zh", ["观众人数（去重）", "总参观人次（每日去重观众之和）", "已登记但从未入场", "闸机系统拒绝（导入）", "统计方法",
            "同一天内绝不计两次"]),
])
def test_the_pdf_states_the_figures_and_the_rules_in_both_languages(app, known, tmp_path, lang, words):
    slug = known[0]
    out = tmp_path / f"a-{lang}.pdf"
    result = app.test_cli_runner().invoke(args=["report", "attendance", "--show", slug, "--lang", lang,
                                                "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = _text(out.read_bytes())
    for w in words:
        assert w in text.replace("\n", " "), w
    assert re.search(re.escape(words[0]) + r"\s+5\s", text)                # unique visitors
    assert re.search(re.escape(words[1]) + r"\s+9\s", text)                # total attendance
    assert re.search(re.escape(words[2]) + r"\s+2\s", text)                # never admitted
    assert re.search(re.escape(words[3]) + r"\s+1\s", text)
    assert "<script>alert(1)</script> Expo" in text or lang == "zh"     # shown as text, not markup
    assert "already_in" not in text and "gate_refused" not in text


def test_the_xlsx_has_a_sheet_per_table_typed_and_formula_safe(app, known, tmp_path):
    slug = known[0]
    out = tmp_path / "a.xlsx"
    result = app.test_cli_runner().invoke(args=["report", "attendance", "--show", slug, "--lang", "en",
                                                "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert {"Key figures", "Per day", "By category", "By province", "Industry", "Methods"} <= set(wb.sheetnames)
    key = {r[0]: r[1] for r in wb["Key figures"].iter_rows(min_row=2, values_only=True)}
    assert key["Unique visitors"] == 5 and key["Total attendance (sum of daily unique visitors)"] == 9
    assert wb["Per day"].freeze_panes == "A2"
    assert [r[1:3] for r in wb["Per day"].iter_rows(min_row=2, values_only=True)] == [(4, 5), (4, 5), (1, 1)]
    provinces = [r[0] for r in wb["By province"].iter_rows(min_row=2, values_only=True)]
    assert "'" + EVIL_REGION in provinces and EVIL_REGION not in provinces
    json_out = tmp_path / "a.json"
    app.test_cli_runner().invoke(args=["report", "attendance", "--show", slug, "--format", "json",
                                       "-o", str(json_out)])
    assert json.loads(json_out.read_text())["total_attendance"] == 9


def test_a_show_with_no_scans_says_so_with_zero_figures(app, tmp_path):
    with app.test_request_context():
        show = make_show(start=D1, days=2)
        register(show, "trade")
        slug = show.slug
    f = _figures(app, slug)
    assert (f["unique_visitors"], f["total_attendance"], f["entries"], f["by_day"], f["refused"]) == (0, 0, 0, [], {})
    assert f["registered_never_admitted"] == 1 and f["by_country"] == []
    out = tmp_path / "empty.pdf"
    assert app.test_cli_runner().invoke(args=["report", "attendance", "--show", slug, "--lang", "en",
                                              "-o", str(out)]).exit_code == 0
    assert "No scans are recorded for this show" in _text(out.read_bytes())
    xlsx = tmp_path / "empty.xlsx"
    assert app.test_cli_runner().invoke(args=["report", "attendance", "--show", slug, "--format", "xlsx",
                                              "-o", str(xlsx)]).exit_code == 0
    assert load_workbook(xlsx)["Per day"].max_row == 1


def test_a_scan_file_without_its_required_columns_is_refused_whole(app, tmp_path):
    with app.test_request_context():
        slug = make_show(start=D1).slug
    path = _write(tmp_path, "g.csv", ["gate,direction", "E1,in"])
    result = app.test_cli_runner().invoke(args=["import", "scans", path, "--show", slug])
    assert result.exit_code == 2
