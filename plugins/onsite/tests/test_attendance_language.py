"""The attendance PDF speaks the requester's language — the session's on the page, ``--lang``
(default: the configured default locale) on the command line — and names no internal table."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader

from plugins.onsite import operations as ops
from tests.factories import make_user

from .helpers import register, today_show

TABLE_NAME = re.compile(r"\b(?:onsite|visitors|exhibitors|booths|suppliers|loyalty)_[a-z_]+\b")


def _text(pdf: bytes) -> str:
    assert pdf[:4] == b"%PDF"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _show_with_scans(app):
    with app.test_request_context():
        show = today_show()
        reg = register(show, "public")
        ops.check_in(show, reg.badge_code, "A")
        ops.check_in(show, reg.badge_code, "A")           # refused: already in today
        ops.check_in(show, "ZZZZZZZZZZZZ", "A")            # refused: unknown badge
    return show


def test_attendance_pdf_in_the_language_of_the_session(app, client):
    show = _show_with_scans(app)
    client.login(make_user("organizer", locale="en"))
    en = _text(client.get(f"/shows/{show.slug}/onsite/attendance.pdf").data)
    assert "Attendance report" in en and "Unique visitors" in en and "Per day" in en
    assert re.search(r"Already checked in today\s+1\b", en) and re.search(r"Unknown badge code\s+1\b", en)
    assert "观众统计报告" not in en and "观众人数" not in en
    assert not TABLE_NAME.search(en), TABLE_NAME.search(en)
    assert "already_in" not in en

    client.post("/locale/zh", data={"csrf_token": client.csrf_token()})
    zh = _text(client.get(f"/shows/{show.slug}/onsite/attendance.pdf").data)
    assert "Attendance report" not in zh and "Unique visitors" not in zh
    assert "观众统计报告" in zh and "观众人数（去重）" in zh and "按天" in zh and re.search(r"今天已签到\s*1\b", zh)
    assert not TABLE_NAME.search(zh) and "already_in" not in zh


def test_attendance_report_on_the_command_line_takes_a_language(app, tmp_path):
    show = _show_with_scans(app)
    runner = app.test_cli_runner()
    for lang, heading, other in (("en", "Unique visitors", "观众人数"), ("zh", "观众人数（去重）", "Unique visitors")):
        out = tmp_path / f"attendance-{lang}.pdf"
        result = runner.invoke(args=["report", "attendance", "--show", show.slug, "--lang", lang, "-o", str(out)])
        assert result.exit_code == 0, result.output
        text = _text(out.read_bytes())
        assert heading in text and other not in text and not TABLE_NAME.search(text)
    # without --lang: the configured default locale (en in the tests)
    out = tmp_path / "attendance.pdf"
    assert runner.invoke(args=["report", "attendance", "--show", show.slug, "-o", str(out)]).exit_code == 0
    assert "Unique visitors" in _text(out.read_bytes())
    bad = runner.invoke(args=["report", "attendance", "--show", show.slug, "--lang", "fr", "-o", str(out)])
    assert bad.exit_code != 0 and "fr" in bad.output
