"""JSON API of the surveys plugin (blueprint 'surveys_api', under /api/v1)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify

from crm_expo.api import ApiError, api_require, json_body

from . import operations as ops
from . import permissions  # noqa: F401  (declares the names used below)

api_bp = Blueprint("surveys_api", __name__)


def _survey(show, survey_id):
    survey = ops.get_survey(show, survey_id)
    if survey is None:
        raise ApiError(404, "not_found", "unknown survey")
    return survey


def _iso(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None


def survey_json(survey) -> dict:
    data = {"id": survey.id, "template": survey.template, "status": survey.status, "title_zh": survey.title_zh,
            "title_en": survey.title_en, "audience": survey.audience or {}, "opens_at": _iso(survey.opens_at),
            "deadline": _iso(survey.deadline)}
    data.update(ops.results(survey))
    data["audience_counts"] = ops.audience_counts(survey)
    return data


@api_bp.post("/shows/<slug>/surveys")
@api_require("surveys.manage")
def create_survey(show):
    """Create a survey of the show from a template.
    ---
    post:
      summary: 'Create a survey from the visitor or exhibitor template, for an audience'
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                template: {type: string, enum: [visitor, exhibitor]}
                audience: {type: object, description: "filters - visitor surveys category (list), attended (bool), day (date); exhibitor surveys status (list)"}
                title_zh: {type: string}
                title_en: {type: string}
      responses:
        201: {description: the survey}
        422: {description: unknown template or audience filter}
    """
    data = json_body()
    audience = data.get("audience") or {}
    if not isinstance(audience, dict):
        raise ApiError(422, "bad_audience", "audience must be an object", field="audience")
    survey = ops.create_survey(show, str(data.get("template") or ""), audience,
                               title_zh=str(data.get("title_zh") or ""), title_en=str(data.get("title_en") or ""))
    return jsonify(survey_json(survey)), 201


@api_bp.get("/shows/<slug>/surveys/<int:survey_id>")
@api_require("surveys.view")
def get_survey(show, survey_id):
    """A survey and its results.
    ---
    get:
      summary: "A survey: invited, answered, response_rate, nps, csat, per-question results"
      responses:
        200: {description: the survey and its results}
        404: {description: unknown survey}
    """
    return jsonify(survey_json(_survey(show, survey_id)))


@api_bp.post("/shows/<slug>/surveys/<int:survey_id>/open")
@api_require("surveys.manage")
def open_survey(show, survey_id):
    """Open a draft survey.
    ---
    post:
      summary: 'Open a survey (optional deadline, ISO date and time in UTC)'
      responses:
        200: {description: the survey}
        409: {description: not a draft}
    """
    data = json_body(optional=True)
    deadline = None
    if data.get("deadline"):
        try:
            deadline = dt.datetime.fromisoformat(str(data["deadline"]).rstrip("Z")).replace(tzinfo=None)
        except ValueError:
            raise ApiError(422, "deadline", "deadline: not an ISO date and time", field="deadline") from None
    survey = ops.open_survey(_survey(show, survey_id), deadline)
    return jsonify(survey_json(survey))


@api_bp.post("/shows/<slug>/surveys/<int:survey_id>/send")
@api_require("surveys.manage")
def send_survey(show, survey_id):
    """Queue one invitation per recipient not invited yet.
    ---
    post:
      summary: Send the invitations (a second call queues only newcomers)
      responses:
        200: {description: "{queued, skipped_no_consent}"}
        409: {description: the survey is not open}
        422: {description: no one in the audience}
    """
    return jsonify(ops.send_invitations(_survey(show, survey_id)))


@api_bp.get("/shows/<slug>/surveys/<int:survey_id>/non-respondents")
@api_require("surveys.view")
def non_respondents(show, survey_id):
    """The recipients who have not answered.
    ---
    get:
      summary: Recipients who have not answered
      responses:
        200: {description: "{items: [{person_id, name, email, segment, invited_at, reminders}], total}"}
    """
    rows = ops.non_respondents(_survey(show, survey_id))
    items = [{"person_id": p.id, "name": p.name_zh or p.name_en, "email": p.email, "segment": r.segment,
              "language": r.language, "invited_at": _iso(r.invited_at), "reminders": r.reminders} for r, p in rows]
    return jsonify({"items": items, "total": len(items)})


@api_bp.post("/shows/<slug>/surveys/<int:survey_id>/remind")
@api_require("surveys.manage")
def remind(show, survey_id):
    """Queue a reminder to every recipient who has not answered.
    ---
    post:
      summary: Remind the non-respondents
      responses:
        200: {description: "{queued}"}
        409: {description: the survey is not open}
    """
    return jsonify(ops.remind(_survey(show, survey_id)))
