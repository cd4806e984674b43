"""Waiting list (join, leave, queue, offers and their outcome), discount-rule editing, block /
unblock with a reason, split and merge refusals — the operations and the database."""
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_expo.extensions import db
from crm_expo.models import AuditEntry
from plugins.booths import operations as ops
from plugins.booths.models import Booking, Booth, DiscountRule, WaitlistEntry

from .helpers import booth_show, make_exhibitor


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_an_exhibitor_waits_once_per_booth_type_and_per_booth_enforced_by_the_database(app):
    show = booth_show()
    ex, holder = make_exhibitor(show), make_exhibitor(show)
    ops.hold_booth(show, "A101", holder.id)
    ops.join_waitlist(show, ex.id, booth_type="shell")
    ops.join_waitlist(show, ex.id, booth_code="A101")
    for kw in ({"booth_type": "shell"}, {"booth_code": "a101"}):
        with pytest.raises(ops.BoothError, match="already on this waiting list") as err:
            ops.join_waitlist(show, ex.id, **kw)
        assert (err.value.code, err.value.status) == ("duplicate", 409)
    assert count(WaitlistEntry) == 2
    # Code that bypasses the operations cannot do it either (SQLite and PostgreSQL alike).
    booth_id = ops.booth_by_code(show, "A101").id
    for row in ({"booth_id": None, "booth_type": "shell"}, {"booth_id": booth_id, "booth_type": ""}):
        db.session.add(WaitlistEntry(show_id=show.id, exhibitor_id=ex.id, status="waiting", **row))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert count(WaitlistEntry) == 2
    # Waiting for another type, or again after leaving, is fine.
    ops.join_waitlist(show, ex.id, booth_type="raw")
    entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.booth_type == "shell"))
    ops.leave_waitlist(entry)
    again = ops.join_waitlist(show, ex.id, booth_type="shell")
    assert again.id != entry.id and count(WaitlistEntry, WaitlistEntry.status == "waiting") == 3


def test_join_refusals_name_the_problem_and_change_nothing(app):
    show = booth_show()
    ex, holder = make_exhibitor(show), make_exhibitor(show)
    withdrawn = make_exhibitor(show, status="withdrawn")
    ops.hold_booth(show, "A101", holder.id)
    cases = [
        (dict(exhibitor_id=ex.id, booth_code="A102"), "A102 is available: hold it instead", "booth_available"),
        (dict(exhibitor_id=ex.id, booth_code="Z9"), "No booth Z9", "unknown_booth"),
        (dict(exhibitor_id=ex.id, booth_code="A101", booth_type="shell"), "not both", "bad_value"),
        (dict(exhibitor_id=ex.id, booth_type="tent"), "Name a booth or a booth type", "bad_value"),
        (dict(exhibitor_id=ex.id), "Name a booth or a booth type", "bad_value"),
        (dict(exhibitor_id=holder.id, booth_code="A101"), "already has booth A101", "duplicate"),
        (dict(exhibitor_id=withdrawn.id, booth_type="shell"), "withdrawn", "exhibitor_inactive"),
        (dict(exhibitor_id=999_999, booth_type="shell"), "No exhibitor", "unknown_exhibitor"),
        # A portal user names an exhibitor of another organization: as if it did not exist.
        (dict(exhibitor_id=holder.id, booth_type="shell", organization_id=ex.organization_id), "No exhibitor",
         "unknown_exhibitor"),
    ]
    for kw, message, code in cases:
        exhibitor_id = kw.pop("exhibitor_id")
        with pytest.raises(ops.BoothError, match=message) as err:
            ops.join_waitlist(show, exhibitor_id, **kw)
        assert err.value.code == code, (kw, err.value.code)
    assert count(WaitlistEntry) == 0


