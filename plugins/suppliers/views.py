"""Pages of the suppliers plugin. Staff manage suppliers, appointments and catalogues;
supplier portal users (role ``supplier``) see only their own catalogue."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import require
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.i18n import money, parse_money
from crm_expo.models import Show
from crm_expo.web import current_show, show_or_404

from . import operations as ops
from .forms import AppointForm, CancelForm, ContactForm, ImportForm, ItemForm, OrderNotesForm, SupplierForm
from .models import CATEGORIES, ORDER_STATUS_TITLES, Appointment, CatalogueItem, Supplier

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
        except DomainError as exc:
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
        except DomainError as exc:
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
    except DomainError as exc:
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
            "final_order_deadline": form.final_order_deadline.data, "active": form.active.data,
            "description": form.description.data}


def _add_item_from_form(show, sup) -> None:
    """The posted ItemForm → a new catalogue item of ``sup`` for ``show``; the outcome is flashed
    (staff page and supplier portal alike)."""
    form = ItemForm()
    if form.validate_on_submit():
        try:
            ops.add_item(show, sup, user=current_user, **_item_values(form, show.currency))
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Catalogue item saved."), "success")
    else:
        for name, errors in form.errors.items():
            for e in errors:
                flash(f"{getattr(form, name).label.text}: {e}", "error")


@bp.route("/<int:supplier_id>/items", methods=["POST"])
@require(*EDITORS)
def add_item(supplier_id):
    sup = _supplier_or_404(supplier_id)
    show = _show_arg()
    if show is None:
        abort(400)
    _add_item_from_form(show, sup)
    return redirect(url_for("suppliers.detail", supplier_id=sup.id, show=show.slug))


def _item_form(item: CatalogueItem) -> ItemForm:
    from decimal import Decimal
    from crm_expo.i18n import minor_units
    return ItemForm(data=None if request.method == "POST" else {
        "name_zh": item.name_zh, "name_en": item.name_en, "category": item.category, "unit": item.unit,
        "price": str(Decimal(item.price_minor).scaleb(-minor_units(item.currency))), "currency": item.currency,
        "early_order_deadline": item.early_order_deadline, "late_surcharge_pct": item.late_surcharge_pct,
        "final_order_deadline": item.final_order_deadline, "active": item.active, "description": item.description})


@bp.route("/<int:supplier_id>/items/<int:item_id>/edit", methods=["GET", "POST"])
@require(*EDITORS)
def edit_item(supplier_id, item_id):
    sup = _supplier_or_404(supplier_id)
    item = db.session.get(ops.CatalogueItem, item_id)
    if item is None or item.supplier_id != sup.id:
        abort(404)
    show = db.session.get(Show, item.show_id)
    form = _item_form(item)
    if form.validate_on_submit():
        try:
            ops.update_item(item, user=current_user, **_item_values(form, show.currency))
        except DomainError as exc:
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
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Contact added."), "success")
    return redirect(url_for("suppliers.detail", supplier_id=sup.id))


# --- import page (issue #3) ----------------------------------------------------------------------------
@bp.route("/<slug>/import", methods=["GET", "POST"])
@require(*EDITORS)
def import_page(slug):
    """Upload → dry-run report as a preview → confirm: the same flow as the CLI importer."""
    from .importing import COLUMNS, apply_rows
    from crm_expo.import_page import import_upload_page
    show = show_or_404(slug)
    return import_upload_page(
        show, "suppliers", COLUMNS, apply_rows, form=ImportForm(), endpoint="suppliers.import_page",
        title=_("Import suppliers"),
        columns_help=_("Columns: 公司名称 / company name (English), 服务类别 (categories), 邮箱 (email), 电话 (phone), "
                       "指定服务商 (official contractor: 是/否). CSV (UTF-8 or GB18030) or XLSX."))


# --- the supplier portal: own catalogue, contacts and orders -------------------------------------------
def _own_supplier() -> Supplier:
    sup = ops.supplier_for_organization(current_user.organization_id)
    if sup is None:
        abort(404)
    return sup


def _appointed_shows(sup: Supplier) -> list[Show]:
    return db.session.scalars(select(Show).join(Appointment, Appointment.show_id == Show.id)
                              .where(Appointment.supplier_id == sup.id).order_by(Show.id.desc())).all()


@bp.route("/portal/")
@require("supplier")
def portal():
    """The supplier's own catalogue for every show it is appointed to, and its contacts."""
    sup = ops.supplier_for_organization(current_user.organization_id)
    rows = []
    if sup is not None:
        rows = [(show, ops.catalogue_for_show(show, supplier_id=sup.id, include_inactive=True))
                for show in _appointed_shows(sup)]
    return render_template("suppliers/portal.html", sup=sup, rows=rows, money=money, contact_form=ContactForm(),
                           item_form=ItemForm(data={"active": True}), csrf_form=CancelForm())


