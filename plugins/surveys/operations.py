"""Surveys' domain logic: questionnaires from two templates, audiences built from the data
(exhibitors of the show, visitors by category and attendance), one personal link per
recipient, invitations and reminders through the outbox, and results computed in SQL.

For loyalty: :func:`attitude` (one organization's answers to the exhibitor survey of a show:
recommendation, satisfaction, the other shows it attends) and :func:`satisfaction_by_organization`
(the same for every organization that answered). Satisfaction is not loyalty: these report
what was answered; loyalty combines them with repeat participation itself."""
from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict

from flask import current_app, has_request_context, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, case, delete, exists, func, insert, select, update
from sqlalchemy.orm import selectinload

from crm_expo.database import chunks, transaction, utcnow
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.models import Consent, Person, Show, audit
from crm_expo.models.settings import get_setting
from crm_expo.operations import previous_edition
from plugins.exhibitors.models import STATUSES as EXHIBITOR_STATUSES
from plugins.exhibitors.models import Exhibitor, ExhibitorStaff
from plugins.onsite.models import Scan
from plugins.visitors.models import CATEGORIES, Registration

from .models import KINDS, SCALES, TEMPLATES, Recipient, Survey, SurveyAnswer, SurveyQuestion

PURPOSE = "marketing"         # the core consent purpose survey mail is sent under
MIN_SAMPLE = 30               # fewer answers behind a figure: the page warns
TEXT_LIMIT = 2000
ZH_COUNTRIES = ("CN", "TW", "HK", "MO", "SG")

DEFAULT_SETTINGS = {
    "surveys.send_days_after_show": 1,
    "surveys.reminders_max": 2,
    "surveys.reminder_days": 3,
    "surveys.deadline_days": 14,
}


class SurveyError(DomainError):
    """A survey refused an action (state, audience, editing an answered question …)."""


class LinkError(SurveyError):
    """A survey link that cannot be used: forged, of another survey, or after the deadline."""


