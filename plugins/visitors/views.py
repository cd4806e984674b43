"""Pages of the visitors plugin: the staff list, detail, edit, verification, badge code,
admission rules, import and export; and the public self-registration page."""
from __future__ import annotations

import base64
import datetime as dt
import io
import os
import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import public, require
from crm_expo.contacts.importing import ImportFileError, run_import
from crm_expo.database import transaction
from crm_expo.errors import DomainError
from crm_expo.exports import csv_response, download_name, xlsx_response
from crm_expo.extensions import db, limiter
from crm_expo.i18n import parse_money
from crm_expo.listing import ListRequestError, position_from
from crm_expo.permissions import can

from . import bulk, forms, retention
from . import operations as ops
from .models import CATEGORIES, CATEGORY_TITLES, VERIFICATION_TITLES, VERIFICATIONS, AdmissionRule, BusinessCard

bp = Blueprint("visitors", __name__, template_folder="templates")



def _locale() -> str:
    return str(get_locale() or "zh")




def _registration(registration_id: int):
    reg = ops.get_registration(g.show, registration_id)
    if reg is None:
        abort(404)
    return reg


def _filters() -> dict:
    args = request.args
    return {"category": args.get("category", "") if args.get("category") in CATEGORIES else "",
            "verification": args.get("verification", "") if args.get("verification") in VERIFICATIONS else "",
            "consent": args.get("consent", "") if args.get("consent") in ("marketing", "share_with_exhibitors") else "",
            "q": args.get("q", "").strip()[:100],
            "sort": args.get("sort", "newest") if args.get("sort") in ops.SORTS else "newest"}


def qr_data_uri(code: str) -> str:
    """The badge code as a QR code PNG data URI (generated here: venues have no internet)."""
    import qrcode
    img = qrcode.make(code, box_size=8, border=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


# --- staff pages -------------------------------------------------------------------------
@bp.route("/")
@require("visitors.view")
def index():
    show = g.show
    filters = _filters()
    try:
        position = position_from(request.args)
        counts = ops.visitor_counts(show)
        page = ops.visitor_page(show, position, counts=counts, **filters)
    except ListRequestError as exc:
        abort(400, description=str(exc))
    # The links keep the filters and drop the defaults (short, shareable URLs).
    args = {k: v for k, v in filters.items() if v and not (k == "sort" and v == "newest")}
    # Titles and the time format resolved once per page, not once per row.
    categories = {k: str(v) for k, v in CATEGORY_TITLES.items()}
    verifications = {k: str(v) for k, v in VERIFICATION_TITLES.items()}
    return render_template("visitors/index.html", show=show, rows=page.rows, page=page, args=args,
                           filters=filters, categories=categories, verifications=verifications,
                           figures=ops.figures(show, counts), when=_short_datetime(), locale=_locale(),
                           open_reviews=ops.open_review_count(show) if can("visitors.manage") else 0,
                           erase_on=retention.erase_on(show) if can("visitors.manage") else None)


@bp.route("/personal-data.zip")
@require("visitors.manage")
def retention_export():
    """The personal data of the show's visitors not yet erased: what the retention setting will
    erase, offered as a download first (plugins.visitors.retention)."""
    from flask import Response
    return Response(retention.export_show_zip(g.show), mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename={g.show.slug}-visitors-personal-data.zip",
        "Cache-Control": "no-store"})


def _short_datetime():
    """local_datetime(value, 'short') for many rows: locale and time zone looked up once."""
    from babel.dates import format_datetime
    from flask_babel import get_timezone
    locale, zone = get_locale(), get_timezone()

    def when(value):
        return format_datetime(value.replace(tzinfo=dt.UTC), "short", tzinfo=zone, locale=locale) \
            if value else ""
    return when


@bp.route("/new", methods=["GET", "POST"])
@require("visitors.edit")
def new():
    show = g.show
    questions = ops.questions_for(show)
    form = forms.registration_form(forms.StaffRegistrationForm, questions, _locale())
    if form.validate_on_submit():
        try:
            reg = ops.register_visitor(
                show, forms.person_from(form), form.category.data, source="staff", concession=form.concession.data,
                consents={"marketing": form.consent_marketing.data == "yes",
                          "share_with_exhibitors": form.consent_share.data == "yes"},
                answers=forms.answers_from(form, questions), user=current_user)
        except DomainError as exc:
            _field_error(form, exc)
        else:
            flash(_("Registered: %(name)s", name=reg.person.name), "success")
            return redirect(url_for("visitors.detail", registration_id=reg.id))
    return render_template("visitors/edit.html", form=form, show=show, reg=None)


