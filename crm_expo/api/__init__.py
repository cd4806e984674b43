"""The JSON API base, under /api/v1.

- Authentication: ``Authorization: Bearer <token>`` (an ApiToken scoped to one show and one
  role), or a signed-in browser session (then unsafe methods need the CSRF token in
  ``X-CSRFToken``).
- Errors: ``{"error": {"code": "...", "message": "...", "field": "..."}}`` with the matching HTTP
  status (``field`` when the error names one). Any ``crm_expo.errors.DomainError`` an endpoint
  lets through is answered so.
- Lists: ``page`` and ``per_page`` (≤ 200) with ``total`` in every answer.
- The OpenAPI document at /api/v1/openapi.json is generated from the routes and the YAML
  part of each view's docstring (after ``---``).
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
from typing import NamedTuple

from apispec import APISpec
from apispec.yaml_utils import load_yaml_from_docstring
from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import DateTime, Integer, String, func, select, update
from sqlalchemy.orm import selectinload

from ..access import bearer_token, is_api_request
from ..database import DATABASE_INT_MAX, FastStatement, close_hot_connection, hot_connection, transaction, utcnow
from ..errors import DomainError
from ..extensions import csrf, db
from ..models import ApiToken, Show
from ..permissions import roles_for

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PER_PAGE = 200


class ApiError(DomainError):
    """Raise from an API view to answer with an error (an operation raises its plugin's
    DomainError, which the API answers the same way)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message, code, field=field, status=status)


def error_json(code: str, message, field: str | None = None) -> dict:
    return DomainError(message, code, field=field).json()


def error_response(status: int, code: str, message: str, field: str | None = None):
    response = jsonify(error_json(code, message, field))
    response.status_code = status
    return response


class SessionInterface(SecureCookieSessionInterface):
    """The cookie session, except for calls with a bearer token: a script or a desk device
    has no browser session, and not decoding (or writing) one saves time on every scan."""

    def open_session(self, app, request):
        if bearer_token(request.headers.get("Authorization")) is not None:
            return self.make_null_session(app)
        return super().open_session(app, request)


class ShowRow(NamedTuple):
    """The few fields of a show a hot path needs (``api_require(light_show=True)``)."""
    id: int
    slug: str
    timezone: str
    currency: str


class TokenGrant(NamedTuple):
    """What an authenticated API token grants, read with its show in one plain SQL statement:
    the check-in hot path authenticates on every scan, and loading ORM objects costs more
    than the scan."""
    id: int
    prefix: str
    role: str
    show_id: int
    organization_id: int | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    show: ShowRow

    def state(self, now: dt.datetime | None = None) -> str:
        return ApiToken.state(self, now)


_TOKEN_SQL = FastStatement(
    "SELECT t.id, t.prefix, t.role, t.show_id, t.organization_id, t.expires_at, t.revoked_at, t.last_used_at, "
    "s.id, s.slug, s.timezone, s.currency "
    "FROM api_tokens t JOIN shows s ON s.id = t.show_id WHERE t.token_hash = :token_hash",
    columns={"id": Integer(), "prefix": String(), "role": String(), "show_id": Integer(),
             "organization_id": Integer(), "expires_at": DateTime(), "revoked_at": DateTime(),
             "last_used_at": DateTime(), "show_id_": Integer(), "slug": String(), "timezone": String(),
             "currency": String()})
_SHOW_SQL = FastStatement("SELECT id, slug, timezone, currency FROM shows WHERE slug = :slug",
                          columns={"id": Integer(), "slug": String(), "timezone": String(), "currency": String()})


def authenticate_token(raw: str) -> TokenGrant:
    rows = _TOKEN_SQL.run({"token_hash": ApiToken.hash(raw)})
    hot_connection().commit()
    if not rows:
        raise ApiError(401, "invalid_token", _("The API token is not valid."))
    row = rows[0]
    token = TokenGrant(*row[:8], show=ShowRow(*row[8:]))
    state = token.state()
    if state == "revoked":
        raise ApiError(401, "token_revoked", _("The API token was revoked."))
    if state == "expired":
        raise ApiError(401, "token_expired", _("The API token has expired."))
    now = utcnow()
    # Record use at most once a minute: the check-in path must not write for this.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        with transaction():   # a writer: parallel first uses queue, not fail with "database is locked"
            db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return token