def test_queue_order_offers_with_expiry_and_their_outcome(app):
    show = booth_show(3)
    first, second, third, holder = (make_exhibitor(show, f"候补{i}") for i in range(4))
    held = [ops.hold_booth(show, code, holder.id) for code in ("A101", "A102", "A103")]
    e1 = ops.join_waitlist(show, first.id, booth_code="A101")
    e2 = ops.join_waitlist(show, second.id, booth_type="shell")
    e3 = ops.join_waitlist(show, third.id, booth_type="shell")
    queue = [(r[0].id, r[1]) for r in ops.waitlist_queues(show)]
    assert queue == [(e1.id, "A101"), (e2.id, None), (e3.id, None)]    # booth queues first, then types
    ops.leave_waitlist(e1)
    with pytest.raises(ops.BoothError, match="no longer waiting"):
        ops.leave_waitlist(e1)
    # A101 released: its own queue is empty now, so the first waiting for a shell booth gets it.
    ops.release(held[0], "no budget")
    db.session.expire_all()
    e2 = db.session.get(WaitlistEntry, e2.id)
    offer = db.session.get(Booking, e2.offered_booking_id)
    assert (e2.status, offer.exhibitor_id, offer.booth.code, offer.status) == ("offered", second.id, "A101", "held")
    assert e2.offer_until == offer.held_until and e2.offer_until > ops.utcnow()
    ops.reserve(offer)                                           # accepted
    ops.release(held[1], "moved to hall B")                      # third gets A102 …
    e3 = db.session.get(WaitlistEntry, e3.id)
    lapsed = db.session.get(Booking, e3.offered_booking_id)
    lapsed.held_until = ops.utcnow() - dt.timedelta(minutes=1)  # … and lets the offer run out
    db.session.commit()
    ops.expire_holds(show)
    outcomes = {r[0].id: ops.waitlist_json(r)["outcome"] for r in ops.waitlist_history(show)}
    assert outcomes == {e1.id: "left", e2.id: "accepted", e3.id: "lapsed"}
    assert ops.waitlist_queues(show) == []
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("waitlist.%"))).all()
    assert sorted(actions) == ["waitlist.join"] * 3 + ["waitlist.leave"]


def test_block_and_unblock_need_a_reason_are_audited_and_unblocking_offers_the_booth(app):
    show = booth_show(2)
    booth = ops.booth_by_code(show, "A101")
    with pytest.raises(ops.BoothError, match="Give a reason") as err:
        ops.set_blocked(booth, True, "  ")
    assert err.value.code == "reason_required"
    assert db.session.get(Booth, booth.id).blocked is False
    ops.set_blocked(booth, True, "fire exit in front")
    with pytest.raises(ops.BoothError, match="already blocked"):
        ops.set_blocked(booth, True, "again")
    assert db.session.get(Booth, booth.id).blocked_reason == "fire exit in front"
    waiting = make_exhibitor(show)
    ops.join_waitlist(show, waiting.id, booth_code="A101")        # waiting for a blocked booth is allowed
    ops.set_blocked(booth, False, "exit moved")
    offer = db.session.scalar(select(Booking).where(Booking.booth_id == booth.id))
    assert offer.exhibitor_id == waiting.id and offer.status == "held"
    with pytest.raises(ops.BoothError, match="not blocked"):
        ops.set_blocked(booth, False, "x")
    with pytest.raises(ops.BoothError, match="booked; release it") as err:
        ops.set_blocked(booth, True, "x")
    assert err.value.code == "booth_taken"
    entries = db.session.execute(select(AuditEntry.action, AuditEntry.after).where(
        AuditEntry.action.in_(("booth.block", "booth.unblock"))).order_by(AuditEntry.id)).all()
    assert [(a, after["reason"]) for a, after in entries] == [("booth.block", "fire exit in front"),
                                                              ("booth.unblock", "exit moved")]