def _field_error(form, exc: DomainError) -> None:
    field = exc.field or ""
    name = {"organization_name": "company"}.get(field, field)
    target = (getattr(form, name, None) or getattr(form, f"q_{field}", None)) if field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = list(target.errors) + [str(exc)]
    flash(str(exc), "error")


@bp.route("/<int:registration_id>")
@require("visitors.view")
def detail(registration_id):
    reg = _registration(registration_id)
    show = reg.show
    can_manage = can("visitors.edit")
    return render_template(
        "visitors/detail.html", reg=reg, show=show, questions=ops.questions_for(show), locale=_locale(),
        cards=ops.business_cards(reg), can_manage=can_manage, verify_form=forms.VerifyForm(),
        badge_form=forms.ReplaceBadgeForm(), card_form=forms.CardForm(), cancel_form=forms.CancelForm(),
        show_code=can("visitors.edit"),
        qr=qr_data_uri(reg.badge_code) if can("visitors.edit") else None,
        history=db.session.scalars(select(ops.BadgeCode).where(ops.BadgeCode.registration_id == reg.id)
                                   .order_by(ops.BadgeCode.id)).all())


@bp.route("/<int:registration_id>/edit", methods=["GET", "POST"])
@require("visitors.edit")
def edit(registration_id):
    reg = _registration(registration_id)
    show = reg.show
    questions = ops.questions_for(show)
    p = reg.person
    data = {"name_zh": p.name_zh, "name_en": p.name_en, "email": p.email, "phone": p.phone,
            "company": p.organization.name if p.organization else "", "job_title": p.job_title,
            "birth_date": p.birth_date, "concession": reg.concession, "category": reg.category,
            "consent_marketing": "yes" if p.consent("marketing") else "no",
            "consent_share": "yes" if p.consent("share_with_exhibitors") else "no"}
    data.update({f"q_{k}": v for k, v in (reg.answers or {}).items()})
    form = forms.registration_form(forms.StaffRegistrationForm, questions, _locale(),
                                   data=None if request.method == "POST" else data)
    if form.validate_on_submit():
        try:
            ops.update_registration(
                reg, forms.person_from(form), category=form.category.data, concession=form.concession.data,
                answers=forms.answers_from(form, questions),
                consents={"marketing": form.consent_marketing.data == "yes",
                          "share_with_exhibitors": form.consent_share.data == "yes"}, user=current_user)
        except DomainError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("visitors.detail", registration_id=reg.id))
    return render_template("visitors/edit.html", form=form, show=show, reg=reg)


@bp.route("/<int:registration_id>/verify", methods=["POST"])
@require("visitors.verify")
def verify(registration_id):
    reg = _registration(registration_id)
    form = forms.VerifyForm()
    if form.validate_on_submit():
        try:
            ops.verify_registration(reg, form.decision.data, note=form.note.data, user=current_user)
            flash(_("Verification recorded: %(state)s", state=reg.verification_title), "success")
        except DomainError as exc:
            flash(str(exc), "error")
    else:
        flash(_("The form was not valid; please try again."), "error")
    return redirect(url_for("visitors.detail", registration_id=reg.id))


@bp.route("/<int:registration_id>/badge", methods=["POST"])
@require("visitors.edit")
def replace_badge(registration_id):
    reg = _registration(registration_id)
    form = forms.ReplaceBadgeForm()
    if form.validate_on_submit():
        try:
            ops.replace_badge_code(reg, form.reason.data, user=current_user)
            flash(_("A new badge code was issued; the old one no longer admits."), "success")
        except DomainError as exc:
            flash(str(exc), "error")
    else:
        flash(_("Say why the badge code is replaced (e.g. badge lost)."), "error")
    return redirect(url_for("visitors.detail", registration_id=reg.id))


