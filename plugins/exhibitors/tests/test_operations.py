"""Exhibitor records, the application workflow and the qualification review, through the
operations (the pages and the API call the same functions)."""
import os

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from crm_expo import signals
from crm_expo.extensions import db
from crm_expo.models import AuditEntry, Organization
from plugins.exhibitors import operations as ops
from plugins.exhibitors.models import Exhibitor
from tests.factories import make_org, make_show, make_user

VALID_LICENCE = "91350100M000100Y43"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def test_create_exhibitor_finds_or_creates_the_organization_once(app):
    show = make_show()
    first = ops.create_exhibitor(show, name_zh="青岛啤酒股份有限公司", name_en="Tsingtao Brewery", licence_no=VALID_LICENCE)
    assert first.status == "applied" and first.kind == "main"
    assert first.organization.licence_no == VALID_LICENCE
    other_show = make_show()
    again = ops.create_exhibitor(other_show, name_zh="青岛啤酒股份有限公司")
    assert again.organization_id == first.organization_id          # one customer across shows
    assert db.session.scalar(select(db.func.count()).select_from(Organization)) == 1
    assert ops.get_exhibitor(show, first.id) is first
    assert ops.get_exhibitor(other_show, first.id) is None         # another show's record is not found
    assert ops.exhibitor_for_organization(show, first.organization_id) is first
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "exhibitor.create")) is not None


def test_same_company_twice_in_one_show_is_refused_by_name_and_by_the_database(app):
    show = make_show()
    org = make_org("张裕葡萄酒")
    ops.create_exhibitor(show, organization=org)
    with pytest.raises(ops.ExhibitorError, match="already an exhibitor"):
        ops.create_exhibitor(show, organization=org)
    with pytest.raises(IntegrityError):
        db.session.execute(text("INSERT INTO exhibitors_exhibitor (show_id, organization_id, status, status_reason, "
                                "kind, country, region, notes, applied_at, updated_at) VALUES "
                                "(:s, :o, 'applied', '', 'main', 'CN', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                           {"s": show.id, "o": org.id})
    db.session.rollback()


@pytest.mark.parametrize("bad, why", [
    ("91350100M000100Y4", "18 characters"),
    ("91350100M000100Y44", "check digit"),
    ("91350100M000100YI3", "not allowed"),
])
def test_invalid_licence_number_is_refused_and_nothing_is_written(app, bad, why):
    show = make_show()
    with pytest.raises(ops.ExhibitorError, match=why):
        ops.create_exhibitor(show, name_zh="假冒酒业", licence_no=bad)
    assert db.session.scalar(select(db.func.count()).select_from(Exhibitor)) == 0
    assert db.session.scalar(select(db.func.count()).select_from(Organization)) == 0


def test_licence_number_check_digit_on_real_codes():
    for code in ("91350100M000100Y43", "914403001922038216", "91440300708461136T"):
        assert ops.validate_licence_no(code.lower()) == code


def test_co_exhibitor_needs_a_main_exhibitor(app):
    show = make_show()
    main = ops.create_exhibitor(show, name_zh="主展商")
    with pytest.raises(ops.ExhibitorError, match="main exhibitor"):
        ops.create_exhibitor(show, name_zh="联合展商", kind="co")
    co = ops.create_exhibitor(show, name_zh="联合展商", kind="co", main_exhibitor_id=main.id)
    assert co.main_exhibitor is main
    with pytest.raises(ops.ExhibitorError, match="co-exhibitor"):
        ops.create_exhibitor(show, name_zh="第三家", kind="co", main_exhibitor_id=co.id)
    # the database keeps kind and main exhibitor consistent too
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE exhibitors_exhibitor SET main_exhibitor_id = NULL WHERE id = :i"), {"i": co.id})
    db.session.rollback()


def test_account_manager_must_have_that_role(app):
    show = make_show()
    desk = make_user("desk")
    with pytest.raises(ops.ExhibitorError, match="account manager"):
        ops.create_exhibitor(show, name_zh="某公司", account_manager_id=desk.id)
    manager = make_user("account_manager")
    ex = ops.create_exhibitor(show, name_zh="某公司", account_manager_id=manager.id)
    assert ex.account_manager is manager


def test_workflow_transitions_reasons_audit_and_signals(app):
    show = make_show()
    ops.set_required_documents(show, [])
    ex = ops.create_exhibitor(show, name_zh="某酒庄")
    heard = []

    def on_status(sender, **kw):
        heard.append(("status", kw["old"], kw["new"]))

    def on_approved(sender, **kw):
        heard.append(("approved", sender.id))
    signals.exhibitor_status_changed.connect(on_status)
    signals.exhibitor_approved.connect(on_approved)
    try:
        with pytest.raises(ops.ExhibitorError, match="cannot go from"):
            ops.change_status(ex, "approved")
        ops.change_status(ex, "under_review")
        reviewer = make_user("organizer")
        ops.change_status(ex, "approved", user=reviewer)
    finally:
        signals.exhibitor_status_changed.disconnect(on_status)
        signals.exhibitor_approved.disconnect(on_approved)
    assert heard == [("status", "applied", "under_review"), ("status", "under_review", "approved"),
                     ("approved", ex.id)]
    assert ex.reviewer_id == reviewer.id and ex.decided_at is not None
    with pytest.raises(ops.ExhibitorError, match="reason"):
        ops.change_status(ex, "withdrawn")
    ops.change_status(ex, "withdrawn", reason="公司改变计划")
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "exhibitor.status")
                                 .order_by(AuditEntry.id)).all()
    assert [e.after["status"] for e in entries] == ["under_review", "approved", "withdrawn"]
    assert entries[-1].after["reason"] == "公司改变计划"


