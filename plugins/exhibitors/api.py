"""JSON API of the exhibitors plugin, under /api/v1/shows/<slug>/exhibitors."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import gettext as _

from crm_expo.api import ApiError, api_require, caller_organization_id, caller_role, json_body, paginate
from crm_expo.extensions import db

from . import operations as ops
from .models import STATUSES, Exhibitor

api_bp = Blueprint("exhibitors_api", __name__, url_prefix="/api/v1")


def exhibitor_json(ex: Exhibitor) -> dict:
    org = ex.organization
    return {"id": ex.id, "organization_id": org.id, "name_zh": org.name_zh, "name_en": org.name_en,
            "licence_no": org.licence_no, "email": org.email, "phone": org.phone, "website": org.website,
            "status": ex.status, "status_reason": ex.status_reason, "kind": ex.kind,
            "main_exhibitor_id": ex.main_exhibitor_id, "account_manager_id": ex.account_manager_id,
            "country": ex.country, "region": ex.region, "notes": ex.notes,
            "categories": [c.code for c in ex.categories],
            "applied_at": ex.applied_at.isoformat() + "Z"}


def _portal_org() -> int | None:
    """The organization a portal caller is limited to (None for staff)."""
    return caller_organization_id() if caller_role() == "exhibitor" else None


def _load(show, exhibitor_id) -> Exhibitor:
    ex = ops.get_exhibitor(show, exhibitor_id)
    portal_org = _portal_org()
    # A portal caller never learns whether another organization's record exists: 404.
    if ex is None or (caller_role() == "exhibitor" and ex.organization_id != portal_org):
        raise ApiError(404, "not_found", _("No exhibitor %(id)s in this show.", id=exhibitor_id))
    return ex


def _refused(exc: ops.ExhibitorError):
    status, code = (409, "conflict") if isinstance(exc, ops.DuplicateExhibitor) else (422, "invalid")
    return ApiError(status, code, str(exc))


@api_bp.get("/shows/<slug>/exhibitors")
@api_require("exhibitors.read")
def list_exhibitors(show):
    """List the show's exhibitors.
    ---
    get:
      summary: List exhibitors (portal callers see only their own organization)
      parameters:
        - {in: query, name: q, schema: {type: string}, description: "name (characters, pinyin, initials, English), email, phone"}
        - {in: query, name: status, schema: {type: string, enum: [applied, under_review, approved, rejected, withdrawn]}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200: {description: "{items: [exhibitor], total, page, per_page}"}
    """
    from flask import request
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        raise ApiError(400, "bad_status", _("Unknown status %(status)s.", status=status))
    portal_org = _portal_org()
    stmt = ops.exhibitor_query(show, q=request.args.get("q", ""), status=status,
                               organization_id=portal_org if caller_role() == "exhibitor" else None)
    if caller_role() == "exhibitor" and portal_org is None:
        stmt = stmt.where(Exhibitor.id.is_(None))
    return jsonify(paginate(stmt, exhibitor_json))


@api_bp.get("/shows/<slug>/exhibitors/<int:exhibitor_id>")
@api_require("exhibitors.read")
def get_exhibitor(show, exhibitor_id):
    """One exhibitor.
    ---
    get:
      responses:
        200: {description: the exhibitor}
        404: {description: no such exhibitor in this show (or not the caller's own)}
    """
    return jsonify(exhibitor_json(_load(show, exhibitor_id)))


@api_bp.post("/shows/<slug>/exhibitors")
@api_require("exhibitors.edit")
def create_exhibitor(show):
    """Register a company as an exhibitor of the show.
    ---
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {type: string, description: "company name (Chinese or English)"}
                name_zh: {type: string}
                name_en: {type: string}
                country: {type: string, description: ISO 3166-1 alpha-2}
                licence_no: {type: string, description: 统一社会信用代码}
      responses:
        201: {description: "{id}"}
        409: {description: the company is already an exhibitor of this show}
        422: {description: invalid input, the message names the problem}
    """
    data = json_body()
    name = str(data.get("name") or "").strip()
    name_zh = str(data.get("name_zh") or "").strip()
    name_en = str(data.get("name_en") or "").strip()
    if name and not (name_zh or name_en):
        # A name with Han characters is the Chinese name, anything else the English one.
        if any("\u3400" <= ch <= "\u9fff" for ch in name):
            name_zh = name
        else:
            name_en = name
    try:
        ex = ops.create_exhibitor(show, name_zh=name_zh, name_en=name_en, country=str(data.get("country") or ""),
                                  licence_no=str(data.get("licence_no") or ""), region=str(data.get("region") or ""),
                                  email=str(data.get("email") or ""), phone=str(data.get("phone") or ""),
                                  notes=str(data.get("notes") or ""), user=_user())
    except ops.ExhibitorError as exc:
        raise _refused(exc) from exc
    response = jsonify(id=ex.id, organization_id=ex.organization_id)
    response.status_code = 201
    return response


@api_bp.patch("/shows/<slug>/exhibitors/<int:exhibitor_id>")
@api_require("exhibitors.edit", "exhibitors.portal")
def update_exhibitor(show, exhibitor_id):
    """Change an exhibitor (portal callers: their own profile fields only).
    ---
    patch:
      responses:
        200: {description: the exhibitor after the change}
        404: {description: no such exhibitor}
        422: {description: invalid input}
    """
    ex = _load(show, exhibitor_id)
    data = json_body()
    try:
        ops.update_exhibitor(ex, data, user=_user(), portal=caller_role() == "exhibitor")
    except ops.ExhibitorError as exc:
        raise _refused(exc) from exc
    db.session.refresh(ex)
    return jsonify(exhibitor_json(ex))


def _user():
    from flask import g
    return getattr(g, "api_user", None)