@bp.route("/<int:registration_id>/cancel", methods=["POST"])
@require("visitors.edit")
def cancel(registration_id):
    reg = _registration(registration_id)
    if forms.CancelForm().validate_on_submit():
        ops.cancel_registration(reg, user=current_user)
        flash(_("The registration was cancelled."), "success")
    return redirect(url_for("visitors.detail", registration_id=reg.id))


@bp.route("/<int:registration_id>/card", methods=["POST"])
@require("visitors.edit")
def upload_card(registration_id):
    reg = _registration(registration_id)
    form = forms.CardForm()
    if form.validate_on_submit():
        upload = form.card.data
        try:
            ops.attach_business_card(reg, upload.filename or "card", upload.read(ops.CARD_MAX_BYTES + 1),
                                     company=form.company.data or "", user=current_user)
            flash(_("Business card stored."), "success")
        except DomainError as exc:
            flash(str(exc), "error")
    else:
        flash(_("Choose a file to upload."), "error")
    return redirect(url_for("visitors.detail", registration_id=reg.id))


@bp.route("/<int:registration_id>/card/<int:card_id>")
@require("visitors.view")
def download_card(registration_id, card_id):
    reg = _registration(registration_id)
    card = db.session.scalar(select(BusinessCard).where(BusinessCard.id == card_id,
                                                        BusinessCard.registration_id == reg.id))
    if card is None:
        abort(404)
    # Always an attachment with the type checked at upload: never rendered inline.
    response = send_file(io.BytesIO(card.data), mimetype=card.content_type, as_attachment=True,
                         download_name=download_name(card.filename, card.content_type))
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/export.<fmt>")
@require("visitors.manage")
def export(fmt):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    show = g.show
    filters = _filters()
    filters.pop("sort")
    rows = list(ops.export_rows(show, **filters))
    name = f"visitors-{show.slug}.{fmt}"
    return (csv_response if fmt == "csv" else xlsx_response)(name, ops.export_header(), rows)


# --- admission rules ---------------------------------------------------------------------
@bp.route("/rules", methods=["GET", "POST"])
@require("visitors.view")
def rules():
    show = g.show
    form = forms.RuleForm()
    form.day.choices = [("", _("Every day"))] + [(d.date.isoformat(), d.date.isoformat()) for d in show.days]
    if request.method == "POST":
        if not can("visitors.manage"):
            abort(403)
        if form.validate_on_submit():
            import datetime as dt
            try:
                price = parse_money(form.price.data, show.currency) if form.price.data.strip() else None
                cprice = (parse_money(form.concession_price.data, show.currency)
                          if form.concession_price.data.strip() else None)
            except DomainError as exc:
                flash(str(exc), "error")
            else:
                try:
                    ops.add_admission_rule(show, form.category.data,
                                           day=dt.date.fromisoformat(form.day.data) if form.day.data else None,
                                           admitted=form.admitted.data, min_age=form.min_age.data, price_minor=price,
                                           concession_price_minor=cprice, note=form.note.data, user=current_user)
                    flash(_("Rule added."), "success")
                    return redirect(url_for("visitors.rules"))
                except DomainError as exc:
                    flash(str(exc), "error")
    return render_template("visitors/rules.html", show=show, form=form, rules=ops.admission_rules(show),
                           delete_form=forms.DeleteForm(), categories=CATEGORY_TITLES,
                           can_edit=can("visitors.manage"))


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@require("visitors.manage")
def delete_rule(rule_id):
    rule = db.session.get(AdmissionRule, rule_id)
    if rule is None or rule.show_id != g.show.id:
        abort(404)
    if forms.DeleteForm().validate_on_submit():
        ops.delete_admission_rule(rule, user=current_user)
        flash(_("Rule deleted."), "success")
    return redirect(url_for("visitors.rules"))


