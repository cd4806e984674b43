"""The money entries of the audit log are hash-chained: an auditor can see that no price or
payment was changed in silence (issue 19, item 9; ASVS 5.0 V16.4.2 log protection)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

from sqlalchemy import func, select, update

from crm_expo.config import ALL_PLUGINS
from crm_expo.extensions import db
from crm_expo.models import AuditEntry, Show
from crm_expo.models.audit import GENESIS, verify_chain
from plugins.booths import operations as ops
from plugins.booths.tests.helpers import booth_show, make_exhibitor


def _money_trail(show):
    ops.add_discount_rule(show, "Loyal", 5)
    booking = ops.hold_booth(show, "A101", make_exhibitor(show).id)
    ops.reserve(booking)
    ops.record_payment(booking, booking.price_minor // 2, method="bank_transfer")
    return booking


def _cli(database, tmp_path, *args):
    url, _reset = database
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_INSTANCE_PATH=str(tmp_path), CRM_EXPO_SECRET_KEY="x",
               CRM_EXPO_PLUGINS=",".join(ALL_PLUGINS))
    db.session.commit()
    return subprocess.run([sys.executable, "-m", "crm_expo", "audit", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def _chained():
    return db.session.scalars(select(AuditEntry).where(AuditEntry.entry_hash.is_not(None))
                              .order_by(AuditEntry.id)).all()


def test_money_entries_form_one_chain_that_verifies(app, database, tmp_path):
    _money_trail(booth_show(2))
    chained = _chained()
    assert [e.action for e in chained] == ["price_list.publish", "discount_rule.create", "booking.hold", "booking.reserve",
                                           "booking.payment"]
    assert chained[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in zip(chained, chained[1:], strict=False))
    # entries that are not about money stay outside the chain
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action.like("booth.%"), AuditEntry.entry_hash.is_not(None))) == 0
    assert verify_chain() == (5, None, "")
    r = _cli(database, tmp_path, "verify")
    assert r.returncode == 0 and "audit chain intact: 5 entries" in r.stdout, r.stderr


def test_a_payment_changed_in_the_database_is_found(app, database, tmp_path):
    _money_trail(booth_show(2))
    payment = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "booking.payment"))
    forged = dict(payment.after, amount_minor=1)
    db.session.execute(update(AuditEntry).where(AuditEntry.id == payment.id).values(after=forged))
    db.session.commit()
    db.session.expire_all()
    checked, broken, why = verify_chain()
    assert (checked, broken.id, why) == (4, payment.id, "changed")
    r = _cli(database, tmp_path, "verify")
    assert r.returncode == 1 and f"broken at entry {payment.id} (booking.payment" in r.stderr
    assert "contents were changed" in r.stderr


def test_a_removed_entry_is_found(app):
    _money_trail(booth_show(2))
    hold = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "booking.hold"))
    reserve = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "booking.reserve"))
    db.session.delete(hold)
    db.session.commit()
    checked, broken, why = verify_chain()
    assert (checked, broken.id, why) == (2, reserve.id, "missing")


def test_parallel_bookings_extend_one_chain_without_a_fork(app):
    show = booth_show(8)
    exhibitors = [make_exhibitor(show).id for _ in range(8)]
    slug = show.slug
    db.session.commit()
    errors = []

    def book(i):
        with app.app_context():
            try:
                s = db.session.scalar(select(Show).where(Show.slug == slug))
                ops.reserve(ops.hold_booth(s, f"A{101 + i}", exhibitors[i]))
            except Exception as exc:      # the test reports any failure
                errors.append(repr(exc))
            finally:
                db.session.remove()
    threads = [threading.Thread(target=book, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    checked, broken, _why = verify_chain()
    assert broken is None and checked == 1 + 16     # the price list, then a hold and a reserve each
