"""The one customer record: normalising, duplicates on create, merge keeping every relation."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm_expo import signals
from crm_expo.contacts.duplicates import (
    CustomerError,
    bulk_get_or_create_persons,
    find_duplicate_organizations,
    find_duplicate_persons,
    get_or_create_organization,
    get_or_create_person,
)
from crm_expo.contacts.merge import merge_organizations, merge_persons
from crm_expo.contacts.normalise import normalize_email, normalize_phone
from crm_expo.contacts.search import search_persons
from crm_expo.extensions import db
from crm_expo.models import AuditEntry, Consent, Organization, Person, User
from tests.factories import make_org, make_person, make_show, make_user


@pytest.mark.parametrize("raw,e164", [
    ("13800138000", "+8613800138000"), ("138-0013-8000", "+8613800138000"), ("+86 138 0013 8000", "+8613800138000"),
    ("008613800138000", "+8613800138000"), ("010 6552 9988", "+861065529988"), ("+1 650-253-0000", "+16502530000"),
])
def test_phones_are_stored_e164(app, raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "phone", "+86 123", "138001380001234"])
def test_invalid_phones_are_refused_naming_the_number(app, raw):
    with pytest.raises(ValueError, match=raw.replace("+", r"\+")):
        normalize_phone(raw)


def test_emails_are_validated_and_lower_cased(app):
    assert normalize_email("  Zhang.Wei@Example.COM ") == "zhang.wei@example.com"
    for bad in ("zhang", "a@b", "a b@example.com", "@example.com"):
        with pytest.raises(ValueError, match="not a valid email address"):
            normalize_email(bad)


def test_duplicates_by_email_phone_and_name_at_company(app):
    huawei = make_org("华为技术有限公司", "Huawei Technologies Co., Ltd.")
    zw = make_person("张伟", organization=huawei, email="zw@example.com", phone="+8613800138000")
    other = make_person("张伟")     # same name, no company: not a duplicate by name
    assert find_duplicate_persons(email="ZW@example.com") == [zw]
    assert find_duplicate_persons(phone="138 0013 8000") == [zw]
    assert find_duplicate_persons(name="張 偉", organization_name="華為技術有限公司") == [zw]
    assert find_duplicate_persons(name="张伟", organization_name="huawei technologies co ltd") == [zw]
    assert find_duplicate_persons(email="zw@example.com", exclude_id=zw.id) == []
    assert find_duplicate_persons(name="张伟") == []
    assert other not in find_duplicate_persons(name="张伟", organization_name="华为技术有限公司")
    assert find_duplicate_organizations(name_en="HUAWEI Technologies Co Ltd") == [huawei]


def test_get_or_create_person_finds_the_same_customer(app):
    p1, created1 = get_or_create_person({"name_zh": "张伟", "email": "ZW@Example.com", "phone": "13800138000",
                                         "company": "华为"})
    db.session.commit()
    p2, created2 = get_or_create_person({"name_zh": "张伟", "phone": "+86 138 0013 8000", "job_title": "经理"})
    db.session.commit()
    p3, created3 = get_or_create_person({"name_zh": "張偉", "company": "華為"})
    db.session.commit()
    assert (created1, created2, created3) == (True, False, False)
    assert p1.id == p2.id == p3.id
    assert p1.job_title == "经理"          # blanks filled, nothing overwritten
    assert db.session.scalar(select(func.count(Person.id))) == 1
    assert db.session.scalar(select(func.count(Organization.id))) == 1


def test_get_or_create_refuses_bad_input_and_changes_nothing(app):
    for fields, message in (({"name_zh": "张伟", "email": "nope"}, "not a valid email"),
                            ({"name_zh": "张伟", "phone": "123"}, "not a valid phone"),
                            ({"email": "a@example.com"}, "needs a name")):
        with pytest.raises(CustomerError, match=message):
            get_or_create_person(fields)
        db.session.rollback()
    with pytest.raises(CustomerError, match="needs a name"):
        get_or_create_organization({"name_zh": " "})
    assert db.session.scalar(select(func.count(Person.id))) == 0


def test_licence_number_identifies_a_company_in_the_database(app):
    from sqlalchemy.exc import IntegrityError
    org, created = get_or_create_organization({"name_zh": "上海会展有限公司", "licence_no": "91310000ma1fl0001x"})
    db.session.commit()
    same, created2 = get_or_create_organization({"name_zh": "上海会展公司（新名）", "licence_no": "91310000MA1FL0001X"})
    assert created and not created2 and same.id == org.id
    db.session.add(Organization(name_zh="另一家", licence_no="91310000MA1FL0001X"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add_all([Organization(name_zh="甲"), Organization(name_zh="乙")])   # blank licences don't collide
    db.session.commit()


def test_bulk_get_or_create_matches_existing_and_within_the_batch(app):
    org = make_org("华为")
    old = make_person("王芳", email="wf@example.com")
    result = bulk_get_or_create_persons([
        {"name_zh": "王芳", "email": "wf@example.com", "phone": ""},
        {"name_zh": "李娜", "email": "ln@example.com", "phone": "+8613800138000", "organization_id": org.id},
        {"name_zh": "李娜", "email": "", "phone": "+8613800138000"},
        {"name_zh": "张伟", "email": "", "phone": ""},
    ])
    db.session.commit()
    assert result[0] == (old.id, False)
    assert result[1][1] is True and result[2] == (result[1][0], False)
    assert result[3][1] is True
    assert db.session.scalar(select(func.count(Person.id))) == 3
    assert search_persons("lina") == [result[1][0]]     # bulk rows are searchable at once


def test_merge_persons_moves_every_relation_and_audits(app):
    org = make_org("华为")
    survivor = make_person("张伟", email="zw@example.com")
    merged = make_person("张伟", organization=org, phone="+8613800138000", job_title="经理")
    db.session.add_all([Consent(person_id=merged.id, purpose="marketing", granted=True, source="import"),
                        Consent(person_id=survivor.id, purpose="badge_data", granted=True)])
    db.session.commit()
    admin = make_user("admin")
    seen = []

    def on_merge(sender, **kw):
        seen.append((sender.id, kw["merged_id"], kw["user"].id))
    signals.persons_merged.connect(on_merge)
    try:
        merged_id = merged.id
        result = merge_persons(survivor, merged, admin)
    finally:
        signals.persons_merged.disconnect(on_merge)
    assert result.id == survivor.id
    assert db.session.get(Person, merged_id) is None
    assert sorted(c.purpose for c in db.session.scalars(select(Consent).where(Consent.person_id == survivor.id))) \
        == ["badge_data", "marketing"]
    # blanks of the survivor filled from the merged record, nothing overwritten
    assert (result.email, result.phone, result.job_title, result.organization_id) == \
        ("zw@example.com", "+8613800138000", "经理", org.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.merge"))
    assert entry.user_id == admin.id and entry.object_id == str(survivor.id)
    assert entry.before["merged"]["id"] == merged_id and entry.after["moved"]["consents.person_id"] == 1
    assert seen == [(survivor.id, merged_id, admin.id)]
    assert search_persons("13800138000") == [survivor.id]   # found by the merged-in phone


def test_merge_organizations_moves_people_and_users(app):
    keep = make_org("华为技术有限公司")
    dup = make_org("华为技术", licence_no="91440300MA5F00001K")
    person = make_person("李娜", organization=dup)
    portal = make_user("exhibitor", org=dup)
    dup_id = dup.id
    merge_organizations(keep, dup, None)
    db.session.expire_all()
    assert db.session.get(Organization, dup_id) is None
    assert db.session.get(Person, person.id).organization_id == keep.id
    assert db.session.get(User, portal.id).organization_id == keep.id
    assert db.session.get(Organization, keep.id).licence_no == "91440300MA5F00001K"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "organization.merge"))
    assert entry.after["moved"] == {"persons.organization_id": 1, "users.organization_id": 1}


def test_merge_refuses_merging_a_record_with_itself(app):
    p = make_person("张伟")
    with pytest.raises(CustomerError, match="itself"):
        merge_persons(p, p)


def test_merge_with_the_same_show_registration_keeps_the_survivors_row(app):
    """Both records registered for one show: the survivor's registration stays, the merged
    one's badge codes move onto it, the dropped registration is in the audit entry."""
    visitors = pytest.importorskip("plugins.visitors.operations")
    from plugins.visitors.models import BadgeCode, Registration
    show = make_show()
    consents = {"badge_data": True, "marketing": False, "share_with_exhibitors": False}
    with app.test_request_context():
        r1 = visitors.register_visitor(show, {"name_zh": "张伟", "email": "zw1@example.com"}, "public",
                                       consents=consents, source="test")
        r2 = visitors.register_visitor(show, {"name_zh": "张伟", "email": "zw2@example.com"}, "public",
                                       consents=consents, source="test")
    survivor, merged = db.session.get(Person, r1.person_id), db.session.get(Person, r2.person_id)
    merged_code, r2_id = r2.badge_code, r2.id
    merge_persons(survivor, merged)
    regs = db.session.scalars(select(Registration).where(Registration.show_id == show.id)).all()
    assert [r.id for r in regs] == [r1.id]
    moved = db.session.scalar(select(BadgeCode).where(BadgeCode.code == merged_code))
    assert moved.registration_id == r1.id        # the old badge still leads to the person
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.merge"))
    assert [d["row"]["id"] for d in entry.after["dropped"]] == [r2_id]


