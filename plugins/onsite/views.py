from flask import Blueprint, render_template

from crm_expo.access import require

bp = Blueprint("onsite", __name__, template_folder="templates")


@bp.route("/")
@require('admin', 'organizer', 'service_agent', 'desk')
def index():
    return render_template("onsite/index.html")
