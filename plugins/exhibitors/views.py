"""Pages of the exhibitors plugin. Thin: parse, check who may, call operations, render.

Staff see every exhibitor of a show; exhibitor portal users (role ``exhibitor``) reach only
the records of their own organization — anything else answers 404, so they cannot even
learn that another record exists."""
from __future__ import annotations

import os

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import require
from crm_expo.errors import DomainError
from crm_expo.exports import download_name
from crm_expo.extensions import db
from crm_expo.listing import ListRequestError, position_from
from crm_expo.models import Organization, Show
from crm_expo.permissions import can

from . import operations as ops
from .forms import (
    CategoryForm,
    DocumentForm,
    ExhibitorForm,
    ImportForm,
    PortalProfileForm,
    RequiredDocumentsForm,
    ReviewForm,
    StaffForm,
    StatusForm,
)
from .models import DOCUMENT_KINDS, KINDS, STATUS_TITLES, STATUSES, TRANSITIONS, Exhibitor

bp = Blueprint("exhibitors", __name__, template_folder="templates")          # /shows/<slug>/exhibitors
site_bp = Blueprint("exhibitors_site", __name__, template_folder="templates")  # /exhibitors: not about one show



def _load(exhibitor_id: int) -> tuple[Show, Exhibitor]:
    show = g.show
    ex = ops.get_exhibitor(show, exhibitor_id)
    if ex is None:
        abort(404)
    if current_user.role == "exhibitor" and ex.organization_id != current_user.organization_id:
        abort(404)
    return show, ex


def _portal() -> bool:
    return current_user.role == "exhibitor"


# --- lists ------------------------------------------------------------------------------------
@bp.route("/")
@require("exhibitors.view")
def index():
    return _list(g.show)


def _filters() -> dict:
    return {"q": request.args.get("q", "").strip(), "status": request.args.get("status", ""),
            "category_id": request.args.get("category", type=int), "country": request.args.get("country", "").strip(),
            "account_manager_id": request.args.get("manager", type=int), "sort": request.args.get("sort", "name")}


def _list(show: Show):
    f = _filters()
    if f["status"] and f["status"] not in STATUSES:
        f["status"] = ""
    if f["sort"] not in ops.ORDERS:
        f["sort"] = "name"
    try:
        page = ops.exhibitor_page(show, position_from(request.args), **f)
    except ListRequestError as exc:
        abort(400, description=str(exc))
    args = {k: v for k, v in request.args.items() if k not in ("page", "after", "before", "last") and v}
    return render_template("exhibitors/list.html", show=show, listed=show, page=page, filters=f, args=args,
                           categories=ops.categories_for_show(show), managers=ops.account_managers(),
                           counts=ops.status_counts(show), statuses=STATUSES, status_titles=STATUS_TITLES)


@bp.route("/export.<fmt>")
@require("exhibitors.view")
def export(fmt):
    from crm_expo.exports import csv_response, xlsx_response
    if fmt not in ("csv", "xlsx"):
        abort(404)
    show = g.show
    f = _filters()
    header = [_("Id"), _("Company name (Chinese)"), _("Company name (English)"), _("Status"), _("Participation"),
              _("Country"), _("Province / state"), _("Business licence number"), _("Email"), _("Phone"),
              _("Product categories"), _("Account manager"), _("Notes")]
    rows = ([e.id, e.organization.name_zh, e.organization.name_en, str(e.status_title), str(e.kind_title),
             e.country, e.region, e.organization.licence_no, e.organization.email, e.organization.phone,
             ", ".join(c.name for c in e.categories),
             (e.account_manager.name or e.account_manager.email) if e.account_manager else "", e.notes]
            for e in db.session.scalars(ops.exhibitor_query(show, **f)))
    make = csv_response if fmt == "csv" else xlsx_response
    return make(f"exhibitors-{show.slug}.{fmt}", header, rows)


# --- create, detail, edit ----------------------------------------------------------------------
def _fill_choices(form: ExhibitorForm, show: Show, own_id=None) -> None:
    mains = db.session.scalars(select(Exhibitor).join(Organization).where(
        Exhibitor.show_id == show.id, Exhibitor.kind == "main").order_by(Organization.sort_name)).all()
    form.main_exhibitor_id.choices = [("", "—")] + [(str(e.id), e.name) for e in mains if e.id != own_id]
    form.account_manager_id.choices = [("", "—")] + [(str(u.id), u.name or u.email) for u in ops.account_managers()]
    form.category_ids.choices = [(str(c.id), c.name) for c in ops.categories_for_show(show)]


def _exhibitor_fields(form: ExhibitorForm) -> dict:
    return {"name_zh": form.name_zh.data, "name_en": form.name_en.data, "licence_no": form.licence_no.data,
            "country": form.country.data, "region": form.region.data, "address": form.address.data,
            "email": form.email.data, "phone": form.phone.data, "website": form.website.data,
            "kind": form.kind.data if form.kind.data in KINDS else "main",
            "main_exhibitor_id": form.main_exhibitor_id.data or None,
            "account_manager_id": form.account_manager_id.data or None,
            "category_ids": form.category_ids.data or [], "notes": form.notes.data or ""}


