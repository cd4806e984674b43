"""Portal pages of the suppliers plugin. A supplier (role ``supplier``) keeps its own
catalogue and contacts (``/suppliers/portal/``, every show it is appointed to) and sees the
orders routed to it at one show; an exhibitor (role ``exhibitor``) orders services at a show
it takes part in. Portal users reach only their own organization's records: anything else
answers 404."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import require
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.i18n import money
from crm_expo.models import Show
from crm_expo.web import current_show

from .. import operations as ops
from ..forms import CancelForm, ContactForm, ItemForm, OrderNotesForm
from ..models import CATEGORIES, ORDER_STATUS_TITLES, Appointment, CatalogueItem, Supplier
from .common import PER_PAGE, add_contact_from_form, add_item_from_form, bp, csrf_ok, item_form, item_values, site_bp


# --- the supplier portal: own catalogue, contacts and orders -------------------------------------------
def _own_supplier() -> Supplier:
    sup = ops.supplier_for_organization(current_user.organization_id)
    if sup is None:
        abort(404)
    return sup


def appointed_shows(sup: Supplier) -> list[Show]:
    return db.session.scalars(select(Show).join(Appointment, Appointment.show_id == Show.id)
                              .where(Appointment.supplier_id == sup.id).order_by(Show.id.desc())).all()


@site_bp.route("/portal/")
@require("suppliers.portal")
def portal():
    """The supplier's own catalogue for every show it is appointed to, and its contacts."""
    sup = ops.supplier_for_organization(current_user.organization_id)
    rows = []
    if sup is not None:
        rows = [(show, ops.catalogue_for_show(show, supplier_id=sup.id, include_inactive=True))
                for show in appointed_shows(sup)]
    return render_template("suppliers/portal.html", sup=sup, rows=rows, money=money, contact_form=ContactForm(),
                           item_form=ItemForm(data={"active": True}), csrf_form=CancelForm())


def _own_item(item_id) -> tuple[Supplier, CatalogueItem]:
    sup = _own_supplier()
    item = db.session.scalar(select(CatalogueItem).where(CatalogueItem.id == item_id,
                                                         CatalogueItem.supplier_id == sup.id))
    if item is None:
        abort(404)
    return sup, item


@site_bp.route("/portal/items/<int:item_id>/edit", methods=["GET", "POST"])
@require("suppliers.portal")
def portal_edit_item(item_id):
    sup, item = _own_item(item_id)
    show = db.session.get(Show, item.show_id)
    form = item_form(item)
    if form.validate_on_submit():
        try:
            ops.update_item(item, user=current_user, **item_values(form, show.currency))
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Catalogue item saved."), "success")
            return redirect(url_for("suppliers_site.portal"))
    return render_template("suppliers/form.html", form=form, supplier=sup, title=_("Edit catalogue item"))


@bp.route("/portal/items", methods=["POST"])
@require("suppliers.portal")
def portal_add_item():
    sup = _own_supplier()
    if ops.appointment_for(g.show, sup) is None:   # only where it is an official contractor
        abort(404)
    add_item_from_form(g.show, sup)
    return redirect(url_for("suppliers_site.portal"))


@site_bp.route("/portal/contacts", methods=["POST"])
@require("suppliers.portal")
def portal_add_contact():
    sup = _own_supplier()
    add_contact_from_form(sup)
    return redirect(url_for("suppliers_site.portal"))


@site_bp.route("/portal/contacts/<int:contact_id>/remove", methods=["POST"])
@require("suppliers.portal")
def portal_remove_contact(contact_id):
    sup = _own_supplier()
    if not csrf_ok():
        abort(400)
    try:
        ops.remove_contact(sup, contact_id, user=current_user)
    except DomainError:
        abort(404)
    flash(_("Contact removed."), "success")
    return redirect(url_for("suppliers_site.portal"))


@bp.route("/portal/orders")
@require("suppliers.portal")
def portal_orders():
    """Orders routed to the supplier at the show of the URL (one it is appointed to)."""
    sup = _own_supplier()
    show = g.show
    status = request.args.get("status", "")
    pagination = db.paginate(ops.with_details(ops.order_query(show, status=status, supplier_id=sup.id)),
                             page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template("suppliers/orders.html", show=show, orders=pagination.items, pagination=pagination,
                           status=status, statuses=ORDER_STATUS_TITLES, money=money, view="supplier", totals=None,
                           sup=sup, args={k: v for k, v in request.args.items() if k != "page" and v}, suppliers=[])


# --- exhibitor service orders: the exhibitor portal -----------------------------------------------------
def _own_exhibitor(show: Show):
    """The portal user's exhibitor record at this show (as the exhibitors plugin resolves it:
    its organization's exhibitor of the show), or 404."""
    from plugins.exhibitors import operations as exhibitor_ops
    ex = exhibitor_ops.exhibitor_for_organization(show, current_user.organization_id)
    if ex is None:
        abort(404)
    return ex


@site_bp.route("/services/")
@require("suppliers.order")
def services_home():
    """The shows the exhibitor's company takes part in; straight to the current one."""
    from plugins.exhibitors.models import Exhibitor
    shows = db.session.scalars(select(Show).join(Exhibitor, Exhibitor.show_id == Show.id)
                               .where(Exhibitor.organization_id == current_user.organization_id)
                               .order_by(Show.id.desc())).all()
    current = current_show()
    if current is not None and any(s.id == current.id for s in shows):
        return redirect(url_for("suppliers.services", slug=current.slug))
    if len(shows) == 1:
        return redirect(url_for("suppliers.services", slug=shows[0].slug))
    return render_template("suppliers/services_home.html", shows=shows)


@bp.route("/services", methods=["GET", "POST"])
@require("suppliers.order")
def services():
    """The official catalogue by category, priced as it would be charged today; order from it."""
    show = g.show
    ex = _own_exhibitor(show)
    form = OrderNotesForm()
    if form.validate_on_submit():
        lines = [(key[4:], value) for key, value in request.form.items()
                 if key.startswith("qty-") and value.strip() not in ("", "0")]
        try:
            orders = ops.place_order(show, ex, lines, notes=form.notes.data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Order placed: %(n)d order(s) sent to the supplier(s).", n=len(orders)), "success")
            return redirect(url_for("suppliers.my_orders"))
    elif request.method == "POST":
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
    category = request.args.get("category", "")
    today = ops.show_today(show)
    items = [(item, ops.price_today(item, today)) for item in
             ops.orderable_catalogue(show, category if category in CATEGORIES else None)]
    return render_template("suppliers/services.html", show=show, exhibitor=ex, items=items, form=form,
                           category=category, categories=CATEGORIES, today=today, money=money)


@bp.route("/services/orders")
@require("suppliers.order")
def my_orders():
    show = g.show
    _own_exhibitor(show)
    orders = db.session.scalars(ops.with_details(
        ops.order_query(show, exhibitor_organization_id=current_user.organization_id))).all()
    return render_template("suppliers/orders.html", show=show, orders=orders, status="",
                           statuses=ORDER_STATUS_TITLES, money=money, view="exhibitor", totals=None, sup=None,
                           args={}, suppliers=[])
