"""The migration that lets imported badge codes be 6 to 64 characters keeps every scan, lead
and code of the registrations (on SQLite, rebuilding visitors_registration would delete them:
ON DELETE CASCADE), then takes a 6-character code and still refuses a 5-character one."""
import pytest
from alembic import command
from sqlalchemy import func, select, text

from crm_expo.extensions import db
from crm_expo.migrations import alembic_config, upgrade
from plugins.onsite import operations as onsite_ops
from plugins.onsite.models import Scan
from plugins.onsite.tests.helpers import register, today_show

BEFORE = "1e1e0b2172f1"


def test_upgrade_keeps_the_scans_and_admits_codes_of_6_to_64_characters(walked_down_to):
    app = walked_down_to(BEFORE)
    show = today_show()
    reg = register(show)
    with app.test_request_context():
        assert onsite_ops.check_in(show, reg.badge_code, "A")["result"] == "ok"
    reg_id, show_id = reg.id, show.id
    db.session.commit()
    upgrade(app)
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Scan).where(Scan.registration_id == reg_id)) == 1
    db.session.execute(text("UPDATE visitors_registration SET badge_code = 'AB12CD' WHERE id = :r"), {"r": reg_id})
    db.session.execute(text("INSERT INTO visitors_badge_code (code, registration_id, show_id, issued_at, "
                            "revoke_reason) VALUES ('AB12CD', :r, :s, '2027-01-01 00:00:00', '')"),
                       {"r": reg_id, "s": show_id})
    db.session.commit()
    with pytest.raises(Exception, match="CHECK|check"):
        db.session.execute(text("UPDATE visitors_registration SET badge_code = 'AB12C' WHERE id = :r"),
                           {"r": reg_id})
    db.session.rollback()
    db.session.execute(text("DELETE FROM visitors_badge_code WHERE code = 'AB12CD'"))
    db.session.execute(text("UPDATE visitors_registration SET badge_code = 'ABCDEFGH2345' WHERE id = :r"),
                       {"r": reg_id})
    db.session.commit()
    command.downgrade(alembic_config(app), BEFORE)
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Scan).where(Scan.registration_id == reg_id)) == 1
