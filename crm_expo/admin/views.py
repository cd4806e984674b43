"""Administration: shows, users, API tokens, the audit log."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import operations
from ..access import require
from ..extensions import db
from ..models import ApiToken, AuditEntry, Show, User
from .forms import ActionForm, ShowForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/shows", methods=["GET", "POST"])
@require("admin.shows")
def shows():
    form = ShowForm()
    if form.validate_on_submit():
        try:
            show = operations.create_show(form.slug.data, form.name_zh.data, form.start.data, form.days.data,
                                          name_en=form.name_en.data or "", venue=form.venue.data or "",
                                          user=current_user)
        except operations.CoreError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Show %(name)s created.", name=show.name), "success")
            return redirect(url_for("admin.shows"))
    rows = db.session.scalars(select(Show).order_by(Show.id.desc())).all()
    return render_template("admin/shows.html", shows=rows, form=form)


@bp.route("/users", methods=["GET", "POST"])
@require("admin.users")
def users():
    form = UserForm()
    if form.validate_on_submit():
        try:
            operations.create_user(form.email.data, form.password.data, form.role.data,
                                   organization_id=form.organization_id.data, name=form.name.data or "",
                                   user=current_user)
        except operations.CoreError as exc:
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
    return render_template("admin/audit.html", entries=entries, action=action)


@bp.route("/settings", methods=["GET", "POST"])
@require("admin.settings")
def settings():
    """Every threshold and rule of every plugin, visible and editable per show."""
    import json

    from ..models import get_setting, set_setting
    from ..models.settings import setting_defaults
    from ..web import current_show
    show = current_show()
    form = ActionForm()
    defaults = setting_defaults()
    if request.method == "POST" and form.validate_on_submit():
        key = request.form.get("key", "")
        raw = request.form.get("value", "")
        try:
            value = json.loads(raw)
            set_setting(key, value, show=show, user=current_user)
            db.session.commit()
        except (ValueError, KeyError) as exc:
            db.session.rollback()
            flash(_("Setting %(key)s not changed: %(why)s", key=key, why=str(exc)), "error")
        else:
            flash(_("Setting %(key)s saved.", key=key), "success")
        return redirect(url_for("admin.settings"))
    rows = [(key, defaults[key], get_setting(key, show)) for key in sorted(defaults)]
    return render_template("admin/settings.html", rows=rows, show=show, form=form, json=json)
