"""JSON API of the suppliers plugin, under /api/v1/shows/<slug>/suppliers: the show's
official contractors and their catalogue; /api/v1/shows/<slug>/service-orders: exhibitors'
orders to them."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from crm_expo.api import ApiError, api_require, caller_organization_id, caller_role, json_body, paginate
from crm_expo.extensions import db

from . import operations as ops
from .models import ORDER_STATUSES, CatalogueItem, ServiceOrder, Supplier

api_bp = Blueprint("suppliers_api", __name__, url_prefix="/api/v1")


def item_json(item: CatalogueItem) -> dict:
    return {"id": item.id, "name_zh": item.name_zh, "name_en": item.name_en, "category": item.category,
            "unit": item.unit, "price_minor": item.price_minor, "currency": item.currency,
            "early_order_deadline": item.early_order_deadline.isoformat() if item.early_order_deadline else None,
            "late_surcharge_pct": item.late_surcharge_pct,
            "final_order_deadline": item.final_order_deadline.isoformat() if item.final_order_deadline else None,
            "active": item.active, "description": item.description}


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
@api_require("suppliers.view", "suppliers.portal")
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
@api_require("suppliers.view", "suppliers.portal")
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
@api_require("suppliers.edit")
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
        raise ApiError(422, "invalid", str(exc)) from exc
    response = jsonify(id=sup.id, organization_id=sup.organization_id)
    response.status_code = 201
    return response


@api_bp.patch("/shows/<slug>/suppliers/<int:supplier_id>")
@api_require("suppliers.edit")
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
        raise ApiError(422, "invalid", str(exc)) from exc
    db.session.refresh(sup)
    return jsonify(supplier_json(sup, show))



# --- exhibitor service orders (issue #5) -------------------------------------------------------------


def order_json(order: ServiceOrder) -> dict:
    def ts(value):
        return value.isoformat() + "Z" if value else None
    return {"id": order.id, "status": order.status, "exhibitor_id": order.exhibitor_id,
            "exhibitor": order.exhibitor.organization.name, "supplier_id": order.supplier_id,
            "supplier": order.supplier.name, "currency": order.currency, "total_minor": order.total_minor,
            "notes": order.notes, "cancel_reason": order.cancel_reason, "placed_at": ts(order.placed_at),
            "confirmed_at": ts(order.confirmed_at), "delivered_at": ts(order.delivered_at),
            "cancelled_at": ts(order.cancelled_at),
            "lines": [{"item_id": li.item_id, "name_zh": li.name_zh, "name_en": li.name_en, "category": li.category,
                       "unit": li.unit, "quantity": li.quantity, "list_price_minor": li.list_price_minor,
                       "surcharge_pct": li.surcharge_pct, "late": li.late, "unit_price_minor": li.unit_price_minor,
                       "line_total_minor": li.line_total_minor} for li in order.lines]}


def _own_orders() -> dict:
    """Portal tokens (exhibitor, supplier) reach only their own organization's orders."""
    role = caller_role()
    if role == "exhibitor":
        return {"exhibitor_organization_id": caller_organization_id() or -1}
    if role == "supplier":
        return {"supplier_organization_id": caller_organization_id() or -1}
    return {}


def _load_order(show, order_id) -> ServiceOrder:
    order = ops.get_order(show, order_id, **_own_orders())
    if order is None:
        raise ApiError(404, "not_found", _("No order %(id)s at this show.", id=order_id))
    return order


@api_bp.get("/shows/<slug>/service-orders")
@api_require("suppliers.orders", "suppliers.portal", "suppliers.order")
def list_orders(show):
    """Service orders of the show, newest first (portal tokens: their own only).
    ---
    get:
      parameters:
        - {in: query, name: status, schema: {type: string, enum: [placed, confirmed, delivered, cancelled]}}
        - {in: query, name: supplier_id, schema: {type: integer}}
        - {in: query, name: exhibitor_id, schema: {type: integer}}
        - {in: query, name: q, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200: {description: "{items: [order], total, page, per_page}"}
    """
    status = request.args.get("status", "")
    if status and status not in ORDER_STATUSES:
        raise ApiError(400, "bad_status", _("Unknown status %(status)s.", status=status))
    stmt = ops.order_query(show, status=status, supplier_id=request.args.get("supplier_id"),
                           exhibitor_id=request.args.get("exhibitor_id"), q=request.args.get("q", ""),
                           **_own_orders())
    return jsonify(paginate(ops.with_details(stmt), order_json))


