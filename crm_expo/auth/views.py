from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..access import public, require
from ..web import _safe_next
from . import operations
from .forms import LoginForm, LogoutForm

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = operations.authenticate(form.email.data, form.password.data, request.remote_addr or "")
        except operations.LoginLocked as locked:
            flash(_("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=locked.minutes), "error")
            return render_template("auth/login.html", form=form), 429
        if user is None:
            flash(_("Wrong email or password, or the account is disabled."), "error")
            status = 401
        else:
            locale = session.get("locale")
            session.clear()   # a fresh session on sign-in (no fixation)
            if locale:
                session["locale"] = locale
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@require()
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        operations.logout(current_user._get_current_object())
        logout_user()
        locale = session.get("locale")
        session.clear()
        if locale:
            session["locale"] = locale
        flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
