"""show.copy hook: the registration questions and the admission rules (per visitor
category; a rule for one day moves with the show's days)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm_expo.copying import clone_rows, delete_rows, shift_date

from .models import AdmissionRule, Question


def copy_show(source, target, report, replace: bool) -> None:
    if replace:
        delete_rows(Question, target)
        delete_rows(AdmissionRule, target)
    offset = target.start - source.start
    have = {q.key for q in target_questions(target)}
    questions = clone_rows(Question, source, target, change=lambda row, v: None if row.key in have else v)
    days = {d.date for d in target.days}

    def rule(_row, values):
        values["day"] = shift_date(values["day"], offset)
        return None if values["day"] is not None and values["day"] not in days else values
    rules = clone_rows(AdmissionRule, source, target, change=rule)
    report.add("visitors.questions", _l("Registration questions"), len(questions))
    report.add("visitors.admission_rules", _l("Admission rules"), len(rules))


def target_questions(target):
    from sqlalchemy import select

    from crm_expo.extensions import db
    return db.session.scalars(select(Question).where(Question.show_id == target.id)).all()
