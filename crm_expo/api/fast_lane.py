"""The API's fast lane: the hottest JSON endpoints answered straight from WSGI, before Flask.

At the show's opening every entrance scans at once, and the gate's check-in is the path the
product is judged on. Flask's request handling around a scan (the URL map, the request,
session and response objects, the hooks, some fifty context-local lookups) cost about
300 µs of CPU, more than the scan's own work (bench/checkin). A fast route takes only the
plain case, a POST with a bearer token and a JSON object for a body, and does for it what
Flask and ``api_require(light_show=True)`` do, with the same functions: the token, role
and show checks, the device's language (Accept-Language), the same answers and error
format, the security headers. Everything else goes through Flask as before: a browser
session (which needs CSRF), another kind of body, a schema this process has not checked.

A fast route is an ordinary Flask view's endpoint: the lane takes its URL rule and roles
from the view (which still answers the other cases and feeds the OpenAPI document), and
both call one handler. Flask's request signals and before/after-request
hooks do not run in the fast lane: CSRF (a bearer token needs none), rate limits (give a
fast route none: the lane would not apply them), the handler cannot use ``request``. The
app context is pushed, so ``g``, the database and gettext work.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import NamedTuple

from flask import Flask
from flask_babel import force_locale
from werkzeug.http import HTTP_STATUS_CODES

from ..access import bearer_token
from ..errors import DomainError
from ..i18n import accepted_language, parsed_locale
from ..web import SECURITY_HEADERS, SERVER_ERROR, log_server_error, private_headers, schema_checked
from . import authenticate_token, error_json, require_role, show_for

MAX_BODY = 16 * 1024   # a scan is about 100 bytes; anything bigger takes the normal path
EXTENSION = "crm_expo_fast_lane"


class FastRoute(NamedTuple):
    path: re.Pattern
    roles: tuple
    handler: Callable   # handler(show: ShowRow, token: TokenGrant, data: dict) -> dict


def add_fast_route(app: Flask, endpoint: str, handler: Callable) -> None:
    """Answer the API view ``endpoint``'s POSTs in the fast lane too, under the view's own URL
    rule (which names the show as ``<slug>``) and access rule (``api_require``'s roles).
    ``handler(show, token, data)`` returns the JSON answer or raises a DomainError (ApiError), as the view
    does. Call it after the view's blueprint is registered (a plugin's ``init_app``)."""
    rule = next(app.url_map.iter_rules(endpoint))   # KeyError: no such endpoint
    if rule.arguments != {"slug"}:
        raise ValueError(f"a fast route names the show once, as <slug>, and nothing else: {rule.rule}")
    access = getattr(app.view_functions[endpoint], "_access", None)
    if access is None or access[0] != "api" or "POST" not in rule.methods:
        raise ValueError(f"a fast route answers the POSTs of an api_require view: {endpoint}")
    literal = [re.escape(part) for part in re.sub(r"<(?:\w+:)?slug>", "<slug>", rule.rule).split("<slug>")]
    lane = app.extensions.get(EXTENSION)
    if lane is None:
        lane = app.extensions[EXTENSION] = FastLane(app)
    lane.routes.append(FastRoute(re.compile(literal[0] + "(?P<slug>[^/]+)" + literal[1]), tuple(access[1]), handler))


class FastLane:
    """WSGI middleware in front of Flask (``app.wsgi_app``)."""

    def __init__(self, app: Flask):
        self.app, self.wsgi_app, self.routes = app, app.wsgi_app, []
        app.wsgi_app = self

    def __call__(self, environ, start_response):
        taken = self._take(environ)
        if taken is None:
            return self.wsgi_app(environ, start_response)
        route, slug, token, data = taken
        app = self.app
        with app.app_context(), force_locale(parsed_locale(accepted_language(environ.get("HTTP_ACCEPT_LANGUAGE")))):
            try:
                grant = authenticate_token(token)
                require_role(grant.role, route.roles)
                status, answer = 200, route.handler(show_for(slug, grant, True), grant, data)
            except DomainError as exc:   # ApiError or an operation's refusal, as the API's handler
                status, answer = exc.status, error_json(exc.code, exc.message, exc.field)
            except Exception as exc:   # as Flask's error handler does: log, answer 500 in JSON
                log_server_error(exc)
                status, answer = 500, error_json("server_error", SERVER_ERROR)
            # byte for byte what jsonify() sends outside debug mode
            body = (app.json.dumps(answer, separators=(",", ":")) + "\n").encode()
        start_response(f"{status} {HTTP_STATUS_CODES[status]}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                        *SECURITY_HEADERS, *private_headers(app.config, True)])
        return [body]

    def _take(self, environ) -> tuple | None:
        """(route, slug, bearer token, JSON object) when the fast lane answers this request."""
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if token is None:
            return None
        path = environ.get("PATH_INFO", "")
        for route in self.routes:
            match = route.path.fullmatch(path)
            if match is not None:
                break
        else:
            return None
        if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != "application/json":
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= MAX_BODY or not schema_checked(self.app):
            return None
        body = environ["wsgi.input"].read(length)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            environ["wsgi.input"] = io.BytesIO(body)   # Flask reads it again and says what is wrong
            return None
        return route, match["slug"], token, data
