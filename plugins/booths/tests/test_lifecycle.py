"""Booking lifecycle, prices, payments, numbering, waiting list and bad input."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from crm_expo import signals
from crm_expo.extensions import db
from crm_expo.models import AuditEntry
from plugins.booths import operations as ops
from plugins.booths.models import Booking, Payment
from tests.factories import make_org, make_user

from .helpers import booth_show, make_exhibitor


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_full_lifecycle_is_priced_audited_and_announced(app):
    show = booth_show(deposit_pct=30)
    ex = make_exhibitor(show, "上海食品有限公司")
    seen = []
    handler = lambda sender, **kw: seen.append((kw.get("old"), kw.get("new")))  # noqa: E731
    signals.booking_changed.connect(handler)
    try:
        b = ops.hold_booth(show, "a101", ex.id)
        assert (b.status, b.list_price_minor, b.price_minor) == ("held", 900_000, 900_000)   # 9 m² × 1000.00
        assert b.price_breakdown["base_minor"] == 900_000
        ops.reserve(b)
        assert b.contract_no == "C-00001"
        with pytest.raises(ops.BoothError, match="deposit"):
            ops.confirm(b)
        ops.record_payment(b, 270_000, method="bank_transfer", reference="TT-1")
        assert b.status == "confirmed"                  # the deposit moved it on
        ops.record_payment(b, 630_000, method="alipay")
        assert (b.status, b.balance_minor) == ("paid", 0)
    finally:
        signals.booking_changed.disconnect(handler)
    assert seen == [(None, "held"), ("held", "reserved"), ("reserved", "confirmed"), ("confirmed", "paid")]
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "Booking",
                                                                 AuditEntry.object_id == str(b.id))).all()
    assert actions == ["booking.hold", "booking.reserve", "booking.payment", "booking.payment"]
    assert [p.invoice_no for p in db.session.scalars(select(Payment).order_by(Payment.id))] == ["I-00001", "I-00002"]


def test_price_breakdown_corner_open_sides_and_early_bird(app):
    show = booth_show(0, corner_surcharge_pct=10, open_side_surcharge_pct=5,
                      early_bird_until=dt.date.today() + dt.timedelta(days=1), early_bird_pct=20)
    booth = ops.add_booth(show, "A", "C1", 0, 0, 4, 3, "corner", 2)
    q = ops.quote(booth, dt.date.today())
    base = 12 * 120_000
    assert q["base_minor"] == base and q["corner_minor"] == base // 10 and q["open_sides_minor"] == base * 5 // 100
    assert q["early_bird_minor"] == (base + base // 10 + base * 5 // 100) * 20 // 100
    later = ops.quote(booth, dt.date.today() + dt.timedelta(days=2))
    assert later["early_bird_minor"] == 0 and later["total_minor"] > q["total_minor"]


def test_blocked_taken_and_unknown_booths_are_refused_nothing_changes(app):
    show = booth_show()
    ex, other = make_exhibitor(show), make_exhibitor(show)
    ops.set_blocked(ops.booth_by_code(show, "A102"), True, "pillar")
    with pytest.raises(ops.BoothError, match="A102 is blocked") as err:
        ops.hold_booth(show, "A102", ex.id)
    assert err.value.code == "booth_blocked"
    ops.hold_booth(show, "A101", ex.id)
    with pytest.raises(ops.BoothError, match="already taken") as err:
        ops.hold_booth(show, "A101", other.id)
    assert err.value.code == "booth_taken" and err.value.status == 409
    with pytest.raises(ops.BoothError, match="No booth Z9"):
        ops.hold_booth(show, "Z9", ex.id)
    assert count(Booking) == 1


def test_no_price_list_means_no_booking(app):
    from tests.factories import make_show
    show = make_show()
    ops.add_booth(show, "A", "A1", 0, 0, 3, 3)
    ex = make_exhibitor(show)
    with pytest.raises(ops.BoothError, match="no published price list") as err:
        ops.hold_booth(show, "A1", ex.id)
    assert err.value.code == "no_price" and count(Booking) == 0


def test_expired_hold_releases_itself_lazily_and_by_command(app):
    show = booth_show()
    ex, other = make_exhibitor(show), make_exhibitor(show)
    b = ops.hold_booth(show, "A101", ex.id, minutes=-1)          # already past its time
    rows = {r.Booth.code: r.status for r in ops.booth_rows(show)}
    assert rows["A101"] == "available"                            # lazily, on read
    with pytest.raises(ops.BoothError, match="expired") as err:
        ops.reserve(b)
    assert err.value.code == "hold_expired"
    assert db.session.get(Booking, b.id).status == "expired"
    b2 = ops.hold_booth(show, "A102", ex.id, minutes=-1)
    result = app.test_cli_runner().invoke(args=["booths", "expire-holds", "--show", show.slug])
    assert result.exit_code == 0 and "1 holds expired" in result.output
    db.session.expire_all()
    assert db.session.get(Booking, b2.id).status == "expired"
    assert ops.hold_booth(show, "A102", other.id).status == "held"


def test_payment_bad_amounts_refused_and_balance_intact(app):
    show = booth_show()
    b = ops.hold_booth(show, "A101", make_exhibitor(show).id)
    with pytest.raises(ops.BoothError, match="reserved or confirmed"):
        ops.record_payment(b, 100)
    ops.reserve(b)
    for amount, match in ((-5, "positive"), (0, "positive"), (900_001, "exceeds the balance")):
        with pytest.raises(ops.BoothError, match=match):
            ops.record_payment(b, amount)
    assert count(Payment) == 0 and db.session.get(Booking, b.id).paid_minor == 0


def test_cancel_and_release_need_a_reason_and_free_the_booth(app):
    show = booth_show()
    ex = make_exhibitor(show)
    b = ops.hold_booth(show, "A101", ex.id)
    with pytest.raises(ops.BoothError, match="reason"):
        ops.release(b, "  ")
    assert db.session.get(Booking, b.id).status == "held"
    ops.release(b, "changed their mind")
    assert b.status == "released" and b.end_reason == "changed their mind"
    b2 = ops.hold_booth(show, "A101", ex.id)
    ops.reserve(b2)
    ops.cancel(b2, "company closed")
    with pytest.raises(ops.BoothError, match="cannot be"):
        ops.reserve(b2)
    assert {r.Booth.code: r.status for r in ops.booth_rows(show)}["A101"] == "available"


def test_move_keeps_money_and_refuses_taken_target(app):
    show = booth_show()
    ex, other = make_exhibitor(show), make_exhibitor(show)
    b = ops.hold_booth(show, "A101", ex.id)
    ops.reserve(b)
    ops.record_payment(b, 300_000)
    ops.hold_booth(show, "A103", other.id)
    with pytest.raises(ops.BoothError, match="A103 is already taken"):
        ops.move(b, "A103")
    ops.move(b, "A102")
    db.session.expire_all()
    b = db.session.get(Booking, b.id)
    assert b.booth.code == "A102" and b.paid_minor == 300_000 and b.contract_no == "C-00001"
    status = {r.Booth.code: r.status for r in ops.booth_rows(show)}
    assert status["A101"] == "available" and status["A102"] == "sold"


def test_discount_rule_and_exception_approved_by_a_second_user(app):
    show = booth_show()
    author, approver = make_user("account_manager"), make_user("organizer")
    rule = ops.add_discount_rule(show, "Big stand 10%", 10, min_area_m2=9)
    ex = make_exhibitor(show)
    b = ops.hold_booth(show, "A101", ex.id, discount_rule_id=rule.id)
    assert b.price_minor == 810_000 and b.list_price_minor == 900_000
    small = ops.add_discount_rule(show, "Huge only", 10, min_area_m2=100)
    with pytest.raises(ops.BoothError, match="does not apply"):
        ops.hold_booth(show, "A102", ex.id, discount_rule_id=small.id)
    b2 = ops.hold_booth(show, "A102", make_exhibitor(show).id)
    ops.request_price_exception(b2, 700_000, "loyal partner since 2010", author)
    with pytest.raises(ops.BoothError, match="second user"):
        ops.approve_price_exception(b2, author)
    with pytest.raises(ops.BoothError, match="awaits approval"):
        ops.reserve(b2)
    assert db.session.get(Booking, b2.id).price_minor == 900_000
    ops.approve_price_exception(b2, approver)
    assert b2.price_minor == 700_000
    deviations = {code: (rule_name, bk.exception_reason) for bk, code, _zh, _en, rule_name in ops.price_deviations(show)}
    assert deviations == {"A101": ("Big stand 10%", ""), "A102": (None, "loyal partner since 2010")}


def test_database_refuses_an_unjustified_price(app):
    """Even code that bypasses the operations cannot store a price without a rule."""
    from sqlalchemy.exc import IntegrityError
    show = booth_show()
    b = ops.hold_booth(show, "A101", make_exhibitor(show).id)
    b.price_minor = 1
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Booking, b.id).price_minor == 900_000


def test_overlapping_booth_refused_naming_both(app):
    show = booth_show(1)
    with pytest.raises(ops.BoothError, match="B1 overlaps booth A101"):
        ops.add_booth(show, "A", "B1", 2, 2, 3, 3, "raw")
    ops.add_booth(show, "A", "B2", 3, 0, 3, 3, "raw")       # touching is fine
    with pytest.raises(ops.BoothError, match="type"):
        ops.add_booth(show, "A", "B3", 50, 50, 3, 3, "tent")


def test_split_and_merge_raw_space(app):
    show = booth_show(0)
    raw = ops.add_booth(show, "A", "R1", 0, 10, 12, 6, "raw")
    left, right = ops.split_booth(raw, 5, codes=("R1A", "R1B"))
    assert (left.width_cm, right.width_cm, right.x_cm) == (500, 700, 500)
    merged = ops.merge_booths(left, right, code="R1")
    assert (merged.width_cm, merged.depth_cm) == (1200, 600)
    ops.hold_booth(show, "R1", make_exhibitor(show).id)
    with pytest.raises(ops.BoothError, match="booked"):
        ops.split_booth(merged, 5, codes=("X", "Y"))


def test_waiting_list_gets_a_time_limited_offer_on_release(app):
    show = booth_show()
    first, second, holder = make_exhibitor(show), make_exhibitor(show), make_exhibitor(show)
    b = ops.hold_booth(show, "A101", holder.id)
    ops.join_waitlist(show, first.id, booth_code="A101")
    ops.join_waitlist(show, second.id, booth_type="shell")
    with pytest.raises(ops.BoothError, match="already on"):
        ops.join_waitlist(show, first.id, booth_code="A101")
    ops.release(b, "no budget")
    offer = db.session.scalar(select(Booking).where(Booking.booth_id == b.booth_id, Booking.status == "held"))
    assert offer.exhibitor_id == first.id and offer.held_until > ops.utcnow()


def test_contract_numbers_have_no_gaps_after_a_refusal(app):
    show = booth_show(3)
    exs = [make_exhibitor(show) for _ in range(3)]
    bookings = [ops.hold_booth(show, f"A10{i + 1}", exs[i].id) for i in range(3)]
    ops.reserve(bookings[0])
    bookings[1].held_until = ops.utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(ops.BoothError):
        ops.reserve(bookings[1])
    ops.reserve(bookings[2])
    assert [db.session.get(Booking, b.id).contract_no for b in bookings] == ["C-00001", None, "C-00002"]


def test_figures_count_contracted_space_only(app):
    show = booth_show(4)
    ex = make_exhibitor(show)
    ops.hold_booth(show, "A101", ex.id)                         # a hold is not a contract
    b = ops.hold_booth(show, "A102", ex.id)
    ops.reserve(b)
    ops.record_payment(b, 300_000)
    f = ops.figures(show)
    assert f["net_m2"] == 9 and f["gross_m2"] == 36 and f["occupancy_pct"] == 25.0
    assert (f["revenue_booked_minor"], f["revenue_received_minor"]) == (900_000, 300_000)
    assert f["m2_by_type"] == {"shell": 9} and f["m2_by_hall"] == {"A": 9}


def test_customer_history_lists_booths_per_edition(app):
    show = booth_show()
    ex = make_exhibitor(show, "历史公司")
    b = ops.hold_booth(show, "A101", ex.id)
    ops.reserve(b)
    from crm_expo import hooks
    from crm_expo.models import Organization
    org = db.session.get(Organization, ex.organization_id)
    entries = [e for piece in hooks.values("customer.history", organization=org) for e in piece]
    mine = [e for e in entries if e["kind"] == "booths"]
    assert len(mine) == 1 and "A101" in mine[0]["value"] and "9 m²" in mine[0]["value"]


def _edition(series: str, year: int):
    """A booth show of ``series`` starting on 10 May of ``year``."""
    from crm_expo.operations import change_show_dates, series_for, set_show_series
    show = booth_show()
    change_show_dates(show, dt.date(year, 5, 10), 3)
    set_show_series(show, series_for(series, name_zh=f"{series}展"))
    return show


def test_rebooking_offers_previous_booth_by_priority(app):
    from crm_expo.models import Organization
    last = _edition("foodexpo", 2026)
    org_ex = make_exhibitor(last, "老客户公司")
    b = ops.hold_booth(last, "A103", org_ex.id)
    ops.reserve(b)
    ops.record_payment(b, 900_000)
    nxt = _edition("foodexpo", 2027)
    returning = make_exhibitor(nxt, org=db.session.get(Organization, org_ex.organization_id))
    make_exhibitor(nxt)                                   # a newcomer gets no points
    ranking = ops.priority_points(nxt)
    assert [r["exhibitor_id"] for r in ranking] == [returning.id] and ranking[0]["points"] == 10 + 0 + 5
    offers = ops.offer_previous_booths(nxt)
    assert [(o.booth.code, o.exhibitor_id, o.status) for o in offers] == [("A103", returning.id, "held")]


def test_rebooking_priority_counts_editions_of_the_same_series_only(app):
    from crm_expo.models import Organization
    wine = _edition("wine-fair", 2026)              # another series' show, earlier
    food_2025 = _edition("foodexpo", 2025)
    food_2026 = _edition("foodexpo", 2026)
    food_2027 = _edition("foodexpo", 2027)
    later = _edition("foodexpo", 2028)              # a later edition does not count either
    loyal, wine_only = make_org("两届老客户"), make_org("葡萄酒展客户")
    for show, org, code in ((food_2025, loyal, "A101"), (food_2026, loyal, "A102"), (wine, wine_only, "A101"),
                            (later, wine_only, "A104")):
        booking = ops.hold_booth(show, code, make_exhibitor(show, org=org).id)
        ops.reserve(booking)
        ops.record_payment(booking, booking.price_minor)
    back = make_exhibitor(food_2027, org=db.session.get(Organization, loyal.id))
    stranger = make_exhibitor(food_2027, org=db.session.get(Organization, wine_only.id))
    ranking = ops.priority_points(food_2027)
    assert [(r["exhibitor_id"], r["editions"]) for r in ranking] == [(back.id, 2)]
    assert stranger.id not in {r["exhibitor_id"] for r in ranking}
    # the window offers the booth of the previous edition (2026), not the older one
    offers = ops.offer_previous_booths(food_2027)
    assert [(o.booth.code, o.exhibitor_id) for o in offers] == [("A102", back.id)]


def test_generate_lays_out_booths_and_books_some_deterministically(app):
    import random

    from tests.factories import make_show

    def run():
        show = make_show()
        for _ in range(5):
            make_exhibitor(show)
        ops.generate(show, {"booths": 450}, random.Random("7:booths"))
        rows = ops.booth_rows(show)
        return show, [(r.Booth.code, r.status) for r in rows]

    show, first = run()
    _, second = run()
    assert len(first) == 450 and first == second
    assert [h.code for h in ops.halls(show)] == ["A", "B"]
    statuses = {s for _, s in first}
    assert {"available", "sold"} <= statuses
    active = db.session.scalar(select(func.count()).select_from(Booking).where(
        Booking.show_id == show.id, Booking.status.in_(("held", "reserved", "confirmed", "paid"))))
    assert 200 < active < 300
    assert ops.figures(show)["net_m2"] > 0


def test_the_exhibitor_record_shows_its_booth_bookings(client, app):
    """The booths plugin's section on the exhibitors plugin's page, through a page hook."""
    from tests.factories import make_user
    show = booth_show()
    ex = make_exhibitor(show, "展位区块公司")
    booking = ops.hold_booth(show, "A101", ex.id)
    db.session.commit()
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/exhibitors/{ex.id}").get_data(as_text=True)
    assert 'id="booth-bookings"' in page and "A101" in page and f"/booking/{booking.id}" in page
    agent = app.test_client()
    agent.login(make_user("service_agent"))            # sees the record, not the bookings
    page = agent.get(f"/shows/{show.slug}/exhibitors/{ex.id}").get_data(as_text=True)
    assert "A101" not in page and 'id="booth-bookings"' not in page
