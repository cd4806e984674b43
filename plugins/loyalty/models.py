"""Tables of the loyalty plugin (DOMAIN.md §3–5, §10).

- ``loyalty_participation``: one organization's part in one edition as recorded *before*
  crm-expo (an imported history row). What crm-expo recorded itself (exhibitor records,
  bookings, payments) is not copied here: ``operations.history.participation()`` derives
  it in SQL and unions both.
- ``loyalty_segment``: the models computed for one show (the last run of
  ``operations.recompute``), one row per customer, so that pages read them fast.
- ``loyalty_segment_change``: what changed at each run (the segment history).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.titles import register

SOURCES = ("import", "crm-expo")

ABC = ("A", "B", "C")
VALUE_MATRIX = ("value", "potential_value", "secondary_value", "low_value")
DICK_BASU = ("loyal", "latent_loyal", "spurious_loyal", "not_loyal", "unknown")
REINARTZ_KUMAR = ("true_friend", "butterfly", "barnacle", "stranger")
STATUS = ("new", "repeat", "loyal", "lost")
STAGES = ("cultivation", "confirmation", "trust", "weakening", "dissolution")
LADDER = ("suspect", "follower", "member", "advocate", "partner")
TIERS = ("ordinary", "important", "vip")

MODEL_TITLES = {
    "abc": _l("ABC (Pareto)"), "value_matrix": _l("Value matrix"), "dick_basu": _l("Dick & Basu"),
    "reinartz_kumar": _l("Reinartz & Kumar"), "status": _l("Purchase status"), "stage": _l("Lifecycle stage"),
    "ladder": _l("Loyalty ladder"), "tier": _l("Importance tier"),
}
SEGMENT_TITLES = {
    "abc": {"A": _l("A customers"), "B": _l("B customers"), "C": _l("C customers")},
    "value_matrix": {"value": _l("Value customer (价值客户)"), "potential_value": _l("Potential-value customer (潜价值客户)"),
                     "secondary_value": _l("Secondary-value customer (次价值客户)"),
                     "low_value": _l("Low-value customer (低价值客户)")},
    "dick_basu": {"loyal": _l("Loyal"), "latent_loyal": _l("Latent loyal"), "spurious_loyal": _l("Spurious loyal"),
                  "not_loyal": _l("Not loyal"), "unknown": _l("Attitude unknown")},
    "reinartz_kumar": {"true_friend": _l("True friend"), "butterfly": _l("Butterfly"), "barnacle": _l("Barnacle"),
                       "stranger": _l("Stranger")},
    "status": {"new": _l("New customer"), "repeat": _l("Repeat"), "loyal": _l("Loyal customer"), "lost": _l("Lost")},
    "stage": {"cultivation": _l("Cultivation"), "confirmation": _l("Confirmation"), "trust": _l("Trust"),
              "weakening": _l("Weakening"), "dissolution": _l("Dissolution")},
    "ladder": {"suspect": _l("Suspect"), "follower": _l("Follower"), "member": _l("Member"),
               "advocate": _l("Advocate"), "partner": _l("Partner")},
    "tier": {"ordinary": _l("Ordinary (普遍型)"), "important": _l("Important (重要型)"), "vip": _l("VIP (贵宾型)")},
}
MODELS = tuple(SEGMENT_TITLES)
for _model, _titles in SEGMENT_TITLES.items():
    register(f"loyalty.{_model}", _titles)
register("loyalty.model", MODEL_TITLES)
register("loyalty.source", {"import": _l("imported history"), "crm-expo": _l("recorded in crm-expo")})


def _sql_in(values) -> str:
    return ",".join(f"'{v}'" for v in values)


class Participation(db.Model):
    """One organization's part in one edition, from history recorded before crm-expo."""
    __tablename__ = "loyalty_participation"
    __table_args__ = (
        UniqueConstraint("organization_id", "show_id", "source", name="uq_loyalty_participation_org_show_source"),
        CheckConstraint("booth_m2 >= 0", name="booth_m2"),
        CheckConstraint("amount_paid_minor >= 0", name="amount"),
        CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"),
        CheckConstraint("would_recommend IS NULL OR would_recommend BETWEEN 0 AND 10", name="would_recommend"),
        CheckConstraint(f"source IN ({_sql_in(SOURCES)})", name="source"),
        CheckConstraint("co_exhibitor_of_id IS NULL OR co_exhibitor_of_id <> organization_id", name="not_own_main"),
        Index("ix_loyalty_participation_show", "show_id", "organization_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    booth_m2: Mapped[float] = mapped_column(Float, default=0)
    amount_paid_minor: Mapped[int] = mapped_column(default=0)
    paid_on_time: Mapped[bool | None] = mapped_column()
    co_exhibitor_of_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    satisfaction: Mapped[int | None] = mapped_column()
    would_recommend: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(16), default="import")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Segment(db.Model):
    """The models of one customer for one show, as last computed (``computed_at``)."""
    __tablename__ = "loyalty_segment"
    __table_args__ = (
        UniqueConstraint("show_id", "organization_id", name="uq_loyalty_segment_show_org"),
        CheckConstraint(f"abc IN ({_sql_in(ABC)})", name="abc"),
        CheckConstraint(f"value_matrix IN ({_sql_in(VALUE_MATRIX)})", name="value_matrix"),
        CheckConstraint(f"dick_basu IN ({_sql_in(DICK_BASU)})", name="dick_basu"),
        CheckConstraint(f"reinartz_kumar IN ({_sql_in(REINARTZ_KUMAR)})", name="reinartz_kumar"),
        CheckConstraint(f"status IN ({_sql_in(STATUS)})", name="status"),
        CheckConstraint(f"stage IN ({_sql_in(STAGES)})", name="stage"),
        CheckConstraint(f"ladder IN ({_sql_in(LADDER)})", name="ladder"),
        CheckConstraint(f"tier IN ({_sql_in(TIERS)})", name="tier"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        # The list's default order (score, then id) and each filter's.
        Index("ix_loyalty_segment_score", "show_id", "score", "organization_id"),
        Index("ix_loyalty_segment_amount", "show_id", "amount_window_minor", "organization_id"),
        Index("ix_loyalty_segment_computed", "show_id", "computed_at"),   # the last computation, read by every page
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    abc: Mapped[str] = mapped_column(String(1))
    value_matrix: Mapped[str] = mapped_column(String(16))
    dick_basu: Mapped[str] = mapped_column(String(16))
    reinartz_kumar: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(16))
    ladder: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(default=0)
    amount_window_minor: Mapped[int] = mapped_column(default=0)
    editions_window: Mapped[int] = mapped_column(default=0)
    editions_total: Mapped[int] = mapped_column(default=0)
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)


class SegmentChange(db.Model):
    """A customer moved from one segment of a model to another at a recompute."""
    __tablename__ = "loyalty_segment_change"
    __table_args__ = (Index("ix_loyalty_segment_change_org", "organization_id", "changed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    model: Mapped[str] = mapped_column(String(16))
    old: Mapped[str] = mapped_column(String(16), default="")      # "" = first computed
    new: Mapped[str] = mapped_column(String(16))


from crm_expo.titles import extend  # noqa: E402

extend("audit.action", {"loyalty.history_import": _l("Customer history imported"),
                        "loyalty.recompute": _l("Loyalty segments computed")})