class AnswerError(SurveyError):
    """Answers that cannot be stored; ``errors`` maps a question id to what is wrong."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(_("Some answers are missing or not valid."), "invalid_answers", status=422)
        self.errors = errors


# --- templates ---------------------------------------------------------------------------------
def _c(value, zh, en):
    return {"value": value, "zh": zh, "en": en}


_OVERALL = ("总体评价", "Overall")
_SHOWS = ("其他展会", "Other shows")
_COMMENTS = ("意见和建议", "Comments")
TEMPLATE_QUESTIONS = {
    "visitor": [
        (_OVERALL, "nps", "nps", "您向同事或朋友推荐本届展会的可能性有多大？",
         "How likely are you to recommend this show to a colleague or friend?", True, []),
        (_OVERALL, "csat", "csat", "您对本届展会的总体满意度如何？", "How satisfied are you with the show overall?",
         True, []),
        (("参观体验", "Your visit"), "exhibitor_quality", "rating", "展商和展品的质量", "Quality of exhibitors and products",
         False, []),
        (("参观体验", "Your visit"), "purpose", "single", "您参观的主要目的是什么？", "What was the main purpose of your visit?",
         False, [_c("buy", "采购", "Buying"), _c("suppliers", "寻找新供应商", "Finding new suppliers"),
                 _c("trends", "了解行业趋势", "Market trends"), _c("networking", "交流合作", "Networking")]),
        (("参观体验", "Your visit"), "activities", "multiple", "您参加了哪些活动？", "What did you take part in?",
         False, [_c("forums", "论坛和讲座", "Forums and talks"), _c("tastings", "品鉴活动", "Tastings"),
                 _c("matchmaking", "商务配对", "Business matchmaking"), _c("awards", "颁奖活动", "Awards")]),
        (("参观体验", "Your visit"), "meetings", "number", "您与多少家展商进行了洽谈？",
         "How many exhibitors did you talk business with?", False, []),
        (_SHOWS, "other_shows", "other_shows", "您还参加哪些同类展会？（用逗号分隔）",
         "Which other shows of this kind do you attend? (separate with commas)", False, []),
        (_COMMENTS, "comments", "text", "您还有什么意见或建议？", "Anything else you would like to tell us?", False, []),
    ],
    "exhibitor": [
        (_OVERALL, "nps", "nps", "您向同行推荐参加本展会的可能性有多大？",
         "How likely are you to recommend exhibiting at this show to a peer?", True, []),
        (_OVERALL, "csat", "csat", "您对本届展会的总体满意度如何？", "How satisfied are you with the show overall?",
         True, []),
        (("服务", "Service"), "service", "rating", "主办方服务（服务中心、现场支持）",
         "Organizer's service (service centre, on-site support)", False, []),
        (("服务", "Service"), "visitor_quality", "rating", "专业观众的质量", "Quality of trade visitors", False, []),
        (("成果", "Results"), "leads", "number", "您收集了多少条有效线索？", "How many qualified leads did you collect?",
         False, []),
        (("成果", "Results"), "rebook", "single", "您是否会参加下一届展会？", "Will you exhibit at the next edition?",
         False, [_c("yes", "会", "Yes"), _c("maybe", "可能", "Maybe"), _c("no", "不会", "No")]),
        (_SHOWS, "other_shows", "other_shows", "您还参加哪些同类展会？（用逗号分隔）",
         "Which other shows of this kind do you exhibit at? (separate with commas)", False, []),
        (_COMMENTS, "comments", "text", "您还有什么意见或建议？", "Anything else you would like to tell us?", False, []),
    ],
}


# --- surveys and questions ---------------------------------------------------------------------
def get_survey(show: Show, survey_id) -> Survey | None:
    try:
        survey_id = int(survey_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(Survey).where(Survey.id == survey_id, Survey.show_id == show.id))


def surveys_of(show: Show) -> list[Survey]:
    return list(db.session.scalars(select(Survey).where(Survey.show_id == show.id).order_by(Survey.id.desc())))


def clean_audience(template: str, audience: dict | None) -> dict:
    """The audience filters, checked: visitors ``category`` (list), ``attended`` (true: checked
    in; false: registered but never came), ``day`` (checked in on that show day, ISO date);
    exhibitors ``status`` (list). Refuses what it does not know, naming it."""
    audience = dict(audience or {})
    allowed = {"visitor": {"category", "attended", "day"}, "exhibitor": {"status"}}[template]
    unknown = sorted(set(audience) - allowed)
    if unknown:
        raise SurveyError(_("Unknown audience filter: %(name)s", name=", ".join(unknown)), "bad_audience",
                          field="audience")
    clean: dict = {}
    for key, known in (("category", CATEGORIES), ("status", EXHIBITOR_STATUSES)):
        if key in audience:
            values = audience[key]
            values = [values] if isinstance(values, str) else list(values or [])
            bad = [str(v) for v in values if v not in known]
            if bad:
                raise SurveyError(_("Unknown value in the audience: %(value)s", value=", ".join(bad)),
                                  "bad_audience", field="audience")
            if values:
                clean[key] = values
    if audience.get("attended") is not None:
        if not isinstance(audience["attended"], bool):
            raise SurveyError(_("“Attended” must be yes or no."), "bad_audience", field="audience")
        clean["attended"] = audience["attended"]
    if audience.get("day"):
        try:
            clean["day"] = dt.date.fromisoformat(str(audience["day"])).isoformat()
        except ValueError:
            raise SurveyError(_("Unknown value in the audience: %(value)s", value=str(audience["day"])),
                              "bad_audience", field="audience") from None
    return clean


def create_survey(show: Show, template: str, audience: dict | None = None, *, title_zh: str = "",
                  title_en: str = "", auto_send: bool = False, user=None) -> Survey:
    """A draft survey of the show with the template's questions (which can then be edited)."""
    if template not in TEMPLATES:
        raise SurveyError(_("Unknown survey template."), "bad_template", field="template")
    audience = clean_audience(template, audience)
    with transaction() as session:
        survey = Survey(show_id=show.id, template=template, audience=audience, auto_send=auto_send,
                        title_zh=title_zh or (f"{show.name_zh} 展后调查" if template == "visitor"
                                              else f"{show.name_zh} 参展商满意度调查"),
                        title_en=title_en or (f"{show.name_en or show.name_zh} visitor survey" if template == "visitor"
                                              else f"{show.name_en or show.name_zh} exhibitor survey"))
        for position, (section, key, kind, zh, en, required, choices) in enumerate(TEMPLATE_QUESTIONS[template]):
            survey.questions.append(SurveyQuestion(key=key, position=position, section_zh=section[0], section_en=section[1],
                                             kind=kind, label_zh=zh, label_en=en, required=required,
                                             choices=[dict(c) for c in choices]))
        session.add(survey)
        session.flush()
        audit("survey.create", survey, user=user, after={"template": template, "audience": audience})
    return survey


def is_answered(question: SurveyQuestion) -> bool:
    return db.session.scalar(select(SurveyAnswer.id).where(SurveyAnswer.question_id == question.id).limit(1)) is not None


def _editable(survey: Survey) -> None:
    if survey.status == "closed":
        raise SurveyError(_("This survey is closed: it cannot be changed."), "closed", status=409)


def _clean_choices(kind: str, choices) -> list:
    if kind not in ("single", "multiple"):
        return []
    out, seen = [], set()
    for i, c in enumerate(choices or []):
        if isinstance(c, str):
            zh, _sep, en = c.partition("|")
            c = {"zh": zh.strip(), "en": en.strip()}
        zh, en = (c.get("zh") or "").strip(), (c.get("en") or "").strip()
        if not (zh or en):
            continue
        value = (c.get("value") or "").strip() or f"c{i + 1}"
        if value in seen:
            continue
        seen.add(value)
        out.append({"value": value, "zh": zh or en, "en": en or zh})
    if len(out) < 2:
        raise SurveyError(_("A choice question needs at least two choices."), "choices", field="choices")
    return out


