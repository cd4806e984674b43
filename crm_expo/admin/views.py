"""Administration: shows, users, API tokens, the audit log."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import operations
from ..access import require
from ..database import transaction
from ..errors import DomainError
from ..extensions import db
from ..models import ApiToken, AuditEntry, Show, ShowSeries, ShowStatus, User
from .forms import (
    ActionForm,
    PrivacyEraseForm,
    PrivacyFindForm,
    ShowDatesForm,
    ShowForm,
    ShowSeriesForm,
    UserForm,
    settings_form_class,
    settings_form_data,
    settings_from_form,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/shows", methods=["GET", "POST"])
@require("admin.shows")
def shows():
    form = ShowForm()
    if form.validate_on_submit():
        try:
            show = operations.create_show(form.slug.data, form.name_zh.data, form.start.data, form.days.data,
                                          name_en=form.name_en.data or "", venue=form.venue.data or "",
                                          series=(form.series.data or "").strip() or None,
                                          series_name_zh=form.series_name.data or "", user=current_user)
        except DomainError as exc:
            db.session.rollback()
            _refusal(form, exc)
        else:
            flash(_("Show %(name)s created.", name=show.name), "success")
            return redirect(url_for("admin.shows"))
    rows = db.session.scalars(select(Show).options(selectinload(Show.series), selectinload(Show.days))
                              .order_by(Show.id.desc())).all()
    return render_template("admin/shows.html", shows=rows, form=form, all_series=_all_series(),
                           statuses={s.value: s.title for s in ShowStatus})


def _all_series():
    return db.session.scalars(select(ShowSeries).order_by(ShowSeries.slug)).all()


def _refusal(form, exc: DomainError) -> None:
    """A refusal on the field it names when the form has it, else as a message."""
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, str(exc)]
    else:
        flash(str(exc), "error")


@bp.route("/shows/<int:show_id>/series", methods=["GET", "POST"])
@require("admin.shows")
def show_series(show_id):
    """Put a show in a series (an existing code, or a new one with its name), or in none."""
    show = db.get_or_404(Show, show_id)
    form = ShowSeriesForm(data={"series": show.series.slug if show.series else ""}
                          if request.method == "GET" else None)
    if form.validate_on_submit():
        code = (form.series.data or "").strip()
        try:
            series = operations.series_for(
                code, name_zh=form.series_name.data or operations.series_name_of(show.name_zh),
                name_en=form.series_name_en.data or operations.series_name_of(show.name_en),
                user=current_user) if code else None
            operations.set_show_series(show, series, user=current_user)
        except DomainError as exc:
            db.session.rollback()
            _refusal(form, exc)
        else:
            flash(_("Series of %(name)s saved.", name=show.name), "success")
            return redirect(url_for("admin.shows"))
    return render_template("admin/show_series.html", show=show, form=form, all_series=_all_series(),
                           previous=operations.previous_edition(show))


@bp.route("/shows/<int:show_id>/dates", methods=["GET", "POST"])
@require("admin.shows")
def show_dates(show_id):
    """Move a show's days (a new edition set up early, a venue that changed its dates)."""
    show = db.get_or_404(Show, show_id)
    form = ShowDatesForm(data={"start": show.start, "days": len(show.days)} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            operations.change_show_dates(show, form.start.data, form.days.data, user=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("Dates of %(name)s changed.", name=show.name), "success")
            return redirect(url_for("admin.shows"))
    return render_template("admin/show_dates.html", show=show, form=form)


@bp.route("/users", methods=["GET", "POST"])
@require("admin.users")
def users():
    form = UserForm()
    if form.validate_on_submit():
        try:
            operations.create_user(form.email.data, form.password.data, form.role.data,
                                   organization_id=form.organization_id.data, name=form.name.data or "",
                                   user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("User created."), "success")
            return redirect(url_for("admin.users"))
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=rows, form=form, action=ActionForm())


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@require("admin.users")
def user_active(user_id):
    target = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        if target.id == current_user.id:
            flash(_("You cannot disable your own account."), "error")
        else:
            operations.set_user_active(target, not target.active, user=current_user)
            flash(_("User updated."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/tokens")
@require("admin.tokens")
def tokens():
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    return render_template("admin/tokens.html", tokens=rows, action=ActionForm())


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@require("admin.tokens")
def revoke_token(token_id):
    token = db.get_or_404(ApiToken, token_id)
    if ActionForm().validate_on_submit():
        operations.revoke_token(token, user=current_user)
        flash(_("Token revoked."), "success")
    return redirect(url_for("admin.tokens"))


@bp.route("/audit")
@require("admin.audit")
def audit_log():
    page = max(request.args.get("page", 1, type=int), 1)
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    action = request.args.get("action", "").strip()
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    entries = db.paginate(stmt, page=page, per_page=50, error_out=False)
    from ..models.audit import audit_changes
    from ..titles import titles
    actions = sorted(((code, str(title)) for code, title in titles("audit.action").items()), key=lambda a: a[1])
    return render_template("admin/audit.html", entries=entries, action=action, actions=actions,
                           audit_changes=audit_changes)


@bp.route("/settings", methods=["GET", "POST"])
@require("admin.settings")
def settings():
    """Every threshold and rule of every plugin: one form per plugin, for the current show
    (``?scope=global``: the value every show has until it sets its own)."""
    from ..models import get_setting, set_setting
    from ..models.settings import setting_specs
    from ..settings import check_order
    from ..web import current_show, enabled_plugins
    scope = "global" if request.values.get("scope") == "global" else "show"
    show = current_show() if scope == "show" else None
    if scope == "show" and show is None:
        scope = "global"
    specs = setting_specs()
    sections, status = [], 200
    posted = request.form.get("plugin") if request.method == "POST" else None
    for plugin in enabled_plugins().values():
        mine = {k: spec for k, spec in specs.items() if k.startswith(f"{plugin.name}.")}
        if not mine:
            continue
        current = {k: get_setting(k, show) for k in mine}
        cls = settings_form_class(mine)
        if posted == plugin.name:
            form = cls()
            if form.validate_on_submit():
                changed = {k: v for k, v in settings_from_form(mine, form).items() if v != current[k]}
                try:
                    with transaction():     # every setting of the form, or none
                        for key in changed:
                            check_order(mine, {**current, **changed}, key)
                        for key, value in changed.items():
                            set_setting(key, value, show=show, user=current_user, check_related=False)
                except DomainError as exc:      # SettingError names the setting
                    flash(_("Settings not changed: %(why)s", why=str(exc)), "error")
                    status = 400
                else:
                    flash(_("%(plugin)s settings saved.", plugin=plugin.title), "success")
                    return redirect(url_for("admin.settings", scope=scope))
            else:
                for f in form:
                    for error in f.errors:
                        flash(_("Settings not changed: %(field)s: %(why)s", field=f.label.text, why=error), "error")
                status = 400
        else:
            form = cls(formdata=None, data=settings_form_data(mine, current))
        sections.append((plugin, form))
    return render_template("admin/settings.html", sections=sections, show=show, scope=scope), status


@bp.route("/privacy", methods=["GET", "POST"])
@require("privacy.manage")
def privacy():
    """A person's data (PIPL, GDPR): download it, or erase it (crm_expo.privacy)."""
    from flask import Response

    from .. import privacy as ops
    find, erase = PrivacyFindForm(prefix="find"), PrivacyEraseForm(prefix="erase")
    report = None
    if find.export.data and find.validate_on_submit():
        try:
            data = ops.export_zip(find.email.data)
        except DomainError as exc:
            find.email.errors.append(exc.message)
        else:
            return Response(data, mimetype="application/zip", headers={
                "Content-Disposition": "attachment; filename=personal-data.zip", "Cache-Control": "no-store"})
    elif erase.erase.data and erase.validate_on_submit():
        if ops.normalise_email(erase.confirm.data) != ops.normalise_email(erase.email.data):
            erase.confirm.errors.append(_("The two emails differ."))
        else:
            try:
                report = ops.erase(erase.email.data, erase.reason.data, user=current_user)
            except DomainError as exc:
                (erase.reason if exc.field == "reason" else erase.email).errors.append(exc.message)
            else:
                flash(_("The personal data of %(n)d person(s) was erased.", n=len(report.people)), "success")
    return render_template("admin/privacy.html", find=find, erase=erase, report=report)
