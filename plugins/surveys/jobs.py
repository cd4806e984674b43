"""The surveys' periodic job: scheduled sends after the show and automatic reminders."""
from crm_expo.jobs import crontab, job


@job(periodic=crontab(minute="15"))
def survey_mail() -> int:
    """Every hour: send the surveys due N days after their show, and remind the
    non-respondents whose last mail is old enough (at most surveys.reminders_max each)."""
    from .operations import scheduled_sends
    return scheduled_sends()