def api_require(*permissions: str, show_arg: str | None = "slug", light_show: bool = False):
    """Access rule for an API view: a caller whose role holds one of ``permissions``
    (crm_expo/permissions.py; none named = any authenticated caller). With
    ``show_arg``, the token must be scoped to the show in that URL argument; the view then
    receives the Show as ``show`` instead of the slug — with ``light_show``, only its
    id, slug, timezone and currency as a plain row (no ORM load: for the hottest paths)."""
    roles = roles_for(*permissions) if permissions else ()

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            raw = bearer_token(request.headers.get("Authorization"))
            g.api_user = None
            request.api_token = None
            if raw:
                token = authenticate_token(raw)
                request.api_token = token
                role = token.role
            elif current_user.is_authenticated:
                if request.method not in ("GET", "HEAD", "OPTIONS"):
                    csrf.protect()
                g.api_user = current_user._get_current_object()
                role = current_user.role
            else:
                raise ApiError(401, "unauthorized", _("Send an API token: Authorization: Bearer <token>."))
            require_role(role, roles)
            if show_arg is not None and show_arg in kwargs:
                kwargs["show"] = show_for(kwargs.pop(show_arg), request.api_token, light_show)
            if not light_show:
                close_hot_connection()   # a request holds one pooled connection at a time
            return view(*args, **kwargs)
        # resolved to roles here: the fast lane checks a token's role against them
        wrapped._access = ("api", roles)
        wrapped._permissions = permissions
        return wrapped
    return decorator


def require_role(role: str, roles: tuple) -> None:
    if roles and role not in roles:
        raise ApiError(403, "forbidden", _("This token's role may not use this endpoint."))


def show_for(slug: str, token: TokenGrant | None, light_show: bool) -> Show | ShowRow:
    """The show named in the URL, which a token must be scoped to (see ``api_require``)."""
    if light_show and token is not None and token.show.slug == slug:
        show = token.show   # read with the token
    elif light_show:
        rows = _SHOW_SQL.run({"slug": slug})
        hot_connection().commit()
        show = ShowRow(*rows[0]) if rows else None
    else:
        show = db.session.scalar(select(Show).where(Show.slug == slug))
    if show is None:
        raise ApiError(404, "unknown_show", _("No show with the code %(slug)s.", slug=slug))
    if token is not None and token.show_id != show.id:
        raise ApiError(403, "wrong_show", _("This token belongs to another show."))
    return show


def caller_role() -> str | None:
    token = getattr(request, "api_token", None)
    if token is not None:
        return token.role
    return current_user.role if current_user.is_authenticated else None


def caller_organization_id() -> int | None:
    token = getattr(request, "api_token", None)
    if token is not None:
        return token.organization_id
    return current_user.organization_id if current_user.is_authenticated else None


def page_args() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 50))
    except ValueError:
        raise ApiError(400, "bad_pagination", _("page and per_page must be whole numbers.")) from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError(400, "bad_pagination",
                       _("page must be ≥ 1 and per_page between 1 and %(max)d.", max=MAX_PER_PAGE))
    return page, per_page


def paginate(stmt, serialize) -> dict:
    """Run a SELECT with page/per_page from the request; the total is counted in SQL."""
    page, per_page = page_args()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [serialize(r) for r in rows], "total": total, "page": page, "per_page": per_page}


