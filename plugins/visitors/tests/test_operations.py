"""The visitors plugin's domain rules: registration, dedupe, consent, badge codes, admission."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from crm_expo import signals
from crm_expo.extensions import db
from crm_expo.models import Consent, Person
from plugins.visitors import operations as ops
from plugins.visitors.models import BadgeCode, Registration
from tests.factories import make_show, make_user

CONSENTS = {"marketing": True, "share_with_exhibitors": False}


@pytest.fixture(autouse=True)
def _request(app):
    # Translated messages pick the locale from the request (crm_expo.i18n.select_locale).
    with app.test_request_context():
        yield


def person(**kw):
    base = {"name_zh": "张伟", "name_en": "Zhang Wei", "email": "zhang.wei@example.com",
            "phone": "13800138000", "organization_name": "上海食品有限公司", "job_title": "采购经理"}
    if "email" in kw and "name_zh" not in kw:
        # Same name at the same company is the same person (crm_expo.contacts.duplicates): vary it.
        base["name_zh"], base["name_en"] = "访客" + kw["email"].split("@")[0], ""
    base.update(kw)
    return base


def test_register_visitor_creates_person_consents_and_a_badge_code(app):
    show = make_show()
    received = []
    signals.visitor_registered.connect(lambda sender, **kw: received.append((sender.id, kw["source"])), weak=False)
    reg = ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", reg.badge_code)
    assert reg.verification == "pending"
    assert reg.person.phone == "+8613800138000" and reg.person.email == "zhang.wei@example.com"
    assert reg.person.organization.name_zh == "上海食品有限公司"
    assert reg.person.consent("marketing") is True
    assert reg.person.consent("share_with_exhibitors") is False
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 2
    assert (reg.id, "self") in received
    public = ops.register_visitor(show, person(email="li@example.com", phone="", name_zh="李娜"), "public",
                                  consents=CONSENTS, source="staff")
    assert public.verification == "not_required"
    assert public.badge_code != reg.badge_code


def test_staff_registration_of_the_same_person_twice_is_refused_and_deduplicated(app):
    """The staff path (and the desk, the API, imports) finds the one Person; the public form
    does not (test_self_registration.py)."""
    show, other = make_show(), make_show()
    first = ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="staff")
    # Same email written differently: the same Person, so a duplicate registration.
    with pytest.raises(ops.VisitorError, match="already registered") as err:
        ops.register_visitor(show, person(email="Zhang.Wei@Example.com", phone=""), "public",
                             consents=CONSENTS, source="staff")
    assert err.value.registration.id == first.id
    # Same phone, no email: still the same person.
    with pytest.raises(ops.VisitorError, match="already registered"):
        ops.register_visitor(show, person(email="", phone="+86 138 0013 8000"), "public",
                             consents=CONSENTS, source="staff")
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    # Another show: a new registration of the same Person.
    again = ops.register_visitor(other, person(), "trade", consents=CONSENTS, source="staff")
    assert again.person_id == first.person_id
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1


def test_database_refuses_a_second_registration_even_past_the_application(app):
    show = make_show()
    reg = ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self")
    db.session.add(Registration(show_id=show.id, person_id=reg.person_id, category="public",
                                badge_code=ops.new_badge_code()))
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("fields, consents, message", [
    ({"email": "not-an-email"}, CONSENTS, "email"),
    ({"phone": "12345"}, CONSENTS, "phone number"),
    ({"name_zh": "", "name_en": ""}, CONSENTS, "name"),
    ({}, {"marketing": True}, "share_with_exhibitors"),
    ({}, {}, "marketing"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_written(app, fields, consents, message):
    show = make_show()
    with pytest.raises(ops.VisitorError, match=message):
        ops.register_visitor(show, person(**fields), "trade", consents=consents, source="self")
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    assert db.session.scalar(select(func.count()).select_from(Person)) == 0


def test_unknown_category_is_refused(app):
    with pytest.raises(ops.VisitorError, match="category"):
        ops.register_visitor(make_show(), person(), "exhibitor", consents=CONSENTS, source="self")


def test_html_in_fields_is_stored_as_text(app):
    show = make_show()
    reg = ops.register_visitor(show, person(name_en="<script>alert(1)</script>", email="x@example.com"),
                               "public", consents=CONSENTS, source="self")
    assert reg.person.name_en == "<script>alert(1)</script>"


def test_registration_by_code_and_replacement_keeps_the_old_code_revoked(app):
    show = make_show()
    reg = ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self")
    old = reg.badge_code
    found, badge = ops.registration_by_code(show, old.lower())
    assert found.id == reg.id and badge.revoked_at is None
    heard = []
    signals.badge_code_replaced.connect(lambda s, **kw: heard.append(kw), weak=False)
    with pytest.raises(ops.VisitorError, match="why"):
        ops.replace_badge_code(reg, "  ")
    new = ops.replace_badge_code(reg, "badge lost", user=make_user("desk"))
    assert new != old and reg.badge_code == new
    found, badge = ops.registration_by_code(show, old)
    assert found.id == reg.id and badge.revoked_at is not None and badge.revoke_reason == "badge lost"
    found, badge = ops.registration_by_code(show, new)
    assert found.id == reg.id and badge.revoked_at is None
    assert {"old_code": old, "reason": "badge lost"} in heard
    assert db.session.scalar(select(func.count()).select_from(BadgeCode)) == 2
    # A code of another show, or garbage, is unknown.
    assert ops.registration_by_code(make_show(), new) == (None, None)
    assert ops.registration_by_code(show, "nonsense") == (None, None)


def test_admission_rules_hannover_case(app):
    show = make_show(days=3, start=dt.date(2027, 5, 10))
    d1, d2, d3 = (dt.date(2027, 5, 10) + dt.timedelta(days=i) for i in range(3))
    ops.add_admission_rule(show, "public", day=d1, admitted=False, note="trade day")
    ops.add_admission_rule(show, "public", day=d2, admitted=False, note="trade day")
    ops.add_admission_rule(show, "public", min_age=15, price_minor=8000, concession_price_minor=4000)
    adult = ops.register_visitor(show, person(email="a@example.com", phone="", birth_date="1990-01-01"),
                                 "public", consents=CONSENTS, source="self", concession="disabled")
    child = ops.register_visitor(show, person(email="c@example.com", phone="", name_zh="小明",
                                              birth_date="2015-06-01"), "public", consents=CONSENTS, source="self")
    trade = ops.register_visitor(show, person(email="t@example.com", phone=""), "trade",
                                 consents=CONSENTS, source="self")
    at = dt.datetime(2027, 5, 10, 2, 0)
    assert ops.admission_decision(adult, d1, at)[:2] == (False, "category_not_admitted")
    assert ops.admission_decision(adult, d3, at)[:2] == (True, "ok")
    assert ops.admission_decision(child, d3, at)[:2] == (False, "under_minimum_age")
    assert "15" in ops.admission_decision(child, d3, at)[2]
    assert ops.admission_decision(trade, d1, at)[:2] == (False, "trade_not_verified")
    ops.verify_registration(trade, "verified", user=make_user("organizer"))
    assert ops.admission_decision(trade, d1, at)[:2] == (True, "ok")
    assert ops.admission_decision(trade, dt.date(2027, 6, 1), at)[:2] == (False, "not_a_show_day")
    assert ops.ticket_price(adult, d3) == 4000 and ops.ticket_price(child, d3) == 8000
    ops.cancel_registration(adult)
    assert ops.admission_decision(adult, d3, dt.datetime(2027, 6, 1))[:2] == (False, "cancelled")


def test_trade_only_day_refuses_the_public(app):
    show = make_show(days=2)
    day = show.days[0]
    day.trade_only = True
    db.session.commit()
    reg = ops.register_visitor(show, person(), "public", consents=CONSENTS, source="self")
    assert ops.admission_decision(reg, day.date)[1] == "category_not_admitted"
    assert ops.admission_decision(reg, show.days[1].date)[1] == "ok"


def test_admission_rule_bad_input(app):
    show = make_show()
    with pytest.raises(ops.VisitorError, match="not open"):
        ops.add_admission_rule(show, "public", day=dt.date(2030, 1, 1))
    with pytest.raises(ops.VisitorError, match="negative"):
        ops.add_admission_rule(show, "public", price_minor=-1)
    with pytest.raises(ops.VisitorError, match="between"):
        ops.add_admission_rule(show, "public", min_age=200)


def test_verification_rules(app):
    show = make_show()
    reg = ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self")
    with pytest.raises(ops.VisitorError, match="why"):
        ops.verify_registration(reg, "rejected")
    ops.verify_registration(reg, "rejected", note="no business card")
    assert reg.verification == "rejected"
    pub = ops.register_visitor(show, person(email="p@example.com", phone=""), "public",
                               consents=CONSENTS, source="self")
    with pytest.raises(ops.VisitorError, match="Only trade"):
        ops.verify_registration(pub, "verified")


def _png() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buf, "PNG")
    return buf.getvalue()


def test_business_card_type_is_checked_by_content(app):
    show = make_show()
    reg = ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self")
    card = ops.attach_business_card(reg, "card.png", _png(), company="上海食品有限公司")
    assert card.content_type == "image/png"
    with pytest.raises(ops.VisitorError, match="JPEG or PNG"):
        ops.attach_business_card(reg, "card.png", b"<html><script>alert(1)</script></html>")
    with pytest.raises(ops.VisitorError, match="empty"):
        ops.attach_business_card(reg, "card.jpg", b"")
    with pytest.raises(ops.VisitorError, match="larger"):
        ops.attach_business_card(reg, "card.png", _png() + b"\0" * ops.CARD_MAX_BYTES)
    assert len(ops.business_cards(reg)) == 1



def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height (a decompression bomb's shape)."""
    import struct
    import zlib
    data = bytearray(_png())
    ihdr = 8 + 8     # signature, then the IHDR chunk's length and type
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[12:ihdr + 13])))
    return bytes(data)


