"""Staff pages of the suppliers plugin, about one show (``/shows/<slug>/suppliers/…``): the
supplier list and records, appointments as official contractor, each supplier's catalogue
for the show, the import, and the show's service orders with their export."""
from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import require
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.i18n import minor_units, money
from crm_expo.permissions import can

from .. import operations as ops
from ..forms import AppointForm, ContactForm, ImportForm, ItemForm, SupplierForm
from ..models import CATEGORIES, ORDER_STATUS_TITLES, Appointment, Supplier
from .common import PER_PAGE, add_contact_from_form, add_item_from_form, bp, item_form, item_values


def _supplier_or_404(supplier_id: int) -> Supplier:
    sup = ops.get_supplier(supplier_id)
    if sup is None:
        abort(404)
    return sup


@bp.route("/")
@require("suppliers.view")
def index():
    show = g.show
    q, category = request.args.get("q", "").strip(), request.args.get("category", "")
    appointed = request.args.get("appointed") == "1"
    stmt = ops.supplier_query(q=q, category=category if category in CATEGORIES else "", show=show,
                              appointed_only=appointed)
    pagination = db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    appointed_ids = set(db.session.scalars(select(Appointment.supplier_id).where(Appointment.show_id == show.id)))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("suppliers/list.html", pagination=pagination, show=show, q=q, category=category,
                           appointed=appointed, appointed_ids=appointed_ids, categories=CATEGORIES, args=args)


@bp.route("/export.<fmt>")
@require("suppliers.view")
def export(fmt):
    from crm_expo.exports import csv_response, xlsx_response
    if fmt not in ("csv", "xlsx"):
        abort(404)
    header = [_("Id"), _("Company name (Chinese)"), _("Company name (English)"), _("Service categories"),
              _("Email"), _("Phone"), _("Website"), _("Notes")]
    rows = ([s.id, s.organization.name_zh, s.organization.name_en,
             ", ".join(str(CATEGORIES.get(c, c)) for c in s.category_list), s.organization.email,
             s.organization.phone, s.organization.website, s.notes]
            for s in db.session.scalars(ops.supplier_query(q=request.args.get("q", ""),
                                                           category=request.args.get("category", ""))))
    return (csv_response if fmt == "csv" else xlsx_response)(f"suppliers.{fmt}", header, rows)