def test_bulk_inserts_store_what_the_orm_reads_back(app):
    """database.executemany (on SQLite: constant columns bound once, the varying ones as a
    JSON array) stores every value as a row-by-row insert would: integers, booleans, text
    that looks like a number, Chinese text, quotes, None; a value JSON cannot carry exactly
    (bytes) falls back to binding row by row."""
    from sqlalchemy import event

    from crm_expo.database import executemany, utcnow
    from crm_expo.database import insert_from_json as _insert_from_json
    people = [make_person(f"张{i}", email=f"p{i}@example.cn") for i in range(3)]
    at = utcnow().replace(microsecond=0)
    statements = []

    def record(conn, cursor, sql, params, context, many):
        statements.append(sql)
    rows = [(p.id, purpose, granted, at, "import: x' OR '1'='1 「展会」")
            for p in people for purpose, granted in (("marketing", True), ("share_with_exhibitors", False))]
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        executemany(Consent.__table__, ["person_id", "purpose", "granted", "at", "source"], rows)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    got = sorted((c.person_id, c.purpose, c.granted, c.at, c.source) for c in db.session.scalars(select(Consent)))
    assert got == sorted(rows)
    if db.engine.dialect.name == "sqlite":
        assert any("json_each" in s for s in statements)     # the JSON path ran
        conn = db.session.connection()
        assert not _insert_from_json(conn, Consent.__table__, ["person_id", "purpose", "granted", "at", "source"],
                                     [(1, "marketing", b"\x01", "2027-01-01", "x"), (2, "marketing", b"\x00", "2027-01-01", "x")])
        db.session.rollback()
