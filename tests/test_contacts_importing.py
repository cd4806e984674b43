"""Importing contact lists through crm_expo.contacts.importing (the machinery every plugin's importer
uses), driven with the core contact importer (PERSON_COLUMNS / apply_person_rows)."""
from __future__ import annotations

import os

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from crm_expo.contacts.importing import (
    PERSON_COLUMNS,
    Column,
    ImportFileError,
    apply_person_rows,
    cli_importer,
    run_import,
)
from crm_expo.contacts.search import search_persons
from crm_expo.extensions import db
from crm_expo.models import Organization, Person

DATA = os.path.join(os.path.dirname(__file__), "data")


def persons() -> int:
    return db.session.scalar(select(func.count(Person.id)))


def imp(data, filename="contacts.csv", **kw):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return run_import(None, data, filename, "contacts", PERSON_COLUMNS, apply_person_rows, **kw)


def test_utf8_csv_imports_people_and_companies(app):
    report = imp("姓名,公司,手机,邮箱\n张伟,华为技术有限公司,13800138000,ZhangWei@Example.COM\n"
                 "李娜,华为技术有限公司,139-1234-5678,\n")
    assert (report.total, report.imported, report.rejected, report.exit_code) == (2, 2, 0, 0)
    zw = db.session.scalar(select(Person).where(Person.name_zh == "张伟"))
    assert zw.phone == "+8613800138000"
    assert zw.email == "zhangwei@example.com"
    assert zw.organization.name_zh == "华为技术有限公司"
    assert db.session.scalar(select(func.count(Organization.id))) == 1   # one company, not two
    assert search_persons("zw") == [zw.id]


@pytest.mark.parametrize("name", ["contacts_bom.csv", "contacts_gbk.csv"])
def test_bom_and_gbk_files_read_correctly(app, name):
    with open(os.path.join(DATA, name), "rb") as fh:
        report = imp(fh.read(), name)
    assert report.imported == 2 and report.exit_code == 0
    names = set(db.session.scalars(select(Person.name_zh)))
    assert names == {"王芳", "張偉"}
    assert set(db.session.scalars(select(Organization.name_zh))) == {"上海展览服务有限公司", "華為技術有限公司"}
    # traditional characters are kept as typed, and found by their simplified form
    assert len(search_persons("张伟")) == 1


def test_xlsx_with_numeric_phone_and_formula_cell(app):
    report = imp(open(os.path.join(DATA, "contacts.xlsx"), "rb").read(), "contacts.xlsx")
    assert report.total == 3 and report.imported == 2 and report.rejected == 1
    assert report.exit_code == 1
    [problem] = report.problems
    assert problem.row == 4 and problem.column == "姓名" and "formula" in problem.message
    lina = db.session.scalar(select(Person).where(Person.name_zh == "李娜"))
    assert lina.phone == "+8613812345678" and lina.email == "lina@example.com"
    smith = db.session.scalar(select(Person).where(Person.name_en == "John Smith"))
    assert smith.phone == "+442079460018"
    assert "row 4, 姓名: looks like a spreadsheet formula" in "\n".join(report.lines())
    assert db.session.scalar(select(func.count(Person.id)).where(Person.email == "evil@example.com")) == 0


def test_wrong_encoding_is_refused_naming_it(app):
    with pytest.raises(ImportFileError, match="neither UTF-8 nor GB18030"):
        imp(b"name,email\nJos\xe9 \xff\xff,jose@example.com\n")
    assert persons() == 0


def test_missing_required_column_names_it(app):
    with pytest.raises(ImportFileError, match="required column missing: 姓名 / name") as err:
        imp("公司,邮箱\n华为,a@example.com\n")
    assert "公司, 邮箱" in str(err.value)   # says what the header does have
    assert persons() == 0


def test_headers_match_whatever_case_space_and_punctuation(app):
    report = imp(" NAME ;E-Mail;Mobile;Company Name\nAnna Lee;anna@example.com;13600001111;Acme\n", "x.csv")
    assert report.imported == 1
    anna = db.session.scalar(select(Person))
    assert (anna.name_en, anna.email, anna.phone, anna.organization.name_zh) == \
        ("Anna Lee", "anna@example.com", "+8613600001111", "Acme")


