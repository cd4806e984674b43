"""The booths migration that made 'one waiting entry per exhibitor and target' a database
rule: it keeps the first of the duplicates the old index let in, and goes back down cleanly."""
import pytest
from sqlalchemy import text

from crm_expo.extensions import db
from crm_expo.migrations import upgrade
from tests.factories import make_show

from .helpers import make_exhibitor

BEFORE = "8891a5a3a7a8"     # booths tables, with the old waiting-list index


def test_upgrade_keeps_the_first_of_duplicate_waiting_entries(walked_down_to):
    app = walked_down_to(BEFORE)
    show = make_show()
    ex = make_exhibitor(show).id
    conn = db.session.connection()
    for created in ("2027-01-01 10:00:00", "2027-01-02 10:00:00", "2027-01-03 10:00:00"):
        conn.execute(text("INSERT INTO booths_waitlist_entry (show_id, exhibitor_id, booth_id, booth_type, "
                          "created_at) VALUES (:s, :e, NULL, 'shell', :c)"), {"s": show.id, "e": ex, "c": created})
    db.session.commit()
    upgrade(app)
    rows = db.session.execute(text("SELECT created_at, status FROM booths_waitlist_entry ORDER BY id")).all()
    assert [r[1] for r in rows] == ["waiting", "left", "left"]
    with pytest.raises(Exception, match="UNIQUE"):
        db.session.execute(text("INSERT INTO booths_waitlist_entry (show_id, exhibitor_id, booth_type, "
                                "created_at, status) VALUES (:s, :e, 'shell', '2027-02-01', 'waiting')"),
                           {"s": show.id, "e": ex})
    db.session.rollback()
