"""JSON API of the loyalty plugin, under /api/v1/shows/<slug>/loyalty."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from sqlalchemy import select

from crm_expo.api import ApiError, api_require, paginate
from crm_expo.extensions import db
from crm_expo.models import Organization

from . import operations as ops
from .models import Segment
from .reasons import reasons_json

api_bp = Blueprint("loyalty_api", __name__, url_prefix="/api/v1")


def customer_json(seg: Segment, name: str, currency: str) -> dict:
    return {"organization": {"id": seg.organization_id, "name": name}, "abc": seg.abc,
            "value_matrix": seg.value_matrix, "dick_basu": seg.dick_basu, "reinartz_kumar": seg.reinartz_kumar,
            "status": seg.status, "stage": seg.stage, "ladder": seg.ladder, "tier": seg.tier, "score": seg.score,
            "amount_window_minor": seg.amount_window_minor, "currency": currency,
            "editions_window": seg.editions_window, "editions_total": seg.editions_total,
            "computed_at": seg.computed_at.isoformat() + "Z", "reasons": reasons_json(seg, currency)}


def _names(ids) -> dict:
    from sqlalchemy import func
    ids = list(ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Organization.id, func.coalesce(func.nullif(Organization.name_zh, ""),
                                                                         Organization.name_en))
                                   .where(Organization.id.in_(ids))).all())


@api_bp.get("/shows/<slug>/loyalty/customers")
@api_require("loyalty.view")
def list_customers(show):
    """The customers of the show's series with their segments, highest score first.
    ---
    get:
      summary: Customers with their segments (abc, value_matrix, dick_basu, reinartz_kumar, status, stage, score, reasons)
      parameters:
        - {in: query, name: abc, schema: {type: string, enum: [A, B, C]}}
        - {in: query, name: status, schema: {type: string, enum: [new, repeat, loyal, lost]}}
        - {in: query, name: stage, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200: {description: "{items: [customer], total, page, per_page}"}
        422: {description: the series has no ended edition (the message says what is missing)}
    """
    from flask import request
    try:
        ops.window_of(show)
    except ops.LoyaltyError as exc:
        raise ApiError(422, "no_history", str(exc), field="series") from exc
    stmt = ops.segment_query(show, ops.clean_filters(request.args)).order_by(Segment.score.desc(),
                                                                           Segment.organization_id)
    out = paginate(stmt, lambda s: s)
    names = _names(s.organization_id for s in out["items"])
    out["items"] = [customer_json(s, names.get(s.organization_id, ""), show.currency) for s in out["items"]]
    return jsonify(out)


@api_bp.get("/shows/<slug>/loyalty/customers/<int:organization_id>")
@api_require("loyalty.view")
def get_customer(show, organization_id):
    """One customer's segments and reasons, and its editions.
    ---
    get:
      summary: One customer's segments, reasons and editions
      responses:
        200: {description: customer}
        404: {description: not a customer of this show's series}
    """
    seg = ops.segment_of(show, organization_id)
    if seg is None:
        raise ApiError(404, "not_found", _("Organization %(id)s is not a customer of this show's series (or the "
                                           "segments have not been computed).", id=organization_id))
    body = customer_json(seg, _names([organization_id]).get(organization_id, ""), show.currency)
    body["editions"] = [{"show": e["show"].slug, "first_day": e["first_day"].isoformat() if e["first_day"] else None,
                         "booth_m2": e["booth_m2"], "amount_paid_minor": e["amount_paid_minor"],
                         "currency": e["show"].currency, "paid_on_time": e["paid_on_time"],
                         "satisfaction": e["satisfaction"], "would_recommend": e["would_recommend"]}
                        for e in ops.editions_of(organization_id, show.series_id)]
    return jsonify(body)
