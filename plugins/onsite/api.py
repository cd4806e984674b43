"""JSON API of the onsite plugin (under /api/v1): the gate's check-in, the hottest path."""
from __future__ import annotations

from flask import Blueprint, Flask, g, jsonify, request
from flask_babel import gettext as _

from crm_expo.api import ApiError, api_require, json_body
from crm_expo.api.fast_lane import add_fast_route

from . import operations as ops

api_bp = Blueprint("onsite_api", __name__)


def init_app(app: Flask) -> None:
    # A desk device's scan (bearer token, JSON) skips Flask's request machinery: the view
    # below answers the other callers (the desk page in a browser session) the same way.
    add_fast_route(app, "onsite_api.checkin", lambda show, token, data: scan_answer(show, data))


@api_bp.post("/shows/<slug>/checkins")
@api_require("onsite.desk", light_show=True)
def checkin(show):
    """Check a badge in (or out) at a gate.
    ---
    post:
      summary: Scan a badge at a gate
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [code, gate]
              properties:
                code: {type: string, description: badge code (12 upper-case letters and digits)}
                gate: {type: string}
                nonce: {type: string, description: "unique per scan; a replay returns the first answer"}
                desk: {type: string}
                device: {type: string}
                direction: {type: string, enum: [in, out]}
      responses:
        200: {description: "{result: ok|already_in|unknown|not_allowed, reason, reason_code, person}"}
        400: {description: missing code or gate, malformed nonce}
        401: {description: missing or invalid token}
        403: {description: token of another show or role}
    """
    user = getattr(g, "api_user", None)
    return jsonify(scan_answer(show, json_body(), user.id if user is not None else None))


def scan_answer(show, data: dict, user_id: int | None = None) -> dict:
    """The answer to one scan request (the view's and the fast lane's)."""
    code, gate, nonce = data.get("code"), data.get("gate"), data.get("nonce")
    if not isinstance(code, str) or not code.strip():
        raise ApiError(400, "missing_code", _("Send the badge code as 'code'."))
    if not isinstance(gate, str):
        raise ApiError(400, "missing_gate", _("Send the gate as 'gate'."))
    try:
        return ops.check_in(show, code[:200], gate, nonce=nonce, desk=str(data.get("desk") or ""),
                            device=str(data.get("device") or ""), direction=data.get("direction") or "in",
                            user_id=user_id)
    except ops.OnsiteError as exc:
        raise ApiError(400, "bad_scan", str(exc)) from exc


@api_bp.get("/shows/<slug>/checkins/count")
@api_require("onsite.desk")
def checkin_count(show):
    """Admitted entries today at a gate (the desk's counter).
    ---
    get:
      parameters:
        - {in: query, name: gate, required: true, schema: {type: string}}
      responses:
        200: {description: "{gate, count}"}
    """
    gate = request.args.get("gate", "")
    return jsonify(gate=gate, count=ops.gate_count(show, gate))


@api_bp.get("/shows/<slug>/reports/attendance")
@api_require("onsite.manage")
def attendance_report(show):
    """Audited attendance: the figures of the printed report, each rule stated in ``rules``.
    ---
    get:
      summary: Audited attendance of a show
      responses:
        200: {description: "{unique_visitors, total_attendance, entries, by_day: [{date, unique, entries}],
          unique_by_category: {trade, public, vip}, not_counted: {media, exhibitor_staff},
          registered_never_admitted, refused: {reason: scans}, by_country, by_province, by_question, rules}"}
        401: {description: missing or invalid token}
        403: {description: token of another show or role}
    """
    from .attendance import figures, plain
    return jsonify(plain(figures(show)))