@bp.route("/new", methods=["GET", "POST"])
@require("exhibitors.edit")
def create():
    show = g.show
    form = ExhibitorForm()
    _fill_choices(form, show)
    duplicates = []
    if form.validate_on_submit():
        fields = _exhibitor_fields(form)
        from crm_expo.contacts.duplicates import find_duplicate_organizations
        duplicates = find_duplicate_organizations(fields["name_zh"], fields["name_en"],
                                                  (fields["licence_no"] or "").strip().upper())
        use_org = request.form.get("use_organization", type=int)
        organization = db.session.get(Organization, use_org) if use_org else None
        if duplicates and organization is None and not form.create_anyway.data:
            flash(_("Companies with this name or licence number exist already: use one of them, or confirm "
                    "that this is a different company."), "error")
        else:
            try:
                ex = ops.create_exhibitor(show, organization=organization, user=current_user,
                                          new_organization=bool(duplicates) and organization is None, **fields)
            except DomainError as exc:
                flash(str(exc), "error")
            else:
                flash(_("Exhibitor %(name)s registered.", name=ex.name), "success")
                return redirect(url_for("exhibitors.detail", slug=show.slug, exhibitor_id=ex.id))
    return render_template("exhibitors/form.html", show=show, form=form, exhibitor=None, duplicates=duplicates)


@bp.route("/<int:exhibitor_id>")
@require("exhibitors.view", "exhibitors.portal")
def detail(exhibitor_id):
    show, ex = _load(exhibitor_id)
    status_form = StatusForm()
    status_form.status.choices = [(s, STATUS_TITLES[s]) for s in STATUSES if s in TRANSITIONS[ex.status]]
    co_exhibitors = db.session.scalars(select(Exhibitor).where(Exhibitor.main_exhibitor_id == ex.id)).all()
    return render_template("exhibitors/detail.html", show=show, ex=ex, status_form=status_form,
                           document_form=DocumentForm(), review_form=ReviewForm(), staff_form=StaffForm(),
                           missing=ops.missing_documents(ex), missing_text=ops.describe_missing(ops.missing_documents(ex)), required=ops.required_documents(show),
                           co_exhibitors=co_exhibitors, portal=_portal(),
                           can_edit=can("exhibitors.edit", "exhibitors.portal"),
                           can_review=can("exhibitors.review"))


@bp.route("/<int:exhibitor_id>/edit", methods=["GET", "POST"])
@require("exhibitors.edit", "exhibitors.portal")
def edit(exhibitor_id):
    show, ex = _load(exhibitor_id)
    org = ex.organization
    portal = _portal()
    form = (PortalProfileForm if portal else ExhibitorForm)(
        obj=org, data=None if request.method == "POST" else
        {"country": ex.country, "region": ex.region, **({} if portal else {
            "kind": ex.kind, "main_exhibitor_id": str(ex.main_exhibitor_id or ""),
            "account_manager_id": str(ex.account_manager_id or ""),
            "category_ids": [str(c.id) for c in ex.categories], "notes": ex.notes})})
    if not portal:
        _fill_choices(form, show, own_id=ex.id)
        del form.create_anyway
    if form.validate_on_submit():
        if portal:
            fields = {k: getattr(form, k).data for k in ("name_zh", "name_en", "licence_no", "country", "region",
                                                        "address", "email", "phone", "website")}
        else:
            fields = _exhibitor_fields(form)
        try:
            ops.update_exhibitor(ex, fields, user=current_user, portal=portal)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("exhibitors.detail", slug=show.slug, exhibitor_id=ex.id))
    return render_template("exhibitors/form.html", show=show, form=form, exhibitor=ex, duplicates=[])


