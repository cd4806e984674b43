"""Pages of the onsite plugin: registration desk, badges, attendance, service centre and
the portal pages (supplier: requests routed to it; exhibitor: suggestions and complaints)."""
from __future__ import annotations

import os

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import public, require
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.models import get_setting
from plugins.visitors import operations as visitor_ops
from plugins.visitors.models import Registration

from . import forms
from . import operations as ops
from .models import BadgePrint, ServiceRequest

bp = Blueprint("onsite", __name__, template_folder="templates")




def _pdf(data: bytes, name: str):
    return data, 200, {"Content-Type": "application/pdf", "Content-Disposition": f'inline; filename="{name}"'}


@bp.route("/")
@require("onsite.view")
def index():
    show = g.show
    return render_template("onsite/index.html", show=show,
                           figures=ops.attendance(show), kpis=ops.service_kpis(show),
                           prints=ops.print_count(show))


STATIC = os.path.join(os.path.dirname(__file__), "static")


@bp.route("/assets/<name>")
@public
def asset(name):
    # The desk's script and style, served by the plugin (no blueprint static route to guard).
    if name not in ("desk.js", "desk.css"):
        abort(404)
    return send_from_directory(STATIC, name, max_age=3600)


# --- registration desk ------------------------------------------------------------------------
@bp.route("/desk")
@require("onsite.desk")
def desk():
    show = g.show
    gate = (request.args.get("gate") or "A").strip()[:64]
    return render_template("onsite/desk.html", show=show, gate=gate, walkin=forms.WalkInForm(),
                           count=ops.gate_count(show, gate), badge_id=request.args.get("badge", type=int),
                           print_on_checkin=bool(get_setting("onsite.print_on_checkin", show)))


@bp.route("/desk/search")
@require("onsite.desk")
def desk_search():
    show = g.show
    found = ops.search_registrations(show, request.args.get("q", ""))
    return jsonify(items=[dict(p, code=r.badge_code, reprint_url=url_for("onsite.reprint", reg_id=r.id),
                               badge_url=url_for("onsite.badge", reg_id=r.id))
                          for r, p in zip(found, (ops._person_json(r) for r in found), strict=True)])


@bp.route("/desk/walkin", methods=["POST"])
@require("onsite.desk")
def walkin():
    show = g.show
    form = forms.WalkInForm()
    gate = (request.args.get("gate") or "A")[:64]
    if not form.validate_on_submit():
        flash(_("Check the walk-in form: %(errors)s", errors="; ".join(
            f"{form[k].label.text}: {', '.join(v)}" for k, v in form.errors.items())), "error")
        return redirect(url_for("onsite.desk", gate=gate))
    try:
        reg = visitor_ops.register_visitor(
            show, {"name_zh": form.name_zh.data, "name_en": form.name_en.data, "phone": form.phone.data,
                   "email": form.email.data, "organization_name": form.company.data},
            form.category.data, consents={"share_with_exhibitors": form.share.data, "marketing": form.marketing.data,
                                          "badge_data": True},
            source="desk", user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("onsite.desk", gate=gate))
    message = _("Registered %(name)s, badge %(code)s.", name=reg.person.name_zh or reg.person.name_en,
                code=reg.badge_code)
    if form.check_in.data:
        answer = ops.check_in(show, reg.badge_code, gate, desk="desk", user_id=current_user.id)
        message += " " + answer["reason"]
    flash(message, "success")
    return redirect(url_for("onsite.desk", gate=gate, badge=reg.id))


@bp.route("/desk/badge/<int:reg_id>", methods=["POST"])
@require("onsite.desk")
def badge(reg_id):
    """First print of a badge (a POST: it records the print); a badge printed before goes
    through the reprint form.
    ``?auto=1`` is the desk printing on check-in: a badge printed before is then answered
    409 with the reason (never reprinted without one), so the desk can say so."""
    show = g.show
    reg = visitor_ops.get_registration(show, reg_id) or abort(404)
    if db.session.scalar(select(BadgePrint.id).where(BadgePrint.registration_id == reg.id).limit(1)):
        if request.args.get("auto"):
            return jsonify(error={"code": "printed_before",
                                  "message": _("Badge printed before: not printed again (a reprint needs a reason)."),
                                  "reprint_url": url_for("onsite.reprint", reg_id=reg.id)}), 409
        flash(_("This badge was printed before: give the reason for the reprint."), "error")
        return redirect(url_for("onsite.reprint", reg_id=reg.id))
    size = request.args.get("size", "90x130")
    try:
        pdf = ops.print_badges(show, [reg], size, user=current_user)
    except DomainError as exc:
        if request.args.get("auto"):
            return jsonify(error={"code": "not_printed", "message": str(exc),
                                  "reprint_url": url_for("onsite.reprint", reg_id=reg.id)}), 409
        flash(str(exc), "error")
        return redirect(url_for("onsite.desk"))
    return _pdf(pdf, f"badge-{reg.id}.pdf")


