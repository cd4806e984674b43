"""The visitor import at the level of its rules: duplicates against people already in the
database, consents with their time, badge codes, the visitor_registered signal, bad rows,
and two imports of the same file running at the same time (real processes, real database)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from crm_expo import signals
from crm_expo.contacts import duplicates
from crm_expo.contacts.importing import run_import
from crm_expo.extensions import db
from crm_expo.models import Consent, Organization, Person
from plugins.visitors import bulk
from plugins.visitors.models import BadgeCode, Registration
from plugins.visitors.operations import BADGE_ALPHABET, new_badge_codes
from tests.factories import make_show

HEADER = "姓名,英文姓名,邮箱,手机,公司,职位,类别,同意营销,同意分享给参展商\n"


def imp(show, text: str, **kw):
    return run_import(show, text.encode("utf-8"), "visitors.csv", "visitors", bulk.COLUMNS, bulk.apply_rows, **kw)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_rows_are_matched_to_people_already_in_the_database(app):
    show = make_show()
    by_email, _ = duplicates.get_or_create_person({"name_zh": "王芳", "email": "wang.fang@example.com"})
    by_phone, _ = duplicates.get_or_create_person({"name_zh": "李娜", "phone": "13800138000"})
    by_name, _ = duplicates.get_or_create_person({"name_zh": "張偉", "company": "上海食品有限公司"})
    db.session.commit()
    report = imp(show, HEADER +
                 "王小芳,,Wang.Fang@EXAMPLE.com,,,,,是,否\n"            # same email, other case
                 "李娜,Li Na,,+86 138-0013-8000,,,,否,否\n"             # same phone, other format
                 "张伟,,,,上海食品有限公司,经理,,是,是\n"                 # same name (traditional) at the company
                 "赵磊,,zhao.lei@example.com,13900139000,,,公众,,\n")    # new
    assert (report.imported, report.unchanged, report.rejected) == (4, 0, 0)
    assert count(Person) == 4        # one new person, three found
    registered = set(db.session.scalars(select(Registration.person_id).where(Registration.show_id == show.id)))
    assert {by_email.id, by_phone.id, by_name.id} <= registered
    # Existing people are not overwritten by the import.
    assert db.session.get(Person, by_email.id).name_zh == "王芳"


def test_consents_are_recorded_with_their_time_and_blank_means_not_asked(app):
    show = make_show()
    report = imp(show, HEADER + "李雷,,lilei@example.com,,,,,是,否\n韩梅梅,,hmm@example.com,,,,,,\n")
    assert report.imported == 2
    lilei = db.session.scalar(select(Person).where(Person.email == "lilei@example.com"))
    consents = {c.purpose: c for c in db.session.scalars(select(Consent).where(Consent.person_id == lilei.id))}
    assert consents["marketing"].granted is True and consents["share_with_exhibitors"].granted is False
    assert consents["marketing"].at is not None and consents["marketing"].source == "visitors:import"
    hmm = db.session.scalar(select(Person).where(Person.email == "hmm@example.com"))
    assert count(Consent, Consent.person_id == hmm.id) == 0


def test_badge_codes_are_unique_unguessable_and_in_the_code_history(app):
    show = make_show()
    rows = "".join(f"访客{i},,v{i}@example.com,,,,,是,否\n" for i in range(300))
    assert imp(show, HEADER + rows).imported == 300
    codes = list(db.session.scalars(select(Registration.badge_code).where(Registration.show_id == show.id)))
    assert len(codes) == len(set(codes)) == 300
    assert all(len(c) == 12 and set(c) <= set(BADGE_ALPHABET) for c in codes)
    # no sequence to guess from: consecutive registrations share no prefix worth the name
    assert len({c[:4] for c in codes}) > 250
    history = dict(db.session.execute(select(BadgeCode.code, BadgeCode.registration_id)
                                      .where(BadgeCode.show_id == show.id)).all())
    assert history == dict(db.session.execute(select(Registration.badge_code, Registration.id)
                                              .where(Registration.show_id == show.id)).all())


def test_new_badge_codes_look_like_single_ones(app):
    codes = new_badge_codes(1000)
    assert len(set(codes)) == 1000 and all(re.fullmatch(f"[{BADGE_ALPHABET}]{{12}}", c) for c in codes)


def test_each_imported_registration_is_announced_after_commit(app):
    show = make_show()
    seen = []

    def on_registered(reg, source):
        with db.engine.connect() as other:       # another connection: the row is committed
            committed = other.execute(select(func.count()).select_from(Registration)
                                      .where(Registration.id == reg.id)).scalar()
        seen.append((reg.person.email, source, committed))

    signals.visitor_registered.connect(on_registered)
    try:
        text = HEADER + "李雷,,lilei@example.com,,,,,是,否\n韩梅梅,,hmm@example.com,,,,,否,否\n"
        imp(show, text, dry_run=True)
        assert seen == []                       # a dry run registers nobody
        imp(show, text)
        imp(show, text)                         # re-import: nobody new, nothing sent
    finally:
        signals.visitor_registered.disconnect(on_registered)
    assert sorted(seen) == [("hmm@example.com", "import", 1), ("lilei@example.com", "import", 1)]


def test_too_long_cells_are_reported_by_row_and_the_rest_imported(app):
    show = make_show()
    report = imp(show, HEADER + f"{'张' * 101},,long@example.com,,,,,,\n"
                                f"李雷,,lilei@example.com,,{'公' * 201},,,,\n"
                                "韩梅梅,,hmm@example.com,,,,,,\n")
    assert (report.imported, report.rejected, report.exit_code) == (1, 2, 1)
    problems = {(p.row, p.column): p.message for p in report.problems}
    assert problems == {(2, "姓名"): "is longer than 100 characters", (3, "公司"): "is longer than 200 characters"}
    assert set(db.session.scalars(select(Person.email))) == {"hmm@example.com"}
    assert count(Organization) == 0


def test_a_failing_batch_leaves_nothing_of_itself(app, monkeypatch):
    show = make_show()

    def broken(*args, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk, "new_ids", broken)   # the registrations' ids: fails after people were inserted
    with pytest.raises(RuntimeError, match="disk full"):
        imp(show, HEADER + "李雷,,lilei@example.com,,上海食品有限公司,,,是,否\n")
    db.session.remove()
    assert (count(Person), count(Organization), count(Registration), count(Consent)) == (0, 0, 0, 0)


def test_batches_are_checked_in_a_worker_with_the_same_report(app):
    """Many batches outside a request: cells are checked in a forked process; the report,
    duplicates across batches included, is the same as checked here."""
    import threading

    from crm_expo.contacts.importing import _can_check_in_worker
    show = make_show()
    assert _can_check_in_worker(1202, 250) == (threading.active_count() == 1)
    rows = "".join(f"访客{i},,v{i}@example.com,1390000{i:04d},,,,是,否\n" for i in range(1200))
    rows += "重复,,v7@example.com,,,,,,\n坏,,not-an-email,,,,,,\n"
    report = imp(show, HEADER + rows, batch_size=250)
    assert (report.total, report.imported, report.rejected) == (1202, 1200, 2)
    assert [(p.row, p.column) for p in sorted(report.problems, key=lambda p: p.row)] == [(1202, "邮箱"), (1203, "邮箱")]
    assert "duplicate of row 9" in report.problems[0].message
    assert count(Registration) == 1200


def _cli_env(database, test_root) -> dict:
    url, _reset = database
    return dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_SECRET_KEY="test-secret",
                CRM_EXPO_INSTANCE_PATH=str(test_root), CRM_EXPO_PLUGINS="visitors",
                CRM_EXPO_DEFAULT_LOCALE="en")


def test_two_parallel_imports_of_one_file_create_each_person_once(app, database, test_root, tmp_path):
    """Two `crm-expo import visitors` processes at once, same file: each person and each
    company exists once, each person is registered once, and every row is accounted for."""
    show_id = make_show("parallel-2027").id
    n = 3000
    path = tmp_path / "visitors.csv"
    path.write_text(HEADER + "".join(
        f"访客{i},,p{i}@example.com,1370000{i:04d},公司{i % 40},,,是,否\n" for i in range(n)), encoding="utf-8-sig")
    db.session.commit()
    db.session.remove()
    env = _cli_env(database, test_root)
    cmd = [sys.executable, "-m", "crm_expo", "import", "visitors", str(path), "--show", "parallel-2027"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    imported = [int(re.search(r"(\d+) imported", o).group(1)) for o in outputs]
    unchanged = [int(re.search(r"(\d+) already there", o).group(1)) for o in outputs]
    assert sum(imported) == n and sum(unchanged) == n, outputs
    assert count(Person) == n
    assert db.session.scalar(select(func.count(func.distinct(Person.email)))) == n
    assert count(Organization) == 40
    assert count(Registration, Registration.show_id == show_id) == n


def test_a_big_import_checkpoints_once_at_the_end_and_gives_the_connection_back_as_it_was(app):
    """The batches' commits skip SQLite's automatic checkpoint (database.tune_for_bulk);
    the import copies the WAL back into the database file once when it ends, and the pooled
    connection gets its own cache size and checkpoint threshold back."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("WAL checkpoints are SQLite's")
    show = make_show()
    path = db.engine.url.database
    before = os.path.getsize(path)
    rows = "".join(f"访客{i},,v{i}@example.cn,+8613900{i:06d},公司{i % 50},,公众,是,否\n" for i in range(5000))
    report = imp(show, HEADER + rows, batch_size=bulk.BATCH_SIZE)
    assert (report.imported, report.rejected) == (5000, 0)
    assert os.path.getsize(path) > before + 1_000_000, "the WAL was not copied back into the database"
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -32768


