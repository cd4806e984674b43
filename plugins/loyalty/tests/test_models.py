"""Each model on small hand-computed datasets; status and stage rules."""
from __future__ import annotations

import pytest

from crm_expo.database import transaction
from crm_expo.extensions import db
from crm_expo.models import set_setting
from crm_expo.settings import SettingError
from plugins.exhibitors.models import Exhibitor
from plugins.loyalty import operations as ops
from plugins.loyalty.models import Segment, SegmentChange

from .helpers import orgs, series, took_part


def by_org(show):
    return {s.organization_id: s for s in db.session.query(Segment).filter_by(show_id=show.id)}


def test_abc_shares_before_ties_by_id_and_zero_spend(app):
    closed, now = series()
    a, b, c, d, e = orgs(5)
    # window total 100: a 60 (before 0 → A), b 20 (before 60 → A), c 10 (before 80 → B),
    # d 10 (tie with c, higher id: before 90 → B), e 0 (C: nothing paid)
    for org, paid in ((a, 60), (b, 20), (c, 10), (d, 10), (e, 0)):
        took_part(org, closed[-1], paid=paid * 100)
    ops.recompute(now)
    seg = by_org(now)
    assert [seg[o.id].abc for o in (a, b, c, d, e)] == ["A", "A", "B", "B", "C"]
    assert seg[d.id].reasons["abc"]["share_before_pct"] == 90.0
    assert seg[c.id].reasons["abc"]["share_before_pct"] == 80.0


def test_one_organization_is_a_and_new(app):
    closed, now = series()
    (only,) = orgs(1)
    took_part(only, closed[-1], paid=5000)
    ops.recompute(now)
    s = by_org(now)[only.id]
    assert (s.abc, s.status, s.stage, s.ladder, s.dick_basu) == ("A", "new", "cultivation", "follower", "unknown")
    assert s.reinartz_kumar == "butterfly"          # profitable (= the median of one), 1 edition: short


def test_status_rules(app):
    closed, now = series()
    loyal, repeat, new, lost, back = orgs(5)
    for show in closed:
        took_part(loyal, show)
    took_part(repeat, closed[1]); took_part(repeat, closed[2])          # noqa: E702
    took_part(new, closed[2])
    took_part(lost, closed[0]); took_part(lost, closed[1])              # noqa: E702
    took_part(back, closed[0])
    with transaction():
        db.session.add(Exhibitor(show_id=now.id, organization_id=back.id, status="applied"))
    ops.recompute(now)
    seg = by_org(now)
    assert {o: seg[x.id].status for o, x in (("loyal", loyal), ("repeat", repeat), ("new", new), ("lost", lost),
                                              ("back", back))} == \
        {"loyal": "loyal", "repeat": "repeat", "new": "new", "lost": "lost", "back": "repeat"}
    assert seg[lost.id].stage == "dissolution" and seg[lost.id].ladder == "suspect"
    assert seg[loyal.id].stage == "trust"
    assert seg[repeat.id].stage == "confirmation"


def test_loyal_needs_a_full_window(app):
    closed, now = series(n_closed=2)
    (org,) = orgs(1)
    for show in closed:
        took_part(org, show)
    ops.recompute(now)
    assert by_org(now)[org.id].status == "repeat"


def test_stage_weakening_signals(app):
    closed, now = series()
    smaller, unhappy, gap = orgs(3)
    took_part(smaller, closed[1], m2=36); took_part(smaller, closed[2], m2=18)      # noqa: E702
    took_part(unhappy, closed[1]); took_part(unhappy, closed[2], satisfaction=2)    # noqa: E702
    took_part(gap, closed[0]); took_part(gap, closed[2])                            # noqa: E702
    ops.recompute(now)
    seg = by_org(now)
    assert all(seg[o.id].stage == "weakening" for o in (smaller, unhappy, gap))
    assert seg[smaller.id].reasons["stage"]["signs"][0] == {"sign": "smaller_booth", "before": 36.0, "now": 18.0}
    assert [s["sign"] for s in seg[gap.id].reasons["stage"]["signs"]] == ["missed_edition"]


def test_dick_basu_attitude_and_unknown(app):
    closed, now = series()
    loyal, latent, spurious, unknown = orgs(4)
    for show in closed:
        took_part(loyal, show, recommend=9)
        took_part(spurious, show, recommend=3)
        took_part(unknown, show)
    took_part(latent, closed[2], satisfaction=5)      # satisfaction 5 → attitude 10 when no would-recommend
    ops.recompute(now)
    seg = by_org(now)
    assert [seg[o.id].dick_basu for o in (loyal, latent, spurious, unknown)] == \
        ["loyal", "latent_loyal", "spurious_loyal", "unknown"]
    assert seg[latent.id].reasons["dick_basu"]["attitude_from"] == "satisfaction"
    assert seg[latent.id].reasons["dick_basu"]["repeat_rate_pct"] == 33.3


def test_reinartz_kumar_and_value_matrix(app):
    closed, now = series(n_closed=3)
    friend, butterfly, barnacle, stranger = orgs(4)
    for show in closed:
        took_part(friend, show, paid=100_00)
        took_part(barnacle, show, paid=0)
    took_part(butterfly, closed[2], paid=500_00)
    took_part(stranger, closed[2], paid=10_00)
    ops.recompute(now)
    seg = by_org(now)
    # window amounts 300, 500, 0, 10 → median 155
    assert [seg[o.id].reinartz_kumar for o in (friend, butterfly, barnacle, stranger)] == \
        ["true_friend", "butterfly", "barnacle", "stranger"]
    assert seg[friend.id].reasons["reinartz_kumar"]["median_minor"] == 155_00
    # current values 100, 500, 0, 10 → median 55: friend and butterfly high
    assert seg[barnacle.id].value_matrix in ("low_value", "potential_value")
    assert seg[butterfly.id].value_matrix in ("value", "secondary_value")


def test_no_closed_edition_says_what_is_missing(app, client):
    _closed, now = series(n_closed=0)
    with pytest.raises(ops.LoyaltyError, match="no closed edition"):
        ops.recompute(now)


def test_bad_thresholds_are_refused(app):
    with pytest.raises(SettingError, match="at most 100"):
        set_setting("loyalty.abc_a_pct", 120.0)
    with pytest.raises(SettingError, match="must be above"):
        set_setting("loyalty.abc_b_pct", 70.0)
    with pytest.raises(SettingError, match="must be above"):
        set_setting("loyalty.abc_a_pct", 95.0)
    set_setting("loyalty.abc_a_pct", 70.0)
    db.session.commit()


def test_changes_are_kept_and_announced(app):
    from crm_expo import signals
    closed, now = series()
    a, b = orgs(2)
    took_part(a, closed[2], paid=100)
    took_part(b, closed[2], paid=100)
    ops.recompute(now)
    seen = []
    with signals.segment_changed.connected_to(lambda sender, **kw: seen.append(kw["organization_id"])):
        took_part(b, closed[1], paid=10_000)
        ops.recompute(now)
    assert b.id in seen                      # a moved too (A → B: b now pays most), and only once each
    assert len(seen) == len(set(seen))
    rows = db.session.query(SegmentChange).filter_by(organization_id=b.id).all()
    assert {(r.model, r.old, r.new) for r in rows} >= {("status", "new", "repeat")}


def test_closing_an_edition_recomputes(app):
    from crm_expo.operations import change_show_status
    closed, now = series()
    (org,) = orgs(1)
    took_part(org, now)
    change_show_status(now, "live")
    change_show_status(now, "closed")
    assert by_org(now)[org.id].status == "new"
