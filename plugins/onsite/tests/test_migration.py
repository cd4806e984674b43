"""The onsite migration that folded three scan indexes into two: non-first scans become NULL
(never FALSE), and the one unique index still refuses a second first entry per person and
day; it goes back down cleanly."""
import pytest
from alembic import command
from sqlalchemy import text

from crm_expo.extensions import db
from crm_expo.migrations import alembic_config, upgrade

from .helpers import register, today_show

BEFORE = "808cebdb8d8c"     # onsite tables with first_entry TRUE/FALSE and a partial unique index
SCAN = ("INSERT INTO onsite_scan (show_id, registration_id, code, gate, desk, device, direction, day, at, "
        "result, reason, category, first_entry) VALUES (:s, :r, 'X', 'A', '', '', 'in', '2027-03-01', "
        "'2027-03-01 09:00:00', :result, '', 'public', :first)")


def test_upgrade_turns_false_into_null_and_keeps_one_first_entry_per_day(walked_down_to):
    app = walked_down_to(BEFORE)
    show = today_show()
    reg = register(show).id
    conn = db.session.connection()
    conn.execute(text(SCAN), {"s": show.id, "r": reg, "result": "ok", "first": True})
    conn.execute(text(SCAN), {"s": show.id, "r": reg, "result": "already_in", "first": False})
    db.session.commit()
    upgrade(app)
    rows = db.session.execute(text("SELECT result, first_entry FROM onsite_scan ORDER BY id")).all()
    assert rows == [("ok", 1), ("already_in", None)]
    # Many non-first scans of one person on one day; a second first entry is refused.
    db.session.execute(text(SCAN), {"s": show.id, "r": reg, "result": "already_in", "first": None})
    db.session.commit()
    with pytest.raises(Exception, match="UNIQUE"):
        db.session.execute(text(SCAN), {"s": show.id, "r": reg, "result": "ok", "first": True})
    db.session.rollback()
    with pytest.raises(Exception, match="CHECK"):   # FALSE is not a value any more
        db.session.execute(text(SCAN), {"s": show.id, "r": reg, "result": "already_in", "first": False})
    db.session.rollback()
    command.downgrade(alembic_config(app), BEFORE)
    assert db.session.execute(text("SELECT count(*) FROM onsite_scan WHERE NOT first_entry")).scalar() == 2