@bp.route("/desk/reprint/<int:reg_id>", methods=["GET", "POST"])
@require("onsite.desk")
def reprint(reg_id):
    show = g.show
    reg = visitor_ops.get_registration(show, reg_id) or abort(404)
    form = forms.ReprintForm()
    if form.validate_on_submit():
        try:
            if form.lost.data:
                pdf = ops.reprint_lost_badge(show, reg, form.reason.data, "90x130", user=current_user)
            else:
                pdf = ops.print_badges(show, [reg], "90x130", reason=form.reason.data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            return _pdf(pdf, f"badge-{reg.id}.pdf")
    return render_template("onsite/reprint.html", show=show, reg=reg, form=form)


@bp.route("/badges", methods=["GET", "POST"])
@require("onsite.manage")
def badges():
    """Batch printing for all pre-registered visitors of a category."""
    show = g.show
    form = forms.BatchBadgesForm()
    if form.validate_on_submit():
        stmt = select(Registration).where(Registration.show_id == show.id,
                                          Registration.category == form.category.data,
                                          Registration.cancelled_at.is_(None)).order_by(Registration.id)
        if form.only_unprinted.data:
            stmt = stmt.where(~Registration.id.in_(select(BadgePrint.registration_id)))
        regs = list(db.session.scalars(stmt))
        try:
            pdf = ops.print_badges(show, regs, form.size.data, reason=form.reason.data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            return _pdf(pdf, f"badges-{show.slug}-{form.category.data}.pdf")
    return render_template("onsite/badges.html", show=show, form=form, prints=ops.print_count(show))


@bp.route("/attendance")
@require("onsite.manage")
def attendance():
    show = g.show
    return render_template("onsite/attendance.html", show=show, figures=ops.attendance(show))


@bp.route("/attendance.pdf")
@require("onsite.manage")
def attendance_pdf():
    show = g.show
    from .pdf import attendance_report  # ReportLab loads when a PDF is asked for
    return _pdf(attendance_report(show, ops.attendance(show)), f"attendance-{show.slug}.pdf")


# --- service centre ---------------------------------------------------------------------------
@bp.route("/service")
@require("onsite.service")
def service():
    show = g.show
    status = request.args.get("status", "open")
    return render_template("onsite/service.html", show=show, status=status, ops=ops,
                           requests=ops.requests_for(show, status=status), kpis=ops.service_kpis(show))


@bp.route("/service/new", methods=["GET", "POST"])
@require("onsite.service")
def service_new():
    show = g.show
    form = forms.ServiceRequestForm()
    if form.validate_on_submit():
        try:
            req = ops.open_request(show, category=form.category.data, description=form.description.data,
                                   kind=form.kind.data, channel=form.channel.data, priority=form.priority.data,
                                   location=form.location.data, contact=form.contact.data,
                                   organization_id=form.organization_id.data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Request #%(id)d logged; you own it until it is closed.", id=req.id), "success")
            return redirect(url_for("onsite.service_request", request_id=req.id))
    return render_template("onsite/service_new.html", show=show, form=form)


def _request_or_404(request_id: int) -> ServiceRequest:
    show = g.show
    req = db.session.get(ServiceRequest, request_id)
    if req is None or req.show_id != show.id:
        abort(404)
    return req


@bp.route("/service/<int:request_id>")
@require("onsite.service")
def service_request(request_id):
    req = _request_or_404(request_id)
    return render_template("onsite/service_request.html", req=req, ops=ops, assign=forms.AssignForm(),
                           note=forms.NoteForm(), feedback=forms.FeedbackForm(),
                           satisfaction=forms.SatisfactionForm(), overdue=ops.is_overdue(req))


@bp.route("/service/<int:request_id>/<action>", methods=["POST"])
@require("onsite.service")
def service_action(request_id, action):
    req = _request_or_404(request_id)
    try:
        if action == "assign":
            form = forms.AssignForm()
            if not form.validate_on_submit():
                abort(400)
            ops.assign_request(req, department=form.department.data or "",
                               supplier_organization_id=form.supplier_organization_id.data, note=form.note.data,
                               user=current_user)
        elif action in ("start", "resolve", "chase"):
            form = forms.NoteForm()
            if not form.validate_on_submit():
                abort(400)
            {"start": ops.start_request, "resolve": ops.resolve_request,
             "chase": ops.chase_request}[action](req, form.note.data, user=current_user)
        elif action == "feedback":
            form = forms.FeedbackForm()
            if not form.validate_on_submit():
                raise ops.OnsiteError(_("Say what the customer was told."))
            ops.give_feedback(req, form.note.data, int(form.satisfaction.data) if form.satisfaction.data else None,
                              user=current_user)
        elif action == "satisfaction":
            form = forms.SatisfactionForm()
            if not form.validate_on_submit():
                raise ops.OnsiteError(_("Satisfaction is a whole number from 1 to 5."))
            ops.give_feedback(req, form.note.data, form.satisfaction.data, user=current_user)
        else:
            abort(404)
    except DomainError as exc:
        flash(str(exc), "error")
    return redirect(url_for("onsite.service_request", request_id=req.id))


# --- portals ----------------------------------------------------------------------------------
@bp.route("/supplier", methods=["GET", "POST"])
@require("onsite.supplier")
def supplier_requests():
    """Requests the service centre routed to the signed-in supplier: see and update them."""
    show = g.show
    if request.method == "POST":
        form = forms.NoteForm()
        req = db.session.get(ServiceRequest, request.args.get("id", type=int) or 0)
        # Only rows routed to the supplier's own organization.
        if req is None or req.supplier_organization_id != current_user.organization_id or not form.validate_on_submit():
            abort(404)
        try:
            if request.args.get("action") == "resolve":
                ops.resolve_request(req, form.note.data, user=current_user)
            else:
                ops.start_request(req, form.note.data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        return redirect(url_for("onsite.supplier_requests"))
    return render_template("onsite/supplier.html", show=show, ops=ops, form=forms.NoteForm(),
                           requests=ops.requests_for(show, supplier_organization_id=current_user.organization_id))


@bp.route("/portal", methods=["GET", "POST"])
@require("onsite.portal")
def portal():
    """The exhibitors' suggestion and complaint book (授予客户建议权)."""
    show = g.show
    form = forms.PortalRequestForm()
    if form.validate_on_submit():
        try:
            ops.open_request(show, category=form.category.data, description=form.description.data,
                             kind=form.kind.data, channel="portal", location=form.location.data,
                             organization_id=current_user.organization_id, contact=current_user.email,
                             user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Thank you. The service centre will answer you here."), "success")
            return redirect(url_for("onsite.portal"))
    return render_template("onsite/portal.html", show=show, form=form, ops=ops, notices=ops.notices(show),
                           requests=ops.requests_for(show, organization_id=current_user.organization_id))


# --- lead scanning (exhibitor portal) -----------------------------------------------------------
LEAD_COLUMNS = ("lead", "category", "name", "name_en", "company", "email", "phone", "rating", "notes", "tags",
                "scans", "at")


def _lead_header() -> list[str]:
    """The leads export's column titles in the reader's language (the keys of LEAD_COLUMNS)."""
    from crm_expo.exports import time_header
    return [_("Lead"), _("Category"), _("Name"), _("Name (English)"), _("Company"), _("Email"), _("Phone"),
            _("Rating"), _("Notes"), _("Tags"), _("Scans"), time_header(_("Last scanned at"))]


@bp.route("/leads", methods=["GET", "POST"])
@require("onsite.portal")
def leads():
    """Exhibitor staff scan visitor badges at the booth (phone page, scanner wedge or typing)."""
    show = g.show
    form = forms.LeadForm()
    if form.validate_on_submit():
        try:
            ops.capture_lead(show, current_user.organization_id, form.code.data, rating=int(form.rating.data),
                             notes=form.notes.data, tags=form.tags.data, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Lead saved."), "success")
            return redirect(url_for("onsite.leads"))
    try:
        rows = ops.lead_rows(show, current_user.organization_id)
    except DomainError as exc:
        flash(str(exc), "error")
        rows = []
    return render_template("onsite/leads.html", show=show, form=form, rows=rows)


@bp.route("/leads.<fmt>")
@require("onsite.portal")
def leads_export(fmt):
    from crm_expo.exports import csv_response, sheet_time, xlsx_response
    show = g.show
    if fmt not in ("csv", "xlsx"):
        abort(404)
    try:
        rows = ops.lead_rows(show, current_user.organization_id)
    except DomainError:
        abort(403)
    data = [[sheet_time(r[k]) if k == "at" else r[k] for k in LEAD_COLUMNS] for r in rows]
    return (csv_response if fmt == "csv" else xlsx_response)(f"leads-{show.slug}.{fmt}", _lead_header(), data)


@bp.route("/leads/counts")
@require("onsite.manage")
def lead_counts():
    show = g.show
    return render_template("onsite/lead_counts.html", show=show, counts=ops.lead_counts(show))


# --- proactive service --------------------------------------------------------------------------
@bp.route("/service/recurring", methods=["GET", "POST"])
@require("onsite.recurring")
def recurring():
    """Recurring problems, and promoting one to a notice exhibitors see in their portal."""
    show = g.show
    form = forms.NoticeForm()
    if form.validate_on_submit():
        try:
            ops.promote_to_notice(show, form.category.data, form.title.data, form.body.data,
                                  form.requests_seen.data or 0, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Notice published in the exhibitor portal."), "success")
            return redirect(url_for("onsite.recurring"))
    return render_template("onsite/recurring.html", show=show, form=form, ops=ops,
                           groups=ops.recurring_problems(show), notices=ops.notices(show))
