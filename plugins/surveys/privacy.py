"""The surveys' part of a person's data (hooks privacy.export and privacy.erase): the surveys
they were invited to and their answers. Erasure keeps the scores (NPS, CSAT, ratings, numbers
and choices: the results stay as they were) and removes what they wrote in their own words."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.privacy import blank, redact_text
from crm_expo.titles import extend

from .models import Recipient, Survey, SurveyAnswer, SurveyQuestion

WRITTEN = ("text",)     # the kind whose answer is the person's own words; other shows' names stay

extend("privacy.kind", {"survey_answers": _l("Survey answers")})


def _answers(person):
    return db.session.execute(
        select(Recipient, SurveyAnswer, SurveyQuestion)
        .join(SurveyAnswer, SurveyAnswer.recipient_id == Recipient.id)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .where(Recipient.person_id == person.id).order_by(SurveyAnswer.id)).all()


def export(person) -> dict:
    recipients = db.session.execute(select(Recipient, Survey).join(Survey, Survey.id == Recipient.survey_id)
                                    .where(Recipient.person_id == person.id).order_by(Recipient.id)).all()
    return {
        "survey_invitations": [{"survey_id": s.id, "survey": s.title_zh or s.title_en, "invited_at": r.invited_at,
                                "reminders": r.reminders, "answered_at": r.answered_at, "language": r.language}
                               for r, s in recipients],
        "survey_answers": [{"survey_id": r.survey_id, "question": q.label_zh or q.label_en, "kind": q.kind,
                            "value_int": a.value_int, "value_text": a.value_text} for r, a, q in _answers(person)],
    }


def erase(person, idents, report) -> None:
    for _recipient, answer, question in _answers(person):
        if not answer.value_text:
            continue
        erased = blank(answer.value_text) if question.kind in WRITTEN else redact_text(answer.value_text, idents)
        if erased != answer.value_text:
            answer.value_text = erased
            report.add("survey_answers")