def json_body(optional: bool = False) -> dict:
    """The request's JSON object (``optional``: an empty body is ``{}``). Refused with a 400 before any operation sees it: a body that
    is not a JSON object, nesting deeper than any request of the API needs, NaN or Infinity,
    and an integer no database column holds (naming where it is)."""
    not_object = ApiError(400, "bad_json", _("The request body must be a JSON object."))
    if optional and not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise not_object
    try:
        data = json.loads(request.get_data(cache=True) or b"null", parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(400, "bad_json", _("The JSON body is nested too deeply.")) from None
    except ValueError:      # not JSON, not UTF-8, or NaN/Infinity
        raise not_object from None
    if not isinstance(data, dict):
        raise not_object
    where = _out_of_range(data, "", 0)
    if where:
        raise ApiError(400, "bad_value", _("%(field)s is not a number the system can hold.", field=where),
                       field=where)
    return data


_MAX_JSON_DEPTH = 32


def _no_constant(name: str):
    raise ValueError(name)


def _out_of_range(value, path: str, depth: int) -> str:
    """The path of the first integer beyond DATABASE_INT_MAX or float that is not finite."""
    if depth > _MAX_JSON_DEPTH:
        raise ApiError(400, "bad_json", _("The JSON body is nested too deeply."))
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return path or "body" if abs(value) > DATABASE_INT_MAX else ""
    if isinstance(value, float):
        return "" if math.isfinite(value) else (path or "body")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _out_of_range(item, f"{path}.{key}" if path else str(key), depth + 1)
        if found:
            return found
    return ""


def series_json(series) -> dict | None:
    if series is None:
        return None
    return {"slug": series.slug, "name": series.name, "name_zh": series.name_zh, "name_en": series.name_en}


def show_json(show: Show) -> dict:
    return {"slug": show.slug, "name_zh": show.name_zh, "name_en": show.name_en, "venue": show.venue,
            "series": series_json(show.series), "status": show.status, "timezone": show.timezone,
            "currency": show.currency, "halls": show.halls or [],
            "days": [{"date": d.date.isoformat(), "opens": d.opens.strftime("%H:%M"),
                      "closes": d.closes.strftime("%H:%M")} for d in show.days]}


@api_bp.get("/shows")
@api_require(show_arg=None)
def list_shows():
    """List the shows the caller can see (a token sees its own show).
    ---
    get:
      summary: List shows
      parameters:
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200: {description: "{items: [show], total, page, per_page}"}
        401: {description: missing, invalid, revoked or expired token}
    """
    stmt = select(Show).options(selectinload(Show.series), selectinload(Show.days)).order_by(Show.id)
    token = getattr(request, "api_token", None)
    if token is not None:
        stmt = stmt.where(Show.id == token.show_id)
    return jsonify(paginate(stmt, show_json))


@api_bp.get("/shows/<slug>")
@api_require()
def get_show(show):
    """One show, with its open days.
    ---
    get:
      summary: Get a show
      responses:
        200: {description: the show}
        403: {description: the token belongs to another show}
        404: {description: no such show}
    """
    return jsonify(show_json(show))


@api_bp.patch("/shows/<slug>")
@api_require("admin.shows")
def patch_show(show):
    """Change a show's dates (``start`` with ``days`` or ``end``), its status (draft → open →
    live → closed, one step at a time) and/or its series (the code of an existing series, or
    null to take it out of its series).
    ---
    patch:
      summary: Change a show's dates, status or series
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                start: {type: string, format: date}
                days: {type: integer, minimum: 1, maximum: 60}
                end: {type: string, format: date, description: "last day (instead of days)"}
                status: {type: string, enum: [draft, open, live, closed]}
                series: {type: string, nullable: true, description: "code of an existing series; null: none"}
      responses:
        200: {description: the show}
        400: {description: "a field is wrong (error.field names it); nothing written"}
        422: {description: "refused: a status step that is not allowed, dates of a live show"}
    """
    from .. import operations
    from ..models.shows import SHOW_TRANSITIONS
    data = json_body()
    unknown = sorted(set(data) - {"start", "days", "end", "status", "series"})
    if unknown:
        raise ApiError(400, "bad_value", _("Unknown field %(field)s.", field=unknown[0]), field=unknown[0])

    def date_of(name):
        try:
            return dt.date.fromisoformat(data[name])
        except (TypeError, ValueError):
            raise ApiError(400, "bad_value", _("%(field)s must be a date YYYY-MM-DD, not %(value)s.", field=name,
                                               value=repr(data[name])), field=name) from None

    status = data.get("status")
    if status is not None and (not isinstance(status, str) or status not in SHOW_TRANSITIONS):
        raise ApiError(400, "bad_value", _("Unknown status %(status)s (one of %(statuses)s).", status=repr(status),
                                           statuses=", ".join(SHOW_TRANSITIONS)), field="status")
    dates = None
    if {"start", "days", "end"} & set(data):
        if "days" in data and "end" in data:
            raise ApiError(400, "bad_value", _("Give days or end, not both."), field="end")
        start = date_of("start") if "start" in data else show.start
        if "end" in data:
            end = date_of("end")
            if end < start:
                raise ApiError(400, "bad_value", _("The last day %(end)s is before the first day %(start)s.",
                                                   end=end, start=start), field="end")
            days = (end - start).days + 1
        else:
            days = data.get("days", len(show.days))
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
                raise ApiError(400, "bad_value", _("A show lasts 1 to 60 days, not %(days)s.", days=repr(days)),
                               field="days")
        dates = (start, days)
    if status is not None and status != show.status and status not in SHOW_TRANSITIONS[show.status]:
        # checked before the dates are written, so a refused step leaves the show as it was
        raise operations.CoreError(_("A show cannot go from %(old)s to %(new)s.", old=show.status, new=status),
                                   field="status")
    series = show.series
    if "series" in data:
        code = data["series"]
        if code is not None and not isinstance(code, str):
            raise ApiError(400, "bad_value", _("series must be the code of a series or null."), field="series")
        series = operations.series_by_slug(code) if code else None
        if code and series is None:
            raise ApiError(400, "unknown_series", _("No series with the code %(slug)s.", slug=code), field="series")
    user = getattr(g, "api_user", None)
    if dates is not None:
        operations.change_show_dates(show, *dates, user=user)
    if status is not None and status != show.status:
        operations.change_show_status(show, status, user=user)
    if series is not show.series:       # last: it cannot be refused once checked
        operations.set_show_series(show, series, user=user)
    return jsonify(show_json(show))


@api_bp.get("/openapi.json")
def openapi():
    return jsonify(build_openapi(current_app))


openapi._access = ("public", ())


def build_openapi(app: Flask) -> dict:
    spec = APISpec(title="crm-expo API", version="1", openapi_version="3.0.3",
                   info={"description": "JSON API of crm-expo. Authenticate with a bearer token."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        view = app.view_functions[rule.endpoint]
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<{arg}>", "{" + arg + "}")
            for conv in ("int", "string", "path"):
                path = path.replace(f"<{conv}:{arg}>", "{" + arg + "}")
        try:
            operations = load_yaml_from_docstring(view.__doc__ or "") or {}
        except Exception as exc:   # name the culprit: a docstring is code here
            raise ValueError(f"{rule.endpoint}: invalid OpenAPI YAML in its docstring: {exc}") from exc
        summary = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
        ops = {}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = dict(operations.get(method.lower(), {}))
            op.setdefault("summary", summary)
            op.setdefault("responses", {"200": {"description": "OK"}})
            op.setdefault("security", [{"bearer": []}])
            op["parameters"] = op.get("parameters", []) + [
                {"in": "path", "name": a, "required": True, "schema": {"type": "string"}}
                for a in sorted(rule.arguments)]
            ops[method.lower()] = op
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def init_app_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _refused(err: DomainError):
        # A refusal no view caught: the API answers it as JSON with its status; a page that
        # let one through has a bug, and it stays the server error it was.
        if not (isinstance(err, ApiError) or is_api_request()):
            raise err
        db.session.rollback()
        return error_response(err.status, err.code, err.message, err.field)


def init_api(app: Flask) -> None:
    init_app_errors(app)
    app.session_interface = SessionInterface()
    csrf.exempt(api_bp)
    for bp in app.blueprints.values():
        if bp.name.endswith("_api"):
            csrf.exempt(bp)
