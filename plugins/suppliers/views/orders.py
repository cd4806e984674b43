"""One service order's page and its transitions, for every role that may see the order:
staff, the supplier it is routed to, the exhibitor that placed it (portal users only ever
reach their own organization's orders: the filter is in the query)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm_expo.access import require
from crm_expo.errors import DomainError
from crm_expo.i18n import money
from crm_expo.models import Show
from crm_expo.permissions import can

from .. import operations as ops
from ..forms import CancelForm
from .common import bp, csrf_ok


def _own_filter() -> dict:
    if current_user.role == "exhibitor":
        return {"exhibitor_organization_id": current_user.organization_id}
    if current_user.role == "supplier":
        return {"supplier_organization_id": current_user.organization_id}
    return {}


def _order_or_404(show: Show, order_id):
    order = ops.get_order(show, order_id, **_own_filter())
    if order is None:
        abort(404)
    return order


@bp.route("/orders/<int:order_id>")
@require("suppliers.orders", "suppliers.portal", "suppliers.order")
def order_detail(order_id):
    order = _order_or_404(g.show, order_id)
    return render_template("suppliers/order.html", show=g.show, order=order, money=money, cancel_form=CancelForm(),
                           actions=_actions(order), history=ops.order_history(order))


# action → who may: the organizer, and the side of the order it concerns
ACTION_PERMISSIONS = {"confirm": ("suppliers.edit", "suppliers.portal"),
                      "deliver": ("suppliers.edit", "suppliers.portal"),
                      "cancel": ("suppliers.edit", "suppliers.order")}


def _actions(order) -> set[str]:
    """What the signed-in user may do with this (already own-filtered) order now."""
    allowed = set()
    if order.status == "placed" and can(*ACTION_PERMISSIONS["confirm"]):
        allowed.add("confirm")
    if order.status == "confirmed" and can(*ACTION_PERMISSIONS["deliver"]):
        allowed.add("deliver")
    if (order.status == "placed" and can("suppliers.order")) or (order.status in ("placed", "confirmed")
                                                                  and can("suppliers.edit")):
        allowed.add("cancel")
    return allowed


@bp.route("/orders/<int:order_id>/<action>", methods=["POST"])
@require("suppliers.edit", "suppliers.portal", "suppliers.order")
def order_action(order_id, action):
    show = g.show
    order = _order_or_404(show, order_id)
    if action not in ACTION_PERMISSIONS:
        abort(404)
    if not can(*ACTION_PERMISSIONS[action]):
        abort(403)
    form = CancelForm()
    if not csrf_ok():
        abort(400)
    try:
        if action == "confirm":
            ops.confirm_order(order, user=current_user)
        elif action == "deliver":
            ops.deliver_order(order, user=current_user)
        else:
            ops.cancel_order(order, form.reason.data or "", by_organizer=can("suppliers.edit"), user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Order %(id)d: %(status)s.", id=order.id, status=order.status_title), "success")
    if request.form.get("back") == "list" and can("suppliers.portal"):   # from the supplier's order list
        return redirect(url_for("suppliers.portal_orders"))
    return redirect(url_for("suppliers.order_detail", order_id=order.id))
