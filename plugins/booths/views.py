from flask import Blueprint, render_template

from crm_expo.access import require

bp = Blueprint("booths", __name__, template_folder="templates")


@bp.route("/")
@require('admin', 'organizer', 'account_manager')
def index():
    return render_template("booths/index.html")
