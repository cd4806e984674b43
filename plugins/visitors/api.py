"""JSON API of the visitors plugin (blueprint 'visitors_api', under /api/v1)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from crm_expo.api import ApiError, api_require, caller_role, json_body, paginate
from crm_expo.extensions import db
from crm_expo.permissions import role_may

from . import operations as ops

api_bp = Blueprint("visitors_api", __name__)



def visitor_json(reg) -> dict:
    p = reg.person
    data = {"id": reg.id, "category": reg.category, "verification": reg.verification,
            "counted": reg.counted, "concession": reg.concession, "source": reg.source,
            "created_at": reg.created_at.isoformat(timespec="seconds") + "Z",
            "cancelled_at": reg.cancelled_at.isoformat(timespec="seconds") + "Z" if reg.cancelled_at else None,
            "answers": reg.answers or {},
            "person": {"id": p.id, "name_zh": p.name_zh, "name_en": p.name_en, "email": p.email, "phone": p.phone,
                       "job_title": p.job_title,
                       "company": (p.organization.name_zh or p.organization.name_en) if p.organization else "",
                       "consents": {"marketing": p.consent("marketing"),
                                    "share_with_exhibitors": p.consent("share_with_exhibitors")}}}
    if role_may(caller_role(), "visitors.edit"):
        data["badge_code"] = reg.badge_code
    return data


def _error(exc: ops.VisitorError) -> ApiError:
    if exc.registration is not None:
        return ApiError(409, "duplicate", str(exc))
    return ApiError(422, "invalid", f"{exc.field}: {exc}" if exc.field else str(exc))


@api_bp.get("/shows/<slug>/visitors")
@api_require("visitors.view")
def list_visitors(show):
    """List the show's visitor registrations.
    ---
    get:
      summary: List visitors (filters category, verification, consent; search q)
      parameters:
        - {in: query, name: q, schema: {type: string}}
        - {in: query, name: category, schema: {type: string}}
        - {in: query, name: verification, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200: {description: "{items: [visitor], total, page, per_page}"}
    """
    from flask import request
    args = request.args
    category = args.get("category", "")
    verification = args.get("verification", "")
    if category and category not in ops.CATEGORIES:
        raise ApiError(400, "bad_filter", f"unknown category: {category}")
    stmt = ops.visitor_query(show, category=category, verification=verification, q=args.get("q", ""),
                             sort=args.get("sort", "newest"))
    return jsonify(paginate(stmt, visitor_json))


@api_bp.post("/shows/<slug>/visitors")
@api_require("visitors.edit")
def create_visitor(show):
    """Register a visitor.
    ---
    post:
      summary: Register a visitor
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses:
        201: {description: the registration}
        409: {description: the person is already registered for this show}
        422: {description: invalid field (named in the message)}
    """
    body = json_body()
    person = body.get("person") if isinstance(body.get("person"), dict) else body
    consents = body.get("consents")
    if not isinstance(consents, dict):
        raise ApiError(422, "invalid", "consents: give {\"marketing\": true|false, \"share_with_exhibitors\": true|false}")
    try:
        reg = ops.register_visitor(show, person, body.get("category", ""), consents=consents,
                                   answers=body.get("answers") if isinstance(body.get("answers"), dict) else None,
                                   source="api", concession=body.get("concession", "") or "")
    except ops.VisitorError as exc:
        raise _error(exc) from exc
    return jsonify(visitor_json(reg)), 201


def _get(show, registration_id):
    reg = ops.get_registration(show, registration_id)
    if reg is None:
        raise ApiError(404, "not_found", f"no visitor registration {registration_id} in this show")
    return reg


@api_bp.get("/shows/<slug>/visitors/<int:registration_id>")
@api_require("visitors.view")
def get_visitor(show, registration_id):
    """One visitor registration."""
    return jsonify(visitor_json(_get(show, registration_id)))


@api_bp.patch("/shows/<slug>/visitors/<int:registration_id>")
@api_require("visitors.edit")
def patch_visitor(show, registration_id):
    """Change a visitor's details, category, concession, answers or consents.
    ---
    patch:
      summary: Update a visitor
      responses:
        200: {description: the registration}
        422: {description: invalid field}
    """
    reg = _get(show, registration_id)
    body = json_body()
    person = body.get("person") if isinstance(body.get("person"), dict) else {}
    try:
        ops.update_registration(reg, person, category=body.get("category"), concession=body.get("concession"),
                                answers=body.get("answers"), consents=body.get("consents"))
    except ops.VisitorError as exc:
        db.session.rollback()
        raise _error(exc) from exc
    return jsonify(visitor_json(reg))
