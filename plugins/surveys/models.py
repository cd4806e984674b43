"""Surveys' tables: a questionnaire per show (its questions, in sections), the people it was
sent to (one unguessable token each) and their answers (one row per value: a multiple choice
is one row per option, so distributions are one GROUP BY)."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.titles import extend, register

TEMPLATES = ("visitor", "exhibitor")
STATUSES = ("draft", "open", "closed")
KINDS = ("nps", "csat", "rating", "single", "multiple", "number", "text", "other_shows")
SCALES = {"nps": (0, 10), "csat": (1, 5), "rating": (1, 5)}

TEMPLATE_TITLES = register("surveys.template", {"visitor": _l("Visitors"), "exhibitor": _l("Exhibitors")})
STATUS_TITLES = register("surveys.status", {"draft": _l("Draft"), "open": _l("Taking answers"), "closed": _l("Answers closed")})
KIND_TITLES = register("surveys.kind", {
    "nps": _l("Recommendation (NPS 0–10)"), "csat": _l("Satisfaction (CSAT 1–5)"), "rating": _l("Rating 1–5"),
    "single": _l("Single choice"), "multiple": _l("Multiple choice"), "number": _l("Number"),
    "text": _l("Free text"), "other_shows": _l("Other shows attended"),
})


def _sql_in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Survey(db.Model):
    __tablename__ = "surveys_survey"
    __table_args__ = (
        CheckConstraint(f"template IN ({_sql_in(TEMPLATES)})", name="template"),
        CheckConstraint(f"status IN ({_sql_in(STATUSES)})", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(String(16))
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    title_en: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(8), default="draft")
    audience: Mapped[dict] = mapped_column(JSON, default=dict)      # the filters (operations.audience)
    opens_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    deadline: Mapped[dt.datetime | None] = mapped_column(default=None)   # naive UTC; links end here
    auto_send: Mapped[bool] = mapped_column(default=False)          # the periodic job sends after the show
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    questions: Mapped[list[SurveyQuestion]] = relationship(order_by="SurveyQuestion.position, SurveyQuestion.id",
                                                     back_populates="survey", cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        from flask_babel import get_locale
        en = str(get_locale() or "zh").startswith("en")
        return (self.title_en or self.title_zh) if en else (self.title_zh or self.title_en)


class SurveyQuestion(db.Model):
    __tablename__ = "surveys_question"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_sql_in(KINDS)})", name="kind"),
        UniqueConstraint("survey_id", "key", name="uq_surveys_question_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys_survey.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))          # stable across editions: the comparison uses it
    position: Mapped[int] = mapped_column(default=0)
    section_zh: Mapped[str] = mapped_column(String(200), default="")
    section_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16))
    label_zh: Mapped[str] = mapped_column(String(300), default="")
    label_en: Mapped[str] = mapped_column(String(300), default="")
    required: Mapped[bool] = mapped_column(default=False)
    # single/multiple: [{"value": "...", "zh": "...", "en": "..."}]
    choices: Mapped[list] = mapped_column(JSON, default=list)
    survey: Mapped[Survey] = relationship(back_populates="questions")

    def text(self, language: str) -> str:
        return (self.label_en or self.label_zh) if language.startswith("en") else (self.label_zh or self.label_en)

    def section(self, language: str) -> str:
        return (self.section_en or self.section_zh) if language.startswith("en") else \
            (self.section_zh or self.section_en)

    def choice_text(self, value: str, language: str) -> str:
        for c in self.choices or ():
            if c.get("value") == value:
                return (c.get("en") or c.get("zh")) if language.startswith("en") else (c.get("zh") or c.get("en"))
        return value


class Recipient(db.Model):
    """One person a survey was sent to: the personal link's token, the audience segment they
    came from (for response rates by segment), the mails sent and whether they answered."""
    __tablename__ = "surveys_recipient"
    __table_args__ = (
        UniqueConstraint("survey_id", "person_id", name="uq_surveys_recipient_person"),
        Index("ix_surveys_recipient_survey_answered", "survey_id", "answered_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys_survey.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    segment: Mapped[str] = mapped_column(String(32), default="")   # visitor category / exhibitor status
    language: Mapped[str] = mapped_column(String(5), default="zh")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    invited_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reminders: Mapped[int] = mapped_column(default=0)
    last_mailed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    updated_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class SurveyAnswer(db.Model):
    __tablename__ = "surveys_answer"
    __table_args__ = (Index("ix_surveys_answer_question_value", "question_id", "value_int"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("surveys_recipient.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("surveys_question.id", ondelete="CASCADE"))
    value_int: Mapped[int | None] = mapped_column(default=None)      # scales and numbers
    value_text: Mapped[str] = mapped_column(Text, default="")        # choice value, free text, a show's name


extend("audit.action", {
    "survey.create": _l("Survey created"), "survey.question": _l("Survey question changed"),
    "survey.open": _l("Survey opened"), "survey.close": _l("Survey closed"),
    "survey.send": _l("Survey invitations queued"), "survey.remind": _l("Survey reminders queued"),
})
extend("audit.object", {"Survey": _l("Survey")})
