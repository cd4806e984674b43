"""Pages of the suppliers plugin. Staff manage suppliers, appointments and catalogues;
supplier portal users (role ``supplier``) see only their own catalogue."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import require
from crm_expo.extensions import db
from crm_expo.i18n import money, parse_money
from crm_expo.models import Show
from crm_expo.web import current_show, show_or_404

from . import operations as ops
from .forms import AppointForm, ContactForm, ItemForm, SupplierForm
from .models import CATEGORIES, Appointment, Supplier

bp = Blueprint("suppliers", __name__, template_folder="templates")

STAFF = ("admin", "organizer", "account_manager", "service_agent")
EDITORS = ("admin", "organizer")
PER_PAGE = 50


def _supplier_or_404(supplier_id: int) -> Supplier:
    sup = ops.get_supplier(supplier_id)
    if sup is None:
        abort(404)
    return sup


@bp.route("/")
@require(*STAFF)
def index():
    show = current_show()
    q, category = request.args.get("q", "").strip(), request.args.get("category", "")
    appointed = request.args.get("appointed") == "1"
    stmt = ops.supplier_query(q=q, category=category if category in CATEGORIES else "", show=show,
                              appointed_only=appointed)
    pagination = db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    appointed_ids = set()
    if show is not None:
        appointed_ids = set(db.session.scalars(select(Appointment.supplier_id).where(Appointment.show_id == show.id)))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("suppliers/list.html", pagination=pagination, show=show, q=q, category=category,
                           appointed=appointed, appointed_ids=appointed_ids, categories=CATEGORIES, args=args)


@bp.route("/export.<fmt>")
@require(*STAFF)
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
@require(*EDITORS)
def create():
    form = SupplierForm()
    if form.validate_on_submit():
        try:
            sup = ops.create_supplier(name_zh=form.name_zh.data, name_en=form.name_en.data,
                                      categories=form.categories.data or [], email=form.email.data,
                                      phone=form.phone.data, website=form.website.data, notes=form.notes.data,
                                      user=current_user)
        except ops.SupplierError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Supplier %(name)s saved.", name=sup.name), "success")
            return redirect(url_for("suppliers.detail", supplier_id=sup.id))
    return render_template("suppliers/form.html", form=form, supplier=None, title=_("New supplier"))


@bp.route("/<int:supplier_id>")
@require(*STAFF)
def detail(supplier_id):
    sup = _supplier_or_404(supplier_id)
    show = _show_arg()
    appointment = ops.appointment_for(show, sup) if show else None
    appoint_form = AppointForm(data={"categories": appointment.category_list if appointment else sup.category_list})
    item_form = ItemForm(data={"currency": show.currency if show else "CNY", "active": True})
    return render_template("suppliers/detail.html", sup=sup, show=show, appointment=appointment,
                           items=ops.catalogue_for_show(show, supplier_id=sup.id, include_inactive=True) if show else [],
                           appoint_form=appoint_form, item_form=item_form, contact_form=ContactForm(),
                           can_edit=current_user.role in EDITORS, category_titles=CATEGORIES, shows=db.session.scalars(
                               select(Show).order_by(Show.id.desc())).all(), money=money)


def _show_arg() -> Show | None:
    slug = request.values.get("show")
    return show_or_404(slug) if slug else current_show()


@bp.route("/<int:supplier_id>/edit", methods=["GET", "POST"])
@require(*EDITORS)
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
        except ops.SupplierError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("suppliers.detail", supplier_id=sup.id))
    return render_template("suppliers/form.html", form=form, supplier=sup, title=_("Edit supplier"))


@bp.route("/<int:supplier_id>/appoint", methods=["POST"])
@require(*EDITORS)
def appoint(supplier_id):
    sup = _supplier_or_404(supplier_id)
    show = _show_arg()
    form = AppointForm()
    if show is None or not form.validate_on_submit():
        abort(400)
    try:
        ops.appoint(show, sup, form.categories.data or [], user=current_user)
    except ops.SupplierError as exc:
        flash(str(exc), "error")
    else:
        flash(_("%(name)s is an official contractor of %(show)s.", name=sup.name, show=show.name), "success")
    return redirect(url_for("suppliers.detail", supplier_id=sup.id, show=show.slug))


def _item_values(form: ItemForm, currency: str) -> dict:
    try:
        price = parse_money(form.price.data, form.currency.data.upper() or currency)
    except Exception:   # not a number, or an unknown currency
        raise ops.SupplierError(_("The price is not an amount: %(value)s", value=form.price.data))
    return {"name_zh": form.name_zh.data, "name_en": form.name_en.data, "category": form.category.data,
            "unit": form.unit.data, "price_minor": price, "currency": form.currency.data or currency,
            "early_order_deadline": form.early_order_deadline.data, "late_surcharge_pct": form.late_surcharge_pct.data,
            "final_order_deadline": form.final_order_deadline.data, "active": form.active.data}


@bp.route("/<int:supplier_id>/items", methods=["POST"])
@require(*EDITORS)
def add_item(supplier_id):
    sup = _supplier_or_404(supplier_id)
    show = _show_arg()
    form = ItemForm()
    if show is None:
        abort(400)
    if form.validate_on_submit():
        try:
            ops.add_item(show, sup, user=current_user, **_item_values(form, show.currency))
        except ops.SupplierError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Catalogue item saved."), "success")
    else:
        for name, errors in form.errors.items():
            for e in errors:
                flash(f"{getattr(form, name).label.text}: {e}", "error")
    return redirect(url_for("suppliers.detail", supplier_id=sup.id, show=show.slug))


@bp.route("/<int:supplier_id>/items/<int:item_id>/edit", methods=["GET", "POST"])
@require(*EDITORS)
def edit_item(supplier_id, item_id):
    sup = _supplier_or_404(supplier_id)
    item = db.session.get(ops.CatalogueItem, item_id)
    if item is None or item.supplier_id != sup.id:
        abort(404)
    show = db.session.get(Show, item.show_id)
    from decimal import Decimal
    from crm_expo.i18n import minor_units
    form = ItemForm(data=None if request.method == "POST" else {
        "name_zh": item.name_zh, "name_en": item.name_en, "category": item.category, "unit": item.unit,
        "price": str(Decimal(item.price_minor) / (10 ** minor_units(item.currency))), "currency": item.currency,
        "early_order_deadline": item.early_order_deadline, "late_surcharge_pct": item.late_surcharge_pct,
        "final_order_deadline": item.final_order_deadline, "active": item.active})
    if form.validate_on_submit():
        try:
            ops.update_item(item, user=current_user, **_item_values(form, show.currency))
        except ops.SupplierError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Catalogue item saved."), "success")
            return redirect(url_for("suppliers.detail", supplier_id=sup.id, show=show.slug))
    return render_template("suppliers/form.html", form=form, supplier=sup, title=_("Edit catalogue item"))


@bp.route("/<int:supplier_id>/contacts", methods=["POST"])
@require(*EDITORS)
def add_contact(supplier_id):
    sup = _supplier_or_404(supplier_id)
    form = ContactForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.add_contact(sup, name_zh=form.name_zh.data, name_en=form.name_en.data, email=form.email.data,
                        phone=form.phone.data, role=form.role.data, user=current_user)
    except ops.SupplierError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Contact added."), "success")
    return redirect(url_for("suppliers.detail", supplier_id=sup.id))


@bp.route("/portal/")
@require("supplier")
def portal():
    """The supplier's own catalogue, for every show it is appointed to."""
    sup = ops.supplier_for_organization(current_user.organization_id)
    rows = []
    if sup is not None:
        shows = db.session.scalars(select(Show).join(Appointment, Appointment.show_id == Show.id)
                                   .where(Appointment.supplier_id == sup.id).order_by(Show.id.desc())).all()
        rows = [(show, ops.catalogue_for_show(show, supplier_id=sup.id, include_inactive=True)) for show in shows]
    return render_template("suppliers/portal.html", sup=sup, rows=rows, money=money)
