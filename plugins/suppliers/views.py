from flask import Blueprint, render_template

from crm_expo.access import require

bp = Blueprint("suppliers", __name__, template_folder="templates")


@bp.route("/")
@require('admin', 'organizer', 'account_manager', 'service_agent')
def index():
    return render_template("suppliers/index.html")