def add_question(survey: Survey, *, kind: str, label_zh: str, label_en: str = "", section_zh: str = "",
                 section_en: str = "", required: bool = False, choices=None, user=None) -> SurveyQuestion:
    _editable(survey)
    if kind not in KINDS:
        raise SurveyError(_("Unknown question type."), "kind", field="kind")
    if not (label_zh.strip() or label_en.strip()):
        raise SurveyError(_("A question needs its text in Chinese or English."), "label", field="label_zh")
    if survey.status == "open" and required:
        # Those who already answered could not have answered it.
        raise SurveyError(_("A question added to an open survey cannot be required."), "required", field="required")
    with transaction() as session:
        keys = {q.key for q in survey.questions}
        n = len(survey.questions) + 1
        while f"q{n}" in keys:
            n += 1
        question = SurveyQuestion(survey_id=survey.id, key=f"q{n}", kind=kind, label_zh=label_zh.strip(),
                            label_en=label_en.strip(), section_zh=section_zh.strip(), section_en=section_en.strip(),
                            required=required, choices=_clean_choices(kind, choices),
                            position=max((q.position for q in survey.questions), default=-1) + 1)
        session.add(question)
        session.flush()
        audit("survey.question", survey, user=user, after={"added": question.key})
    session.expire(survey, ["questions"])
    return question


def update_question(question: SurveyQuestion, *, user=None, **fields) -> SurveyQuestion:
    """Change a question's texts, section, requirement, choices or order. An answered question
    is frozen: what was answered keeps meaning what the respondent read."""
    survey = question.survey
    _editable(survey)
    if is_answered(question):
        raise SurveyError(_("This question has answers already: it cannot be changed."), "frozen", status=409)
    allowed = {"label_zh", "label_en", "section_zh", "section_en", "required", "choices", "position"}
    unknown = set(fields) - allowed
    if unknown:
        raise SurveyError(_("Unknown field: %(name)s", name=", ".join(sorted(unknown))), "field")
    with transaction():
        for name, value in fields.items():
            if name == "choices":
                value = _clean_choices(question.kind, value)
            elif isinstance(value, str):
                value = value.strip()
            setattr(question, name, value)
        if not (question.label_zh or question.label_en):
            raise SurveyError(_("A question needs its text in Chinese or English."), "label", field="label_zh")
        audit("survey.question", survey, user=user, after={"changed": question.key})
    return question


def delete_question(question: SurveyQuestion, user=None) -> None:
    survey = question.survey
    _editable(survey)
    if is_answered(question):
        raise SurveyError(_("This question has answers already: it cannot be changed."), "frozen", status=409)
    with transaction() as session:
        session.delete(question)
        audit("survey.question", survey, user=user, after={"deleted": question.key})
    session.expire(survey, ["questions"])


def open_survey(survey: Survey, deadline: dt.datetime | None = None, user=None) -> Survey:
    """draft → open: the links work from now until ``deadline`` (naive UTC; default: the
    setting surveys.deadline_days from now)."""
    if survey.status != "draft":
        raise SurveyError(_("Only a draft survey can be opened."), "not_draft", status=409)
    now = utcnow()
    if deadline is None:
        deadline = now + dt.timedelta(days=int(get_setting("surveys.deadline_days", survey_show(survey))))
    if deadline <= now:
        raise SurveyError(_("The deadline must be in the future."), "deadline", field="deadline")
    if not survey.questions:
        raise SurveyError(_("A survey needs at least one question."), "no_questions")
    with transaction():
        survey.status, survey.opens_at, survey.deadline = "open", now, deadline
        audit("survey.open", survey, user=user, after={"deadline": deadline.isoformat()})
    return survey


def close_survey(survey: Survey, user=None) -> Survey:
    if survey.status != "open":
        raise SurveyError(_("Only an open survey can be closed."), "not_open", status=409)
    with transaction():
        survey.status, survey.closed_at = "closed", utcnow()
        audit("survey.close", survey, user=user)
    return survey


def survey_show(survey: Survey) -> Show:
    return db.session.get(Show, survey.show_id)