def test_badge_codes_a_registration_system_printed_are_kept_and_admit_at_the_desk(app):
    """证件号 / badge_code: kept when 6–64 letters, digits or hyphens and unused; otherwise
    reported by row; the desk admits a kept code as it admits its own."""
    import datetime as dt

    from plugins.onsite import operations as onsite_ops
    other = make_show()
    taken = imp(other, "姓名,证件号\n王五,TAKEN-0001\n")
    assert taken.imported == 1
    show = make_show(start=dt.date.today(), days=2)
    report = imp(show, "姓名,邮箱,类别,证件号\n"
                       "张三,zs@example.com,公众,ab-12-cd\n"           # kept as AB12CD
                       "李四,ls@example.com,公众,\n"                   # none given: a new one
                       "王二,we@example.com,公众,AB12\n"               # too short
                       "赵六,zl@example.com,公众,中文证件号码\n"          # not letters and digits
                       "钱七,qq@example.com,公众,AB-12-CD\n"           # the same code again
                       "孙八,sb@example.com,公众,taken-0001\n"         # used by another show's badge
                       f"周九,zj@example.com,公众,{'X' * 65}\n")
    assert (report.imported, report.rejected) == (2, 5), report.lines()
    problems = {p.row: p.message for p in report.problems}
    assert "6 to 64" in problems[4] and "6 to 64" in problems[5] and "6 to 64" in problems[8]
    assert "duplicate of row 2" in problems[6] and "already used" in problems[7]
    kept = db.session.scalar(select(Registration).join(Person).where(Person.email == "zs@example.com"))
    assert kept.badge_code == "AB12CD"
    assert db.session.scalar(select(BadgeCode.code).where(BadgeCode.registration_id == kept.id)) == "AB12CD"
    fresh = db.session.scalar(select(Registration).join(Person).where(Person.email == "ls@example.com"))
    assert len(fresh.badge_code) == 12
    with app.test_request_context():
        answer = onsite_ops.check_in(show, "ab-12-cd", "A")
        assert answer["result"] == "ok" and answer["person"]["registration_id"] == kept.id