@bp.route("/new", methods=["GET", "POST"])
@require("suppliers.edit")
def create():
    form = SupplierForm()
    if form.validate_on_submit():
        try:
            sup = ops.create_supplier(name_zh=form.name_zh.data, name_en=form.name_en.data,
                                      categories=form.categories.data or [], email=form.email.data,
                                      phone=form.phone.data, website=form.website.data, notes=form.notes.data,
                                      user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Supplier %(name)s saved.", name=sup.name), "success")
            return redirect(url_for("suppliers.detail", supplier_id=sup.id))
    return render_template("suppliers/form.html", form=form, supplier=None, title=_("New supplier"))


@bp.route("/<int:supplier_id>")
@require("suppliers.view")
def detail(supplier_id):
    """The supplier, and its appointment and catalogue at the show of the URL."""
    sup = _supplier_or_404(supplier_id)
    show = g.show
    appointment = ops.appointment_for(show, sup)
    appoint_form = AppointForm(data={"categories": appointment.category_list if appointment else sup.category_list})
    item_form_ = ItemForm(data={"currency": show.currency, "active": True})
    return render_template("suppliers/detail.html", sup=sup, show=show, appointment=appointment,
                           items=ops.catalogue_for_show(show, supplier_id=sup.id, include_inactive=True),
                           appoint_form=appoint_form, item_form=item_form_, contact_form=ContactForm(),
                           can_edit=can("suppliers.edit"), category_titles=CATEGORIES, money=money)


@bp.route("/<int:supplier_id>/edit", methods=["GET", "POST"])
@require("suppliers.edit")
def edit(supplier_id):
    sup = _supplier_or_404(supplier_id)
    org = sup.organization
    form = SupplierForm(data=None if request.method == "POST" else {
        "name_zh": org.name_zh, "name_en": org.name_en, "email": org.email, "phone": org.phone,
        "website": org.website, "categories": sup.category_list, "notes": sup.notes})
    if form.validate_on_submit():
        try:
            ops.update_supplier(sup, {"name_zh": form.name_zh.data, "name_en": form.name_en.data,
                                      "email": form.email.data, "phone": form.phone.data, "website": form.website.data,
                                      "categories": form.categories.data or [], "notes": form.notes.data},
                                user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("suppliers.detail", supplier_id=sup.id))
    return render_template("suppliers/form.html", form=form, supplier=sup, title=_("Edit supplier"))


@bp.route("/<int:supplier_id>/appoint", methods=["POST"])
@require("suppliers.edit")
def appoint(supplier_id):
    sup = _supplier_or_404(supplier_id)
    show = g.show
    form = AppointForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.appoint(show, sup, form.categories.data or [], user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("%(name)s is an official contractor of %(show)s.", name=sup.name, show=show.name), "success")
    return redirect(url_for("suppliers.detail", supplier_id=sup.id))


@bp.route("/<int:supplier_id>/items", methods=["POST"])
@require("suppliers.edit")
def add_item(supplier_id):
    sup = _supplier_or_404(supplier_id)
    add_item_from_form(g.show, sup)
    return redirect(url_for("suppliers.detail", supplier_id=sup.id))


@bp.route("/<int:supplier_id>/items/<int:item_id>/edit", methods=["GET", "POST"])
@require("suppliers.edit")
def edit_item(supplier_id, item_id):
    sup = _supplier_or_404(supplier_id)
    item = db.session.get(ops.CatalogueItem, item_id)
    if item is None or item.supplier_id != sup.id or item.show_id != g.show.id:
        abort(404)
    form = item_form(item)
    if form.validate_on_submit():
        try:
            ops.update_item(item, user=current_user, **item_values(form, g.show.currency))
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Catalogue item saved."), "success")
            return redirect(url_for("suppliers.detail", supplier_id=sup.id))
    return render_template("suppliers/form.html", form=form, supplier=sup, title=_("Edit catalogue item"))


@bp.route("/<int:supplier_id>/contacts", methods=["POST"])
@require("suppliers.edit")
def add_contact(supplier_id):
    sup = _supplier_or_404(supplier_id)
    add_contact_from_form(sup)
    return redirect(url_for("suppliers.detail", supplier_id=sup.id))


# --- import page (issue #3) ----------------------------------------------------------------------------
@bp.route("/import", methods=["GET", "POST"])
@require("suppliers.edit")
def import_page():
    """Upload → dry-run report as a preview → confirm: the same flow as the CLI importer."""
    from crm_expo.import_page import import_upload_page

    from ..importing import COLUMNS, apply_rows
    return import_upload_page(
        g.show, "suppliers", COLUMNS, apply_rows, form=ImportForm(), endpoint="suppliers.import_page",
        title=_("Import suppliers"),
        columns_help=_("Columns: 公司名称 / company name (English), 服务类别 (categories), 邮箱 (email), 电话 (phone), "
                       "指定服务商 (official contractor: 是/否). CSV (UTF-8 or GB18030) or XLSX."))


# --- the show's service orders ---------------------------------------------------------------------------
def order_filters() -> dict:
    return {"status": request.args.get("status", ""), "supplier_id": request.args.get("supplier_id", ""),
            "q": request.args.get("q", "").strip()}


@bp.route("/orders")
@require("suppliers.orders")
def orders():
    """Every service order of the show, with filters and the totals per supplier."""
    show = g.show
    filters = order_filters()
    pagination = db.paginate(ops.with_details(ops.order_query(show, **filters)),
                             page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("suppliers/orders.html", show=show, orders=pagination.items,
                           pagination=pagination, status=filters["status"], statuses=ORDER_STATUS_TITLES,
                           money=money, view="organizer", totals=ops.totals_per_supplier(show, **filters), sup=None,
                           args=args, q=filters["q"], supplier_id=filters["supplier_id"],
                           suppliers=ops.supplier_choices(show))


@bp.route("/orders/export.<fmt>")
@require("suppliers.orders")
def export_orders(fmt):
    from crm_expo.exports import csv_response, sheet_time, time_header, xlsx_response
    if fmt not in ("csv", "xlsx"):
        abort(404)
    show = g.show
    header = [_("Order"), _("Status"), time_header(_("Placed at")), _("Exhibitor"), _("Supplier"), _("Item"),
              _("Service category"), _("Quantity"), _("Unit"), _("Unit price"), _("Late surcharge applied"),
              _("Line total"), _("Currency"), _("Notes"), _("Cancellation reason")]

    def amount(minor, currency):   # a number in the sheet, exact (Decimal, not float)
        return Decimal(minor).scaleb(-minor_units(currency))
    # translated once, not once per row
    status_titles = {k: str(v) for k, v in ORDER_STATUS_TITLES.items()}
    category_titles = {k: str(v) for k, v in CATEGORIES.items()}
    yes, no = _("yes"), _("no")
    rows = ([r[0], status_titles.get(r[1], r[1]), sheet_time(r[2]), r[3] or r[4], r[5] or r[6],
             r[7] or r[8], category_titles.get(r[9], r[9]), r[10], r[11], amount(r[12], r[15]), yes if r[13] else no,
             amount(r[14], r[15]), r[15], r[16], r[17]]
            for r in ops.order_export_rows(show, **order_filters()))
    return (csv_response if fmt == "csv" else xlsx_response)(f"service-orders-{show.slug}.{fmt}", header, rows)
