"""The unsubscribe page of marketing mail (a signed link, no login) and the outbox's API."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from .access import public
from .api import api_bp, api_require
from .extensions import csrf
from .mail import UnsubscribeError, read_unsubscribe_token, status_counts, withdraw_consent

bp = Blueprint("mail", __name__, url_prefix="/mail")



@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
@csrf.exempt     # mail clients post the one-click unsubscribe (RFC 8058) with no token
def unsubscribe(token):
    """GET: a page with one button; POST (that button, or a mail client's one-click):
    withdraw the consent purpose of the link."""
    try:
        person, purpose = read_unsubscribe_token(token)
    except UnsubscribeError as exc:
        return render_template("mail/unsubscribe.html", error=exc.message), 404
    if request.method == "POST":
        withdraw_consent(person, purpose)
        return render_template("mail/unsubscribe.html", done=True, purpose=purpose)
    return render_template("mail/unsubscribe.html", done=False, purpose=purpose, email=person.email)


@api_bp.get("/outbox")
@api_require("mail.outbox", show_arg=None)
def outbox_counts():
    """How many mails of the outbox are in each status.
    ---
    get:
      summary: Outbox status counts
      responses:
        200: {description: "{counts: {queued, sending, sent, retrying, failed, withheld}, total}"}
        403: {description: the caller is not an organizer}
    """
    counts = status_counts()
    return jsonify({"counts": counts, "total": sum(counts.values())})
