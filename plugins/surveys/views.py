"""Pages of the surveys plugin (blueprint 'surveys', /shows/<slug>/surveys): the surveys of
a show, a survey's questions and sending, its results and non-respondents, and the public
answer page of a personal link."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from crm_expo.access import public, require
from crm_expo.errors import DomainError
from crm_expo.exports import csv_response, xlsx_response
from crm_expo.extensions import db, limiter
from crm_expo.i18n import LOCALES

from . import operations as ops
from . import permissions  # noqa: F401  (declares the names used below)
from .models import KINDS, SCALES, SurveyQuestion
from .svg import bars

bp = Blueprint("surveys", __name__, template_folder="templates")


def _locale() -> str:
    from flask_babel import get_locale
    return str(get_locale() or "zh")


def _survey(survey_id) -> ops.Survey:
    survey = ops.get_survey(g.show, survey_id)
    if survey is None:
        abort(404)
    return survey


@bp.route("/")
@require("surveys.view")
def index():
    from plugins.exhibitors.models import STATUSES
    from plugins.visitors.models import CATEGORIES
    surveys = ops.surveys_of(g.show)
    return render_template("surveys/index.html", surveys=surveys, heads={s.id: ops.headline(s) for s in surveys},
                           categories=CATEGORIES, statuses=STATUSES)


def _audience_from_form(form) -> dict:
    template = form.get("template", "")
    if template == "visitor":
        audience: dict = {"category": form.getlist("category")}
        if form.get("attended") in ("yes", "no"):
            audience["attended"] = form.get("attended") == "yes"
        if form.get("day"):
            audience["day"] = form.get("day")
        return audience
    return {"status": form.getlist("status")}


@bp.route("/", methods=["POST"])
@require("surveys.manage")
def create():
    try:
        survey = ops.create_survey(g.show, request.form.get("template", ""), _audience_from_form(request.form),
                                   auto_send=bool(request.form.get("auto_send")), user=current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("surveys.index"))
    flash(_("Survey created."), "success")
    return redirect(url_for("surveys.detail", survey_id=survey.id))


@bp.route("/<int:survey_id>")
@require("surveys.view")
def detail(survey_id):
    survey = _survey(survey_id)
    answered = {q.id for q in survey.questions if ops.is_answered(q)}
    return render_template("surveys/detail.html", survey=survey, counts=ops.audience_counts(survey),
                           head=ops.headline(survey), answered=answered, kinds=KINDS, lang=_locale(),
                           default_deadline=(dt.date.today() + dt.timedelta(days=14)).isoformat())


def _act(survey, func, message):
    try:
        result = func()
    except DomainError as exc:
        flash(exc.message, "error")
        return None
    if message:
        flash(message if isinstance(message, str) else message(result), "success")
    return result


@bp.route("/<int:survey_id>/questions", methods=["POST"])
@require("surveys.manage")
def add_question(survey_id):
    survey = _survey(survey_id)
    f = request.form
    _act(survey, lambda: ops.add_question(
        survey, kind=f.get("kind", ""), label_zh=f.get("label_zh", ""), label_en=f.get("label_en", ""),
        section_zh=f.get("section_zh", ""), section_en=f.get("section_en", ""), required=bool(f.get("required")),
        choices=[line for line in f.get("choices", "").splitlines() if line.strip()], user=current_user),
        _("Question added."))
    return redirect(url_for("surveys.detail", survey_id=survey.id))


@bp.route("/<int:survey_id>/questions/<int:question_id>", methods=["POST"])
@require("surveys.manage")
def edit_question(survey_id, question_id):
    survey = _survey(survey_id)
    question = db.session.get(SurveyQuestion, question_id)
    if question is None or question.survey_id != survey.id:
        abort(404)
    f = request.form
    if f.get("delete"):
        _act(survey, lambda: ops.delete_question(question, user=current_user), _("Question deleted."))
    else:
        _act(survey, lambda: ops.update_question(question, label_zh=f.get("label_zh", ""),
                                                 label_en=f.get("label_en", ""), required=bool(f.get("required")),
                                                 user=current_user), _("Question saved."))
    return redirect(url_for("surveys.detail", survey_id=survey.id))


@bp.route("/<int:survey_id>/open", methods=["POST"])
@require("surveys.manage")
def open_(survey_id):
    survey = _survey(survey_id)
    deadline = None
    if request.form.get("deadline"):
        try:
            day = dt.date.fromisoformat(request.form["deadline"])
        except ValueError:
            flash(_("The deadline must be a date."), "error")
            return redirect(url_for("surveys.detail", survey_id=survey.id))
        deadline = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0))   # the end of that day (UTC)
    _act(survey, lambda: ops.open_survey(survey, deadline, user=current_user), _("The survey is open."))
    return redirect(url_for("surveys.detail", survey_id=survey.id))


@bp.route("/<int:survey_id>/close", methods=["POST"])
@require("surveys.manage")
def close(survey_id):
    survey = _survey(survey_id)
    _act(survey, lambda: ops.close_survey(survey, user=current_user), _("The survey is closed."))
    return redirect(url_for("surveys.detail", survey_id=survey.id))


@bp.route("/<int:survey_id>/send", methods=["POST"])
@require("surveys.manage")
def send(survey_id):
    survey = _survey(survey_id)
    _act(survey, lambda: ops.send_invitations(survey, user=current_user),
         lambda r: _("%(n)s invitations queued; %(m)s people without consent were skipped.",
                     n=r["queued"], m=r["skipped_no_consent"]))
    return redirect(url_for("surveys.detail", survey_id=survey.id))


@bp.route("/<int:survey_id>/remind", methods=["POST"])
@require("surveys.manage")
def remind(survey_id):
    survey = _survey(survey_id)
    _act(survey, lambda: ops.remind(survey, user=current_user),
         lambda r: _("%(n)s reminders queued.", n=r["queued"]))
    return redirect(url_for("surveys.non_respondents", survey_id=survey.id))


@bp.route("/<int:survey_id>/non-respondents")
@require("surveys.view")
def non_respondents(survey_id):
    survey = _survey(survey_id)
    rows = ops.non_respondents(survey, limit=500)
    return render_template("surveys/non_respondents.html", survey=survey, rows=rows, head=ops.headline(survey))


@bp.route("/<int:survey_id>/results")
@require("surveys.view")
def results(survey_id):
    survey = _survey(survey_id)
    segment = request.args.get("segment", "")
    data = ops.results(survey, segment or None)
    segments = [s["segment"] for s in data["segments"]]
    if segment and segment not in segments:
        abort(404)
    lang = _locale()
    charts, texts = {}, {}
    for q, item in zip(survey.questions, data["questions"], strict=True):
        if "distribution" in item:
            labels = [str(v) if q.kind in SCALES else q.choice_text(v, lang) for v, _n in item["distribution"]]
            charts[q.id] = bars(labels, [n for _v, n in item["distribution"]],
                                highlight=_highlight(q.kind), title=q.text(lang))
        if q.kind == "text":
            texts[q.id] = ops.texts(survey, q, segment=segment or None)
    return render_template("surveys/results.html", survey=survey, data=data, charts=charts, texts=texts,
                           lang=lang, segment=segment, segment_code="visitors.category" if survey.template == "visitor" else "exhibitors.status",
                           min_sample=ops.MIN_SAMPLE)


def _highlight(kind):
    if kind == "nps":
        return lambda label: "promoter" if int(label) >= 9 else ("passive" if int(label) >= 7 else "detractor")
    if kind == "csat":
        return lambda label: "promoter" if int(label) >= 4 else ("passive" if int(label) == 3 else "detractor")
    return None


@bp.route("/<int:survey_id>/export.<fmt>")
@require("surveys.manage")
def export(survey_id, fmt):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    survey = _survey(survey_id)
    header, rows = ops.export_rows(survey, _locale())
    from crm_expo.exports import sheet_time, time_header
    header = [_("Recipient"), _("Segment"), _("Language"), time_header(_("Answered at"))] + header[4:]
    rows = [[r[0], r[1], r[2], sheet_time(r[3])] + r[4:] for r in rows]
    name = f"survey-{g.show.slug}-{survey.id}.{fmt}"
    return (csv_response if fmt == "csv" else xlsx_response)(name, header, rows)


# --- the public answer page --------------------------------------------------------------------
def _answer_lang(recipient) -> str:
    chosen = request.args.get("lang", "")
    return chosen if chosen in LOCALES else recipient.language


@bp.route("/<int:survey_id>/answer/<token>", methods=["GET", "POST"])
@public
@limiter.limit("30 per minute", methods=["POST"])
def answer(survey_id, token):
    try:
        survey, recipient = ops.recipient_for_link(survey_id, token)
    except ops.LinkError as exc:
        return render_template("surveys/link_error.html", message=exc.message, code=exc.code), exc.status
    lang = _answer_lang(recipient)
    errors: dict[int, str] = {}
    form = {k: request.form.getlist(k) for k in request.form} if request.method == "POST" else None
    saved = False
    if form is not None:
        try:
            with force_locale(lang):
                ops.submit_answers(survey, recipient, form)
            saved = True
        except ops.AnswerError as exc:
            errors = exc.errors
        except ops.LinkError as exc:
            return render_template("surveys/link_error.html", message=exc.message, code=exc.code), exc.status
    if form is None or saved:
        form = {f"q{qid}": [str(v) for v in vals] for qid, vals in ops.answers_of(recipient).items()}
        for q in survey.questions:
            if q.kind == "other_shows" and form.get(f"q{q.id}"):
                form[f"q{q.id}"] = [", ".join(form[f"q{q.id}"])]
    with force_locale(lang):
        return render_template("surveys/answer.html", survey=survey, recipient=recipient, show=g.show, lang=lang,
                               form=form, errors=errors, saved=saved, scales=SCALES,
                               sections=_sections(survey, lang)), (422 if errors else 200)


def _sections(survey, lang):
    out: list[tuple[str, list]] = []
    for q in survey.questions:
        title = q.section(lang)
        if not out or out[-1][0] != title:
            out.append((title, []))
        out[-1][1].append(q)
    return out
