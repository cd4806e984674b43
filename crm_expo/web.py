"""The web shell shared by every page: the main blueprint (home, language and show
switchers), the current show, navigation, error pages, security headers, and the check that
the database schema is current."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from . import hooks
from .access import is_api_request, public, require
from .extensions import db, login_manager
from .i18n import LOCALE_NAMES, LOCALES, local_date, local_datetime, money, time_zone_label
from .models import Show, User
from .models.audit import actor_title
from .permissions import can, role_may
from .titles import code_title

bp = Blueprint("main", __name__)


def enabled_plugins() -> dict:
    return current_app.extensions["crm_expo_plugins"]


def plugin_enabled(name: str) -> bool:
    return name in enabled_plugins()


def current_show() -> Show | None:
    """The show of the page (``g.show``, from its URL), else the default show for the home
    page, the switcher and links from pages not about one show: the one chosen with the
    switcher (kept in the session), else the latest show that is not closed, else the
    latest show; for a portal user, only among the shows its organization takes part in."""
    if g.get("show") is not None:
        return g.show
    if "current_show" in g:
        return g.current_show
    from .show_urls import visibility
    slug = session.get("show")
    chosen = db.session.scalar(select(Show).where(Show.slug == slug)) if slug else None
    candidates = [chosen] if chosen is not None else []
    portal = current_user.is_authenticated and current_user.role in ("exhibitor", "supplier")
    if chosen is None or (portal and visibility(current_user, chosen) is not None):
        shows = db.session.scalars(select(Show).order_by(Show.id.desc())).all()
        candidates = [s for s in shows if s.status != "closed"] + [s for s in shows if s.status == "closed"]
        if portal:
            candidates = [s for s in candidates if visibility(current_user, s) is None]
    show = candidates[0] if candidates else None
    g.current_show = show
    return show


def show_or_404(slug: str) -> Show:
    show = db.session.scalar(select(Show).where(Show.slug == slug))
    if show is None:
        abort(404)
    return show


def nav_items() -> list:
    if not current_user.is_authenticated:
        return []
    items = []
    no_show = current_show() is None
    for plugin in enabled_plugins().values():
        for item in plugin.nav:
            if item.permissions and not role_may(current_user.role, *item.permissions):
                continue
            if no_show and current_app.url_map.is_endpoint_expecting(item.endpoint, "slug"):
                continue   # a show page, and there is no show yet
            items.append((plugin.name, item))
    return items


@bp.route("/")
@public
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    shows = db.session.scalars(select(Show).order_by(Show.id.desc())).all()
    return render_template("home.html", shows=shows, plugins=enabled_plugins().values())


@bp.route("/locale/<code>", methods=["POST"])
@public
def set_locale(code):
    if code not in LOCALES:
        abort(404)
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/show", methods=["POST"])
@require()
def set_show():
    """The switcher: the chosen show becomes the default, and the user moves to the same
    page of it (or to the plugin's index, when the page names records of the other show)."""
    slug = request.form.get("show", "")
    show = db.session.scalar(select(Show).where(Show.slug == slug))
    target = _safe_next(request.form.get("next"))
    if show is None:
        flash(_("No show with the code %(slug)s.", slug=slug), "error")
        return redirect(target)
    session["show"] = show.slug
    g.pop("current_show", None)
    path, _sep, query = target.partition("?")
    from .show_urls import same_page_of
    return redirect(same_page_of(show, path, query) or target)


@bp.route("/healthz")
@public
def health():
    return jsonify(status="ok")


def _safe_next(target: str | None) -> str:
    # Only a path of this site: never redirect to another one after a form post. Browsers drop
    # tabs and newlines from a URL and read a backslash as a slash, so "/\t/evil.example" and
    # "/\\evil.example" are "//evil.example" to them: judge the URL as the browser will read it.
    if not target:
        return url_for("main.home")
    seen = re.sub(r"[\t\n\r]", "", target).replace("\\", "/")
    parts = urlsplit(seen)
    if seen.startswith("/") and not seen.startswith("//") and not parts.scheme and not parts.netloc \
            and not any(ord(c) < 32 for c in seen):
        return seen
    return url_for("main.home")


@login_manager.user_loader
def load_user(user_id: str):
    # The id carries the session token: logout / disabling rotates it, so an old cookie
    # replayed after logout no longer resolves to a user.
    try:
        uid, token = user_id.split(":", 1)
        uid = int(uid)
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def _error_page(error: HTTPException):
    if is_api_request():
        from .api import error_response
        return error_response(error.code, _http_code_name(error.code), error.description or error.name)
    return render_template("error.html", error=error), error.code


def _http_code_name(code: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
            429: "too_many_requests", 500: "server_error", 503: "unavailable"}.get(code, "error")


SERVER_ERROR = _l("Internal error; it has been logged.")


def log_server_error(error: Exception) -> None:
    current_app.logger.exception("unhandled error: %s", error)
    db.session.rollback()


def _server_error(error):
    log_server_error(error)
    if is_api_request():
        from .api import error_response
        return error_response(500, "server_error", SERVER_ERROR)
    return render_template("error.html", error=None), 500


SCHEMA_OK = "crm_expo_schema_ok"


def check_schema(app: Flask) -> str | None:
    """None if the database is at the migration heads, else what is wrong (one line)."""
    from .migrations import applied_heads, pending_heads
    try:
        missing = pending_heads(app)
    except Exception as exc:  # unreachable database, …
        from .database import describe_connection_error
        return describe_connection_error(db.engine.url, exc)
    if missing and not applied_heads(app):
        return "the database is not set up; set it up with: crm-expo db upgrade"
    if missing:
        return ("the database is behind on migrations (missing: " + ", ".join(sorted(missing)) +
                "); run: crm-expo db upgrade")
    return None


def schema_checked(app: Flask) -> bool:
    """Has this process found the schema current (or been told not to check)?"""
    return bool(app.extensions.get(SCHEMA_OK) or app.config.get("SKIP_SCHEMA_CHECK"))


def _require_current_schema():
    app = current_app._get_current_object()
    if schema_checked(app):
        return None
    if request.endpoint == "static":
        return None
    problem = check_schema(app)
    if problem:
        app.logger.error(problem)
        if is_api_request():
            from .api import error_response
            return error_response(503, "schema_outdated", problem)
        return render_template("error.html", error=None, problem=problem), 503
    app.extensions[SCHEMA_OK] = True
    return None


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    # Every asset is local (venues often have no internet), so 'self' is all we allow.
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
     "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
     # the desk prints a badge PDF it fetched from a hidden frame (a blob: URL)
     "frame-src 'self' blob:"),
)