@api_bp.get("/shows/<slug>/service-orders/<int:order_id>")
@api_require("suppliers.orders", "suppliers.portal", "suppliers.order")
def get_order(show, order_id):
    """One service order with its lines.
    ---
    get:
      responses:
        200: {description: the order}
        404: {description: no such order at this show (or not the caller's own)}
    """
    return jsonify(order_json(_load_order(show, order_id)))


@api_bp.post("/shows/<slug>/service-orders")
@api_require("suppliers.edit", "suppliers.order")
def create_order(show):
    """Order catalogue items for an exhibitor. An exhibitor token orders for its own company;
    an organizer names ``exhibitor_id``. Items of several suppliers are split into one order
    per supplier (answered as ``orders``).
    ---
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [lines]
              properties:
                exhibitor_id: {type: integer}
                notes: {type: string}
                lines:
                  type: array
                  items: {type: object, properties: {item_id: {type: integer}, quantity: {type: integer}}}
      responses:
        201: {description: "{orders: [order]}"}
        404: {description: the exhibitor is not one of this show (or not the caller's own)}
        422: {description: refused (deadline, quantity, item), nothing written}
    """
    from plugins.exhibitors import operations as exhibitor_ops
    data = json_body()
    if caller_role() == "exhibitor":
        exhibitor = exhibitor_ops.exhibitor_for_organization(show, caller_organization_id() or -1)
    else:
        exhibitor = exhibitor_ops.get_exhibitor(show, data.get("exhibitor_id"))
    if exhibitor is None:
        raise ApiError(404, "not_found", _("No exhibitor %(id)s at this show.", id=data.get("exhibitor_id", "")))
    lines = data.get("lines")
    if not isinstance(lines, list) or not all(isinstance(li, dict) for li in lines):
        raise ApiError(422, "invalid", _("lines must be a list of {item_id, quantity}."))
    try:
        orders = ops.place_order(show, exhibitor, [(li.get("item_id"), li.get("quantity")) for li in lines],
                                 notes=str(data.get("notes") or ""), user=g.get("api_user"))
    except ops.SupplierError as exc:
        raise ApiError(422, "invalid", str(exc)) from exc
    response = jsonify(orders=[order_json(o) for o in orders])
    response.status_code = 201
    return response


@api_bp.post("/shows/<slug>/service-orders/<int:order_id>/<action>")
@api_require("suppliers.edit", "suppliers.order", "suppliers.portal")
def order_transition(show, order_id, action):
    """Move an order: ``confirm`` and ``deliver`` (the supplier or the organizer), ``cancel``
    with ``{"reason"}`` (the exhibitor before confirmation, or the organizer).
    ---
    post:
      responses:
        200: {description: the order after the change (action is confirm, deliver or cancel)}
        403: {description: this role may not do this}
        404: {description: no such order (or not the caller's own)}
        409: {description: the order's status does not allow it}
        422: {description: a cancellation without a reason}
    """
    allowed = {"confirm": ("admin", "organizer", "supplier"), "deliver": ("admin", "organizer", "supplier"),
               "cancel": ("admin", "organizer", "exhibitor")}
    if action not in allowed:
        raise ApiError(404, "not_found", _("Unknown action %(action)s.", action=action))
    order = _load_order(show, order_id)
    if caller_role() not in allowed[action]:
        raise ApiError(403, "forbidden", _("This token's role may not use this endpoint."))
    try:
        if action == "confirm":
            ops.confirm_order(order, user=g.get("api_user"))
        elif action == "deliver":
            ops.deliver_order(order, user=g.get("api_user"))
        else:
            reason = str(json_body(optional=True).get("reason") or "")
            if not reason.strip():
                raise ApiError(422, "invalid", _("Give a reason to cancel the order."))
            ops.cancel_order(order, reason, by_organizer=caller_role() in ("admin", "organizer"),
                             user=g.get("api_user"))
    except ops.SupplierError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return jsonify(order_json(order))
