"""The history import: Chinese headers, bad cells, ambiguous names, re-import, the CLI."""
from __future__ import annotations

from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import Show
from plugins.loyalty.models import Participation
from tests.factories import make_org

from .helpers import series

HEADER = "公司,届次,展位面积,付款金额,按时付款,满意度,推荐意愿\n"


def run(app, tmp_path, text, name="history.csv", slug="fx"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    runner = app.test_cli_runner()
    return runner.invoke(args=["import", "history", str(path), "--series", slug])


def test_chinese_headers_create_missing_editions_and_reimport_adds_nothing(app, tmp_path):
    series(n_closed=1)
    make_org("上海美味食品有限公司")
    text = HEADER + "上海美味食品有限公司,2018,18,\"27,600\",是,4,9\n上海 美味食品有限公司,fx-2020,27,41400.50,否,,\n"
    result = run(app, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "2 imported" in result.output
    created = db.session.scalar(select(Show).where(Show.slug == "fx-2018"))
    assert created.status == "closed" and created.series.slug == "fx"
    rows = db.session.scalars(select(Participation).order_by(Participation.show_id)).all()
    assert len({r.organization_id for r in rows}) == 1            # folded spacing: the same company
    assert {r.amount_paid_minor for r in rows} == {27_600_00, 41_400_50}
    again = run(app, tmp_path, text)
    assert again.exit_code == 0 and "2 already there" in again.output
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 2


def test_bad_rows_are_reported_and_nothing_else_half_written(app, tmp_path):
    series(n_closed=1)
    make_org("双胞胎公司")
    make_org("雙胞胎公司")          # traditional: folds to the same name → two matches
    text = (HEADER + "甲公司,第五届,9,100,是,,\n"
            "乙公司,2019,9,-100,是,,\n"
            "丙公司,2019,nine,100,是,,\n"
            "双胞胎公司,2019,9,100,是,,\n"
            "丁公司,2019,9,100,maybe,,\n"
            "戊公司,2019,9,100,是,7,\n"
            "己公司,2019,9,100,是,5,10\n")
    result = run(app, tmp_path, text)
    assert result.exit_code == 1
    out = result.output
    assert "row 2, edition" in out and "is not an edition" in out
    assert "row 3, amount_paid" in out and "cannot be negative" in out
    assert "row 4, booth_m2" in out and "not a number of square metres" in out
    assert "row 5, 公司" in out and "matches 2 organizations" in out
    assert "row 6, paid_on_time" in out
    assert "row 7, satisfaction" in out
    assert "1 imported" in out and "6 rejected" in out
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 1


def test_unknown_series_and_missing_column(app, tmp_path):
    result = run(app, tmp_path, HEADER + "甲,2019,9,1,是,,\n", slug="nope")
    assert result.exit_code == 2 and "no show series" in result.output
    series(n_closed=1)
    result = run(app, tmp_path, "公司,届次\n甲,2019\n")
    assert result.exit_code == 2 and "required column missing" in result.output


def test_upload_page_previews_then_imports(app, client):
    import io

    from tests.factories import make_user
    _closed, now = series(n_closed=1)
    client.login(make_user("organizer"))
    data = (HEADER + "甲公司,2019,9,100,是,,\n").encode()
    resp = client.form_post(f"/shows/{now.slug}/loyalty/import",
                            {"file": (io.BytesIO(data), "h.csv")}, content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "dry run" in page
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 0
    import re
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    resp = client.form_post(f"/shows/{now.slug}/loyalty/import", {"token": token, "filename": "h.csv"})
    assert resp.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 1