def _security_headers(response):
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    # A signed-in page, an API answer or a personal PDF must not stay in a shared browser's
    # or proxy's cache (a desk's tablet, a hotel's computer); the static assets may.
    private = not (request.endpoint or "").endswith("static") and (is_api_request() or current_user.is_authenticated)
    for name, value in private_headers(current_app.config, private):
        response.headers.setdefault(name, value)
    return response


def private_headers(config, private: bool) -> list[tuple[str, str]]:
    """no-store on a private answer; HSTS whenever the session cookie is HTTPS-only (the API's
    fast lane sends the same)."""
    out = [("Cache-Control", "no-store")] if private else []
    if config.get("SESSION_COOKIE_SECURE"):
        out.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return out


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.unauthorized_handler
    def unauthorized():
        if is_api_request():
            from .api import error_response
            return error_response(401, "unauthorized", _("Sign in or send a valid API token."))
        flash(_("Please sign in to see this page."), "info")
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))

    app.before_request(_require_current_schema)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(Exception, _server_error)

    @app.context_processor
    def shell_context():
        return {"nav_items": nav_items, "current_show": current_show, "locales": LOCALE_NAMES,
                "get_locale": lambda: str(get_locale() or "zh"),
                "all_shows": lambda: db.session.scalars(select(Show).order_by(Show.id.desc())).all(),
                "money": money, "local_datetime": local_datetime, "local_date": local_date,
                "plugin_enabled": plugin_enabled, "hook": hooks.render, "can": can,
                "time_zone_label": time_zone_label, "actor_title": actor_title}

    @app.template_filter("code_title")
    def code_title_filter(code, name):
        return code_title(code, name)

    @app.template_filter("money")
    def money_filter(amount, currency="CNY"):
        return money(amount, currency)