def test_approval_refused_while_a_required_document_is_missing_or_unreviewed(app):
    show = make_show()
    ops.set_required_documents(show, ["licence", "product_certificate"])
    ex = ops.create_exhibitor(show, name_zh="某葡萄酒进口商")
    ops.change_status(ex, "under_review")
    with pytest.raises(ops.ExhibitorError) as err:
        ops.change_status(ex, "approved")
    assert "Business licence is missing" in str(err.value)
    assert "Product certificate is missing" in str(err.value)
    lic = ops.add_document(ex, "licence", "licence.pdf", PDF)
    cert = ops.add_document(ex, "product_certificate", "cert.png", PNG)
    with pytest.raises(ops.ExhibitorError, match="Business licence is not reviewed yet"):
        ops.change_status(ex, "approved")
    ops.review_document(lic, "accepted")
    with pytest.raises(ops.ExhibitorError, match="reject"):
        ops.review_document(cert, "rejected")          # a rejection needs a reason
    ops.review_document(cert, "rejected", note="证书过期")
    with pytest.raises(ops.ExhibitorError, match="Product certificate was rejected"):
        ops.change_status(ex, "approved")
    assert db.session.get(Exhibitor, ex.id).status == "under_review"
    ops.review_document(cert, "accepted")
    ops.change_status(ex, "approved")
    assert ex.status == "approved"


def test_upload_checks_type_by_content_and_size_and_stores_under_a_random_name(app):
    show = make_show()
    ex = ops.create_exhibitor(show, name_zh="某公司")
    files_before = set(os.listdir(ops.document_folder()))
    exe = b"MZ\x90\x00\x03" + b"\0" * 100          # a Windows executable renamed .pdf
    with pytest.raises(ops.ExhibitorError, match="not a PDF, PNG or JPEG"):
        ops.add_document(ex, "licence", "licence.pdf", exe)
    with pytest.raises(ops.ExhibitorError, match="not a PDF, PNG or JPEG"):
        ops.add_document(ex, "licence", "page.pdf", b"<html><script>alert(1)</script></html>")
    with pytest.raises(ops.ExhibitorError, match="too big"):
        ops.add_document(ex, "licence", "big.pdf", b"%PDF-" + b"0" * ops.MAX_DOCUMENT_BYTES)
    with pytest.raises(ops.ExhibitorError, match="empty"):
        ops.add_document(ex, "licence", "empty.pdf", b"")
    assert set(os.listdir(ops.document_folder())) == files_before      # nothing half-written
    assert ex.documents == []
    doc = ops.add_document(ex, "licence", "../../etc/营业执照.JPG", b"\xff\xd8\xff\xe0" + b"\0" * 20)
    assert doc.content_type == "image/jpeg" and doc.filename == "营业执照.JPG"
    assert len(doc.stored_name) == 32 and "." not in doc.stored_name
    with open(ops.document_path(doc), "rb") as fh:
        assert fh.read().startswith(b"\xff\xd8\xff")


def test_categories_staff_and_update(app):
    show = make_show()
    wine = ops.add_category(show, "wine", "葡萄酒", "Wine")
    spirits = ops.add_category(show, "spirits", "烈酒", "Spirits")
    with pytest.raises(ops.ExhibitorError, match="exists already"):
        ops.add_category(show, "wine", "葡萄酒")
    ex = ops.create_exhibitor(show, name_zh="某酒业", category_ids=[wine.id])
    assert [c.code for c in ex.categories] == ["wine"]
    ops.update_exhibitor(ex, {"category_ids": [wine.id, spirits.id], "country": "fr", "notes": "老客户"})
    assert [c.code for c in ex.categories] == ["spirits", "wine"] and ex.country == "FR"
    with pytest.raises(ops.ExhibitorError, match="two-letter"):
        ops.update_exhibitor(ex, {"country": "France"})
    with pytest.raises(ops.ExhibitorError, match="cannot be changed"):
        ops.update_exhibitor(ex, {"status": "approved"}, portal=True)
    staff = ops.add_staff(ex, name_zh="李娜", email="lina@example.com", role="销售经理")
    assert staff.person.organization_id == ex.organization_id
    assert [s.person.name_zh for s in ex.staff] == ["李娜"]
    ops.remove_staff(ex, staff.id)
    assert ex.staff == []


def test_search_and_filters(app):
    show = make_show()
    wine = ops.add_category(show, "wine", "葡萄酒", "Wine")
    manager = make_user("account_manager")
    a = ops.create_exhibitor(show, name_zh="张裕葡萄酒", name_en="Changyu Wine", category_ids=[wine.id],
                             account_manager_id=manager.id)
    b = ops.create_exhibitor(show, name_zh="茅台酒厂", country="CN")
    c = ops.create_exhibitor(show, name_en="Château Margaux", country="FR")

    def ids(**kw):
        return [e.id for e in db.session.scalars(ops.exhibitor_query(show, **kw))]
    assert ids(q="张裕") == [a.id]
    assert ids(q="zhangyu") == [a.id]
    assert ids(q="maotai") == [b.id]
    assert ids(q="margaux") == [c.id]
    assert ids(category_id=wine.id) == [a.id]
    assert ids(country="fr") == [c.id]
    assert ids(account_manager_id=manager.id) == [a.id]
    assert set(ids()) == {a.id, b.id, c.id}
    assert ops.status_counts(show)["applied"] == 3