def test_discount_rules_edit_until_cited_then_frozen_retire_stops_new_use(app):
    show = booth_show()
    rule = ops.add_discount_rule(show, "Early exhibitor", 10)
    ops.edit_discount_rule(show, rule.id, "Early exhibitor 2027", 12, min_area_m2="9", booth_type="shell")
    db.session.expire_all()
    rule = db.session.get(DiscountRule, rule.id)
    assert (rule.name, rule.percent, rule.min_area_cm2, rule.booth_type) == ("Early exhibitor 2027", 12, 90_000,
                                                                             "shell")
    b = ops.hold_booth(show, "A101", make_exhibitor(show).id, discount_rule_id=rule.id)
    assert b.price_minor == 900_000 - 108_000
    with pytest.raises(ops.BoothError, match="cited by bookings \\(1\\) and cannot be changed") as err:
        ops.edit_discount_rule(show, rule.id, "Early exhibitor 2027", 50)
    assert err.value.code == "rule_cited"
    assert db.session.get(DiscountRule, rule.id).percent == 12
    ops.retire_discount_rule(show, rule.id)
    with pytest.raises(ops.BoothError, match="is retired") as err:
        ops.hold_booth(show, "A102", make_exhibitor(show).id, discount_rule_id=rule.id)
    assert err.value.code == "rule_retired" and count(Booking) == 1
    assert db.session.get(Booking, b.id).price_minor == 792_000      # the booking keeps its price
    assert [r.name for r, _n in ops.discount_rules(show, current_only=True)] == []
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("discount_rule.%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["discount_rule.create", "discount_rule.edit", "discount_rule.retire"]


@pytest.mark.parametrize("terms, message", [
    (("", 10, 0, ""), "needs a name"),
    (("X", 0, 0, ""), "1 to 100 percent"),
    (("X", "ten", 0, ""), "1 to 100 percent"),
    (("X", 101, 0, ""), "1 to 100 percent"),
    (("X", 10, "-3", ""), "minimum area"),
    (("X", 10, "big", ""), "minimum area"),
    (("X", 10, 0, "tent"), "Unknown booth type tent"),
    (("Taken", 10, 0, ""), "exists already"),
])
def test_bad_discount_rule_terms_are_refused(app, terms, message):
    show = booth_show(0)
    ops.add_discount_rule(show, "Taken", 5)
    rule = ops.add_discount_rule(show, "Mine", 5)
    name, percent, area, type_ = terms
    with pytest.raises(ops.BoothError, match=message):
        ops.edit_discount_rule(show, rule.id, name, percent, min_area_m2=area, booth_type=type_)
    if name != "Taken":
        with pytest.raises(ops.BoothError, match=message):
            ops.add_discount_rule(show, name, percent, min_area_m2=area, booth_type=type_)
    db.session.expire_all()
    assert [(r.name, r.percent) for r, _n in ops.discount_rules(show)] == [("Mine", 5), ("Taken", 5)]


def test_split_and_merge_refusals_change_nothing(app):
    show = booth_show(0)
    a = ops.add_booth(show, "A", "R1", 0, 0, 6, 6, "raw")
    b = ops.add_booth(show, "A", "R2", 6, 0, 6, 6, "raw")
    far = ops.add_booth(show, "A", "R3", 20, 0, 6, 6, "raw")
    deeper = ops.add_booth(show, "A", "R4", 12, 0, 6, 8, "raw")
    shell = ops.add_booth(show, "A", "S1", 0, 20, 3, 3, "shell")
    other_hall = ops.add_booth(show, "B", "R9", 12, 0, 6, 6, "raw")
    cases = [
        (lambda: ops.merge_booths(a, far, code="RX"), "R1 and R3 are not side by side"),
        (lambda: ops.merge_booths(b, deeper, code="RX"), "not side by side with equal depth"),
        (lambda: ops.merge_booths(a, shell, code="RX"), "Only raw space"),
        (lambda: ops.merge_booths(a, a, code="RX"), "two different booths"),
        (lambda: ops.merge_booths(b, other_hall, code="RX"), "different halls"),
        (lambda: ops.merge_booths(a, b, code=""), "needs a code"),
        (lambda: ops.merge_booths(a, b, code="S1"), "S1 exists already"),
        (lambda: ops.split_booth(a, 0, codes=("X", "Y")), "inside the booth"),
        (lambda: ops.split_booth(a, 6, codes=("X", "Y")), "inside the booth"),
        (lambda: ops.split_booth(a, "", codes=("X", "Y")), "give a number of metres"),
        (lambda: ops.split_booth(a, "abc", codes=("X", "Y")), "must be a number of metres"),
        (lambda: ops.split_booth(a, 3, codes=("X", "x")), "different codes"),
        (lambda: ops.split_booth(shell, 1, codes=("X", "Y")), "Only raw space"),
    ]
    for run, message in cases:
        with pytest.raises(ops.BoothError, match=message):
            run()
    ex = make_exhibitor(show)
    booking = ops.hold_booth(show, "R2", ex.id)
    with pytest.raises(ops.BoothError, match="R2 is booked; release it first"):
        ops.merge_booths(a, b, code="RX")
    # Contracts on record would vanish with the booth; people waiting for it would lose their place.
    ops.reserve(booking)
    ops.cancel(booking, "insolvent")
    with pytest.raises(ops.BoothError, match="R2 has contracts on record") as err:
        ops.split_booth(b, 3, codes=("X", "Y"))
    assert err.value.code == "has_contracts"
    ops.hold_booth(show, "R3", ex.id)
    ops.join_waitlist(show, make_exhibitor(show).id, booth_code="R3")
    ops.release(db.session.scalar(select(Booking).where(Booking.status == "held")), "changed plans")
    ops.release(db.session.scalar(select(Booking).where(Booking.status == "held")), "offer declined")
    ops.join_waitlist(show, make_exhibitor(show).id, booth_type="raw")     # type queues do not block
    ops.set_blocked(far, True, "column")
    with pytest.raises(ops.BoothError, match="R3 is blocked; unblock it first"):
        ops.split_booth(far, 3, codes=("X", "Y"))
    db.session.expire_all()
    codes = sorted(db.session.scalars(select(Booth.code)).all())
    assert codes == ["R1", "R2", "R3", "R4", "R9", "S1"]


def test_split_refused_while_exhibitors_wait_for_the_booth(app):
    show = booth_show(0)
    raw = ops.add_booth(show, "A", "R1", 0, 0, 6, 6, "raw")
    hold = ops.hold_booth(show, "R1", make_exhibitor(show).id)
    waiting = make_exhibitor(show)
    ops.join_waitlist(show, waiting.id, booth_code="R1")
    waiting.status = "withdrawn"           # skipped by the offer, but still in the queue
    db.session.commit()
    ops.release(hold, "changed plans")
    with pytest.raises(ops.BoothError, match="Booth R1 has a waiting list \\(1 waiting\\)") as err:
        ops.split_booth(raw, 2, codes=("R1A", "R1B"))
    assert err.value.code == "has_waitlist"
    ops.leave_waitlist(db.session.scalar(select(WaitlistEntry)))
    left, right = ops.split_booth(raw, 2, codes=("R1A", "R1B"))
    assert (left.code, left.width_cm, right.code, right.width_cm) == ("R1A", 200, "R1B", 400)


def test_floor_plan_cache_follows_layout_changes(client):
    from tests.factories import make_user
    show = booth_show(0)
    raw = ops.add_booth(show, "A", "R1", 0, 0, 12, 6, "raw")
    client.login(make_user("organizer"))
    assert 'data-code="R1"' in client.get(f"/shows/{show.slug}/booths/").get_data(as_text=True)
    ops.split_booth(raw, 5, codes=("R1A", "R1B"))
    page = client.get(f"/shows/{show.slug}/booths/").get_data(as_text=True)
    assert 'data-code="R1"' not in page and 'data-code="R1A"' in page and 'data-code="R1B"' in page
    ops.hold_booth(show, "R1B", make_exhibitor(show, "缓存测试公司").id)
    page = client.get(f"/shows/{show.slug}/booths/").get_data(as_text=True)      # statuses are never cached
    assert 'data-code="R1B" data-status="held"' in page and "缓存测试公司" in page


def test_a_hold_found_expired_on_reserve_goes_to_the_next_in_line(app):
    show = booth_show(1)
    holder, waiting = make_exhibitor(show), make_exhibitor(show)
    hold = ops.hold_booth(show, "A101", holder.id)
    ops.join_waitlist(show, waiting.id, booth_code="A101")
    hold.held_until = ops.utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(ops.BoothError, match="expired"):
        ops.reserve(hold)
    db.session.expire_all()
    offer = db.session.scalar(select(Booking).where(Booking.status == "held"))
    assert offer is not None and offer.exhibitor_id == waiting.id
    assert db.session.scalar(select(WaitlistEntry.status)) == "offered"