@pytest.mark.parametrize("data,message", [
    (b"", "is empty"),
    (b"   \r\n\r\n", "is empty"),
    ("姓名,邮箱\n".encode(), "has a header but no rows"),
    (b"PK\x03\x04 broken", "not a readable XLSX"),
])
def test_empty_and_broken_files_are_refused(app, data, message):
    with pytest.raises(ImportFileError, match=message):
        imp(data)


def test_oversize_file_is_refused(app):
    app.config["MAX_UPLOAD_MB"] = 1
    try:
        big = ("姓名,邮箱\n" + "张伟,zw@example.com\n" * 60000).encode()
        with pytest.raises(ImportFileError, match="larger than 1 MB"):
            imp(big)
    finally:
        app.config["MAX_UPLOAD_MB"] = 20
    assert persons() == 0


def test_invalid_emails_and_phones_are_reported_by_row_the_rest_imported(app):
    report = imp("姓名,邮箱,手机\n"
                 "张伟,zw@example.com,13800138000\n"
                 "王芳,not-an-email,13800138001\n"
                 "李娜,ln@example.com,12345\n"
                 ",nobody@example.com,\n"
                 "赵磊,zl@example.com,\n")
    assert (report.total, report.imported, report.rejected, report.exit_code) == (5, 2, 3, 1)
    problems = {(p.row, p.column): p.message for p in report.problems}
    assert "not a valid email address: not-an-email" in problems[(3, "邮箱")]
    assert "not a valid phone number: 12345" in problems[(4, "手机")]
    assert "required" in problems[(5, "姓名")]
    assert set(db.session.scalars(select(Person.name_zh))) == {"张伟", "赵磊"}


def test_formula_cells_refused_but_phone_and_negative_numbers_allowed(app):
    report = imp("姓名,手机,职位\n"
                 "张伟,+86 138 0013 8000,-\n"
                 "=1+2,13800138001,\n"
                 "王芳,13800138002,@SUM(A1)\n"
                 "李娜,13800138003,-cmd|' /C calc'!A0\n")
    assert report.imported == 1
    assert sorted(p.row for p in report.problems) == [3, 4, 5]
    assert all("formula" in p.message for p in report.problems)


def test_duplicate_within_the_file_is_reported(app):
    report = imp("姓名,邮箱,手机\n"
                 "张伟,zw@example.com,13800138000\n"
                 "张伟,ZW@example.com,\n"
                 "王芳,wf@example.com,138 0013 8000\n")
    assert report.imported == 1 and report.rejected == 2
    msgs = {p.row: p.message for p in report.problems}
    assert msgs[3] == "duplicate of row 2 (same 邮箱: zw@example.com)"
    assert msgs[4] == "duplicate of row 2 (same 手机: +8613800138000)"
    assert persons() == 1


def test_html_is_stored_as_text_and_escaped_on_output(app):
    report = imp('姓名,公司\n<script>alert(1)</script>,"<b>Acme</b>"\n')
    assert report.imported == 1
    p = db.session.scalar(select(Person))
    assert p.name_en == "<script>alert(1)</script>"
    page = render_template_string("<p>{{ p.name_en }} {{ p.organization.name_zh }}</p>", p=p)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "&lt;b&gt;Acme&lt;/b&gt;" in page


def test_reimport_adds_nothing(app):
    data = "姓名,公司,手机,邮箱\n张伟,华为,13800138000,zw@example.com\n王芳,,13800138001,\n"
    first = imp(data)
    before = (persons(), db.session.scalar(select(func.count(Organization.id))))
    second = imp(data)
    assert (first.imported, first.unchanged) == (2, 0)
    assert (second.imported, second.unchanged, second.exit_code) == (0, 2, 0)
    assert (persons(), db.session.scalar(select(func.count(Organization.id)))) == before == (2, 1)


def test_dry_run_checks_everything_and_changes_nothing(app):
    report = imp("姓名,邮箱\n张伟,zw@example.com\n王芳,bad\n", dry_run=True)
    assert report.dry_run and report.imported == 1 and report.rejected == 1
    assert "dry run" in report.lines()[0]
    assert persons() == 0
    assert db.session.scalar(select(func.count(Organization.id))) == 0


