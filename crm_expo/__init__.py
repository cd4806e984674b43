"""crm-expo: a CRM for exhibition organizers. ``create_app`` is the application factory."""
from __future__ import annotations

import os

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import config as config_module
from .database import DATABASE_INT_MAX
from .extensions import babel, csrf, db, limiter, login_manager
from .plugins import Plugin, PluginError, check_tables, connect_signal_handlers, load_plugins, parse_names

__all__ = ["create_app", "Plugin", "PluginError"]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _instance_path(settings: dict) -> str:
    path = settings.get("INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    return os.path.abspath(path)


class IdConverter(IntegerConverter):
    """``<int:…>`` in a route: at most the largest id a database column holds (64-bit signed).
    A longer number is a 404 like any unknown id, not an overflow inside the database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=DATABASE_INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings (defaults < CRM_EXPO_* environment < ``config``), extensions,
    core blueprints, then every enabled plugin in ``requires`` order.

    Raises :class:`PluginError` for an unknown or broken plugin; never touches the database
    (so ``crm-expo db upgrade`` works on an empty one)."""
    settings = config_module.defaults()
    settings.update(config_module.from_environment())
    settings.update(config or {})
    instance_path = _instance_path(settings)
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=False,
                template_folder=os.path.join(ROOT, "templates"),
                static_folder=os.path.join(HERE, "static"))
    app.config.update(settings)
    app.url_map.converters["int"] = IdConverter
    config_module.private_folder(instance_path)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.secret_key_for(instance_path)
    url = app.config.get("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "crm-expo.sqlite3")
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]   # psycopg 3, not psycopg2
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        config_module.private_file(url[len("sqlite:///"):])   # SQLite gives its -wal and -shm files the same mode
    engine_options = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # LIFO: a request gets the connection used last, whose page cache is still warm. In
        # the default FIFO order the pool's connections took turns, and each found its cache
        # stale (another connection had written since), so the check-in's reads cost double.
        engine_options = {"connect_args": {"timeout": 30, "check_same_thread": False}, "pool_use_lifo": True}
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=app.config["SESSION_COOKIE_SECURE"],
        SESSION_PROTECTION="strong",
        MAX_CONTENT_LENGTH=app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,   # a desk tablet stays on one page all day
        BABEL_DEFAULT_LOCALE=app.config["DEFAULT_LOCALE"],
        BABEL_DEFAULT_TIMEZONE=app.config["TIMEZONE"],
        RATELIMIT_STORAGE_URI=app.config["RATELIMIT_STORAGE_URI"] or app.config.get("REDIS_URL") or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        JSON_SORT_KEYS=False,
    )

    plugins = load_plugins(parse_names(app.config["PLUGINS"]))
    app.extensions["crm_expo_plugins"] = {p.name: p for p in plugins}
    check_tables(plugins, db.metadata)

    from .i18n import request_locale, show_timezone
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        [os.path.join(HERE, "translations")] + [p.translations_path for p in plugins])
    db.init_app(app)
    with app.app_context():
        from .database import close_hot_connection, configure_engine
        configure_engine(db.engine)
    app.teardown_request(close_hot_connection)
    app.teardown_appcontext(close_hot_connection)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=request_locale, timezone_selector=show_timezone)
    limiter.init_app(app)
    # Only single routes carry limits (@limiter.limit checks them in its own wrapper); no
    # default or blueprint limits exist for the before-request hook to apply, and it costs
    # every request (the check-in's) a resolution of every limit.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    login_manager.init_app(app)

    from . import show_urls, web
    web.init_app(app)
    show_urls.init_app(app, plugins)
    from .admin.views import bp as admin_bp
    from .api import api_bp, init_api
    from .auth.views import bp as auth_bp
    from .contacts.views import bp as contacts_bp
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(contacts_bp)

    for plugin in plugins:
        if plugin.blueprint is not None:
            app.register_blueprint(plugin.blueprint, url_prefix=show_urls.show_prefix(plugin.name))
        if plugin.site_blueprint is not None:
            app.register_blueprint(plugin.site_blueprint, url_prefix=f"/{plugin.name}")
        if plugin.api_blueprint is not None:
            app.register_blueprint(plugin.api_blueprint, url_prefix="/api/v1")
        if plugin.init_app is not None:
            plugin.init_app(app)
        connect_signal_handlers(plugin)
    from . import jobs, mail_views  # mail_views adds the outbox's route to api_bp
    app.register_blueprint(mail_views.bp)
    app.register_blueprint(api_bp)
    init_api(app)
    jobs.init_app(app)

    from .cli import register_plugin_commands
    register_plugin_commands(app, plugins)
    if app.config.get("PROXY_COUNT"):
        # Behind nginx or a load balancer every request comes from the proxy: without this,
        # login throttling and rate limits would put every user on one address.
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return app


def enabled_plugins(app: Flask) -> dict[str, Plugin]:
    return app.extensions["crm_expo_plugins"]
