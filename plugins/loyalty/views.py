from flask import Blueprint, render_template

from crm_expo.access import require

bp = Blueprint("loyalty", __name__, template_folder="templates")


@bp.route("/")
@require("loyalty.view")
def index():
    return render_template("loyalty/index.html")
