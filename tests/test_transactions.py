"""The one transaction helper (crm_expo.database.transaction) and the one error base."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from blinker import Namespace
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_expo import signals
from crm_expo.database import transaction
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.models import Setting, ShowDay
from tests.factories import make_show

announced = Namespace().signal("test-announced")


@pytest.fixture
def heard():
    got = []

    def receiver(sender, **kw):
        # A receiver runs after the commit: another session sees the row already.
        got.append((sender, kw, _committed_settings()))
    announced.connect(receiver)
    yield got
    announced.disconnect(receiver)


def _committed_settings() -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Setting)).scalar()


def _taken(key="test.key"):
    return DomainError(f"{key} exists already.", "duplicate", field="key", status=409)


def test_a_signal_is_sent_once_after_the_commit_also_from_a_nested_step(app, heard):
    with transaction():
        db.session.add(Setting(key="test.outer", value=1))
        signals.send_after_commit(announced, "outer", n=1)
        with transaction():
            db.session.add(Setting(key="test.inner", value=2))
            signals.send_after_commit(announced, "inner", n=2)
        assert heard == []            # nothing before the outermost commit …
        assert _committed_settings() == 0     # … and the inner step committed nothing
    assert [(s, kw) for s, kw, _ in heard] == [("outer", {"n": 1}), ("inner", {"n": 2})]
    assert all(seen == 2 for _, _, seen in heard)


def test_no_signal_and_nothing_written_on_a_rollback(app, heard):
    with pytest.raises(DomainError):
        with transaction():
            db.session.add(Setting(key="test.key", value=1))
            with transaction():
                signals.send_after_commit(announced, "inner")
            raise DomainError("refused")
    assert heard == []
    assert _committed_settings() == 0
    with transaction():             # the next transaction starts clean: nothing left queued
        pass
    assert heard == []


def test_a_failed_savepoint_drops_its_signals_and_keeps_the_outer_work(app, heard):
    with transaction():
        db.session.add(Setting(key="test.kept", value=1))
        signals.send_after_commit(announced, "kept")
        with pytest.raises(DomainError):
            with transaction(savepoint=True, constraint_errors={"uq_settings_global_key": _taken()}):
                signals.send_after_commit(announced, "dropped")
                db.session.add(Setting(key="test.kept", value=2))
    assert [s for s, _, _ in heard] == ["kept"]
    assert db.session.scalar(select(Setting.value).where(Setting.key == "test.kept")) == 1


def test_outside_a_transaction_a_signal_goes_at_once(app, heard):
    signals.send_after_commit(announced, "now")
    assert [s for s, _, _ in heard] == ["now"]


def test_a_named_unique_index_becomes_the_domain_error(app):
    with transaction():
        db.session.add(Setting(key="test.key", value=1))
    with pytest.raises(DomainError) as caught:
        with transaction(constraint_errors={"uq_settings_global_key": _taken()}):
            db.session.add(Setting(key="test.key", value=2))
    assert caught.value.code == "duplicate" and caught.value.status == 409 and caught.value.field == "key"
    assert isinstance(caught.value.__cause__, IntegrityError)
    assert db.session.scalar(select(Setting.value).where(Setting.key == "test.key")) == 1


def test_a_named_unique_constraint_and_a_check_constraint_become_domain_errors(app):
    show = make_show(days=1)
    with pytest.raises(DomainError, match="day twice"):
        with transaction(constraint_errors={"uq_show_days_show_id": DomainError("day twice")}):
            db.session.add(ShowDay(show_id=show.id, date=show.start))
    with pytest.raises(DomainError, match="hours"):
        with transaction(constraint_errors={"ck_show_days_hours": DomainError("hours")}):
            db.session.add(ShowDay(show_id=show.id, date=show.start + dt.timedelta(days=5),
                                   opens=dt.time(18), closes=dt.time(9)))


def test_a_violation_of_another_constraint_still_raises(app):
    show = make_show(days=1)
    with pytest.raises(IntegrityError):
        with transaction(constraint_errors={"uq_settings_global_key": _taken()}):
            db.session.add(ShowDay(show_id=show.id, date=show.start))
    assert db.session.scalar(select(func.count()).select_from(ShowDay)) == 1


def test_the_error_base_as_json(app):
    assert DomainError("Booth A1 is taken.", "booth_taken", status=409).json() == \
        {"error": {"code": "booth_taken", "message": "Booth A1 is taken."}}
    assert DomainError("Give a number.", field="rate").json()["error"] == \
        {"code": "refused", "message": "Give a number.", "field": "rate"}


def test_every_plugin_error_derives_from_the_base(app):
    from crm_expo.api import ApiError
    from crm_expo.operations import CoreError
    from plugins.booths.operations import BoothError
    from plugins.exhibitors.operations import ExhibitorError
    from plugins.onsite.operations import OnsiteError
    from plugins.suppliers.operations import SupplierError
    from plugins.visitors.operations import VisitorError
    for error in (ApiError, CoreError, BoothError, ExhibitorError, OnsiteError, SupplierError, VisitorError):
        assert issubclass(error, DomainError), error


def _race(app, n, work):
    """Run ``work()`` in n real threads at once, each with its own app context and session."""
    barrier, results = threading.Barrier(n), []

    def one():
        with app.app_context():
            barrier.wait()
            try:
                results.append(("ok", work()))
            except DomainError as exc:
                results.append((exc.code, None))
            except Exception as exc:   # "database is locked" or a bare IntegrityError: the test fails
                results.append((repr(exc), None))
            finally:
                db.session.remove()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(code for code, _ in results)


def test_two_writers_racing_for_one_row_get_one_success_and_one_domain_error(app):
    db.session.commit()

    def write():
        with transaction(constraint_errors={"uq_settings_global_key": _taken()}):
            db.session.add(Setting(key="test.race", value=1))
    assert _race(app, 2, write) == ["duplicate", "ok"]
    assert _committed_settings() == 1


def test_two_desks_holding_one_booth_at_once_one_gets_it_one_is_told(app):
    from plugins.booths import operations as ops
    from plugins.booths.models import Booking
    from plugins.booths.tests.helpers import booth_show, make_exhibitor
    show = booth_show(1)
    exhibitors = [make_exhibitor(show).id, make_exhibitor(show).id]
    show_id = show.id
    db.session.commit()

    def hold():
        from crm_expo.models import Show
        return ops.hold_booth(db.session.get(Show, show_id), "A101", exhibitors.pop()).id
    assert _race(app, 2, hold) == ["booth_taken", "ok"]
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_the_api_answers_a_refusal_no_endpoint_caught_with_its_status_and_field(make_app):
    from flask import Blueprint

    from crm_expo.access import public
    from crm_expo.extensions import csrf
    app = make_app()
    bp = Blueprint("refusal_api", __name__, url_prefix="/api/v1/test")

    @bp.post("/refuse")
    @public
    def refuse():
        with transaction():
            db.session.add(Setting(key="test.half-written", value=1))
            raise DomainError("The rate must be a whole number.", "bad_rate", field="rates.shell", status=400)
    csrf.exempt(bp)
    app.register_blueprint(bp)
    with app.app_context():
        resp = app.test_client().post("/api/v1/test/refuse")
        assert resp.status_code == 400
        assert resp.get_json() == {"error": {"code": "bad_rate", "message": "The rate must be a whole number.",
                                             "field": "rates.shell"}}
        assert _committed_settings() == 0     # nothing half-written


def test_a_dry_run_runs_the_block_then_keeps_nothing_and_announces_nothing(app, heard):
    with transaction(dry_run=True):
        db.session.add(Setting(key="test.trial", value=1))
        signals.send_after_commit(announced, "trial")
        db.session.flush()
        assert db.session.scalar(select(func.count()).select_from(Setting)) == 1   # seen inside the block
    assert heard == []
    assert _committed_settings() == 0
    assert db.session.scalar(select(func.count()).select_from(Setting)) == 0