# --- review of self-registrations that match an existing person ---------------------------
@bp.route("/reviews")
@require("visitors.manage")
def reviews():
    show = g.show
    rules = _match_rule_titles()
    items = [(r, ops.review_comparison(r), ops.person_registrations(r.matched_person),
              [rules[m] for m in r.matched_on or [] if m in rules]) for r in ops.reviews(show, "open")]
    decided = sorted(ops.reviews(show, "merged", limit=20) + ops.reviews(show, "kept_apart", limit=20),
                     key=lambda r: (r.decided_at, r.id), reverse=True)[:20]
    return render_template("visitors/reviews.html", show=show, items=items, decided=decided,
                           open_count=ops.open_review_count(show),
                           form=forms.ReviewDecisionForm(), when=_short_datetime(), locale=_locale(),
                           titles=_review_field_titles())


def _review_field_titles() -> dict:
    return {"name_zh": _("Name (Chinese)"), "name_en": _("Name (English)"), "email": _("Email"),
            "phone": _("Mobile phone"), "company": _("Company"), "job_title": _("Job title"),
            "birth_date": _("Date of birth"), "marketing": _("Consent to marketing"),
            "share_with_exhibitors": _("Consent to sharing with exhibitors")}


def _match_rule_titles() -> dict:
    return {"email": _("same email"), "phone": _("same mobile phone"), "name": _("same name at the same company")}


