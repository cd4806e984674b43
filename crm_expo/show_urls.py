"""Show-scoped URLs: every page about one show lives under ``/shows/<slug>/<plugin>/…``.

- A plugin's ``blueprint`` is mounted at ``/shows/<slug>/<name>`` (its ``site_blueprint``, for
  pages not about one show, at ``/<name>``).
- ``load_show`` (a URL value preprocessor) takes the slug out of the view's arguments and
  loads the show once into ``g.show``: 404 for an unknown slug, before the view runs (so
  nothing is written); 404 too when a portal user's organization takes no part in the show
  (as if it did not exist: a portal user learns nothing of other shows), 403 for a show the
  user may not see otherwise.
- ``fill_slug`` (URL defaults) lets ``url_for`` leave the slug out: it comes from ``g.show``,
  else from the default show (``current_show``), so navigation links work on every page.
- Old paths (``/<plugin>/…``) answer a redirect to the new one (``legacy_redirect``).
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Flask, abort, current_app, g, has_request_context, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .access import public
from .extensions import csrf, db
from .models import Show

SHOW_PREFIX = "/shows/<slug>"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def show_prefix(plugin_name: str) -> str:
    return f"{SHOW_PREFIX}/{plugin_name}"


def is_show_rule(rule: str) -> bool:
    return rule.startswith(SHOW_PREFIX + "/")


def show_by_slug(slug: str) -> Show | None:
    return db.session.scalar(select(Show).where(Show.slug == slug))


def takes_part(show: Show, organization_id: int | None) -> bool:
    """Does this organization take part in the show, by any loaded plugin's account
    (``Plugin.takes_part``: an exhibitor of the show, an appointed supplier, …)?"""
    if organization_id is None:
        return False
    for plugin in current_app.extensions["crm_expo_plugins"].values():
        if plugin.takes_part is not None and plugin.takes_part(show, organization_id):
            return True
    return False


def visibility(user, show: Show) -> int | None:
    """None if ``user`` may see the show's pages, else the HTTP status to answer: 404 for a
    portal user whose organization takes no part in it. Staff see every show."""
    if not user.is_authenticated:
        return None   # the view's own rule sends to the login page (or lets the public in)
    if user.role in ("exhibitor", "supplier"):
        return None if takes_part(show, user.organization_id) else 404
    if not user.is_staff:
        return 403
    return None


def load_show(endpoint, values) -> None:
    if not values or "slug" not in values or request.url_rule is None \
            or not is_show_rule(request.url_rule.rule):
        return
    show = show_by_slug(values.pop("slug"))
    if show is None:
        abort(404)
    status = visibility(current_user, show)
    if status is not None:
        abort(status)
    g.show = show


def fill_slug(endpoint, values) -> None:
    if "slug" in values or not current_app.url_map.is_endpoint_expecting(endpoint, "slug"):
        return
    if not has_request_context():
        return
    from .web import current_show
    show = current_show()
    if show is not None:
        values["slug"] = show.slug


def plugin_index(blueprint_name: str) -> str | None:
    """The endpoint of a plugin's show page at ``/shows/<slug>/<plugin>/`` (the switcher's
    fallback), if it has one."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == f"{show_prefix(blueprint_name)}/" and rule.endpoint.startswith(blueprint_name + "."):
            return rule.endpoint
    return None


def same_page_of(show: Show, path: str, query: str = "") -> str | None:
    """The URL of the page at ``path`` for another show: the same page if it names nothing
    but the show, else the plugin's index (ids belong to one show); None if ``path`` is not
    a show page."""
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, args = adapter.match(path, method="GET")
    except Exception:   # not a page (404, redirect, other method): nothing to keep
        return None
    rule = next((r for r in current_app.url_map.iter_rules(endpoint) if is_show_rule(r.rule)), None)
    if rule is None:
        return None
    args.pop("slug", None)
    if not args:
        return url_for(endpoint, slug=show.slug) + (f"?{query}" if query else "")
    index = plugin_index(endpoint.split(".", 1)[0])
    return url_for(index, slug=show.slug) if index else None


def _legacy_target(plugin_name: str, rest: str) -> tuple[str, bool] | None:
    """(new path, whether the old path named the show) for an old ``/<plugin>/<rest>``."""
    parts = rest.split("/")
    candidates = [p for p in parts if p and not p.isdigit()]
    named = None
    if candidates:
        slugs = set(db.session.scalars(select(Show.slug).where(Show.slug.in_(candidates))))
        named = next((p for p in parts if p in slugs), None)
    if named is not None:
        parts.remove(named)
        show_slug = named
    elif request.args.get("show") and show_by_slug(request.args["show"]) is not None:
        show_slug = request.args["show"]
        named = show_slug
    else:
        from .web import current_show
        show = current_show()
        if show is None:
            return None
        show_slug = show.slug
    # the path arrives decoded; the Location header carries it encoded again
    return (f"/shows/{quote(show_slug)}/{plugin_name}/" + "/".join(quote(p) for p in parts),
            named is not None)


def legacy_redirect(plugin_name: str):
    @public
    def view(rest: str = ""):
        target = _legacy_target(plugin_name, rest)
        if target is None:
            abort(404)
        path, permanent = target
        query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "show"])
        # 307/308 keep the method and body of a form post; a bookmark that named the show
        # moved for good (301), one that relied on the chosen show may point elsewhere later.
        if request.method in ("GET", "HEAD"):
            code = 301 if permanent else 302
        else:
            code = 308 if permanent else 307
        return redirect(path + (f"?{query}" if query else ""), code=code)
    view.__name__ = f"legacy_{plugin_name}"
    return view


@public
def login_redirect():
    return redirect(url_for("auth.login", **request.args), code=301)


def init_app(app: Flask, plugins) -> None:
    app.url_value_preprocessor(load_show)
    app.url_defaults(fill_slug)
    app.add_url_rule("/login", endpoint="login_redirect", view_func=login_redirect)
    for plugin in plugins:
        if plugin.blueprint is None:
            continue
        # only a redirect: the new page checks the form's CSRF token when the post arrives
        view = csrf.exempt(legacy_redirect(plugin.name))
        endpoint = f"legacy_{plugin.name}"
        app.add_url_rule(f"/{plugin.name}/", endpoint=endpoint, view_func=view, methods=ALL_METHODS)
        app.add_url_rule(f"/{plugin.name}/<path:rest>", endpoint=endpoint, view_func=view, methods=ALL_METHODS)
