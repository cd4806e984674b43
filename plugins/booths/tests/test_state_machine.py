"""Hypothesis stateful test: no sequence of operations breaks the booking invariants."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from crm_expo.extensions import db
from plugins.booths import operations as ops
from plugins.booths.models import ACTIVE_STATES, Booking, Booth, Payment, WaitlistEntry

from .helpers import booth_show, make_exhibitor

CODES = ["A101", "A102", "A103"]


def test_no_sequence_of_operations_breaks_the_invariants(app):
    class Bookings(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            self.show = booth_show(3, deposit_pct=30)
            self.exhibitors = [make_exhibitor(self.show).id for _ in range(3)]
            self.contracts = 0

        def _any_booking(self, i):
            ids = db.session.scalars(select(Booking.id).where(Booking.show_id == self.show.id).order_by(Booking.id)).all()
            return db.session.get(Booking, ids[i % len(ids)]) if ids else None

        def _try(self, fn, *args, **kw):
            try:
                return fn(*args, **kw)
            except ops.BoothError:
                return None

        @rule(code=st.sampled_from(CODES), ex=st.integers(0, 2), expired=st.booleans())
        def hold(self, code, ex, expired):
            self._try(ops.hold_booth, self.show, code, self.exhibitors[ex], minutes=-1 if expired else 60)

        @rule(i=st.integers(0, 20))
        def reserve(self, i):
            b = self._any_booking(i)
            if b is not None and self._try(ops.reserve, b) is not None:
                self.contracts += 1

        @rule(i=st.integers(0, 20))
        def confirm(self, i):
            b = self._any_booking(i)
            if b is not None:
                self._try(ops.confirm, b)

        @rule(i=st.integers(0, 20), amount=st.integers(-10, 1_000_000))
        def pay(self, i, amount):
            b = self._any_booking(i)
            if b is not None:
                self._try(ops.record_payment, b, amount)

        @rule(i=st.integers(0, 20), reason=st.sampled_from(["", "no budget"]))
        def cancel(self, i, reason):
            b = self._any_booking(i)
            if b is not None:
                self._try(ops.cancel, b, reason)

        @rule(i=st.integers(0, 20))
        def release(self, i):
            b = self._any_booking(i)
            if b is not None:
                self._try(ops.release, b, "released")

        @rule(i=st.integers(0, 20), code=st.sampled_from(CODES))
        def move(self, i, code):
            b = self._any_booking(i)
            if b is not None:
                self._try(ops.move, b, code)

        @rule(code=st.sampled_from(CODES), blocked=st.booleans())
        def block(self, code, blocked):
            self._try(ops.set_blocked, ops.booth_by_code(self.show, code), blocked, "maintenance")

        @rule()
        def expire(self):
            ops.expire_holds(self.show)

        @rule(ex=st.integers(0, 2), what=st.sampled_from(CODES + ["shell", "raw"]))
        def join_waitlist(self, ex, what):
            kw = {"booth_type": what} if what in ("shell", "raw") else {"booth_code": what}
            self._try(ops.join_waitlist, self.show, self.exhibitors[ex], **kw)

        @rule(i=st.integers(0, 20))
        def leave_waitlist(self, i):
            ids = db.session.scalars(select(WaitlistEntry.id).where(WaitlistEntry.show_id == self.show.id)
                                     .order_by(WaitlistEntry.id)).all()
            if ids:
                self._try(ops.leave_waitlist, db.session.get(WaitlistEntry, ids[i % len(ids)]))

        @invariant()
        def invariants(self):
            if not hasattr(self, "show"):
                return
            db.session.expire_all()
            rows = db.session.scalars(select(Booking).where(Booking.show_id == self.show.id)).all()
            active = [b for b in rows if b.status in ACTIVE_STATES]
            assert len({b.booth_id for b in active}) == len(active), "a booth sold twice"
            for b in rows:
                paid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount_minor), 0))
                                         .where(Payment.booking_id == b.id))
                assert b.paid_minor == paid <= b.price_minor
                assert b.price_minor == b.list_price_minor       # no rule, no exception here
                if b.status in ("reserved", "confirmed", "paid"):
                    assert b.contract_no is not None
                if b.status == "paid":
                    assert b.paid_minor == b.price_minor
                if b.status == "confirmed":
                    assert b.paid_minor >= b.deposit_minor
            numbers = sorted(int(b.contract_no[2:]) for b in rows if b.contract_no)
            assert numbers == list(range(1, len(numbers) + 1)), "contract numbers with gaps"
            assert len(numbers) == self.contracts
            for r in ops.booth_rows(self.show):
                if r.Booth.blocked:
                    assert r.status == "blocked"
            entries = db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.show_id == self.show.id)).all()
            waiting = [(e.exhibitor_id, e.booth_id, e.booth_type) for e in entries if e.status == "waiting"]
            assert len(set(waiting)) == len(waiting), "an exhibitor waits twice for the same thing"
            by_id = {b.id: b for b in rows}
            for e in entries:
                if e.status == "offered":
                    offer = by_id[e.offered_booking_id]
                    assert offer.exhibitor_id == e.exhibitor_id and e.offer_until is not None
            # Nobody waits for a specific booth that is free: freeing a booth offers it.
            taken = {b.booth_id for b in active}
            for e in entries:
                if e.status == "waiting" and e.booth_id is not None:
                    booth = db.session.get(Booth, e.booth_id)
                    assert booth.blocked or booth.id in taken, f"{booth.code} free while someone waits"

        def teardown(self):
            db.session.rollback()
            # A fresh database for the next example.
            from sqlalchemy import text
            for t in ("booths_payment", "booths_waitlist_entry", "booths_booking", "booths_document_counter",
                      "booths_discount_rule", "booths_price_list", "booths_booth", "booths_hall",
                      "exhibitors_exhibitor", "audit_entries"):
                db.session.execute(text(f"DELETE FROM {t}"))
            db.session.commit()

    Bookings.TestCase.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
    Bookings.TestCase().runTest()
