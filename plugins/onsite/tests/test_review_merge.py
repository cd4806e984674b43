"""A self-registration merged into the existing registration of the same show (the visitors'
review page): attendance counts the person once, the form's badge no longer admits."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from crm_expo.extensions import db
from plugins.onsite import operations as ops
from plugins.visitors import operations as visitor_ops
from plugins.visitors.models import Review

from .helpers import register, today_show


def test_merging_a_twice_registered_visitor_counts_one_person_and_revokes_the_second_badge(app):
    with app.test_request_context():
        show = today_show()
        kept = register(show, "public", name_zh="朱娜", email="zhu.na@example.com")
        typed = visitor_ops.register_visitor(show, {"name_zh": "无名", "email": "zhu.na@example.com"}, "public",
                                             consents={"marketing": True, "share_with_exhibitors": True},
                                             source="self")
        kept_code, typed_code = kept.badge_code, typed.badge_code
        for code in (kept_code, typed_code):
            assert ops.check_in(show, code, "A", nonce=uuid.uuid4().hex)["result"] == "ok"
        assert ops.attendance(show)["unique_visitors"] == 2
        review_id = db.session.scalar(select(Review.id).where(Review.registration_id == typed.id))
        visitor_ops.merge_review(show, review_id)
        figures = ops.attendance(show)
        assert figures["unique_visitors"] == 1 and figures["days"][0]["unique"] == 1
        assert ops.check_in(show, kept_code, "B", nonce=uuid.uuid4().hex)["result"] == "already_in"
        refused = ops.check_in(show, typed_code, "B", nonce=uuid.uuid4().hex)
        assert refused["result"] == "not_allowed"