def accepting(survey: Survey, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return survey.status == "open" and survey.deadline is not None and now < survey.deadline


# --- audiences ---------------------------------------------------------------------------------
def _consented():
    """A SQL expression: the person's latest answer for the survey mail's purpose is yes."""
    latest = (select(Consent.granted).where(Consent.person_id == Person.id, Consent.purpose == PURPOSE)
              .order_by(Consent.at.desc(), Consent.id.desc()).limit(1).correlate(Person).scalar_subquery())
    return func.coalesce(latest, False).is_(True)


def audience_select(survey: Survey):
    """SELECT person_id, organization_id, segment, consented, country, has_zh for the survey's
    audience (one row per person; people without an email or erased are left out)."""
    a = survey.audience or {}
    if survey.template == "visitor":
        r = Registration
        stmt = (select(Person.id.label("person_id"), Person.organization_id.label("organization_id"),
                       func.min(r.category).label("segment"), _consented().label("consented"),
                       Person.country.label("country"), Person.name_zh.label("name_zh"))
                .join(r, r.person_id == Person.id)
                .where(r.show_id == survey.show_id, r.cancelled_at.is_(None)))
        if a.get("category"):
            stmt = stmt.where(r.category.in_(a["category"]))
        came = select(Scan.id).where(Scan.registration_id == r.id, Scan.result == "ok")
        if a.get("day"):
            came = came.where(Scan.day == dt.date.fromisoformat(a["day"]))
        if a.get("attended") is True or (a.get("day") and a.get("attended") is None):
            stmt = stmt.where(exists(came))
        elif a.get("attended") is False:
            stmt = stmt.where(~exists(came))
    else:
        e = Exhibitor
        stmt = (select(Person.id.label("person_id"), func.min(e.organization_id).label("organization_id"),
                       func.min(e.status).label("segment"), _consented().label("consented"),
                       Person.country.label("country"), Person.name_zh.label("name_zh"))
                .join(ExhibitorStaff, ExhibitorStaff.person_id == Person.id)
                .join(e, e.id == ExhibitorStaff.exhibitor_id)
                .where(e.show_id == survey.show_id))
        if a.get("status"):
            stmt = stmt.where(e.status.in_(a["status"]))
    return (stmt.where(Person.email != "", Person.erased_at.is_(None))
            .group_by(Person.id, Person.organization_id, Person.country, Person.name_zh))


def audience_counts(survey: Survey) -> dict:
    """How many people the audience holds, how many may be mailed (consent) and how many of
    those are not invited yet."""
    sub = audience_select(survey).subquery()
    invited = select(Recipient.person_id).where(Recipient.survey_id == survey.id)
    row = db.session.execute(select(
        func.count(), func.coalesce(func.sum(case((sub.c.consented, 0), else_=1)), 0),
        func.coalesce(func.sum(case((and_(sub.c.consented, sub.c.person_id.not_in(invited)), 1), else_=0)), 0),
    ).select_from(sub)).one()
    return {"matched": row[0], "without_consent": int(row[1]), "eligible": row[0] - int(row[1]),
            "not_invited": int(row[2])}


def _language(country: str, name_zh: str) -> str:
    return "zh" if (country or "CN") in ZH_COUNTRIES and name_zh else "en"


# --- links and mail ----------------------------------------------------------------------------
def new_token() -> str:
    return secrets.token_urlsafe(24)     # 192 bits: not guessable


def _base_url() -> str:
    base = current_app.config.get("PUBLIC_URL") or (request.host_url if has_request_context() else "")
    return (base or "http://localhost:8000/").rstrip("/")


def link(survey: Survey, recipient: Recipient, show: Show | None = None) -> str:
    show = show or survey_show(survey)
    return f"{_base_url()}/shows/{show.slug}/surveys/{survey.id}/answer/{recipient.token}"


def _mail_text(survey: Survey, show: Show, person: Person, url: str, language: str, reminder: bool):
    with force_locale(language):
        en = language.startswith("en")
        title = (survey.title_en or survey.title_zh) if en else (survey.title_zh or survey.title_en)
        show_name = (show.name_en or show.name_zh) if en else (show.name_zh or show.name_en)
        name = (person.name_en or person.name_zh) if en else (person.name_zh or person.name_en)
        deadline = survey.deadline.strftime("%Y-%m-%d") if survey.deadline else ""
        subject = (_("Reminder: %(title)s", title=title) if reminder else title)
        lines = [_("Dear %(name)s,", name=name), ""]
        if reminder:
            lines.append(_("we have not received your answers yet. It takes about three minutes."))
        else:
            lines.append(_("thank you for taking part in %(show)s. Please tell us how it went: it takes about "
                           "three minutes.", show=show_name))
        lines += ["", url, "", _("Your personal link works until %(date)s (UTC); you can change your answers "
                                 "until then.", date=deadline)]
    return subject, "\n".join(lines) + "\n"


def _queue(survey: Survey, show: Show, pairs, *, reminder: bool) -> int:
    """Queue one mail per (recipient, person) in the open transaction."""
    from crm_expo.mail import queue_mail
    n = 0
    for recipient, person in pairs:
        url = link(survey, recipient, show)
        subject, text = _mail_text(survey, show, person, url, recipient.language, reminder)
        queue_mail(person.email, subject, text, purpose=PURPOSE, person=person, language=recipient.language)
        n += 1
    return n


def _persons(ids) -> dict[int, Person]:
    out: dict[int, Person] = {}
    for part in chunks(list(ids), 900):
        for p in db.session.scalars(select(Person).where(Person.id.in_(part)).options(selectinload(Person.consents))):
            out[p.id] = p
    return out


def send_invitations(survey: Survey, user=None) -> dict:
    """Invite everyone of the audience who may be mailed and is not invited yet: one
    recipient row (its personal link) and one invitation in the outbox each, in one
    transaction. A second call invites only the newcomers. Returns
    ``{"queued": N, "skipped_no_consent": M}``; refuses an audience of zero before queueing."""
    if survey.status != "open":
        raise SurveyError(_("Open the survey before sending it."), "not_open", status=409)
    if not accepting(survey):
        raise SurveyError(_("The survey's deadline has passed."), "deadline_passed", status=409)
    show = survey_show(survey)
    with transaction() as session:
        rows = session.execute(audience_select(survey)).all()
        if not rows:
            raise SurveyError(_("No one is in this audience: nothing was sent."), "empty_audience", status=422)
        without = sum(1 for r in rows if not r.consented)
        invited = set(session.scalars(select(Recipient.person_id).where(Recipient.survey_id == survey.id)))
        new = [r for r in rows if r.consented and r.person_id not in invited]
        if not new and not invited:
            raise SurveyError(_("No one in this audience has agreed to receive such mail: nothing was sent."),
                              "empty_audience", status=422)
        now = utcnow()
        values = [{"survey_id": survey.id, "person_id": r.person_id, "organization_id": r.organization_id,
                   "segment": r.segment or "", "language": _language(r.country, r.name_zh), "token": new_token(),
                   "invited_at": now, "last_mailed_at": now, "reminders": 0} for r in new]
        for part in chunks(values, 1000):
            session.execute(insert(Recipient), part)
        queued = 0
        if values:
            persons = _persons(v["person_id"] for v in values)
            recipients = session.scalars(select(Recipient).where(Recipient.survey_id == survey.id,
                                                                 Recipient.invited_at == now)).all()
            queued = _queue(survey, show, ((rc, persons[rc.person_id]) for rc in recipients), reminder=False)
        audit("survey.send", survey, user=user, after={"queued": queued, "skipped_no_consent": without})
    return {"queued": queued, "skipped_no_consent": without}


def non_respondents(survey: Survey, limit: int | None = None):
    stmt = (select(Recipient, Person).join(Person, Person.id == Recipient.person_id)
            .where(Recipient.survey_id == survey.id, Recipient.answered_at.is_(None))
            .order_by(Recipient.invited_at, Recipient.id))
    if limit:
        stmt = stmt.limit(limit)
    return db.session.execute(stmt).all()


def remind(survey: Survey, *, due_only: bool = False, user=None) -> dict:
    """Queue a reminder to every recipient who has not answered (``due_only``: only those
    whose last mail is older than surveys.reminder_days and who had fewer than
    surveys.reminders_max reminders — the automatic reminders)."""
    if not accepting(survey):
        raise SurveyError(_("The survey is not open: no reminder was sent."), "not_open", status=409)
    show = survey_show(survey)
    now = utcnow()
    with transaction() as session:
        stmt = select(Recipient).where(Recipient.survey_id == survey.id, Recipient.answered_at.is_(None))
        if due_only:
            days = int(get_setting("surveys.reminder_days", show))
            stmt = stmt.where(Recipient.reminders < int(get_setting("surveys.reminders_max", show)),
                              Recipient.last_mailed_at <= now - dt.timedelta(days=days))
        recipients = session.scalars(stmt).all()
        persons = _persons(r.person_id for r in recipients)
        pairs = [(r, persons[r.person_id]) for r in recipients if r.person_id in persons]
        queued = _queue(survey, show, pairs, reminder=True)
        ids = [r.id for r, _p in pairs]
        for part in chunks(ids, 900):
            session.execute(update(Recipient).where(Recipient.id.in_(part))
                            .values(reminders=Recipient.reminders + 1, last_mailed_at=now))
        if queued or not due_only:
            audit("survey.remind", survey, user=user, actor="system" if due_only else None,
                  after={"queued": queued})
    return {"queued": queued}


def scheduled_sends(today: dt.date | None = None) -> int:
    """The periodic job's work: send the open surveys marked for automatic sending whose show
    ended surveys.send_days_after_show days ago and that sent nothing yet; then the due
    automatic reminders of every open survey. Returns the mails queued."""
    today = today or utcnow().date()
    queued = 0
    for survey in db.session.scalars(select(Survey).where(Survey.status == "open")).all():
        if not accepting(survey):
            continue
        show = survey_show(survey)
        sent = db.session.scalar(select(Recipient.id).where(Recipient.survey_id == survey.id).limit(1)) is not None
        if survey.auto_send and not sent and show.end is not None and \
                today >= show.end + dt.timedelta(days=int(get_setting("surveys.send_days_after_show", show))):
            try:
                queued += send_invitations(survey)["queued"]
            except SurveyError:
                continue
        elif sent:
            queued += remind(survey, due_only=True)["queued"]
    return queued


# --- answering ---------------------------------------------------------------------------------
def recipient_for_link(survey_id, token: str, now: dt.datetime | None = None) -> tuple[Survey, Recipient]:
    """The survey and recipient of a personal link; LinkError when it is forged, of another
    survey, or the survey no longer takes answers."""
    bad = LinkError(_("This survey link is not valid."), "bad_link", status=404)
    if not token or len(token) > 64:
        raise bad
    recipient = db.session.scalar(select(Recipient).where(Recipient.token == token))
    if recipient is None or str(recipient.survey_id) != str(survey_id):
        raise bad
    survey = db.session.get(Survey, recipient.survey_id)
    if not accepting(survey, now):
        raise LinkError(_("This survey is closed: answers are no longer taken."), "closed", status=410)
    return survey, recipient


def _values(question: SurveyQuestion, raw: list[str], language: str) -> tuple[list[tuple[int | None, str]], str | None]:
    """(rows, error) for one question's submitted values."""
    raw = [v.strip() for v in raw if v is not None and v.strip()]
    if not raw:
        return [], (_("Please answer this question.") if question.required else None)
    kind = question.kind
    if kind in SCALES or kind == "number":
        try:
            number = int(raw[0])
        except ValueError:
            return [], _("Please enter a whole number.")
        low, high = SCALES.get(kind, (0, 10**9))
        if not low <= number <= high:
            return [], _("Please choose a value from %(low)s to %(high)s.", low=low, high=high)
        return [(number, "")], None
    if kind in ("single", "multiple"):
        allowed = {c["value"] for c in question.choices or ()}
        chosen = list(dict.fromkeys(raw if kind == "multiple" else raw[:1]))
        if any(v not in allowed for v in chosen):
            return [], _("Please choose one of the options.")
        return [(None, v) for v in chosen], None
    if kind == "other_shows":
        names = []
        for part in raw[0].replace("，", ",").replace("、", ",").replace(";", ",").split(","):
            part = " ".join(part.split())[:200]
            if part and part.lower() not in {n.lower() for n in names}:
                names.append(part)
        return [(None, n) for n in names[:20]], None
    text = raw[0]
    if len(text) > TEXT_LIMIT:
        return [], _("Please keep it under %(n)s characters.", n=TEXT_LIMIT)
    return [(None, text)], None


def submit_answers(survey: Survey, recipient: Recipient, form: dict[str, list[str]],
                   now: dt.datetime | None = None) -> Recipient:
    """Store a recipient's answers (``form``: ``{"q<question id>": [values]}``), replacing the
    earlier ones: one can answer once and change the answers until the deadline. Nothing is
    stored when any answer is missing or not valid (AnswerError names each question)."""
    now = now or utcnow()
    if not accepting(survey, now):
        raise LinkError(_("This survey is closed: answers are no longer taken."), "closed", status=410)
    errors: dict[int, str] = {}
    rows = []
    for q in survey.questions:
        values, error = _values(q, list(form.get(f"q{q.id}", [])), recipient.language)
        if error:
            errors[q.id] = error
        rows += [{"recipient_id": recipient.id, "question_id": q.id, "value_int": v, "value_text": t}
                 for v, t in values]
    if errors:
        raise AnswerError(errors)
    with transaction() as session:
        session.execute(delete(SurveyAnswer).where(SurveyAnswer.recipient_id == recipient.id))
        if rows:
            session.execute(insert(SurveyAnswer), rows)
        if recipient.answered_at is None:
            recipient.answered_at = now
        else:
            recipient.updated_at = now
    return recipient


def answers_of(recipient: Recipient) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for a in db.session.scalars(select(SurveyAnswer).where(SurveyAnswer.recipient_id == recipient.id).order_by(SurveyAnswer.id)):
        out[a.question_id].append(a.value_int if a.value_int is not None else a.value_text)
    return out


# --- results -----------------------------------------------------------------------------------
def _answered_recipients(survey_id, segment: str | None = None):
    stmt = select(Recipient.id).where(Recipient.survey_id == survey_id, Recipient.answered_at.is_not(None))
    if segment:
        stmt = stmt.where(Recipient.segment == segment)
    return stmt


def scores(survey: Survey, segment: str | None = None) -> dict[int, dict]:
    """Per scale question, computed in SQL: n, mean, NPS (% 9–10 − % 0–6) and CSAT (% 4–5)."""
    who = _answered_recipients(survey.id, segment)
    v = SurveyAnswer.value_int
    stmt = (select(SurveyAnswer.question_id, func.count(v), func.avg(v),
                   func.sum(case((v >= 9, 1), else_=0)), func.sum(case((v <= 6, 1), else_=0)),
                   func.sum(case((v >= 4, 1), else_=0)))
            .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
            .where(SurveyQuestion.survey_id == survey.id, SurveyQuestion.kind.in_(("nps", "csat", "rating", "number")),
                   v.is_not(None), SurveyAnswer.recipient_id.in_(who))
            .group_by(SurveyAnswer.question_id))
    kinds = {q.id: q.kind for q in survey.questions}
    out = {}
    for qid, n, mean, promoters, detractors, satisfied in db.session.execute(stmt):
        item = {"n": n, "mean": round(float(mean), 2) if mean is not None else None}
        if kinds.get(qid) == "nps" and n:
            item["nps"] = round((100.0 * promoters - 100.0 * detractors) / n)
        if kinds.get(qid) == "csat" and n:
            item["csat"] = round(100.0 * satisfied / n)
        out[qid] = item
    return out


def distributions(survey: Survey, segment: str | None = None) -> dict[int, list[tuple]]:
    """Per question: [(value, count)] — scale values in order (every value of the scale, zero
    counts included), choices in their order, other shows by count (top 15)."""
    who = _answered_recipients(survey.id, segment)
    stmt = (select(SurveyAnswer.question_id, SurveyAnswer.value_int, SurveyAnswer.value_text, func.count())
            .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
            .where(SurveyQuestion.survey_id == survey.id, SurveyQuestion.kind.in_(("nps", "csat", "rating", "single",
                                                                         "multiple", "other_shows")),
                   SurveyAnswer.recipient_id.in_(who))
            .group_by(SurveyAnswer.question_id, SurveyAnswer.value_int, SurveyAnswer.value_text))
    counts: dict[int, dict] = defaultdict(dict)
    for qid, vi, vt, n in db.session.execute(stmt):
        counts[qid][vi if vi is not None else vt] = n
    out = {}
    for q in survey.questions:
        c = counts.get(q.id, {})
        if q.kind in SCALES:
            low, high = SCALES[q.kind]
            out[q.id] = [(v, c.get(v, 0)) for v in range(low, high + 1)]
        elif q.kind in ("single", "multiple"):
            out[q.id] = [(ch["value"], c.get(ch["value"], 0)) for ch in q.choices or ()]
        elif q.kind == "other_shows":
            merged: dict[str, list] = {}
            for name, n in c.items():
                key = name.lower()
                merged.setdefault(key, [name, 0])[1] += n
            out[q.id] = sorted(((name, n) for name, n in merged.values()), key=lambda x: (-x[1], x[0]))[:15]
    return out


def texts(survey: Survey, question: SurveyQuestion, limit: int = 200, segment: str | None = None) -> list[str]:
    who = _answered_recipients(survey.id, segment)
    return list(db.session.scalars(select(SurveyAnswer.value_text).where(
        SurveyAnswer.question_id == question.id, SurveyAnswer.value_text != "", SurveyAnswer.recipient_id.in_(who))
        .order_by(SurveyAnswer.id.desc()).limit(limit)))


def response_rates(survey: Survey) -> list[dict]:
    """Invited, answered and the rate per audience segment (visitor category / exhibitor status)."""
    rows = db.session.execute(
        select(Recipient.segment, func.count(), func.count(Recipient.answered_at))
        .where(Recipient.survey_id == survey.id).group_by(Recipient.segment).order_by(Recipient.segment)).all()
    return [{"segment": s, "invited": n, "answered": a, "rate": round(100.0 * a / n, 1) if n else None}
            for s, n, a in rows]


def headline(survey: Survey, segment: str | None = None) -> dict:
    """invited, answered, response_rate (%), nps, csat (and their n) of a survey."""
    stmt = select(func.count(), func.count(Recipient.answered_at)).where(Recipient.survey_id == survey.id)
    if segment:
        stmt = stmt.where(Recipient.segment == segment)
    invited, answered = db.session.execute(stmt).one()
    sc = scores(survey, segment)
    by_key = {q.key: sc.get(q.id, {}) for q in survey.questions}
    nps, csat = by_key.get("nps", {}), by_key.get("csat", {})
    return {"invited": invited, "answered": answered,
            "response_rate": round(100.0 * answered / invited, 1) if invited else None,
            "nps": nps.get("nps"), "nps_n": nps.get("n", 0), "csat": csat.get("csat"), "csat_n": csat.get("n", 0)}


def previous_survey(survey: Survey) -> Survey | None:
    """The same template's latest survey of the previous edition of the series."""
    prev = previous_edition(survey_show(survey))
    if prev is None:
        return None
    return db.session.scalar(select(Survey).where(Survey.show_id == prev.id, Survey.template == survey.template,
                                                  Survey.status != "draft").order_by(Survey.id.desc()).limit(1))


def results(survey: Survey, segment: str | None = None) -> dict:
    """Everything the results page and the API show."""
    sc, dist = scores(survey, segment), distributions(survey, segment)
    questions = []
    for q in survey.questions:
        item = {"id": q.id, "key": q.key, "kind": q.kind, "label_zh": q.label_zh, "label_en": q.label_en,
                **sc.get(q.id, {"n": 0})}
        if q.id in dist:
            item["distribution"] = [[v, n] for v, n in dist[q.id]]
            if q.kind not in SCALES:
                item["n"] = db.session.scalar(select(func.count(func.distinct(SurveyAnswer.recipient_id))).where(
                    SurveyAnswer.question_id == q.id, SurveyAnswer.recipient_id.in_(_answered_recipients(survey.id, segment))))
        if q.kind == "text":
            item["n"] = db.session.scalar(select(func.count()).where(
                SurveyAnswer.question_id == q.id, SurveyAnswer.value_text != "",
                SurveyAnswer.recipient_id.in_(_answered_recipients(survey.id, segment))))
        item["small_sample"] = item.get("n", 0) < MIN_SAMPLE
        questions.append(item)
    out = headline(survey, segment)
    out.update(questions=questions, segments=response_rates(survey))
    prev = previous_survey(survey)
    if prev is not None:
        out["previous"] = {"survey_id": prev.id, "show": survey_show(prev).slug, **headline(prev)}
    return out


def export_rows(survey: Survey, language: str):
    """Header and one row per answered recipient (values joined with '; ')."""
    questions = list(survey.questions)
    header = ["recipient", "segment", "language", "answered_at"] + [q.text(language) for q in questions]
    by_recipient: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    stmt = (select(SurveyAnswer.recipient_id, SurveyAnswer.question_id, SurveyAnswer.value_int, SurveyAnswer.value_text)
            .join(Recipient, Recipient.id == SurveyAnswer.recipient_id)
            .where(Recipient.survey_id == survey.id, Recipient.answered_at.is_not(None)).order_by(SurveyAnswer.id))
    for rid, qid, vi, vt in db.session.execute(stmt):
        by_recipient[rid][qid].append(vi if vi is not None else vt)
    recipients = db.session.scalars(select(Recipient).where(Recipient.survey_id == survey.id,
                                                            Recipient.answered_at.is_not(None))
                                    .order_by(Recipient.id)).all()
    rows = []
    for r in recipients:
        cells = []
        for q in questions:
            vals = by_recipient[r.id].get(q.id, [])
            if q.kind in ("single", "multiple"):
                vals = [q.choice_text(v, language) for v in vals]
            cells.append("; ".join(str(v) for v in vals))
        rows.append([r.id, r.segment, r.language, r.answered_at] + cells)
    return header, rows


# --- for loyalty -------------------------------------------------------------------------------
def satisfaction_by_organization(show: Show, template: str = "exhibitor") -> dict[int, dict]:
    """Per organization that answered the show's surveys of ``template``: answers, the mean
    recommendation (NPS question, 0–10), the mean satisfaction (CSAT question, 1–5) and the
    number of other shows named. Computed in SQL over every such survey of the show."""
    q_key = SurveyQuestion.key
    stmt = (select(Recipient.organization_id, q_key, func.count(func.distinct(Recipient.id)), func.avg(SurveyAnswer.value_int),
                   func.count(SurveyAnswer.value_text))
            .join(SurveyAnswer, SurveyAnswer.recipient_id == Recipient.id).join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
            .join(Survey, Survey.id == Recipient.survey_id)
            .where(Survey.show_id == show.id, Survey.template == template, Recipient.organization_id.is_not(None),
                   Recipient.answered_at.is_not(None), q_key.in_(("nps", "csat", "other_shows")))
            .group_by(Recipient.organization_id, q_key))
    out: dict[int, dict] = {}
    for org_id, key, n, mean, count in db.session.execute(stmt):
        item = out.setdefault(org_id, {"answers": 0, "recommend": None, "satisfaction": None, "other_shows": 0})
        if key == "nps":
            item["recommend"], item["answers"] = round(float(mean), 2), max(item["answers"], n)
        elif key == "csat":
            item["satisfaction"], item["answers"] = round(float(mean), 2), max(item["answers"], n)
        else:
            item["other_shows"] = count
    return out


def attitude(show: Show, organization_id: int, template: str = "exhibitor") -> dict | None:
    """One organization's answers to the show's exhibitor survey: ``{"answers", "recommend"
    (mean 0–10), "satisfaction" (mean 1–5), "other_shows" (names given)}``, or None when it
    did not answer. Relative attitude for Dick & Basu: high recommendation and few competing
    shows is a strong attitude; loyalty is left to decide with repeat participation."""
    return satisfaction_by_organization(show, template).get(organization_id)