def test_an_image_that_declares_900_megapixels_is_refused_cleanly(app):
    """Security review finding: DecompressionBombError went up as a 500."""
    show = make_show()
    reg = ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self")
    for width, height in ((30_000, 30_000), (8_000, 6_000)):
        with pytest.raises(ops.VisitorError, match="too large: at most 40 megapixels") as refused:
            ops.attach_business_card(reg, "card.png", _png_declaring(width, height))
        assert refused.value.field == "card"
    assert ops.business_cards(reg) == []

def test_questions_and_answers(app):
    show = make_show()
    ops.save_question(show, "industry", "行业", label_en="Industry", required=True,
                      choices=[{"value": "food", "zh": "食品", "en": "Food"},
                               {"value": "wine", "zh": "酒类", "en": "Wine"}])
    ops.save_question(show, "interests", "兴趣", kind="multiple",
                      choices=[{"value": "a", "zh": "甲"}, {"value": "b", "zh": "乙"}])
    with pytest.raises(ops.VisitorError, match="Industry"):
        ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self", answers={})
    with pytest.raises(ops.VisitorError, match="Not a choice"):
        ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self",
                             answers={"industry": "cars"})
    reg = ops.register_visitor(show, person(), "trade", consents=CONSENTS, source="self",
                               answers={"industry": "wine", "interests": ["a", "b"]})
    assert reg.answers == {"industry": "wine", "interests": ["a", "b"]}


def test_figures_count_only_visitor_categories(app):
    show = make_show()
    for i, cat in enumerate(["trade", "public", "vip", "media", "exhibitor_staff"]):
        ops.register_visitor(show, person(email=f"v{i}@example.com", phone=""), cat, consents=CONSENTS,
                             source="staff")
    f = ops.figures(show)
    assert f["counted"] == 3 and f["total"] == 5