@bp.route("/reviews/<int:review_id>/merge", methods=["POST"])
@require("visitors.manage")
def review_merge(review_id):
    if forms.ReviewDecisionForm().validate_on_submit():
        try:
            survivor = ops.merge_review(g.show, review_id, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Merged into the existing record of %(name)s.", name=survivor.name), "success")
    else:
        flash(_("The form was not valid; please try again."), "error")
    return redirect(url_for("visitors.reviews"))


@bp.route("/reviews/<int:review_id>/keep-apart", methods=["POST"])
@require("visitors.manage")
def review_keep_apart(review_id):
    if forms.ReviewDecisionForm().validate_on_submit():
        try:
            ops.keep_apart(g.show, review_id, user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Kept apart: the two records stay separate people."), "success")
    else:
        flash(_("The form was not valid; please try again."), "error")
    return redirect(url_for("visitors.reviews"))


# --- registration questions ---------------------------------------------------------------
@bp.route("/questions", methods=["GET", "POST"])
@require("visitors.manage")
def questions():
    show = g.show
    form = forms.QuestionForm()
    if form.validate_on_submit():
        try:
            ops.save_question(show, form.key.data, form.label_zh.data, label_en=form.label_en.data,
                              kind=form.kind.data, choices=forms.parse_choices(form.choices.data),
                              required=form.required.data, position=form.position.data or 0, user=current_user)
            flash(_("Question saved."), "success")
            return redirect(url_for("visitors.questions"))
        except DomainError as exc:
            db.session.rollback()
            _field_error(form, exc)
    return render_template("visitors/questions.html", show=show, form=form, questions=ops.questions_for(show),
                           locale=_locale())


# --- import (upload, dry-run preview, confirm) --------------------------------------------
def _upload_dir() -> str:
    path = os.path.join(current_app.instance_path, "uploads", "visitors")
    os.makedirs(path, exist_ok=True)
    return path


@bp.route("/import", methods=["GET", "POST"])
@require("visitors.manage")
def import_page():
    show = g.show
    form, confirm = forms.ImportForm(), forms.ConfirmImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        token = secrets.token_hex(16)
        filename = os.path.basename(upload.filename or "upload.csv")
        ext = os.path.splitext(filename)[1].lower()
        path = os.path.join(_upload_dir(), token + (ext if ext in (".csv", ".xlsx", ".txt") else ".csv"))
        upload.save(path)
        try:
            report = run_import(show, path, filename, "visitors", bulk.COLUMNS, bulk.apply_rows, dry_run=True)
        except ImportFileError as exc:
            os.remove(path)
            flash(str(exc), "error")
        else:
            session["visitors_import"] = {"token": token, "path": os.path.basename(path), "filename": filename,
                                          "show": show.slug}
            confirm.token.data = token
    return render_template("visitors/import.html", show=show, form=form, confirm=confirm, report=report,
                           columns=bulk.COLUMNS)


@bp.route("/import/confirm", methods=["POST"])
@require("visitors.manage")
def import_confirm():
    show = g.show
    form = forms.ConfirmImportForm()
    pending = session.get("visitors_import")
    if not form.validate_on_submit() or not pending or pending["token"] != form.token.data \
            or pending["show"] != show.slug:
        flash(_("Upload the file again: the preview has expired."), "error")
        return redirect(url_for("visitors.import_page"))
    path = os.path.join(_upload_dir(), os.path.basename(pending["path"]))
    try:
        report = run_import(show, path, pending["filename"], "visitors", bulk.COLUMNS, bulk.apply_rows)
    except (ImportFileError, FileNotFoundError) as exc:
        flash(str(exc), "error")
        return redirect(url_for("visitors.import_page"))
    finally:
        session.pop("visitors_import", None)
        if os.path.exists(path):
            os.remove(path)
    flash(report.summary(), "success" if not report.rejected else "info")
    return render_template("visitors/import.html", show=show, form=forms.ImportForm(), confirm=None, report=report,
                           columns=bulk.COLUMNS, done=True)


# --- public self-registration --------------------------------------------------------------
def _register_limit() -> str:
    return current_app.config.get("VISITORS_REGISTER_RATE_LIMIT", "10 per minute")


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit(_register_limit, methods=["POST"])
def register():
    show = g.show
    if show.status == "closed":
        return render_template("visitors/register_closed.html", show=show), 410
    questions = ops.questions_for(show)
    form = forms.registration_form(forms.PublicRegistrationForm, questions, _locale())
    if form.validate_on_submit():
        if form.website.data:
            # A bot filled the hidden field: answer like a refusal, store nothing.
            flash(_("The registration could not be accepted."), "error")
            return render_template("visitors/register.html", show=show, form=form), 400
        try:
            # The confirmation goes into the outbox in the registration's own transaction.
            with transaction():
                reg = ops.register_visitor(
                    show, forms.person_from(form), form.category.data, source="self",
                    concession=form.concession.data,
                    consents={"marketing": form.consent_marketing.data == "yes",
                              "share_with_exhibitors": form.consent_share.data == "yes"},
                    answers=forms.answers_from(form, questions))
                mailed = _queue_confirmation(reg)
        except DomainError as exc:
            _field_error(form, exc)
            return render_template("visitors/register.html", show=show, form=form), 422
        # The done page shows only what this sender typed and the badge just issued, kept in
        # the browser's signed session: never read back from the records (which staff may
        # merge into an existing person later).
        session["visitors_registered"] = {
            "show": show.slug, "name_zh": reg.person.name_zh, "name_en": reg.person.name_en, "code": reg.badge_code,
            "category": reg.category, "email": reg.person.email, "mailed": mailed}
        return redirect(url_for("visitors.registered", slug=show.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("visitors/register.html", show=show, form=form), status


@bp.route("/register/done")
@public
def registered():
    show = g.show
    done = session.get("visitors_registered")
    # Only the browser that registered sees the code (kept in its signed session).
    if not done or done.get("show") != show.slug or "code" not in done:
        return redirect(url_for("visitors.register", slug=show.slug))
    name_zh, name_en = done.get("name_zh", ""), done.get("name_en", "")
    name = (name_en or name_zh) if _locale().startswith("en") else (name_zh or name_en)
    return render_template("visitors/registered.html", show=show, done=done, name=name,
                           category_title=CATEGORY_TITLES.get(done["category"], ""), qr=qr_data_uri(done["code"]))


def _queue_confirmation(reg) -> bool:
    """Put the confirmation in the outbox (transactional: sent whatever the consents); a
    worker sends it after the registration committed, and retries if the server is down."""
    from crm_expo.mail import queue_mail
    email = reg.person.email
    if not email:
        return False
    show = reg.show
    qr = qr_data_uri(reg.badge_code)
    text = "\n".join([
        _("Dear %(name)s,", name=reg.person.name), "",
        _("you are registered for %(show)s as %(category)s.", show=show.name, category=reg.category_title),
        _("Your badge code: %(code)s", code=reg.badge_code),
        _("Show this code (or the QR code in the HTML version of this email) at the entrance."), ""])
    html = render_template("visitors/mail_confirmation.html", reg=reg, show=show, qr=qr)
    queue_mail(email, _("Your registration for %(show)s", show=show.name), text, html, person=reg.person,
               language=_locale())
    return True