def test_batches_cover_every_row(app):
    rows = "".join(f"人{i},p{i}@example.com\n" for i in range(2500))
    report = imp("姓名,邮箱\n" + rows + "王芳,p7@example.com\n", batch_size=400)
    assert report.imported == 2500 and report.rejected == 1
    assert report.problems[0].row == 2502 and "duplicate of row 9" in report.problems[0].message
    assert persons() == 2500


def test_search_keys_come_from_the_checked_names_never_from_a_column_of_the_file(app):
    # The keys are a derived column, computed where the cells are checked (a forked process
    # for big files): a "keys" column in the file is not read, and every person is findable.
    rows = "".join(f"张伟{i},Zhang Wei,zw{i}@example.com,forged\n" for i in range(1200))
    report = imp("姓名,英文名,邮箱,keys\n" + rows, batch_size=500)
    assert (report.imported, report.rejected) == (1200, 0)
    assert db.session.scalar(select(func.count(Person.id)).where(Person.search_keys.contains(" zw "))) == 1200
    assert db.session.scalar(select(func.count(Person.id)).where(Person.search_keys.contains("forged"))) == 0
    assert len(search_persons("张伟1199")) == 1


def test_cli_importer_prints_the_report_and_exits_0_1_2(app, tmp_path):
    importer = cli_importer("contacts", PERSON_COLUMNS, apply_person_rows)
    out: list[str] = []

    def echo(line, err=False):
        out.append(("ERR " if err else "") + line)

    good = tmp_path / "good.csv"
    good.write_text("姓名,邮箱\n张伟,zw@example.com\n", encoding="utf-8")
    assert importer(None, str(good), False, echo) == 0
    assert out[0].startswith("contacts import of good.csv: 1 rows, 1 imported")
    some_bad = tmp_path / "bad.csv"
    some_bad.write_text("姓名,邮箱\n王芳,wf@example.com\n李娜,nope\n", encoding="utf-8")
    out.clear()
    assert importer(None, str(some_bad), False, echo) == 1
    assert any(line.startswith("row 3, 邮箱: not a valid email address: nope") for line in out)
    out.clear()
    assert importer(None, str(tmp_path / "missing.csv"), False, echo) == 2
    assert out[0].startswith("ERR crm-expo: file not found")
    assert persons() == 2


def test_a_parse_error_message_names_the_problem(app):
    def parse_size(raw):
        if not raw.isdigit():
            raise ValueError(f"not a size in m²: {raw}")
        return int(raw)

    def apply(show, rows, dry_run):
        return {"imported": len(rows), "unchanged": 0, "problems": []}

    report = run_import(None, b"booth,size\nA1,18\nA2,big\n", "b.csv", "booths",
                        [Column("booth", ("展位号", "booth"), required=True), Column("size", ("面积", "size"),
                                                                                   parse=parse_size)], apply)
    assert report.imported == 1
    assert report.problems[0].line() == "row 3, 面积: not a size in m²: big"


def test_report_in_chinese_and_requests_keep_their_own_locale(app, client):
    """Outside a request the report is in DEFAULT_LOCALE; a later request still picks its language."""
    app.config["DEFAULT_LOCALE"] = "zh"
    try:
        report = imp("姓名,邮箱\n张伟,bad\n")
        assert report.lines()[1].startswith("第 2 行，邮箱：电子邮箱无效：bad")
        assert "共 1 行" in report.summary()
    finally:
        app.config["DEFAULT_LOCALE"] = "en"
    page = client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in page       # not the zh the import used


def test_parallel_imports_of_one_file_create_each_person_and_company_once(app):
    """Two imports of the same contact list at the same time (threads, each with its own
    connection): find-or-create is serialised (PostgreSQL: advisory lock; SQLite: BEGIN
    IMMEDIATE), so nobody is created twice although persons.email is not unique."""
    import threading
    data = ("姓名,公司,手机,邮箱\n" + "".join(
        f"联系人{i},公司{i % 20},1360000{i:04d},c{i}@example.com\n" for i in range(1500))).encode()
    start = threading.Barrier(2)
    reports, errors = [], []

    def run():
        try:
            with app.app_context():
                start.wait()
                reports.append(run_import(None, data, "c.csv", "contacts", PERSON_COLUMNS, apply_person_rows,
                                          batch_size=500))
        except Exception as exc:   # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sum(r.imported for r in reports) == 1500 and sum(r.unchanged for r in reports) == 1500
    db.session.remove()
    assert persons() == 1500
    assert db.session.scalar(select(func.count(Organization.id))) == 20


