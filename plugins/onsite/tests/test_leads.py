"""Lead scanning by exhibitors: one lead per visitor, consent decides what they see, export."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import Organization
from plugins.exhibitors.operations import create_exhibitor
from plugins.onsite import operations as ops
from plugins.onsite.models import Lead
from tests.factories import make_user

from .helpers import register, today_show


def _exhibitor_user(show, name="青岛啤酒展商"):
    ex = create_exhibitor(show, name_zh=name)
    return make_user("exhibitor", org=db.session.get(Organization, ex.organization_id))


def test_rescan_updates_one_lead_and_consent_controls_what_is_shown(client, app):
    show = today_show()
    user = _exhibitor_user(show)
    with app.test_request_context():
        sharer = register(show, "trade", name_zh="周杰", company="厦门贸易公司", share=True)
        private = register(show, "public", name_zh="吴敏", company="秘密公司", share=False)
    client.login(user)
    for code, rating in ((sharer.badge_code, 3), (sharer.badge_code, 5), (private.badge_code, 2)):
        resp = client.form_post(f"/shows/{show.slug}/onsite/leads", {"code": code, "rating": str(rating), "tags": "wine, 进口",
                                                  "notes": "想要样品"})
        assert resp.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 2
    lead = db.session.scalar(select(Lead).where(Lead.registration_id == sharer.id))
    assert (lead.scans, lead.rating, lead.tags) == (2, 5, "wine,进口")
    page = client.get(f"/shows/{show.slug}/onsite/leads").get_data(as_text=True)
    assert "周杰" in page and "厦门贸易公司" in page
    assert "吴敏" not in page and "秘密公司" not in page and "Public" in page
    exported = client.get(f"/shows/{show.slug}/onsite/leads.csv")
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Lead", "Category", "Name"] and len(rows) == 3
    assert rows[0][-1] == "Last scanned at (Asia/Shanghai)"
    assert any("周杰" in r for r in rows) and not any("吴敏" in r for r in rows)
    assert client.get(f"/shows/{show.slug}/onsite/leads.xlsx").status_code == 200


def test_bad_codes_and_non_exhibitors_refused(client, app, request_ctx):
    show, other = today_show(), today_show()
    user = _exhibitor_user(show)
    foreign = register(other)
    reg = register(show)
    with pytest.raises(ops.OnsiteError, match="Unknown badge code"):
        ops.capture_lead(show, user.organization_id, foreign.badge_code)
    with pytest.raises(ops.OnsiteError, match="0 to 5"):
        ops.capture_lead(show, user.organization_id, reg.badge_code, rating=9)
    stranger = make_user("exhibitor")
    with pytest.raises(ops.OnsiteError, match="not an exhibitor"):
        ops.capture_lead(show, stranger.organization_id, reg.badge_code)
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_organizer_sees_lead_counts_and_exhibitors_only_their_own(client, app):
    show = today_show()
    a, b = _exhibitor_user(show, "甲公司"), _exhibitor_user(show, "乙公司")
    with app.test_request_context():
        regs = [register(show, share=True, name_zh=f"观众{i}") for i in range(3)]
        for r in regs:
            ops.capture_lead(show, a.organization_id, r.badge_code)
        ops.capture_lead(show, b.organization_id, regs[0].badge_code)
    client.login(b)
    page = client.get(f"/shows/{show.slug}/onsite/leads").get_data(as_text=True)
    assert "观众0" in page and "观众1" not in page
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    client.login(make_user("organizer"))
    counts = client.get(f"/shows/{show.slug}/onsite/leads/counts").get_data(as_text=True)
    assert counts.index("甲公司") < counts.index("乙公司") and "<td>3</td>" in counts
