"""Surveys (满意度调查): post-show questionnaires for exhibitors and visitors — personal links,
invitations and reminders through the outbox, response rates, NPS and CSAT. Loyalty reads an
organization's answers through ``operations.attitude`` / ``satisfaction_by_organization``."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from . import (
    jobs,  # noqa: F401  (declares the periodic job)
    permissions,  # noqa: F401
)
from .api import api_bp
from .views import bp


def _default_settings():
    from crm_expo.settings import SettingSpec

    from .operations import DEFAULT_SETTINGS as D
    return {
        "surveys.send_days_after_show": SettingSpec(
            "int", D["surveys.send_days_after_show"], _l("Send surveys after the show (days)"),
            _l("A survey marked for automatic sending goes out this many days after the show's last day."),
            min=0, max=90),
        "surveys.reminders_max": SettingSpec(
            "int", D["surveys.reminders_max"], _l("Automatic reminders (at most)"),
            _l("Reminders sent automatically to each person who has not answered."), min=0, max=5),
        "surveys.reminder_days": SettingSpec(
            "int", D["surveys.reminder_days"], _l("Days between reminders"),
            _l("An automatic reminder goes out when the last mail to the person is this many days old."),
            min=1, max=30),
        "surveys.deadline_days": SettingSpec(
            "int", D["surveys.deadline_days"], _l("Answering period (days)"),
            _l("Deadline of a survey opened without one: this many days after opening."), min=1, max=180),
    }


def _privacy_export(person):
    from .privacy import export
    return export(person)


def _privacy_erase(person, idents, report):
    from .privacy import erase
    erase(person, idents, report)


plugin = Plugin(
    name="surveys",
    title=_l("Surveys"),
    blueprint=bp,
    api_blueprint=api_bp,
    models="plugins.surveys.models",
    requires=("exhibitors", "visitors", "onsite"),
    nav=(NavItem(_l("Surveys"), "surveys.index", permissions=("surveys.view",)),),
    default_settings=_default_settings(),
    hooks={"privacy.export": _privacy_export, "privacy.erase": _privacy_erase},
)