def _own_item(item_id) -> tuple[Supplier, CatalogueItem]:
    sup = _own_supplier()
    item = db.session.scalar(select(CatalogueItem).where(CatalogueItem.id == item_id,
                                                         CatalogueItem.supplier_id == sup.id))
    if item is None:
        abort(404)
    return sup, item


@bp.route("/portal/items/<int:item_id>/edit", methods=["GET", "POST"])
@require("supplier")
def portal_edit_item(item_id):
    sup, item = _own_item(item_id)
    show = db.session.get(Show, item.show_id)
    form = _item_form(item)
    if form.validate_on_submit():
        try:
            ops.update_item(item, user=current_user, **_item_values(form, show.currency))
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Catalogue item saved."), "success")
            return redirect(url_for("suppliers.portal"))
    return render_template("suppliers/form.html", form=form, supplier=sup, title=_("Edit catalogue item"))


@bp.route("/portal/<slug>/items", methods=["POST"])
@require("supplier")
def portal_add_item(slug):
    sup = _own_supplier()
    show = show_or_404(slug)
    if ops.appointment_for(show, sup) is None:   # only where it is an official contractor
        abort(404)
    _add_item_from_form(show, sup)
    return redirect(url_for("suppliers.portal"))


@bp.route("/portal/contacts", methods=["POST"])
@require("supplier")
def portal_add_contact():
    sup = _own_supplier()
    form = ContactForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.add_contact(sup, name_zh=form.name_zh.data, name_en=form.name_en.data, email=form.email.data,
                        phone=form.phone.data, role=form.role.data, user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Contact added."), "success")
    return redirect(url_for("suppliers.portal"))


@bp.route("/portal/contacts/<int:contact_id>/remove", methods=["POST"])
@require("supplier")
def portal_remove_contact(contact_id):
    sup = _own_supplier()
    if not _csrf_ok():
        abort(400)
    try:
        ops.remove_contact(sup, contact_id, user=current_user)
    except DomainError:
        abort(404)
    flash(_("Contact removed."), "success")
    return redirect(url_for("suppliers.portal"))


def _csrf_ok() -> bool:
    from flask_wtf.csrf import ValidationError, validate_csrf
    try:
        validate_csrf(request.form.get("csrf_token"))
        return True
    except ValidationError:
        return False


@bp.route("/portal/orders")
@require("supplier")
def portal_orders():
    """Orders routed to the supplier, for one show it is appointed to."""
    sup = _own_supplier()
    shows = _appointed_shows(sup)
    slug = request.args.get("show")
    show = next((s for s in shows if s.slug == slug), None) if slug else None
    if show is None:
        current = current_show()
        show = next((s for s in shows if current and s.id == current.id), shows[0] if shows else None)
    status = request.args.get("status", "")
    pagination = None
    if show is not None:
        pagination = db.paginate(ops.with_details(ops.order_query(show, status=status, supplier_id=sup.id)),
                                 page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template("suppliers/orders.html", show=show, shows=shows,
                           orders=pagination.items if pagination else [], pagination=pagination, status=status,
                           statuses=ORDER_STATUS_TITLES, money=money, view="supplier", totals=None, sup=sup,
                           args={k: v for k, v in request.args.items() if k != "page" and v}, suppliers=[])


# --- exhibitor service orders: the exhibitor portal -----------------------------------------------------
def _own_exhibitor(show: Show):
    """The portal user's exhibitor record at this show (as the exhibitors plugin resolves it:
    its organization's exhibitor of the show), or 404."""
    from plugins.exhibitors import operations as exhibitor_ops
    ex = exhibitor_ops.exhibitor_for_organization(show, current_user.organization_id)
    if ex is None:
        abort(404)
    return ex


@bp.route("/services/")
@require("exhibitor")
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


@bp.route("/<slug>/services", methods=["GET", "POST"])
@require("exhibitor")
def services(slug):
    """The official catalogue by category, priced as it would be charged today; order from it."""
    show = show_or_404(slug)
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
            return redirect(url_for("suppliers.my_orders", slug=show.slug))
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


@bp.route("/<slug>/services/orders")
@require("exhibitor")
def my_orders(slug):
    show = show_or_404(slug)
    _own_exhibitor(show)
    orders = db.session.scalars(ops.with_details(
        ops.order_query(show, exhibitor_organization_id=current_user.organization_id))).all()
    return render_template("suppliers/orders.html", show=show, shows=[], orders=orders, status="",
                           statuses=ORDER_STATUS_TITLES, money=money, view="exhibitor", totals=None, sup=None,
                           args={}, suppliers=[])


# --- orders: organizer list, detail and transitions for every role --------------------------------------
ORDER_READERS = STAFF + ("exhibitor", "supplier")


def _own_filter() -> dict:
    """Portal users only ever reach their own organization's orders (in the query)."""
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


def _order_filters() -> dict:
    return {"status": request.args.get("status", ""), "supplier_id": request.args.get("supplier_id", ""),
            "q": request.args.get("q", "").strip()}


@bp.route("/<slug>/orders")
@require(*STAFF)
def orders(slug):
    """Every service order of the show, with filters and the totals per supplier."""
    show = show_or_404(slug)
    filters = _order_filters()
    pagination = db.paginate(ops.with_details(ops.order_query(show, **filters)),
                             page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("suppliers/orders.html", show=show, shows=[], orders=pagination.items,
                           pagination=pagination, status=filters["status"], statuses=ORDER_STATUS_TITLES,
                           money=money, view="organizer", totals=ops.totals_per_supplier(show, **filters), sup=None,
                           args=args, q=filters["q"], supplier_id=filters["supplier_id"],
                           suppliers=ops.supplier_choices(show))


@bp.route("/<slug>/orders/export.<fmt>")
@require(*STAFF)
def export_orders(slug, fmt):
    from crm_expo.exports import csv_response, xlsx_response
    if fmt not in ("csv", "xlsx"):
        abort(404)
    show = show_or_404(slug)
    header = [_("Order"), _("Status"), _("Placed at (UTC)"), _("Exhibitor"), _("Supplier"), _("Item"),
              _("Service category"), _("Quantity"), _("Unit"), _("Unit price"), _("Late surcharge applied"),
              _("Line total"), _("Currency"), _("Notes"), _("Cancellation reason")]
    from crm_expo.i18n import minor_units
    from decimal import Decimal

    def amount(minor, currency):   # a number in the sheet, exact (Decimal, not float)
        return Decimal(minor).scaleb(-minor_units(currency))
    # translated once, not once per row
    status_titles = {k: str(v) for k, v in ORDER_STATUS_TITLES.items()}
    category_titles = {k: str(v) for k, v in CATEGORIES.items()}
    yes, no = _("yes"), _("no")
    rows = ([r[0], status_titles.get(r[1], r[1]), r[2].strftime("%Y-%m-%d %H:%M"), r[3] or r[4], r[5] or r[6],
             r[7] or r[8], category_titles.get(r[9], r[9]), r[10], r[11], amount(r[12], r[15]), yes if r[13] else no,
             amount(r[14], r[15]), r[15], r[16], r[17]]
            for r in ops.order_export_rows(show, **_order_filters()))
    return (csv_response if fmt == "csv" else xlsx_response)(f"service-orders-{show.slug}.{fmt}", header, rows)


@bp.route("/<slug>/orders/<int:order_id>")
@require(*ORDER_READERS)
def order_detail(slug, order_id):
    show = show_or_404(slug)
    order = _order_or_404(show, order_id)
    return render_template("suppliers/order.html", show=show, order=order, money=money, cancel_form=CancelForm(),
                           actions=_actions(order), history=ops.order_history(order))


def _actions(order) -> set[str]:
    """What the signed-in user may do with this (already own-filtered) order now."""
    role = current_user.role
    can = set()
    if order.status == "placed" and role in EDITORS + ("supplier",):
        can.add("confirm")
    if order.status == "confirmed" and role in EDITORS + ("supplier",):
        can.add("deliver")
    if (order.status == "placed" and role == "exhibitor") or (order.status in ("placed", "confirmed")
                                                               and role in EDITORS):
        can.add("cancel")
    return can


@bp.route("/<slug>/orders/<int:order_id>/<action>", methods=["POST"])
@require(*(EDITORS + ("exhibitor", "supplier")))
def order_action(slug, order_id, action):
    show = show_or_404(slug)
    order = _order_or_404(show, order_id)
    role = current_user.role
    allowed = {"confirm": EDITORS + ("supplier",), "deliver": EDITORS + ("supplier",),
               "cancel": EDITORS + ("exhibitor",)}
    if action not in allowed:
        abort(404)
    if role not in allowed[action]:
        abort(403)
    form = CancelForm()
    if not _csrf_ok():
        abort(400)
    try:
        if action == "confirm":
            ops.confirm_order(order, user=current_user)
        elif action == "deliver":
            ops.deliver_order(order, user=current_user)
        else:
            ops.cancel_order(order, form.reason.data or "", by_organizer=role in EDITORS, user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Order %(id)d: %(status)s.", id=order.id, status=order.status_title), "success")
    if request.form.get("back") == "list" and role == "supplier":   # from the supplier's order list
        return redirect(url_for("suppliers.portal_orders", show=show.slug))
    return redirect(url_for("suppliers.order_detail", slug=show.slug, order_id=order.id))
