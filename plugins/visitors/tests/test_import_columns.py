"""The visitor list as people head it: the type column under its usual names, values in
words, and a report that names every column not used and every category given by default
(a public visitor imported as a trade visitor is held at the desk and inflates the count)."""
from __future__ import annotations

import io
import re

from sqlalchemy import select

from crm_expo.contacts.importing import run_import
from crm_expo.extensions import db
from crm_expo.models import Person
from plugins.visitors import bulk
from plugins.visitors.models import Registration
from tests.factories import make_show, make_user

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def imp(show, text: str, encoding="utf-8"):
    return run_import(show, text.encode(encoding), "visitors.csv", "visitors", bulk.COLUMNS, bulk.apply_rows)


def categories() -> dict[str, tuple[str, str]]:
    rows = db.session.execute(select(Person.name_zh, Registration.category, Registration.verification)
                              .join(Person, Person.id == Registration.person_id))
    return {name: (cat, ver) for name, cat, ver in rows}


def test_a_type_column_headed_观众类型_gives_each_row_its_category(app):
    show = make_show()
    report = imp(show, "姓名,手机,观众类型\n李雷,13800000001,公众\n韩梅梅,13800000002,专业观众\n"
                       "王芳,13800000003,普通观众\n赵磊,13800000004,VIP\n陈静,13800000005,媒体\n")
    assert (report.imported, report.rejected, report.unused_columns, report.defaults) == (5, 0, [], {})
    assert categories() == {"李雷": ("public", "not_required"), "韩梅梅": ("trade", "pending"),
                            "王芳": ("public", "not_required"), "赵磊": ("vip", "not_required"),
                            "陈静": ("media", "not_required")}


def test_the_usual_type_headers_are_all_understood(app):
    for n, header in enumerate(("观众类别", "身份", "类型", "类别", "category", "Type", "Visitor type")):
        show = make_show()
        report = imp(show, f"姓名,手机,{header}\n公众{n},1380000{n:04d},公众\n")
        assert (report.imported, report.unused_columns, report.defaults) == (1, [], {}), header
    assert {cat for cat, _v in categories().values()} == {"public"}


def test_a_gbk_file_headed_观众类型_imports_the_right_categories(app):
    show = make_show()
    report = imp(show, "姓名,手机,观众类型,微信号\n李雷,13800000001,公众,lilei\n韩梅梅,13800000002,专业观众,hmm\n",
                 encoding="gbk")
    assert report.imported == 2
    assert categories() == {"李雷": ("public", "not_required"), "韩梅梅": ("trade", "pending")}
    assert report.unused_columns == ["微信号"]


def test_an_empty_category_cell_is_a_trade_visitor_said_by_row(app):
    show = make_show()
    report = imp(show, "姓名,手机,观众类型\n李雷,13800000001,公众\n韩梅梅,13800000002,\n")
    assert categories()["韩梅梅"] == ("trade", "pending")
    assert "“观众类型” empty in 1 rows (rows 3): imported as trade visitors (to be verified)" in report.lines()


def test_an_unknown_category_is_refused_naming_what_is_accepted(app):
    show = make_show()
    report = imp(show, "姓名,手机,观众类型\n李雷,13800000001,学生\n")
    assert report.rejected == 1 and categories() == {}
    message = report.problems[0].message
    assert message.startswith("学生 is not one of:") and "专业观众 (trade)" in message and "公众 (public)" in message


def test_cli_says_every_row_took_the_default_category_and_names_unused_columns(app, tmp_path):
    make_show("food-2027")
    path = tmp_path / "visitors.csv"
    path.write_text("姓名,手机,参会意向\n李雷,13800000001,采购\n韩梅梅,13800000002,参观\n", encoding="gbk")
    result = app.test_cli_runner().invoke(args=["import", "visitors", str(path), "--show", "food-2027"])
    assert result.exit_code == 0, result.output
    assert "no “观众类型” column: 2 rows imported as trade visitors (to be verified)" in result.output
    assert "columns not used (not known to this import, their values were ignored): “参会意向”" in result.output


def test_cli_report_is_in_the_default_language(app, tmp_path):
    make_show("food-2027")
    app.config["DEFAULT_LOCALE"] = "zh"
    try:
        path = tmp_path / "visitors.csv"
        path.write_text("姓名,手机\n李雷,13800000001\n", encoding="utf-8")
        result = app.test_cli_runner().invoke(args=["import", "visitors", str(path), "--show", "food-2027"])
    finally:
        app.config["DEFAULT_LOCALE"] = "en"
    assert "没有“观众类型”列：1 行按专业观众（待核验）导入" in result.output


def test_upload_preview_shows_the_default_and_the_unused_columns(client, app):
    make_show("food-2027")
    client.login(make_user("organizer"))
    token = CSRF.search(client.get("/shows/food-2027/visitors/import").get_data(as_text=True)).group(1)
    content = "姓名,手机,微信号\n李雷,13800000001,lilei\n".encode("gb18030")
    resp = client.post("/shows/food-2027/visitors/import", data={"csrf_token": token, "file": (io.BytesIO(content), "v.csv")},
                       content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert "no “观众类型” column: 1 rows imported as trade visitors (to be verified)" in text
    assert "“微信号”" in text
