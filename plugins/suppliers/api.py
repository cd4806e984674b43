"""JSON API of the suppliers plugin, under /api/v1/shows/<slug>/suppliers: the show's
official contractors and their catalogue."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from crm_expo.api import ApiError, api_require, caller_organization_id, caller_role, json_body, paginate
from crm_expo.extensions import db

from . import operations as ops
from .models import CatalogueItem, Supplier

api_bp = Blueprint("suppliers_api", __name__, url_prefix="/api/v1")
READERS = ("admin", "organizer", "account_manager", "service_agent", "supplier")
WRITERS = ("admin", "organizer")


def item_json(item: CatalogueItem) -> dict:
    return {"id": item.id, "name_zh": item.name_zh, "name_en": item.name_en, "category": item.category,
            "unit": item.unit, "price_minor": item.price_minor, "currency": item.currency,
            "early_order_deadline": item.early_order_deadline.isoformat() if item.early_order_deadline else None,
            "late_surcharge_pct": item.late_surcharge_pct,
            "final_order_deadline": item.final_order_deadline.isoformat() if item.final_order_deadline else None,
            "active": item.active}


def supplier_json(sup: Supplier, show=None, with_catalogue: bool = False) -> dict:
    org = sup.organization
    data = {"id": sup.id, "organization_id": org.id, "name_zh": org.name_zh, "name_en": org.name_en,
            "email": org.email, "phone": org.phone, "website": org.website, "categories": sup.category_list,
            "notes": sup.notes}
    if show is not None:
        appointment = ops.appointment_for(show, sup)
        data["appointed_categories"] = appointment.category_list if appointment else []
    if with_catalogue and show is not None:
        data["catalogue"] = [item_json(i) for i in ops.catalogue_for_show(show, supplier_id=sup.id,
                                                                          include_inactive=True)]
    return data


def _load(show, supplier_id) -> Supplier:
    sup = ops.get_supplier(supplier_id)
    appointed = sup is not None and ops.appointment_for(show, sup) is not None
    own = caller_role() != "supplier" or (sup is not None and sup.organization_id == caller_organization_id())
    if not appointed or not own:
        raise ApiError(404, "not_found", _("No supplier %(id)s at this show.", id=supplier_id))
    return sup


@api_bp.get("/shows/<slug>/suppliers")
@api_require(*READERS)
def list_suppliers(show):
    """The show's official contractors (a supplier portal caller sees only itself).
    ---
    get:
      parameters:
        - {in: query, name: q, schema: {type: string}}
        - {in: query, name: category, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200: {description: "{items: [supplier], total, page, per_page}"}
    """
    org = caller_organization_id() if caller_role() == "supplier" else None
    stmt = ops.supplier_query(q=request.args.get("q", ""), category=request.args.get("category", ""), show=show,
                              appointed_only=True)
    if caller_role() == "supplier":
        stmt = stmt.where(Supplier.organization_id == (org or -1))
    return jsonify(paginate(stmt, lambda s: supplier_json(s, show)))


@api_bp.get("/shows/<slug>/suppliers/<int:supplier_id>")
@api_require(*READERS)
def get_supplier(show, supplier_id):
    """One official contractor with its catalogue for the show.
    ---
    get:
      responses:
        200: {description: the supplier and its catalogue}
        404: {description: not a contractor of this show (or not the caller's own)}
    """
    return jsonify(supplier_json(_load(show, supplier_id), show, with_catalogue=True))


@api_bp.post("/shows/<slug>/suppliers")
@api_require(*WRITERS)
def create_supplier(show):
    """Create a supplier (or take the existing one of that company) and appoint it to the show.
    ---
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                name: {type: string}
                name_zh: {type: string}
                name_en: {type: string}
                categories: {type: array, items: {type: string}}
      responses:
        201: {description: "{id}"}
        422: {description: invalid input}
    """
    data = json_body()
    name = str(data.get("name") or "").strip()
    name_zh, name_en = str(data.get("name_zh") or "").strip(), str(data.get("name_en") or "").strip()
    if name and not (name_zh or name_en):
        if any("\u3400" <= ch <= "\u9fff" for ch in name):
            name_zh = name
        else:
            name_en = name
    categories = data.get("categories") or []
    if not isinstance(categories, (list, str)):
        raise ApiError(422, "invalid", _("categories must be a list of category codes."))
    try:
        sup = ops.create_supplier(name_zh=name_zh, name_en=name_en, categories=categories,
                                  email=str(data.get("email") or ""), phone=str(data.get("phone") or ""),
                                  user=g.get("api_user"))
        ops.appoint(show, sup, categories, user=g.get("api_user"))
    except ops.SupplierError as exc:
        raise ApiError(422, "invalid", str(exc))
    response = jsonify(id=sup.id, organization_id=sup.organization_id)
    response.status_code = 201
    return response


@api_bp.patch("/shows/<slug>/suppliers/<int:supplier_id>")
@api_require(*WRITERS)
def update_supplier(show, supplier_id):
    """Change a supplier's profile or categories.
    ---
    patch:
      responses:
        200: {description: the supplier after the change}
        404: {description: not a contractor of this show}
        422: {description: invalid input}
    """
    sup = _load(show, supplier_id)
    try:
        ops.update_supplier(sup, json_body(), user=g.get("api_user"))
    except ops.SupplierError as exc:
        raise ApiError(422, "invalid", str(exc))
    db.session.refresh(sup)
    return jsonify(supplier_json(sup, show))

