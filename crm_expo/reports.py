"""Printed reports: each plugin offers whole reports (``Plugin.reports``) and sections for
the shared ones (``Plugin.report_sections``); this module lists them and assembles the
shared "post-show" report from every loaded plugin's sections, in plugin order."""
from __future__ import annotations

from flask import Flask, current_app
from flask_babel import gettext as _

from .pdf import document, para


def post_show_report(show) -> bytes:
    flow = [para(_("Post-show report"), "title"), para(f"{show.name_zh} / {show.name_en}", "h2")]
    for plugin in current_app.extensions["crm_expo_plugins"].values():
        section = plugin.report_sections.get("post-show")
        if section is not None:
            flow.extend(section(show))
    return document(flow, title=_("Post-show report") + f" — {show.slug}", show=show)


def available_reports(app: Flask) -> dict:
    found = {"post-show": post_show_report}
    for plugin in app.extensions["crm_expo_plugins"].values():
        found.update(plugin.reports)
    return found