@bp.route("/<int:exhibitor_id>/status", methods=["POST"])
@require("exhibitors.review")
def change_status(exhibitor_id):
    show, ex = _load(exhibitor_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            ops.change_status(ex, form.status.data, reason=form.reason.data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Status changed to %(status)s.", status=ex.status_title), "success")
    else:
        abort(400)
    return redirect(url_for("exhibitors.detail", slug=show.slug, exhibitor_id=ex.id))


# --- documents ----------------------------------------------------------------------------------
@bp.route("/<int:exhibitor_id>/documents", methods=["POST"])
@require("exhibitors.edit", "exhibitors.portal")
def upload_document(exhibitor_id):
    show, ex = _load(exhibitor_id)
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(ops.MAX_DOCUMENT_BYTES + 1)
        try:
            ops.add_document(ex, form.kind.data, upload.filename or "", data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Document uploaded; it waits for review."), "success")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
    return redirect(url_for("exhibitors.detail", slug=show.slug, exhibitor_id=ex.id))


@bp.route("/<int:exhibitor_id>/documents/<int:document_id>")
@require("exhibitors.view", "exhibitors.portal")
def download_document(exhibitor_id, document_id):
    _show, ex = _load(exhibitor_id)
    doc = ops.get_document(ex, document_id)
    if doc is None or not os.path.exists(ops.document_path(doc)):
        abort(404)
    # Always an attachment with the type we sniffed, never rendered inline by the browser.
    response = send_file(ops.document_path(doc), mimetype=doc.content_type, as_attachment=True,
                         download_name=download_name(doc.filename, doc.content_type), max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/<int:exhibitor_id>/documents/<int:document_id>/review", methods=["POST"])
@require("exhibitors.review")
def review_document(exhibitor_id, document_id):
    show, ex = _load(exhibitor_id)
    doc = ops.get_document(ex, document_id)
    if doc is None:
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.review_document(doc, form.decision.data, note=form.note.data, user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Review recorded."), "success")
    return redirect(url_for("exhibitors.detail", slug=show.slug, exhibitor_id=ex.id))


# --- stand staff ----------------------------------------------------------------------------------
@bp.route("/<int:exhibitor_id>/staff", methods=["POST"])
@require("exhibitors.edit", "exhibitors.portal")
def add_staff(exhibitor_id):
    show, ex = _load(exhibitor_id)
    form = StaffForm()
    if form.validate_on_submit():
        try:
            ops.add_staff(ex, name_zh=form.name_zh.data, name_en=form.name_en.data, email=form.email.data,
                          phone=form.phone.data, role=form.role.data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Staff member added."), "success")
    else:
        abort(400)
    return redirect(url_for("exhibitors.detail", slug=show.slug, exhibitor_id=ex.id))


@bp.route("/<int:exhibitor_id>/staff/<int:staff_id>/remove", methods=["POST"])
@require("exhibitors.edit", "exhibitors.portal")
def remove_staff(exhibitor_id, staff_id):
    show, ex = _load(exhibitor_id)
    if not _csrf_ok():
        abort(400)
    try:
        ops.remove_staff(ex, staff_id, user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    return redirect(url_for("exhibitors.detail", slug=show.slug, exhibitor_id=ex.id))


def _csrf_ok() -> bool:
    from flask_wtf.csrf import ValidationError, validate_csrf
    try:
        validate_csrf(request.form.get("csrf_token"))
        return True
    except ValidationError:
        return False


# --- show settings: categories and required documents --------------------------------------------
@bp.route("/settings", methods=["GET", "POST"])
@require("exhibitors.review")
def settings():
    show = g.show
    category_form = CategoryForm(prefix="cat")
    docs_form = RequiredDocumentsForm(prefix="docs", data=None if request.method == "POST"
                                      else {"kinds": ops.required_documents(show)})
    try:
        if request.form.get("cat-submit") and category_form.validate_on_submit():
            ops.add_category(show, category_form.code.data, category_form.name_zh.data, category_form.name_en.data,
                             user=current_user)
            flash(_("Category added."), "success")
            return redirect(url_for("exhibitors.settings", slug=show.slug))
        if request.form.get("docs-submit") and docs_form.validate_on_submit():
            ops.set_required_documents(show, docs_form.kinds.data or [], user=current_user)
            flash(_("Saved."), "success")
            return redirect(url_for("exhibitors.settings", slug=show.slug))
    except DomainError as exc:
        flash(str(exc), "error")
    return render_template("exhibitors/settings.html", show=show, category_form=category_form, docs_form=docs_form,
                           categories=ops.categories_for_show(show), document_kinds=DOCUMENT_KINDS)


# --- import -------------------------------------------------------------------------------------------
@bp.route("/import", methods=["GET", "POST"])
@require("exhibitors.review")
def import_page():
    """Upload → dry run shown as a preview → confirm → the real import of the same file."""
    from crm_expo.import_page import import_upload_page

    from .importing import COLUMNS, apply_rows
    return import_upload_page(
        g.show, "exhibitors", COLUMNS, apply_rows, form=ImportForm(), endpoint="exhibitors.import_page",
        title=_("Import exhibitors"),
        columns_help=_("Columns: 公司名称 / company name (English), 统一社会信用代码, country, province, email, phone, "
                       "categories (codes), notes. CSV (UTF-8 or GB18030) or XLSX."))


# --- the exhibitor portal --------------------------------------------------------------------------------
@site_bp.route("/portal/")
@require("exhibitors.portal")
def portal():
    rows = db.session.execute(select(Exhibitor, Show).join(Show, Show.id == Exhibitor.show_id)
                              .where(Exhibitor.organization_id == current_user.organization_id)
                              .order_by(Show.id.desc())).all()
    return render_template("exhibitors/portal.html", rows=rows)