# --- no column dropped in silence ----------------------------------------------------------------
def test_a_column_the_import_does_not_know_is_named_in_the_report(app):
    report = imp("姓名,微信号,邮箱,,备用电话\n张伟,zw_wx,zw@example.com,,13800000001\n")
    assert report.imported == 1
    assert report.unused_columns == ["微信号", "备用电话"]     # a blank header cell is no column
    assert ("columns not used (not known to this import, their values were ignored): “微信号”, “备用电话”"
            in report.lines())


def test_a_default_is_reported_for_a_missing_column_and_for_each_empty_cell(app):
    seen = []

    def apply(show, rows, dry_run):
        seen.extend(v["kind"] for _n, v in rows)
        return {"imported": len(rows), "unchanged": 0, "problems": []}

    kind = Column("kind", ("类型", "kind"), default="plain", default_label="plain booths")
    columns = [Column("booth", ("展位号", "booth"), required=True), kind]
    report = run_import(None, "展位号\nA1\nA2\n".encode(), "b.csv", "booths", columns, apply)
    assert seen == ["plain", "plain"]
    assert "no “类型” column: 2 rows imported as plain booths" in report.lines()
    seen.clear()
    report = run_import(None, "展位号,类型\nA1,corner\nA2,\nA3,\n".encode(), "b.csv", "booths", columns, apply)
    assert seen == ["corner", "plain", "plain"]
    assert "“类型” empty in 2 rows (rows 3, 4): imported as plain booths" in report.lines()
    # a rejected row took no default: not counted
    report = run_import(None, "展位号,类型\n,\nA2,\n".encode(), "b.csv", "booths", columns, apply)
    assert report.defaults == {("类型", "plain booths"): [3]}


def test_defaults_and_unused_columns_are_reported_by_the_checking_worker_too(app):
    """A big file outside a request is checked in a forked process: same notes."""
    kind = Column("kind", ("类型",), default="plain", default_label="plain booths")
    body = "".join(f"A{i},{'' if i % 1000 == 0 else 'x'},w\n" for i in range(1, 2501))
    report = run_import(None, ("展位号,类型,备注2\n" + body).encode(), "b.csv", "booths",
                        [Column("booth", ("展位号",), required=True), kind],
                        lambda show, rows, dry_run: {"imported": len(rows), "unchanged": 0, "problems": []},
                        batch_size=500)
    assert report.imported == 2500 and report.unused_columns == ["备注2"]
    assert report.defaults == {("类型", "plain booths"): [1001, 2001]}


def test_the_notes_are_in_the_readers_language(app):
    app.config["DEFAULT_LOCALE"] = "zh"
    try:
        report = imp("姓名,微信号\n张伟,zw\n")
        assert "未使用的列（本导入不认识，其中的值已忽略）：“微信号”" in report.lines()
    finally:
        app.config["DEFAULT_LOCALE"] = "en"


def test_the_usual_headers_map_to_the_contact_columns(app):
    report = imp("联系人姓名,电子邮箱,手机号码,单位名称,职务\n张伟,zw@example.com,13800000001,华为技术有限公司,经理\n")
    assert (report.imported, report.unused_columns) == (1, [])
    person = db.session.scalar(select(Person))
    assert (person.email, person.phone, person.job_title, person.organization.name_zh) == (
        "zw@example.com", "+8613800000001", "经理", "华为技术有限公司")


def test_the_upload_page_preview_shows_unused_columns_and_defaults(client, app):
    """The shared upload page (crm_expo/import_page.py), here the exhibitors' list."""
    import io
    import re

    from tests.factories import make_show, make_user
    show = make_show()
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/exhibitors/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    content = "公司名称,邮箱,展位偏好\n上海食品有限公司,info@example.com,A馆\n".encode("gbk")
    text = client.post(f"/shows/{show.slug}/exhibitors/import",
                       data={"csrf_token": token, "file": (io.BytesIO(content), "exhibitors.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "no “国家” column: 1 rows imported as China (CN)" in text
    assert "columns not used (not known to this import, their values were ignored): “展位偏好”" in text
